//! Malformed input gets a typed GOAWAY and costs the sender its connection
//! only: other clients are still served.

use std::time::Duration;

use netcore_endpoint::ServerConfig;
use netcore_hostile::wire::{self, HelloFields, code};
use netcore_hostile::{RawPeer, TestServer, fresh_client_served};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn first_frame_not_hello_is_a_protocol_error() {
    let server = TestServer::start(ServerConfig::default())
        .await
        .expect("server");
    let mut peer = RawPeer::connect(server.addr).await.expect("connect");
    peer.send(&wire::ping(1)).await.expect("send");
    let goaway = peer.wait_goaway(WAIT).await.expect("read").expect("GOAWAY");
    assert_eq!(goaway.code, code::PROTOCOL_ERROR);
    assert!(peer.wait_closed(WAIT).await.expect("read"), "still open");
    fresh_client_served(server.addr, WAIT)
        .await
        .expect("served");
}

#[tokio::test]
async fn a_damaged_header_is_refused() {
    let server = TestServer::start(ServerConfig::default())
        .await
        .expect("server");
    let mut peer = RawPeer::connect(server.addr).await.expect("connect");
    let mut hello = wire::hello(&HelloFields::default());
    hello[5] ^= 0x40;
    peer.send(&hello).await.expect("send");
    let goaway = peer.wait_goaway(WAIT).await.expect("read").expect("GOAWAY");
    assert_ne!(goaway.code, code::NO_ERROR, "{goaway:?}");
    assert!(peer.wait_closed(WAIT).await.expect("read"), "still open");
    fresh_client_served(server.addr, WAIT)
        .await
        .expect("served");
}

#[tokio::test]
async fn a_frame_limit_below_the_minimum_is_refused() {
    let server = TestServer::start(ServerConfig::default())
        .await
        .expect("server");
    let mut peer = RawPeer::connect(server.addr).await.expect("connect");
    let hello = HelloFields {
        max_frame_payload: 255,
        ..HelloFields::default()
    };
    peer.send(&wire::hello(&hello)).await.expect("send");
    let goaway = peer.wait_goaway(WAIT).await.expect("read").expect("GOAWAY");
    assert_ne!(goaway.code, code::NO_ERROR, "{goaway:?}");
    fresh_client_served(server.addr, WAIT)
        .await
        .expect("served");
}

#[tokio::test]
async fn data_past_the_window_is_a_flow_control_error() {
    let server = TestServer::start(ServerConfig::default())
        .await
        .expect("server");
    let mut peer = RawPeer::handshake(server.addr, &HelloFields::default(), WAIT)
        .await
        .expect("handshake");
    // The server's windows are 512 KiB per message: send 600 KiB inline (under the 1 MiB frame limit).
    let body = vec![0u8; 600 << 10];
    let headers = wire::call_headers(netcore_hostile::server::ECHO_ROUTE, 1);
    peer.send(&wire::open(
        1,
        128,
        Some(body.len() as u64),
        &headers,
        &body,
    ))
    .await
    .expect("send");
    let goaway = peer.wait_goaway(WAIT).await.expect("read").expect("GOAWAY");
    assert_eq!(goaway.code, code::FLOW_CONTROL, "{goaway:?}");
    fresh_client_served(server.addr, WAIT)
        .await
        .expect("served");
}

#[tokio::test]
async fn zero_concurrent_messages_is_refused() {
    let server = TestServer::start(ServerConfig::default())
        .await
        .expect("server");
    let mut peer = RawPeer::connect(server.addr).await.expect("connect");
    let hello = HelloFields {
        max_concurrent_messages: 0,
        ..HelloFields::default()
    };
    peer.send(&wire::hello(&hello)).await.expect("send");
    let goaway = peer.wait_goaway(WAIT).await.expect("read").expect("GOAWAY");
    assert_ne!(goaway.code, code::NO_ERROR, "{goaway:?}");
    fresh_client_served(server.addr, WAIT)
        .await
        .expect("served");
}
