//! The pipe in Python-compatible mode ([`WireFormat::Py013`]), two Rust
//! pipes talking netcore 0.1.3 to each other. The real Python peer is met in
//! the workspace's `tests/python_interop.rs`.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use netcore_pipe::core::py013::{Py013Config, Py013Error};
use netcore_pipe::transport::memory_pair;
use netcore_pipe::{
    Body, Message, Pipe, PipeConfig, ReceiveError, ReceiveMode, SendError, WireFormat,
};

fn pattern(len: usize, seed: u8) -> Bytes {
    (0..len)
        .map(|i| (i % 251) as u8 ^ seed)
        .collect::<Vec<u8>>()
        .into()
}

fn pair(config: PipeConfig) -> (Pipe, Pipe) {
    let (a, b) = memory_pair(64 * 1024);
    (Pipe::new(a, config.clone()), Pipe::new(b, config))
}

/// A header as an info key: its value is JSON text.
fn request(body: Bytes, n: usize) -> Message {
    Message::new(body)
        .header("route", "\"echo\"")
        .and_then(|m| m.header("n", n.to_string()))
        .expect("headers")
}

async fn guard<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("the test finished in time")
}

#[tokio::test]
async fn fifty_messages_each_way_with_info_headers() {
    let (left, right) = pair(PipeConfig::py013());
    guard(async {
        left.ready().await.expect("no handshake to wait for");
        let mut handles = Vec::new();
        for n in 0..50 {
            handles.push(
                left.send(request(pattern(n * 300, n as u8), n))
                    .expect("send"),
            );
            handles.push(
                right
                    .send(request(pattern(n * 300, n as u8), n))
                    .expect("send"),
            );
        }
        for (pipe, name) in [(&right, "right"), (&left, "left")] {
            let mut seen = [false; 50];
            for _ in 0..50 {
                let message = pipe.recv().await.expect(name);
                assert_eq!(message.headers.get_str("route"), Some("\"echo\""));
                let n: usize = message.headers.get_str("n").expect("n").parse().expect("n");
                assert_eq!(
                    message.body.to_bytes().await.expect("body"),
                    pattern(n * 300, n as u8)
                );
                seen[n] = true;
            }
            assert!(seen.iter().all(|seen| *seen));
        }
        for handle in handles {
            handle.await.expect("sent");
        }
    })
    .await;
}

#[tokio::test]
async fn a_large_file_body_streams_and_a_slow_reader_holds_the_sender_back() {
    let config = PipeConfig::default()
        .with_wire(WireFormat::Py013(
            Py013Config::default().with_receive_window(64 << 10),
        ))
        .with_receive(ReceiveMode::Streaming);
    let (left, right) = pair(config);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("body");
    let body = pattern(4 << 20, 3);
    std::fs::write(&path, &body).expect("write file");
    guard(async {
        let handle = left
            .send(Message::new(Body::file(&path).await.expect("file")))
            .expect("send");
        let mut incoming = right.accept().await.expect("accept");
        assert_eq!(incoming.total_len, Some(4 << 20));
        // Not reading: the receiver stops taking input, so the sender stalls
        // well short of the whole body.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            left.stats().bytes_written < 2 << 20,
            "sender held back: {} bytes written",
            left.stats().bytes_written
        );
        let mut got = Vec::with_capacity(body.len());
        while let Some(chunk) = incoming.body.next().await {
            got.extend_from_slice(&chunk.expect("chunk"));
        }
        assert_eq!(Bytes::from(got), body);
        handle.await.expect("sent");
    })
    .await;
}

#[tokio::test]
async fn cancelling_mid_transfer_fails_the_message_at_the_receiver() {
    let (left, right) = pair(PipeConfig::py013().with_receive(ReceiveMode::Streaming));
    guard(async {
        let handle = left.send(Message::new(pattern(8 << 20, 1))).expect("send");
        let mut incoming = right.accept().await.expect("accept");
        let first = incoming.body.next().await.expect("a chunk").expect("chunk");
        assert!(!first.is_empty());
        handle.cancel();
        assert!(matches!(handle.await, Err(SendError::Cancelled)));
        let mut outcome = Ok(());
        while let Some(chunk) = incoming.body.next().await {
            if let Err(error) = chunk {
                outcome = Err(error);
            }
        }
        assert!(
            matches!(outcome, Err(ReceiveError::CancelledByPeer { .. })),
            "{outcome:?}"
        );
        // The link is still in step.
        left.send(Message::new("after")).expect("send");
        let next = right.accept().await.expect("accept");
        assert_eq!(next.bytes().await.expect("body"), "after");
    })
    .await;
}

#[tokio::test]
async fn a_stream_body_and_a_huge_head_are_refused_locally() {
    let (left, _right) = pair(PipeConfig::py013());
    guard(async {
        let stream = futures::stream::iter([Ok(Bytes::from_static(b"x"))]);
        let handle = left.send(Message::new(Body::stream(stream))).expect("send");
        assert!(matches!(
            handle.await,
            Err(SendError::Py013(Py013Error::UnknownLength))
        ));
        let route = format!("\"{}\"", "r".repeat(4100));
        let handle = left
            .send(Message::new("x").header("route", route).expect("header"))
            .expect("send");
        let error = handle.await.expect_err("too long for a Python receiver");
        assert!(error.to_string().contains("4096"), "{error}");
    })
    .await;
}

#[tokio::test]
async fn closing_writes_what_is_queued_then_the_peer_sees_the_end() {
    let (left, right) = pair(PipeConfig::py013());
    guard(async {
        let handle = left.send(Message::new(pattern(100_000, 9))).expect("send");
        left.close().await.expect("graceful");
        handle.await.expect("written before the close");
        let message = right.recv().await.expect("delivered");
        assert_eq!(
            message.body.to_bytes().await.expect("body"),
            pattern(100_000, 9)
        );
        right
            .closed()
            .await
            .expect("end of stream with nothing pending is graceful");
    })
    .await;
}

#[tokio::test]
async fn a_file_body_goes_out_whatever_the_core_chunk_size() {
    let mut config = PipeConfig::py013();
    config.core.chunk_size = 512;
    let (left, right) = pair(config);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("body");
    let body = pattern(20_000, 5);
    std::fs::write(&path, &body).expect("write file");
    guard(async {
        let handle = left
            .send(Message::new(Body::file(&path).await.expect("file")))
            .expect("send");
        let message = right.recv().await.expect("delivered");
        assert_eq!(message.body.to_bytes().await.expect("body"), body);
        handle.await.expect("sent");
    })
    .await;
}
