//! One test per kind of malformed input: each gets the exact typed error, in
//! strict mode, and (where it applies) the matching damage report in resync
//! mode. Allocation bounds are checked in `alloc_bounds.rs`.

mod common;

use bytes::BytesMut;
use common::{feed, raw_frame, raw_header};
use netcore_protocol::{
    Damage, DecodeError, DecodeMode, Decoded, Decoder, Encoder, Frame, FrameKind, Limits,
    Malformation, Ping,
};

const OPEN: u8 = 0x02;
const DATA: u8 = 0x03;
const END: u8 = 0x04;
const CANCEL: u8 = 0x05;
const CREDIT: u8 = 0x06;
const PING: u8 = 0x07;
const HELLO: u8 = 0x01;
const GOAWAY: u8 = 0x09;

fn limits() -> Limits {
    Limits {
        max_frame_payload: 4096,
        max_message_size: 1 << 20,
        max_header_bytes: 64,
        max_concurrent_messages: 2,
    }
}

/// Decodes `wire` strictly as one complete stream; returns the first error.
fn strict_error(wire: &[u8]) -> DecodeError {
    let mut decoder = Decoder::new(limits());
    match feed(&mut decoder, wire, &[wire.len()]) {
        Err(error) => error,
        Ok(items) => panic!("expected an error, decoded {items:?}"),
    }
}

/// Decodes `wire` in resync mode; returns the items.
fn resync_items(wire: &[u8]) -> Vec<Decoded> {
    let mut decoder = Decoder::with_mode(limits(), DecodeMode::Resync);
    feed(&mut decoder, wire, &[wire.len()]).expect("resync mode never fails")
}

fn ping(opaque: u64) -> Vec<u8> {
    let mut out = BytesMut::new();
    Encoder::default()
        .encode_into(&Frame::Ping(Ping { opaque }), &mut out)
        .expect("ping encodes");
    out.to_vec()
}

#[test]
fn oversized_length() {
    let wire = raw_header(2, DATA, 0, 1, 4097);
    assert_eq!(
        strict_error(&wire),
        DecodeError::FrameTooLarge {
            kind: FrameKind::Data,
            len: 4097,
            max: 4096
        }
    );
    // Resync: reported against its message, then the next frame is found.
    let mut stream = wire.clone();
    stream.extend(ping(1));
    let items = resync_items(&stream);
    assert_eq!(
        items[0],
        Decoded::Damaged(Damage::Frame {
            message_id: 1,
            kind: Some(FrameKind::Data),
            error: DecodeError::FrameTooLarge {
                kind: FrameKind::Data,
                len: 4097,
                max: 4096
            }
        })
    );
    assert_eq!(
        items.last(),
        Some(&Decoded::Frame(Frame::Ping(Ping { opaque: 1 })))
    );
}

#[test]
fn length_at_the_limit_is_accepted() {
    let wire = raw_frame(DATA, 0, 1, &vec![0u8; 4096]);
    let items = resync_items(&wire);
    assert!(matches!(items.as_slice(), [Decoded::Frame(Frame::Data(_))]));
}

#[test]
fn bad_sync() {
    let mut wire = ping(1);
    wire[1] = 0x4F;
    assert_eq!(
        strict_error(&wire),
        DecodeError::BadSync {
            found: [0xF5, 0x4F]
        }
    );
    let mut wire = ping(1);
    wire.insert(0, 0x00);
    assert_eq!(
        strict_error(&wire),
        DecodeError::BadSync {
            found: [0x00, 0xF5]
        }
    );
}

#[test]
fn bad_header_crc() {
    let mut wire = ping(1);
    let expected = u32::from_be_bytes([wire[18], wire[19], wire[20], wire[21]]);
    wire[10] ^= 0x01; // a bit of the message id
    let actual = crc32c::crc32c(&wire[..18]);
    assert_eq!(
        strict_error(&wire),
        DecodeError::BadHeaderCrc { expected, actual }
    );
}

#[test]
fn bad_payload_crc() {
    let mut wire = raw_frame(DATA, 0, 7, b"\0\0\0\0\0\0\0\0payload");
    let payload_end = wire.len() - 4;
    wire[payload_end - 1] ^= 0x80;
    let expected = u32::from_be_bytes([
        wire[payload_end],
        wire[payload_end + 1],
        wire[payload_end + 2],
        wire[payload_end + 3],
    ]);
    let actual = crc32c::crc32c(&wire[22..payload_end]);
    let error = DecodeError::BadPayloadCrc {
        kind: FrameKind::Data,
        message_id: 7,
        expected,
        actual,
    };
    assert_eq!(strict_error(&wire), error);
    let items = resync_items(&wire);
    assert_eq!(
        items[0],
        Decoded::Damaged(Damage::Frame {
            message_id: 7,
            kind: Some(FrameKind::Data),
            error
        })
    );
    assert!(items.iter().all(|item| matches!(item, Decoded::Damaged(_))));
}

#[test]
fn unknown_kind() {
    for kind in [0x00, 0x0A, 0xFF] {
        assert_eq!(
            strict_error(&raw_header(2, kind, 0, 0, 0)),
            DecodeError::UnknownKind { kind }
        );
    }
}

#[test]
fn unknown_version() {
    for version in [0, 1, 3, 0xFF] {
        assert_eq!(
            strict_error(&raw_header(version, PING, 0, 0, 8)),
            DecodeError::UnsupportedVersion { version }
        );
    }
}

#[test]
fn unknown_flags() {
    assert_eq!(
        strict_error(&raw_frame(PING, 0x0001, 0, &[0; 8])),
        DecodeError::UnknownFlags {
            kind: FrameKind::Ping,
            flags: 0x0001
        }
    );
    assert_eq!(
        strict_error(&raw_frame(CANCEL, 0x8001, 3, &[0; 4])),
        DecodeError::UnknownFlags {
            kind: FrameKind::Cancel,
            flags: 0x8000
        }
    );
}

#[test]
fn message_ids_that_do_not_fit_the_kind() {
    assert_eq!(
        strict_error(&raw_frame(DATA, 0, 0, &[0; 8])),
        DecodeError::BadMessageId {
            kind: FrameKind::Data,
            message_id: 0
        }
    );
    assert_eq!(
        strict_error(&raw_frame(PING, 0, 5, &[0; 8])),
        DecodeError::BadMessageId {
            kind: FrameKind::Ping,
            message_id: 5
        }
    );
}

#[test]
fn truncated_input() {
    let wire = ping(9);
    for cut in [1, 2, 21, 22, 29, wire.len() - 1] {
        assert_eq!(
            strict_error(&wire[..cut]),
            DecodeError::Truncated { buffered: cut },
            "cut at {cut}"
        );
    }
    // Without end of stream, a partial frame is just "need more".
    let mut buf = BytesMut::from(&wire[..wire.len() - 1]);
    assert_eq!(Decoder::new(limits()).decode(&mut buf), Ok(None));
}

#[test]
fn header_block_over_the_limit() {
    // OPEN: priority, total_len, headers_len = 65 > 64.
    let mut payload = vec![128];
    payload.extend(10u64.to_be_bytes());
    payload.extend(65u16.to_be_bytes());
    payload.extend([0u8; 65]);
    assert_eq!(
        strict_error(&raw_frame(OPEN, 0, 1, &payload)),
        DecodeError::HeaderBlockTooLarge { len: 65, max: 64 }
    );
}

#[test]
fn announced_message_over_the_limit() {
    let mut payload = vec![128];
    payload.extend(((1u64 << 20) + 1).to_be_bytes());
    payload.extend(0u16.to_be_bytes());
    assert_eq!(
        strict_error(&raw_frame(OPEN, 0, 4, &payload)),
        DecodeError::MessageTooLarge {
            message_id: 4,
            len: (1 << 20) + 1,
            max: 1 << 20
        }
    );
}

fn malformed(kind: FrameKind, what: Malformation) -> DecodeError {
    DecodeError::Malformed { kind, what }
}

#[test]
fn payloads_shorter_than_their_fields() {
    let cases: [(u8, u64, &[u8], FrameKind, &str); 7] = [
        (DATA, 1, &[0; 7], FrameKind::Data, "offset"),
        (END, 1, &[0; 4], FrameKind::End, "total_len"),
        (CANCEL, 1, &[0; 3], FrameKind::Cancel, "code"),
        (CREDIT, 0, &[0; 7], FrameKind::Credit, "limit"),
        (PING, 0, &[], FrameKind::Ping, "opaque"),
        (GOAWAY, 0, &[0; 8], FrameKind::GoAway, "code"),
        (
            OPEN,
            1,
            &[128, 0, 0, 0, 0, 0, 0, 0, 9, 0],
            FrameKind::Open,
            "headers_len",
        ),
    ];
    for (kind_byte, id, payload, kind, field) in cases {
        assert_eq!(
            strict_error(&raw_frame(kind_byte, 0, id, payload)),
            malformed(kind, Malformation::Short { field }),
            "{kind}"
        );
    }
}

#[test]
fn trailing_bytes_after_fixed_layouts() {
    assert_eq!(
        strict_error(&raw_frame(PING, 0, 0, &[0; 9])),
        malformed(FrameKind::Ping, Malformation::TrailingBytes { count: 1 })
    );
    assert_eq!(
        strict_error(&raw_frame(CREDIT, 0, 0, &[0; 11])),
        malformed(FrameKind::Credit, Malformation::TrailingBytes { count: 3 })
    );
}

#[test]
fn text_that_is_not_utf8() {
    assert_eq!(
        strict_error(&raw_frame(CANCEL, 0, 1, &[0, 0, 0, 4, 0xC3, 0x28])),
        malformed(FrameKind::Cancel, Malformation::NotUtf8 { field: "reason" })
    );
}

#[test]
fn inline_body_longer_than_announced() {
    let mut payload = vec![128];
    payload.extend(2u64.to_be_bytes());
    payload.extend(0u16.to_be_bytes());
    payload.extend(b"abc");
    assert_eq!(
        strict_error(&raw_frame(OPEN, 0, 1, &payload)),
        malformed(
            FrameKind::Open,
            Malformation::BodyExceedsLength { body: 3, total: 2 }
        )
    );
}

#[test]
fn hello_with_limits_below_the_minimum() {
    let mut payload = Vec::new();
    payload.extend(100u32.to_be_bytes()); // max_frame_payload < 256
    payload.extend(u64::MAX.to_be_bytes());
    payload.extend(1024u16.to_be_bytes());
    payload.extend(8u32.to_be_bytes());
    payload.extend([0u8; 4 + 4 + 8 + 2]);
    assert_eq!(
        strict_error(&raw_frame(HELLO, 0, 0, &payload)),
        malformed(
            FrameKind::Hello,
            Malformation::LimitBelowMinimum {
                field: "max_frame_payload",
                value: 100,
                min: 256
            }
        )
    );
}

#[test]
fn an_intact_but_invalid_frame_is_skipped_whole_in_resync_mode() {
    let mut wire = raw_frame(PING, 0, 0, &[0; 9]);
    wire.extend(ping(3));
    let items = resync_items(&wire);
    assert_eq!(
        items,
        vec![
            Decoded::Damaged(Damage::Frame {
                message_id: 0,
                kind: Some(FrameKind::Ping),
                error: malformed(FrameKind::Ping, Malformation::TrailingBytes { count: 1 })
            }),
            Decoded::Frame(Frame::Ping(Ping { opaque: 3 })),
        ]
    );
}

#[test]
fn error_codes_name_the_problem() {
    use netcore_protocol::ErrorCode;
    assert_eq!(
        DecodeError::FrameTooLarge {
            kind: FrameKind::Data,
            len: 2,
            max: 1
        }
        .code(),
        ErrorCode::LIMIT_EXCEEDED
    );
    assert_eq!(
        DecodeError::UnknownKind { kind: 0 }.code(),
        ErrorCode::PROTOCOL_ERROR
    );
    assert_eq!(
        DecodeError::Truncated { buffered: 1 }.code(),
        ErrorCode::DAMAGED
    );
    assert_eq!(
        DecodeError::UnsupportedVersion { version: 1 }.to_string(),
        "unsupported wire-format version 1 (this side speaks version 2)"
    );
}

#[test]
fn inline_body_of_unknown_length_over_the_message_limit() {
    let limits = limits().with_max_message_size(100);
    let mut payload = vec![128];
    payload.extend(u64::MAX.to_be_bytes()); // length unknown
    payload.extend(0u16.to_be_bytes());
    payload.extend([0u8; 200]);
    let wire = raw_frame(OPEN, 0, 9, &payload);
    let mut decoder = Decoder::new(limits);
    assert_eq!(
        feed(&mut decoder, &wire, &[wire.len()]),
        Err(DecodeError::MessageTooLarge {
            message_id: 9,
            len: 200,
            max: 100
        })
    );
}
