//! F6: PINGs are not progress: a connection that only PINGs after its
//! HELLO is dropped by the idle timeout (reset by OPEN/DATA/END only).

use std::time::Duration;

use netcore_endpoint::{EndpointConfig, ServerConfig};
use netcore_hostile::wire::{self, HelloFields, code};
use netcore_hostile::{RawPeer, TestServer};
use netcore_pipe::PipeConfig;
use netcore_pipe::core::CoreConfig;

const IDLE: Duration = Duration::from_secs(2);

fn config() -> ServerConfig {
    let core = CoreConfig::default().with_idle_timeout(Some(IDLE));
    let pipe = PipeConfig::default().with_core(core);
    ServerConfig::default().with_endpoint(EndpointConfig::over(pipe))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_pings_is_idle() {
    let server = TestServer::start(config()).await.expect("server");
    let mut peer = RawPeer::handshake(server.addr, &HelloFields::default(), Duration::from_secs(5))
        .await
        .expect("handshake");
    let mut goaway = None;
    for opaque in 0..16u64 {
        if peer.send(&wire::ping(opaque)).await.is_err() {
            break;
        }
        // Read the PONGs (an honest reader), watching for the GOAWAY.
        if let Some(frame) = peer
            .wait_for(Duration::from_millis(500), |f| f.kind == wire::kind::GOAWAY)
            .await
            .expect("read")
        {
            goaway = frame.goaway();
            break;
        }
    }
    let goaway = goaway.expect("F6: a PING-only connection outlived 4 idle timeouts");
    assert_eq!(goaway.code, code::IDLE_TIMEOUT, "{goaway:?}");
}
