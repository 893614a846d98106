//! How a connection's end is reported: who closed it, a link cut in the
//! middle of a frame, a peer that leaves while this side only waits. The
//! raw peer here writes bytes by hand, as a broken or vanishing peer would.

use std::time::Duration;

use bytes::BytesMut;
use netcore_pipe::protocol::{Encoder, Frame, Headers, Hello, Limits, Open, Priority};
use netcore_pipe::transport::memory_pair;
use netcore_pipe::{ConnectionError, Fault, Message, Pipe, PipeConfig, SendError};
use tokio::io::AsyncWriteExt;

async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(20), future)
        .await
        .expect("the test finished in time")
}

/// A HELLO and the first `cut` bytes of an OPEN, as LSO v2 bytes.
fn hello_then_part_of_an_open(cut: usize) -> BytesMut {
    let encoder = Encoder::new(Limits::default());
    let mut wire = BytesMut::new();
    encoder
        .encode_into(&Frame::Hello(Hello::new(Limits::default())), &mut wire)
        .expect("hello");
    let mut open = BytesMut::new();
    encoder
        .encode_into(
            &Frame::Open(Open {
                message_id: 1,
                priority: Priority::NORMAL,
                total_len: Some(4),
                headers: Headers::new(),
                body: bytes::Bytes::from_static(b"body"),
            }),
            &mut open,
        )
        .expect("open");
    assert!(cut < open.len());
    wire.extend_from_slice(&open[..cut]);
    wire
}

#[tokio::test]
async fn a_peer_killed_mid_frame_is_a_lost_link_not_a_protocol_violation() {
    let (ours, mut raw) = tokio::io::duplex(64 * 1024);
    let pipe = Pipe::new(ours, PipeConfig::default());
    raw.write_all(&hello_then_part_of_an_open(9))
        .await
        .expect("write");
    pipe.ready().await.expect("the peer said HELLO");
    drop(raw);
    let error = guard(pipe.closed()).await.expect_err("the link was cut");
    assert!(
        matches!(error, ConnectionError::LinkLost { buffered: 9 }),
        "{error:?}"
    );
    assert_eq!(error.fault(), Fault::Link);
}

#[tokio::test]
async fn a_python_peer_killed_mid_packet_is_a_lost_link() {
    let (ours, mut raw) = tokio::io::duplex(64 * 1024);
    let pipe = Pipe::new(ours, PipeConfig::py013());
    // The first 10 bytes of a head packet, then nothing.
    use netcore_pipe::protocol::py013::{Encoder as PyEncoder, Head, Info, Packet};
    let head = PyEncoder::new()
        .encode(&Packet::Head(Head {
            extension: "abcdef".to_owned(),
            length: 4,
            info: Info::new(),
        }))
        .expect("head");
    raw.write_all(&head[..10]).await.expect("write");
    drop(raw);
    let error = guard(pipe.closed()).await.expect_err("the link was cut");
    assert!(
        matches!(error, ConnectionError::LinkLost { buffered: 10 }),
        "{error:?}"
    );
}

#[tokio::test]
async fn after_the_peer_closes_gracefully_sending_says_the_peer_closed() {
    let (a, b) = memory_pair(64 * 1024);
    let left = Pipe::new(a, PipeConfig::default());
    let right = Pipe::new(b, PipeConfig::default());
    left.ready().await.expect("ready");
    guard(right.close()).await.expect("graceful");
    guard(left.closed())
        .await
        .expect("graceful on this side too");
    let error = left.send(Message::new("late")).expect_err("closed");
    assert!(
        matches!(error, SendError::Connection(ConnectionError::PeerClosed)),
        "{error:?}"
    );
    // The side that closed says it did.
    let error = right.send(Message::new("late")).expect_err("closed");
    assert!(
        matches!(error, SendError::Connection(ConnectionError::Closed)),
        "{error:?}"
    );
    assert_eq!(error.fault(), Fault::Local);
}

#[tokio::test]
async fn a_python_peer_that_leaves_is_the_peer_closing() {
    let (a, b) = memory_pair(64 * 1024);
    let left = Pipe::new(a, PipeConfig::py013());
    let right = Pipe::new(b, PipeConfig::py013());
    drop(right);
    // End of stream is how a Python peer leaves: graceful, but the peer's.
    guard(left.closed()).await.expect("graceful");
    let error = left.send(Message::new("late")).expect_err("closed");
    assert!(
        matches!(error, SendError::Connection(ConnectionError::PeerClosed)),
        "{error:?}"
    );
}
