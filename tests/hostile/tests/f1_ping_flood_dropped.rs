//! F1: a peer that floods PINGs and never reads the PONGs is dropped. It
//! owes us one PONG at a time (coalesced), so the server's few writes go
//! on into the kernel's buffers and the write timeout may never fire; what
//! ends it is the idle timeout, which PINGs do not reset (only message
//! frames do), or the write timeout, whichever comes first.

use std::time::Duration;

use netcore_endpoint::{EndpointConfig, ServerConfig};
use netcore_hostile::wire::{self, HelloFields};
use netcore_hostile::{RawPeer, TestServer, fresh_client_served};
use netcore_pipe::PipeConfig;
use netcore_pipe::core::CoreConfig;

const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
const IDLE_TIMEOUT: Duration = Duration::from_secs(2);

fn config() -> ServerConfig {
    let core = CoreConfig::default().with_idle_timeout(Some(IDLE_TIMEOUT));
    let pipe = PipeConfig::default()
        .with_write_timeout(Some(WRITE_TIMEOUT))
        .with_core(core);
    ServerConfig::default().with_endpoint(EndpointConfig::over(pipe))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_flooder_is_dropped_at_the_idle_or_write_timeout() {
    let server = TestServer::start(config()).await.expect("server");
    let mut attacker =
        RawPeer::handshake(server.addr, &HelloFields::default(), Duration::from_secs(5))
            .await
            .expect("handshake");
    let batch: Vec<u8> = (0..1000u64).flat_map(wire::ping).collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    let mut dropped = false;
    while tokio::time::Instant::now() < deadline {
        if attacker
            .send_within(&batch, Duration::from_millis(200))
            .await
            .is_err()
        {
            dropped = true;
            break;
        }
        if server.server.connection_count() == 0 {
            dropped = true;
            break;
        }
    }
    assert!(dropped, "the flooder still connected after 8 s");
    assert_eq!(
        server.connections_down_to(0, Duration::from_secs(2)).await,
        0
    );
    fresh_client_served(server.addr, Duration::from_secs(5))
        .await
        .expect("other clients still served");
}
