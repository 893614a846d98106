//! The worked examples of `docs/wire-format.md`, read from the document itself:
//! each decodes to the frame the text describes and re-encodes to the same bytes.

mod doc_examples;

use bytes::{Bytes, BytesMut};
use netcore_protocol::{
    Data, Decoded, Decoder, Encoder, Frame, Headers, Inbound, InboundTracker, Limits, Open,
    Priority,
};

const DOC: &str = include_str!("../../docs/wire-format.md");

/// The bytes of the ```hex block that follows `<!-- example: NAME -->`.
fn example(name: &str) -> Vec<u8> {
    let after = doc_examples::after_marker(DOC, "docs/wire-format.md", name);
    doc_examples::hex_block(after, name).0
}

fn decode_one(bytes: &[u8]) -> Frame {
    let mut buf = BytesMut::from(bytes);
    let item = Decoder::new(Limits::default()).decode(&mut buf);
    assert!(buf.is_empty(), "example has {} extra bytes", buf.len());
    match item {
        Ok(Some(Decoded::Frame(frame))) => frame,
        other => panic!("example does not decode: {other:?}"),
    }
}

fn encode(frame: &Frame) -> Vec<u8> {
    let mut out = BytesMut::new();
    Encoder::default()
        .encode_into(frame, &mut out)
        .expect("example frame encodes");
    out.to_vec()
}

#[test]
fn open_example() {
    let bytes = example("open");
    let mut headers = Headers::new();
    headers.insert("route", "/greet").expect("valid header");
    let expected = Frame::Open(Open {
        message_id: 1,
        priority: Priority::NORMAL,
        total_len: Some(11),
        headers,
        body: Bytes::new(),
    });
    assert_eq!(decode_one(&bytes), expected);
    assert_eq!(encode(&expected), bytes);
}

#[test]
fn data_example() {
    let bytes = example("data");
    let expected = Frame::Data(Data {
        message_id: 1,
        offset: 0,
        payload: Bytes::from_static(b"hello world"),
    });
    assert_eq!(decode_one(&bytes), expected);
    assert_eq!(encode(&expected), bytes);
}

#[test]
fn the_two_examples_make_a_complete_message() {
    let mut tracker = InboundTracker::new(Limits::default());
    tracker
        .on_frame(&decode_one(&example("open")))
        .expect("OPEN accepted");
    let progress = tracker.on_frame(&decode_one(&example("data")));
    assert_eq!(
        progress,
        Ok(Inbound::Progress {
            message_id: 1,
            received: 11,
            complete: true
        })
    );
}

#[test]
fn crc32c_check_value_quoted_in_the_doc() {
    assert!(DOC.contains("crc32c(\"123456789\") = 0xE3069283"));
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
}
