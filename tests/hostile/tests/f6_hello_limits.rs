//! F6: a HELLO whose limits leave the server unable to answer gets a clear
//! refusal (GOAWAY with a code), not silence.

use std::time::Duration;

use netcore_endpoint::ServerConfig;
use netcore_hostile::wire::{self, HelloFields, code};
use netcore_hostile::{RawPeer, TestServer};

const WAIT: Duration = Duration::from_secs(3);

async fn refusal(hello: HelloFields) -> Option<netcore_hostile::GoAway> {
    let server = TestServer::start(ServerConfig::default())
        .await
        .expect("server");
    let mut peer = RawPeer::connect(server.addr).await.expect("connect");
    peer.send(&wire::hello(&hello)).await.expect("send");
    // A call the server could not answer within these limits.
    let headers = wire::call_headers(netcore_hostile::server::PING_ROUTE, 1);
    let _ = peer.send(&wire::open(1, 128, Some(0), &headers, b"")).await;
    peer.wait_goaway(WAIT).await.expect("read")
}

#[tokio::test]
async fn zero_header_bytes_is_refused() {
    let goaway = refusal(HelloFields {
        max_header_bytes: 0,
        ..HelloFields::default()
    })
    .await
    .expect("F6: max_header_bytes = 0 met silence");
    assert_ne!(goaway.code, code::NO_ERROR, "{goaway:?}");
}
