//! The budget of request bodies a connection holds in memory
//! (`EndpointConfig::max_buffered_request_bytes`, issue #14 F7): bodies of
//! announced length wait for their whole room before they are read, bodies
//! over the budget are refused with `TOO_LARGE` without ending the
//! connection, bodies of unannounced length grow their room without
//! deadlocking each other, and streaming routes are not counted. Timeouts
//! are failure guards only.

use std::io;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use netcore_endpoint::{
    CallError, CallOptions, Endpoint, EndpointConfig, ReplyCode, Router, Routes, Streamed,
};
use netcore_pipe::Body;
use netcore_pipe::transport::memory_pair;

const MIB: usize = 1 << 20;
const BUDGET: usize = 4 * MIB;
const GUARD: Duration = Duration::from_secs(60);

async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, future)
        .await
        .expect("test took too long: something hangs")
}

/// A body of `len` bytes whose content tells calls apart.
fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i % 251) as u8 ^ seed)
        .collect::<Vec<u8>>()
        .into()
}

/// `body` as a stream of 64 KiB chunks: a body of unannounced length.
fn unannounced(body: Bytes) -> Body {
    let chunks: Vec<io::Result<Bytes>> = (0..body.len())
        .step_by(64 << 10)
        .map(|at| Ok(body.slice(at..body.len().min(at + (64 << 10)))))
        .collect();
    Body::stream(futures::stream::iter(chunks))
}

/// A server echoing bodies (and counting streamed ones) with a 4 MiB
/// budget, and a client.
fn pair() -> (Endpoint, Endpoint) {
    let routes = Router::new()
        .route("/echo", |body: Bytes| async move { body })
        .route("/count", |Streamed(mut body): Streamed| async move {
            let mut total = 0usize;
            while let Some(Ok(chunk)) = body.next().await {
                total += chunk.len();
            }
            total.to_string()
        })
        .build()
        .expect("routes");
    let config = EndpointConfig::default()
        .with_max_buffered_request_bytes(BUDGET as u64)
        .with_default_timeout(None);
    let (a, b) = memory_pair(256 << 10);
    let server = Endpoint::new(b, routes, config.clone());
    let client = Endpoint::new(a, Routes::default(), config);
    (server, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_one_mib_echoes_share_a_four_mib_budget_and_all_succeed() {
    let (server, client) = pair();
    let calls: Vec<_> = (0..8u8)
        .map(|seed| {
            let peer = client.peer().clone();
            let body = pattern(MIB, seed);
            tokio::spawn(async move {
                let reply = peer.call("/echo", body.clone()).await;
                (body, reply)
            })
        })
        .collect();
    for call in calls {
        let (sent, reply) = guard(call).await.expect("joined");
        let reply = reply.expect("an echo within the budget succeeds");
        assert!(reply.body == sent, "the echo came back changed");
    }
    let (now, peak) = server.request_bytes_buffered();
    assert!(
        peak <= BUDGET as u64,
        "{peak} bytes of bodies held against a budget of {BUDGET}"
    );
    assert!(
        peak >= MIB as u64,
        "bodies were collected: some room was held"
    );
    assert_eq!(now, 0, "every body's room given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_announced_body_over_the_budget_is_refused_and_the_connection_goes_on() {
    let (server, client) = pair();
    let refused = guard(client.peer().call("/echo", pattern(5 * MIB, 1))).await;
    match &refused {
        Err(error) => assert_eq!(
            error.code(),
            Some(ReplyCode::TOO_LARGE),
            "refused with the limit's code, not {error}"
        ),
        Ok(_) => panic!("a 5 MiB body against a 4 MiB budget was served"),
    }
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        message.contains("max_buffered_request_bytes"),
        "the refusal names the limit: {message}"
    );
    let body = pattern(MIB, 2);
    let reply = guard(client.peer().call("/echo", body.clone()))
        .await
        .expect("the next call on the same connection is served");
    assert!(reply.body == body);
    assert!(!client.peer().is_closed());
    assert!(server.request_bytes_buffered().1 <= BUDGET as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unannounced_body_over_the_budget_is_refused_and_the_connection_goes_on() {
    let (server, client) = pair();
    let refused = guard(
        client
            .peer()
            .call("/echo", unannounced(pattern(5 * MIB, 3))),
    )
    .await;
    match &refused {
        Err(error) => assert_eq!(
            error.code(),
            Some(ReplyCode::TOO_LARGE),
            "refused with the limit's code, not {error}"
        ),
        Ok(_) => panic!("a 5 MiB body against a 4 MiB budget was served"),
    }
    let (_, peak) = server.request_bytes_buffered();
    assert!(peak <= BUDGET as u64, "{peak} bytes held");
    let body = pattern(MIB, 4);
    let reply = guard(client.peer().call("/echo", unannounced(body.clone())))
        .await
        .expect("the next call on the same connection is served");
    assert!(reply.body == body);
    // The room is given back once the reply (sharing the body's bytes) has
    // gone, which may be just after the caller has it.
    guard(async {
        while server.request_bytes_buffered().0 != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(server.request_bytes_buffered().0, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_unannounced_bodies_over_the_budget_together_do_not_deadlock() {
    let (server, client) = pair();
    let calls: Vec<_> = (0..2u8)
        .map(|seed| {
            let peer = client.peer().clone();
            let body = pattern(3 * MIB, seed);
            tokio::spawn(async move {
                let reply = peer.call("/echo", unannounced(body.clone())).await;
                (body, reply)
            })
        })
        .collect();
    let mut served = 0;
    for call in calls {
        let (sent, reply) = guard(call).await.expect("joined: no deadlock");
        match reply {
            Ok(reply) => {
                assert!(reply.body == sent, "the echo came back changed");
                served += 1;
            }
            Err(error) => assert!(
                matches!(
                    error.code(),
                    Some(ReplyCode::OVERLOADED) | Some(ReplyCode::TOO_LARGE)
                ),
                "refused for the budget, not {error}"
            ),
        }
    }
    assert!(served >= 1, "at least one of the two bodies was served");
    let (now, peak) = server.request_bytes_buffered();
    assert!(peak <= BUDGET as u64, "{peak} bytes held");
    assert_eq!(now, 0);
    let reply = guard(client.peer().call("/echo", "still here"))
        .await
        .expect("the connection goes on");
    assert_eq!(reply.body, "still here");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_route_is_not_counted() {
    let (server, client) = pair();
    let reply = guard(client.peer().call("/count", pattern(8 * MIB, 5)))
        .await
        .expect("a streamed body larger than the budget is served");
    assert_eq!(reply.body, (8 * MIB).to_string());
    assert_eq!(server.request_bytes_buffered(), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_body_waiting_for_room_ends_with_its_deadline() {
    // A handler holds the whole budget until released; a second call's body
    // (to a route that would answer at once) waits for room, and its
    // deadline ends the wait.
    let (release_tx, release) = tokio::sync::watch::channel(false);
    let routes = Router::new()
        .route("/hold", move |body: Bytes| {
            let mut release = release.clone();
            async move {
                let _ = release.wait_for(|go| *go).await;
                body.len().to_string()
            }
        })
        .route("/echo", |body: Bytes| async move { body })
        .build()
        .expect("routes");
    let config = EndpointConfig::default()
        .with_max_buffered_request_bytes(BUDGET as u64)
        .with_default_timeout(None);
    let (a, b) = memory_pair(256 << 10);
    let server = Endpoint::new(b, routes, config.clone());
    let client = Endpoint::new(a, Routes::default(), config);
    let holder = tokio::spawn({
        let peer = client.peer().clone();
        async move { peer.call("/hold", pattern(BUDGET, 6)).await }
    });
    guard(async {
        while server.request_bytes_buffered().0 < BUDGET as u64 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let mut options = CallOptions::default();
    options.timeout = Some(Duration::from_secs(2));
    let waited = guard(client.peer().call_with("/echo", pattern(MIB, 7), options)).await;
    assert!(
        matches!(
            &waited,
            Err(CallError::Timeout(_)) | Err(CallError::Remote(_))
        ),
        "the waiting body ended with its deadline: {waited:?}"
    );
    assert_eq!(
        server.request_bytes_buffered(),
        (BUDGET as u64, BUDGET as u64),
        "the waiting body took no room"
    );
    release_tx.send(true).expect("handler waiting");
    let held = guard(holder).await.expect("joined").expect("served");
    assert_eq!(held.body, BUDGET.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_budget_refuses_a_body_over_64_mib_at_once() {
    // F7: a compliant client's 256 MiB echo calls were collected whole;
    // with the default budget a body over 64 MiB is refused when it opens.
    let routes = Router::new()
        .route("/echo", |body: Bytes| async move { body })
        .build()
        .expect("routes");
    let config = EndpointConfig::default();
    assert_eq!(config.max_buffered_request_bytes, 64 << 20);
    let (a, b) = memory_pair(256 << 10);
    let server = Endpoint::new(b, routes, config.clone());
    let client = Endpoint::new(a, Routes::default(), config);
    let body = Bytes::from(vec![7u8; (64 << 20) + 1]);
    let refused = guard(client.peer().call("/echo", body)).await;
    assert_eq!(
        refused.as_ref().err().and_then(CallError::code),
        Some(ReplyCode::TOO_LARGE),
        "{refused:?}"
    );
    assert_eq!(server.request_bytes_buffered(), (0, 0), "no room was taken");
    let reply = guard(client.peer().call("/echo", "next"))
        .await
        .expect("the connection goes on");
    assert_eq!(reply.body, "next");
}

#[tokio::test(start_paused = true)]
async fn a_python_dialect_body_over_the_budget_is_dropped_and_the_connection_goes_on() {
    // Python netcore 0.1.3 has no error replies and no way to stop a
    // sender: the refused body is dropped as it arrives, the caller times
    // out, and the next call is served.
    let routes = Router::new()
        .route("echo", |body: Bytes| async move { body })
        .build()
        .expect("routes");
    let config = EndpointConfig::py013()
        .with_max_buffered_request_bytes(BUDGET as u64)
        .with_default_timeout(Some(Duration::from_secs(5)));
    let (a, b) = memory_pair(256 << 10);
    let server = Endpoint::new(b, routes, config.clone());
    let client = Endpoint::new(a, Routes::default(), config);
    let refused = guard(client.peer().call("echo", pattern(5 * MIB, 8))).await;
    assert!(
        matches!(
            refused,
            Err(CallError::Send(_)) | Err(CallError::Timeout(_))
        ),
        "a 5 MiB body against a 4 MiB budget was served: {refused:?}"
    );
    assert_eq!(server.request_bytes_buffered(), (0, 0), "no room was taken");
    let body = pattern(MIB, 9);
    let reply = guard(client.peer().call("echo", body.clone()))
        .await
        .expect("the next call on the same connection is served");
    assert!(reply.body == body);
}
