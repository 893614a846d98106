//! F6: a connection that sends one byte now and then after its HELLO and
//! never completes a frame makes no progress: the idle timeout drops it.

use std::time::Duration;

use netcore_endpoint::{EndpointConfig, ServerConfig};
use netcore_hostile::wire::{self, HelloFields, code};
use netcore_hostile::{RawPeer, TestServer, fresh_client_served};
use netcore_pipe::PipeConfig;
use netcore_pipe::core::CoreConfig;

const IDLE: Duration = Duration::from_secs(2);

fn config() -> ServerConfig {
    let core = CoreConfig::default().with_idle_timeout(Some(IDLE));
    let pipe = PipeConfig::default().with_core(core);
    ServerConfig::default().with_endpoint(EndpointConfig::over(pipe))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_at_a_time_never_completing_a_frame_is_dropped() {
    let server = TestServer::start(config()).await.expect("server");
    let mut peer = RawPeer::handshake(server.addr, &HelloFields::default(), Duration::from_secs(5))
        .await
        .expect("handshake");
    let frame = wire::ping(1);
    let mut dropped = false;
    for byte in &frame[..frame.len() - 1] {
        if peer.send(&[*byte]).await.is_err() || server.server.connection_count() == 0 {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(
        dropped || server.connections_down_to(0, IDLE * 2).await == 0,
        "still connected"
    );
    let goaway = peer
        .wait_goaway(Duration::from_secs(1))
        .await
        .ok()
        .flatten();
    if let Some(goaway) = goaway {
        assert_eq!(goaway.code, code::IDLE_TIMEOUT, "{goaway:?}");
    }
    fresh_client_served(server.addr, Duration::from_secs(5))
        .await
        .expect("other clients still served");
}
