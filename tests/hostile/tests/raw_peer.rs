//! The raw peer is right: its encoder reproduces the spec's worked
//! examples byte for byte, and a real `Pipe` accepts what it encodes
//! (content checked); its reader reads what a real `Pipe` sends.

use std::time::Duration;

use netcore_hostile::reader::FrameReader;
use netcore_hostile::wire::{self, HelloFields, PRIORITY_NORMAL, code, kind};
use netcore_hostile::{Arrival, RawPeer};
use netcore_pipe::protocol::Priority;
use netcore_pipe::{Message, Pipe, PipeConfig, ReceiveMode};
use tokio::net::TcpListener;

const SPEC: &str = include_str!("../../../docs/wire-format.md");
const WAIT: Duration = Duration::from_secs(5);

#[test]
fn crc_matches_the_spec_check_value() {
    assert_eq!(wire::crc(b"123456789"), 0xE306_9283);
}

#[test]
fn encoder_reproduces_the_worked_examples() {
    let examples = wire::doc_examples(SPEC);
    let find = |name: &str| {
        examples
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, bytes)| bytes.clone())
            .unwrap_or_else(|| panic!("docs/wire-format.md has no `{name}` example"))
    };
    let headers = wire::header_block(&[("route", "/greet")]);
    assert_eq!(
        wire::open(1, PRIORITY_NORMAL, Some(11), &headers, b""),
        find("open")
    );
    assert_eq!(wire::data(1, 0, b"hello world"), find("data"));
}

#[test]
fn reader_reads_back_every_kind() {
    let frames = [
        wire::hello(&HelloFields::default()),
        wire::open(3, 192, None, &wire::call_headers("/x", 9), b"ab"),
        wire::data(3, 2, b"cd"),
        wire::end(3, 4),
        wire::cancel(3, true, code::CANCELLED, "no"),
        wire::credit(0, 1 << 20),
        wire::ping(42),
        wire::pong(43),
        wire::goaway(7, code::LIMIT_EXCEEDED, "too much"),
    ];
    let mut reader = FrameReader::new();
    for frame in &frames {
        reader.push(frame);
    }
    let mut read = Vec::new();
    while let Some(frame) = reader.next_frame().expect("every frame checks") {
        read.push(frame);
    }
    assert_eq!(read.len(), frames.len());
    let hello = read[0].hello().expect("a HELLO");
    assert_eq!(hello, {
        let d = HelloFields::default();
        netcore_hostile::reader::Hello {
            max_frame_payload: d.max_frame_payload,
            max_message_size: d.max_message_size,
            max_header_bytes: d.max_header_bytes,
            max_concurrent_messages: d.max_concurrent_messages,
            message_window: d.message_window,
            connection_window: d.connection_window,
        }
    });
    let open = read[1].open().expect("an OPEN");
    assert_eq!((open.priority, open.total_len), (192, None));
    assert_eq!(open.header("route").as_deref(), Some("/x"));
    assert_eq!(open.header("nc-call").as_deref(), Some("9"));
    assert_eq!(open.body, b"ab");
    assert_eq!(read[2].data(), Some((2, &b"cd"[..])));
    assert_eq!(read[3].kind, kind::END);
    assert_eq!(
        (read[4].kind, read[4].flags),
        (kind::CANCEL, wire::BY_RECEIVER)
    );
    assert_eq!(read[5].credit(), Some((0, 1 << 20)));
    assert_eq!(read[6].ping(), Some(42));
    assert_eq!(read[7].pong(), Some(43));
    let goaway = read[8].goaway().expect("a GOAWAY");
    assert_eq!(
        (goaway.last_message_id, goaway.code, goaway.reason.as_str()),
        (7, code::LIMIT_EXCEEDED, "too much")
    );
}

#[test]
fn reader_refuses_a_damaged_header() {
    let mut bytes = wire::ping(1);
    bytes[10] ^= 1;
    let mut reader = FrameReader::new();
    reader.push(&bytes);
    assert!(reader.next_frame().is_err());
}

/// A real pipe on 127.0.0.1 and a raw peer connected to it.
async fn pipe_and_raw_peer(receive: ReceiveMode) -> (Pipe, RawPeer) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let raw = tokio::spawn(RawPeer::connect(addr));
    let (stream, _) = listener.accept().await.expect("accept");
    let pipe = Pipe::new(stream, PipeConfig::default().with_receive(receive));
    let mut raw = raw.await.expect("join").expect("connect");
    raw.send(&wire::hello(&HelloFields::default()))
        .await
        .expect("send HELLO");
    let hello = raw
        .wait_for(WAIT, |frame| frame.kind == kind::HELLO)
        .await
        .expect("read")
        .expect("the pipe's HELLO");
    assert!(hello.hello().is_some_and(|h| h.max_frame_payload >= 256));
    (pipe, raw)
}

#[tokio::test]
async fn a_real_pipe_accepts_what_the_encoder_builds() {
    let (pipe, mut raw) = pipe_and_raw_peer(ReceiveMode::Complete).await;
    let headers = wire::header_block(&[("route", "/greet"), ("trace", "t-1")]);
    // Known length: OPEN with the first bytes inline, then one DATA.
    raw.send(&wire::open(
        1,
        PRIORITY_NORMAL,
        Some(11),
        &headers,
        b"hello",
    ))
    .await
    .expect("send");
    raw.send(&wire::data(1, 5, b" world")).await.expect("send");
    // Unknown length: OPEN, two DATA, END.
    raw.send(&wire::open(2, 192, None, &headers, b""))
        .await
        .expect("send");
    raw.send(&wire::data(2, 0, b"str")).await.expect("send");
    raw.send(&wire::data(2, 3, b"eamed")).await.expect("send");
    raw.send(&wire::end(2, 8)).await.expect("send");

    let first = tokio::time::timeout(WAIT, pipe.recv())
        .await
        .expect("in time")
        .expect("a message");
    assert_eq!(first.headers.get_str("route"), Some("/greet"));
    assert_eq!(first.headers.get_str("trace"), Some("t-1"));
    assert_eq!(first.body.to_bytes().await.expect("body"), "hello world");
    let second = tokio::time::timeout(WAIT, pipe.recv())
        .await
        .expect("in time")
        .expect("a message");
    assert_eq!(second.priority, Priority::HIGH);
    assert_eq!(second.body.to_bytes().await.expect("body"), "streamed");

    // A PING gets its PONG, with the opaque value echoed.
    raw.send(&wire::ping(0xDEAD_BEEF)).await.expect("send");
    let pong = raw
        .wait_for(WAIT, |frame| frame.kind == kind::PONG)
        .await
        .expect("read")
        .expect("a PONG");
    assert_eq!(pong.pong(), Some(0xDEAD_BEEF));
}

#[tokio::test]
async fn the_reader_reads_what_a_real_pipe_sends() {
    let (pipe, mut raw) = pipe_and_raw_peer(ReceiveMode::Complete).await;
    let body = vec![7u8; 100_000];
    let sent = pipe
        .send(
            Message::new(body.clone())
                .header("route", "/r")
                .expect("header"),
        )
        .expect("send");
    let open = raw
        .wait_for(WAIT, |frame| frame.kind == kind::OPEN)
        .await
        .expect("read")
        .expect("an OPEN");
    let fields = open.open().expect("OPEN fields");
    assert_eq!(fields.total_len, Some(body.len() as u64));
    assert_eq!(fields.header("route").as_deref(), Some("/r"));
    let mut received = fields.body;
    while received.len() < body.len() {
        match raw.next_frame(WAIT).await.expect("read") {
            Arrival::Frame(frame) if frame.kind == kind::DATA => {
                let (offset, chunk) = frame.data().expect("DATA fields");
                assert_eq!(offset, received.len() as u64);
                received.extend_from_slice(chunk);
            }
            Arrival::Frame(_) => {}
            other => panic!("the body stopped at {} bytes: {other:?}", received.len()),
        }
    }
    assert_eq!(received, body);
    tokio::time::timeout(WAIT, sent)
        .await
        .expect("in time")
        .expect("sent");
    // A graceful close reaches the raw peer as GOAWAY NO_ERROR.
    pipe.start_close();
    let goaway = raw.wait_goaway(WAIT).await.expect("read").expect("GOAWAY");
    assert_eq!(goaway.code, code::NO_ERROR);
}
