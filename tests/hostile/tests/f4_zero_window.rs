//! F4: a peer that sets its windows to 0 and never sends CREDIT, calling a
//! route with a large reply, must not hold the handler slots: after
//! `EndpointConfig::reply_timeout` they are free again (a new call on the
//! same connection runs), and other clients are served meanwhile.

use std::time::Duration;

use netcore_endpoint::{EndpointConfig, ServerConfig};
use netcore_hostile::server::{BIG_ROUTE, PING_ROUTE};
use netcore_hostile::wire::{self, HelloFields, PRIORITY_NORMAL, kind};
use netcore_hostile::{RawPeer, TestServer, fresh_client_served};

const REPLY_TIMEOUT: Duration = Duration::from_secs(1);
const HANDLERS: u64 = 256;

fn config() -> ServerConfig {
    let endpoint = EndpointConfig::default().with_reply_timeout(Some(REPLY_TIMEOUT));
    ServerConfig::default().with_endpoint(endpoint)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_to_a_zero_window_peer_time_out_and_free_their_slots() {
    let server = TestServer::start(config()).await.expect("server");
    let hello = HelloFields::default().closed_windows();
    let mut attacker = RawPeer::handshake(server.addr, &hello, Duration::from_secs(5))
        .await
        .expect("handshake");
    let calls: Vec<u8> = (1..=HANDLERS)
        .flat_map(|id| {
            wire::open(
                id,
                PRIORITY_NORMAL,
                Some(0),
                &wire::call_headers(BIG_ROUTE, id),
                b"",
            )
        })
        .collect();
    attacker.send(&calls).await.expect("calls");
    fresh_client_served(server.addr, Duration::from_secs(5))
        .await
        .expect("other clients served while the slots are wedged");
    tokio::time::sleep(REPLY_TIMEOUT * 2).await;
    // A call now gets a handler: its reply opens (no body byte fits the
    // closed windows, but the OPEN does), naming our call id.
    let probe = HANDLERS + 1;
    attacker
        .send(&wire::open(
            probe,
            PRIORITY_NORMAL,
            Some(0),
            &wire::call_headers(PING_ROUTE, probe),
            b"",
        ))
        .await
        .expect("probe call");
    let reply = attacker
        .wait_for(Duration::from_secs(5), |frame| {
            frame.kind == kind::OPEN
                && frame
                    .open()
                    .and_then(|open| open.header("nc-call"))
                    .is_some_and(|call| call == probe.to_string())
        })
        .await
        .expect("read");
    assert!(
        reply.is_some(),
        "F4: no handler ran the probe call after the reply timeout"
    );
    fresh_client_served(server.addr, Duration::from_secs(5))
        .await
        .expect("other clients still served");
}
