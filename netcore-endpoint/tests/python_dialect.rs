//! The endpoint in Python-compatible mode (`PipeConfig::py013()`):
//! calls between two Rust endpoints, and a hand-driven pipe standing in for
//! a Python peer to check the exact info keys. The real Python package is
//! met in the workspace's `tests/python_interop.rs`. Timeouts are failure
//! guards only, except where a timeout is the behaviour under test.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use netcore_endpoint::{
    CallError, CallOptions, Endpoint, EndpointConfig, ReplyError, Router, Routes, State,
};
use netcore_pipe::core::py013::Py013Error;
use netcore_pipe::transport::memory_pair;
use netcore_pipe::{ConnectionError, Message, Pipe, PipeConfig, SendError};

async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("test took too long: something hangs")
}

async fn echo(body: Bytes) -> Bytes {
    body
}

/// Counts its calls, then echoes.
async fn counted(State(count): State<Arc<AtomicUsize>>, body: Bytes) -> Bytes {
    count.fetch_add(1, Ordering::SeqCst);
    body
}

async fn fails() -> Result<Bytes, ReplyError> {
    Err(ReplyError::internal("no"))
}

fn server_routes(count: Arc<AtomicUsize>) -> Routes {
    Router::new()
        .route("echo", echo)
        .route("fails", fails)
        .nest("/counted", Router::with_state(count).route("/", counted))
        .build()
        .expect("routes")
}

fn connect(count: Arc<AtomicUsize>) -> (Endpoint, Endpoint) {
    let (a, b) = memory_pair(256 << 10);
    let server = Endpoint::new(b, server_routes(count), EndpointConfig::py013());
    let client = Endpoint::new(a, Routes::default(), EndpointConfig::py013());
    (server, client)
}

/// A bare pipe in Python mode, playing the Python peer by hand.
fn fake_python_peer(count: Arc<AtomicUsize>) -> (Endpoint, Pipe) {
    let (a, b) = memory_pair(256 << 10);
    let server = Endpoint::new(b, server_routes(count), EndpointConfig::py013());
    (server, Pipe::new(a, PipeConfig::py013()))
}

fn info(body: &'static [u8], keys: &[(&str, &str)]) -> Message {
    keys.iter()
        .fold(Message::new(body), |message, (key, value)| {
            message.header(*key, value.to_string()).expect("header")
        })
}

#[tokio::test]
async fn json_raw_empty_and_concurrent_calls_between_rust_endpoints() {
    let (_server, client) = connect(Arc::default());
    guard(async {
        let peer = client.peer();
        let reply: serde_json::Value = peer
            .call_json("echo", &serde_json::json!({"x": 1}))
            .await
            .expect("json echo");
        assert_eq!(reply, serde_json::json!({"x": 1}));
        let raw: Bytes = (0..=255u8)
            .cycle()
            .take(1 << 20)
            .collect::<Vec<u8>>()
            .into();
        assert_eq!(peer.call("echo", raw.clone()).await.expect("raw").body, raw);
        assert_eq!(peer.call("echo", "").await.expect("empty").body, "");
        let calls = (0..50).map(|i| {
            let peer = peer.clone();
            async move { peer.call("echo", format!("call {i}")).await }
        });
        for (i, reply) in futures::future::join_all(calls)
            .await
            .into_iter()
            .enumerate()
        {
            assert_eq!(reply.expect("reply").body, format!("call {i}"));
        }
    })
    .await;
}

#[tokio::test]
async fn both_sides_call_each_other_without_mistaking_requests_for_replies() {
    use netcore_endpoint::Peer;
    async fn ask_back(peer: Peer, body: Bytes) -> Result<Bytes, ReplyError> {
        let back = peer
            .call("whoami", body)
            .await
            .map_err(|error| ReplyError::internal(error.to_string()))?;
        Ok(back.body)
    }
    async fn whoami(body: Bytes) -> String {
        format!("client saw {}", String::from_utf8_lossy(&body))
    }
    let (a, b) = memory_pair(256 << 10);
    let server_routes = Router::new()
        .route("ask", ask_back)
        .build()
        .expect("routes");
    let client_routes = Router::new()
        .route("whoami", whoami)
        .build()
        .expect("routes");
    let _server = Endpoint::new(b, server_routes, EndpointConfig::py013());
    let client = Endpoint::new(a, client_routes, EndpointConfig::py013());
    guard(async {
        let calls = (0..20).map(|i| {
            let peer = client.peer().clone();
            async move { peer.call("ask", format!("{i}")).await }
        });
        for (i, reply) in futures::future::join_all(calls)
            .await
            .into_iter()
            .enumerate()
        {
            assert_eq!(reply.expect("reply").body, format!("client saw {i}"));
        }
    })
    .await;
}

#[tokio::test]
async fn a_python_style_request_gets_a_python_style_reply() {
    let (_server, python) = fake_python_peer(Arc::default());
    guard(async {
        python
            .send(info(
                b"{\"x\": 1}",
                &[("route", "\"echo\""), ("message_id", "\"i0VpEBOW\"")],
            ))
            .expect("send");
        let reply = python.recv().await.expect("reply");
        let keys: Vec<(&str, &str)> = reply
            .headers
            .iter()
            .map(|(k, v)| (k, std::str::from_utf8(v).expect("utf-8")))
            .collect();
        assert_eq!(
            keys,
            [
                ("route", "\"echo\""),
                ("is_response", "true"),
                ("message_id", "\"i0VpEBOW\"")
            ]
        );
        assert_eq!(reply.body.to_bytes().await.expect("body"), "{\"x\": 1}");
    })
    .await;
}

#[tokio::test]
async fn a_reply_to_no_waiting_call_is_dropped_not_routed() {
    let count = Arc::new(AtomicUsize::new(0));
    let (_server, python) = fake_python_peer(count.clone());
    guard(async {
        // Python would run this as a request, since `/counted` is a route.
        python
            .send(info(
                b"stray",
                &[
                    ("route", "\"/counted\""),
                    ("is_response", "true"),
                    ("message_id", "\"zzzzzzzz\""),
                ],
            ))
            .expect("send");
        python
            .send(info(
                b"real",
                &[("route", "\"/counted\""), ("message_id", "\"aaaaaaaa\"")],
            ))
            .expect("send");
        let reply = python.recv().await.expect("reply to the real request");
        assert_eq!(reply.body.to_bytes().await.expect("body"), "real");
        assert_eq!(
            count.load(Ordering::SeqCst),
            1,
            "the stray reply ran nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn unknown_routes_and_failing_handlers_send_nothing_so_calls_time_out() {
    let (_server, python) = fake_python_peer(Arc::default());
    let (_server2, client) = connect(Arc::default());
    guard(async {
        for route in ["\"nowhere\"", "\"fails\""] {
            python
                .send(info(
                    b"x",
                    &[("route", route), ("message_id", "\"aaaaaaaa\"")],
                ))
                .expect("send");
        }
        let nothing = tokio::time::timeout(Duration::from_millis(300), python.recv()).await;
        assert!(nothing.is_err(), "no reply at all, as from a Python peer");

        let options = CallOptions::default().with_timeout(Some(Duration::from_millis(200)));
        for route in ["nowhere", "fails"] {
            let error = client
                .peer()
                .call_with(route, "x", options.clone())
                .await
                .expect_err("no reply comes");
            assert!(matches!(error, CallError::Timeout(_)), "{error}");
        }
        // The connection is still fine.
        assert_eq!(
            client.peer().call("echo", "ok").await.expect("echo").body,
            "ok"
        );
    })
    .await;
}

#[tokio::test]
async fn a_route_too_long_for_a_python_head_fails_the_call_at_once() {
    let (_server, client) = connect(Arc::default());
    guard(async {
        let route = "r".repeat(5000);
        let error = client
            .peer()
            .call(&route, "x")
            .await
            .expect_err("a head over 4096 bytes");
        assert!(
            matches!(
                error,
                CallError::Send(SendError::Py013(Py013Error::Encode(_)))
            ),
            "{error}"
        );
        assert!(error.to_string().contains("4096"), "{error}");
    })
    .await;
}

#[tokio::test]
async fn dropping_a_call_mid_send_cancels_its_mission_and_nothing_runs() {
    let count = Arc::new(AtomicUsize::new(0));
    let (_server, client) = connect(count.clone());
    guard(async {
        let big = Bytes::from(vec![1u8; 32 << 20]);
        let call = client.peer().call("/counted", big);
        // Long enough for the head and some chunks to go, not all 32 MiB.
        let dropped = tokio::time::timeout(Duration::from_millis(20), call).await;
        assert!(dropped.is_err(), "the call was still sending");
        assert_eq!(
            client
                .peer()
                .call("echo", "after")
                .await
                .expect("echo")
                .body,
            "after"
        );
        assert_eq!(
            count.load(Ordering::SeqCst),
            0,
            "the cancelled request never ran"
        );
        assert_eq!(client.peer().pending_calls(), 0);
    })
    .await;
}

#[tokio::test]
async fn a_python_peer_that_leaves_while_a_call_waits_is_the_peer_closing() {
    let (a, b) = memory_pair(64 * 1024);
    let client = Endpoint::new(a, Routes::default(), EndpointConfig::py013());
    // The "Python peer" reads the request, then goes away without answering.
    let peer = Pipe::new(b, PipeConfig::py013());
    let caller = client.peer().clone();
    let call = tokio::spawn(async move { caller.call("echo", "hello?").await });
    let request = guard(peer.recv()).await.expect("the request");
    assert_eq!(request.body.to_bytes().await.expect("body"), "hello?");
    drop(peer);
    let error = guard(call)
        .await
        .expect("no panic")
        .expect_err("no reply came");
    assert!(
        matches!(error, CallError::Connection(ConnectionError::PeerClosed)),
        "{error:?}"
    );
    assert_eq!(error.fault(), netcore_endpoint::Fault::Peer);
}
