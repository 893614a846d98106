//! Helpers shared by the integration tests: frame strategies, wire crafting,
//! and a driver that feeds a decoder in given splits.
#![allow(dead_code, unreachable_pub)]

use bytes::{Bytes, BytesMut};
use netcore_protocol::{
    Cancel, Credit, Data, DecodeError, Decoded, Decoder, Encoder, End, ErrorCode, Frame, GoAway,
    Headers, Hello, Limits, Open, Ping, Pong, Priority,
};
use proptest::prelude::*;

pub fn arb_headers() -> impl Strategy<Value = Headers> {
    prop::collection::vec(
        (
            "[a-z][a-z0-9-]{0,11}",
            prop::collection::vec(any::<u8>(), 0..24),
        ),
        0..4,
    )
    .prop_map(|entries| {
        let mut headers = Headers::new();
        for (name, value) in entries {
            headers.append(name, value).expect("valid header");
        }
        headers
    })
}

fn arb_body(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

pub fn arb_limits() -> impl Strategy<Value = Limits> {
    (
        256u32..=(1 << 20),
        any::<u64>(),
        Limits::MIN_HEADER_BYTES..,
        1u32..,
    )
        .prop_map(|(frame, message, header, concurrent)| Limits {
            max_frame_payload: frame,
            max_message_size: message,
            max_header_bytes: header,
            max_concurrent_messages: concurrent,
        })
}

/// Any valid frame that fits `Limits::default()`.
pub fn arb_frame() -> impl Strategy<Value = Frame> {
    let id = 1u64..;
    prop_oneof![
        (
            arb_limits(),
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
            arb_headers()
        )
            .prop_map(
                |(limits, message_window, connection_window, capabilities, headers)| {
                    Frame::Hello(Hello {
                        limits,
                        message_window,
                        connection_window,
                        capabilities,
                        headers,
                    })
                }
            ),
        (
            id.clone(),
            any::<u8>(),
            prop::option::of(0u64..1 << 30),
            arb_headers(),
            arb_body(300)
        )
            .prop_map(|(message_id, priority, extra, headers, body)| {
                Frame::Open(Open {
                    message_id,
                    priority: Priority(priority),
                    total_len: extra.map(|extra| body.len() as u64 + extra),
                    headers,
                    body,
                })
            }),
        (id.clone(), any::<u64>(), arb_body(2000)).prop_map(|(message_id, offset, payload)| {
            Frame::Data(Data {
                message_id,
                offset,
                payload,
            })
        }),
        (id.clone(), any::<u64>()).prop_map(|(message_id, total_len)| Frame::End(End {
            message_id,
            total_len
        })),
        (id.clone(), any::<bool>(), any::<u32>(), "\\PC{0,24}").prop_map(
            |(message_id, by_receiver, code, reason)| Frame::Cancel(Cancel {
                message_id,
                by_receiver,
                code: ErrorCode(code),
                reason,
            })
        ),
        (any::<u64>(), any::<u64>())
            .prop_map(|(message_id, limit)| Frame::Credit(Credit { message_id, limit })),
        any::<u64>().prop_map(|opaque| Frame::Ping(Ping { opaque })),
        any::<u64>().prop_map(|opaque| Frame::Pong(Pong { opaque })),
        (any::<u64>(), any::<u32>(), "\\PC{0,24}").prop_map(|(last_message_id, code, reason)| {
            Frame::GoAway(GoAway {
                last_message_id,
                code: ErrorCode(code),
                reason,
            })
        }),
    ]
}

/// Encodes `frames` back to back; returns the stream and each frame's byte range.
pub fn encode_all(frames: &[Frame]) -> (Vec<u8>, Vec<std::ops::Range<usize>>) {
    let encoder = Encoder::default();
    let mut wire = BytesMut::new();
    let mut ranges = Vec::new();
    for frame in frames {
        let start = wire.len();
        encoder
            .encode_into(frame, &mut wire)
            .expect("frame encodes");
        ranges.push(start..wire.len());
    }
    (wire.to_vec(), ranges)
}

/// Feeds `wire` to `decoder` in pieces of the given sizes (cycled; a size of 0
/// counts as 1), draining items after each piece, then drains at end of stream.
pub fn feed(
    decoder: &mut Decoder,
    wire: &[u8],
    splits: &[usize],
) -> Result<Vec<Decoded>, DecodeError> {
    let mut items = Vec::new();
    let mut buf = BytesMut::new();
    let mut at = 0;
    let mut sizes = splits.iter().copied().cycle();
    while at < wire.len() {
        let size = sizes.next().unwrap_or(wire.len()).max(1);
        let end = (at + size).min(wire.len());
        buf.extend_from_slice(&wire[at..end]);
        at = end;
        while let Some(item) = decoder.decode(&mut buf)? {
            items.push(item);
        }
    }
    // Every eof call makes progress or ends; bound it anyway.
    for _ in 0..=wire.len() + 2 {
        match decoder.decode_eof(&mut buf)? {
            Some(item) => items.push(item),
            None => return Ok(items),
        }
    }
    panic!("decode_eof did not finish");
}

/// The frames among `items`.
pub fn frames_of(items: Vec<Decoded>) -> Vec<Frame> {
    items
        .into_iter()
        .filter_map(|item| match item {
            Decoded::Frame(frame) => Some(frame),
            Decoded::Damaged(_) => None,
        })
        .collect()
}

/// A 22-byte header with any field values and a correct header CRC.
pub fn raw_header(version: u8, kind: u8, flags: u16, message_id: u64, len: u32) -> Vec<u8> {
    let mut out = vec![0xF5, 0x4E, version, kind];
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&message_id.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_be_bytes());
    out
}

/// A whole frame with any header fields and payload, both CRCs correct.
pub fn raw_frame(kind: u8, flags: u16, message_id: u64, payload: &[u8]) -> Vec<u8> {
    let mut out = raw_header(2, kind, flags, message_id, payload.len() as u32);
    out.extend_from_slice(payload);
    out.extend_from_slice(&crc32c::crc32c(payload).to_be_bytes());
    out
}
