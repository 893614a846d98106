//! F2: peers that call routes with big replies and never read are released
//! after `PipeConfig::write_timeout` (the server's count goes down, each
//! connection's `closed()` resolves), and while 64 of them still hold their
//! sockets a server with `max_connections = 65` serves fresh clients.

use std::time::Duration;

use netcore_endpoint::{EndpointConfig, ServerConfig};
use netcore_hostile::server::{BIG_ROUTE, PING_ROUTE};
use netcore_hostile::wire::{self, HelloFields, PRIORITY_NORMAL};
use netcore_hostile::{RawPeer, TestServer, client};
use netcore_pipe::PipeConfig;

const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
const STALLED: usize = 64;

fn config() -> ServerConfig {
    let pipe = PipeConfig::default().with_write_timeout(Some(WRITE_TIMEOUT));
    ServerConfig::default()
        .with_endpoint(EndpointConfig::over(pipe))
        .with_max_connections(STALLED + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_that_stop_reading_are_released() {
    let server = TestServer::start(config()).await.expect("server");
    let hello = HelloFields {
        message_window: 16 << 20,
        connection_window: u32::MAX - 1,
        ..HelloFields::default()
    };
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let peer = RawPeer::handshake(server.addr, &hello, Duration::from_secs(5))
            .await
            .expect("handshake");
        stalled.push(peer); // Kept open, never read.
    }
    // A connection is live (counted) once the server has seen its HELLO;
    // it is listed by `peers()` once its endpoint has started, a moment
    // later, so wait for the list, not for the count.
    let counted = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut peers = server.server.peers();
    while peers.len() < STALLED && tokio::time::Instant::now() < counted {
        tokio::time::sleep(Duration::from_millis(10)).await;
        peers = server.server.peers();
    }
    assert_eq!(server.server.connection_count(), STALLED);
    // Only now do they ask for big replies, so no write stalls (and no
    // release starts) before all of them are live, however slow the
    // handshakes were.
    for peer in &mut stalled {
        for call in 1..=4u64 {
            let headers = wire::call_headers(BIG_ROUTE, call);
            peer.send(&wire::open(call, PRIORITY_NORMAL, Some(0), &headers, b""))
                .await
                .expect("call");
        }
    }
    assert_eq!(peers.len(), STALLED);
    let left = server.connections_down_to(0, Duration::from_secs(20)).await;
    assert_eq!(left, 0, "F2: {left} stalled connections still counted");
    for peer in peers {
        tokio::time::timeout(Duration::from_secs(5), peer.closed())
            .await
            .expect("closed() resolves")
            .expect_err("a stalled write is an error");
    }
    // The 64 sockets are still open on our side: fresh clients, more than
    // the one slot left if they were still counted, are served at once.
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(
            client(server.addr, PipeConfig::default())
                .await
                .expect("connect"),
        );
    }
    for client in &clients {
        let reply =
            tokio::time::timeout(Duration::from_secs(5), client.peer().call(PING_ROUTE, ""))
                .await
                .expect("a reply in time")
                .expect("a fresh client is served");
        assert_eq!(reply.body, "pong");
    }
    drop(stalled);
}
