//! F6: connections that never finish their HELLO must not keep new clients
//! out: they do not count as live connections, and
//! `ServerConfig::handshake_timeout` drops them.

use std::time::Duration;

use netcore_endpoint::ServerConfig;
use netcore_hostile::wire::{self, HelloFields};
use netcore_hostile::{RawPeer, TestServer, fresh_client_served};

const HALF_HELLOS: usize = 2000;

fn config() -> ServerConfig {
    ServerConfig::default().with_handshake_timeout(Some(Duration::from_secs(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_hellos_do_not_lock_new_clients_out() {
    let server = TestServer::start(config()).await.expect("server");
    let hello = wire::hello(&HelloFields::default());
    let mut half_open = Vec::with_capacity(HALF_HELLOS);
    for _ in 0..HALF_HELLOS {
        let mut peer = RawPeer::connect(server.addr).await.expect("connect");
        peer.send(&hello[..10]).await.expect("half a HELLO");
        half_open.push(peer);
    }
    fresh_client_served(server.addr, Duration::from_secs(5))
        .await
        .expect("F6: a fresh client is served while 2000 half-HELLOs hold sockets");
    drop(half_open);
}
