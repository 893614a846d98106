//! Fuzzes the Python netcore 0.1.3 decoder (`netcore_protocol::py013`) with
//! arbitrary bytes fed in arbitrary chunk sizes.
//!
//! Input layout: the first byte is a control byte; the rest is the stream.
//! - bits 0–5: feed chunk size minus one (1 to 64 bytes per feed);
//! - bit 7: "framed" mode — the rest is cut at every `0xFF` byte into pieces,
//!   taken in pairs as (ext, meta), and each pair is written with correct
//!   little-endian lengths, so the fuzzer reaches the JSON without having to
//!   get the lengths right;
//! - bit 6 (when bit 7 is clear): "templated" mode — the rest is cut at every
//!   `0xFF` byte into pieces; each piece's first byte picks a packet template
//!   and the remaining bytes are spliced into it (the info object of a head,
//!   a whole head meta, a data chunk, or the id of a data chunk or cancel),
//!   so the fuzzer works on well-formed packets around the part it mutates.
//!
//! Checked:
//! - no panic, and `decode_eof` ends with `Ok(None)` or an error within
//!   `input.len() + 10` calls;
//! - the packets decoded in small feeds are exactly those decoded from the
//!   whole stream at once, up to the same error;
//! - every decoded packet re-encodes unless the format forbids it (an empty
//!   data chunk, or an ext or meta too long for a Python receiver once
//!   written in Python's style), and what it re-encodes to decodes back to
//!   the same packet and re-encodes to the same bytes (encoding is
//!   canonical, so input already in Python's style is reproduced exactly).

#![no_main]

use std::borrow::Cow;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use netcore_protocol::py013::{DecodeError, Decoder, EncodeError, Encoder, Limits, Packet};

/// Small limits, so that every limit check is reachable with small inputs.
const LIMITS: Limits = Limits {
    max_ext_len: 256,
    max_head_len: 1024,
    max_chunk_len: 512,
    max_cancel_len: 128,
    max_message_len: 1 << 20,
};

/// Decodes `stream` fed `chunk` bytes at a time: the packets with the bytes
/// each consumed, and the error that ended it, if any.
fn run(stream: &[u8], chunk: usize) -> (Vec<(Packet, Vec<u8>)>, Option<DecodeError>) {
    let mut decoder = Decoder::new(LIMITS);
    let mut buf = BytesMut::new();
    let mut packets = Vec::new();
    let mut fed = 0;
    for piece in stream.chunks(chunk.max(1)) {
        buf.extend_from_slice(piece);
        fed += piece.len();
        loop {
            let start = fed - buf.len();
            match decoder.decode(&mut buf) {
                Ok(Some(packet)) => {
                    let end = fed - buf.len();
                    assert!(end > start, "a packet consumed no bytes");
                    packets.push((packet, stream[start..end].to_vec()));
                }
                Ok(None) => break,
                Err(error) => return (packets, Some(error)),
            }
        }
    }
    for _ in 0..stream.len() + 10 {
        let start = fed - buf.len();
        match decoder.decode_eof(&mut buf) {
            Ok(Some(packet)) => {
                let end = fed - buf.len();
                packets.push((packet, stream[start..end].to_vec()));
            }
            Ok(None) => {
                assert!(buf.is_empty(), "Ok(None) at EOF with bytes left");
                return (packets, None);
            }
            Err(error) => return (packets, Some(error)),
        }
    }
    panic!("decode_eof did not finish");
}

fn check_round_trip(packet: &Packet) {
    let encoder = Encoder::new();
    let encoded = match encoder.encode(packet) {
        Ok(encoded) => encoded,
        Err(EncodeError::EmptyChunk) => {
            assert!(matches!(packet, Packet::Data(data) if data.chunk.is_empty()));
            return;
        }
        Err(EncodeError::ExtTooLong { .. } | EncodeError::MetaTooLong { .. }) => return,
        Err(error) => panic!("decoded packet does not re-encode: {error:?}\n{packet:?}"),
    };
    let mut decoder = Decoder::new(Limits {
        max_ext_len: usize::MAX,
        max_head_len: usize::MAX,
        max_chunk_len: usize::MAX,
        max_cancel_len: usize::MAX,
        max_message_len: u64::MAX,
    });
    let mut wire = BytesMut::from(&encoded[..]);
    let again = match decoder.decode_eof(&mut wire) {
        Ok(Some(again)) => again,
        other => panic!("re-encoded packet does not decode: {other:?}\n{packet:?}"),
    };
    assert!(wire.is_empty(), "re-encoded packet left bytes");
    assert_eq!(&again, packet, "re-encoded packet decodes differently");
    let twice = encoder.encode(&again).expect("it encoded once");
    assert_eq!(twice, encoded, "encoding is not canonical");
}

/// Framed mode: `(ext, meta)` pairs cut at `0xFF`, with correct lengths.
fn frame_pieces(rest: &[u8]) -> Vec<u8> {
    let pieces: Vec<&[u8]> = rest.split(|&byte| byte == 0xFF).collect();
    let mut out = Vec::with_capacity(rest.len() + 4 * pieces.len() + 4);
    for pair in pieces.chunks(2) {
        for piece in pair {
            out.extend_from_slice(&(piece.len() as i32).to_le_bytes());
            out.extend_from_slice(piece);
        }
    }
    out
}

/// Templated mode: well-formed packets around mutated parts.
fn template_pieces(rest: &[u8]) -> Vec<u8> {
    fn packet(out: &mut Vec<u8>, ext: &[u8], meta: &[u8]) {
        out.extend_from_slice(&(ext.len() as i32).to_le_bytes());
        out.extend_from_slice(ext);
        out.extend_from_slice(&(meta.len() as i32).to_le_bytes());
        out.extend_from_slice(meta);
    }
    let mut out = Vec::with_capacity(rest.len() * 2 + 64);
    for piece in rest.split(|&byte| byte == 0xFF) {
        let Some((&pick, part)) = piece.split_first() else {
            continue;
        };
        match pick % 5 {
            0 => {
                let mut meta = br#"{"extension": "fbZAVa", "length": 8, "info": {"#.to_vec();
                meta.extend_from_slice(part);
                meta.extend_from_slice(b"}}");
                packet(&mut out, br#"{"type": "mission"}"#, &meta);
            }
            1 => packet(&mut out, br#"{"type": "mission"}"#, part),
            2 => packet(
                &mut out,
                br#"{"type": "data", "extension": "fbZAVa"}"#,
                part,
            ),
            3 => {
                let mut ext = br#"{"type": "data", "extension": ""#.to_vec();
                ext.extend_from_slice(part);
                ext.extend_from_slice(br#""}"#);
                packet(&mut out, &ext, b"x");
            }
            _ => {
                let mut ext = br#"{"type": "cancel", "extension": ""#.to_vec();
                ext.extend_from_slice(part);
                ext.extend_from_slice(br#""}"#);
                packet(&mut out, &ext, br#"{"extension": "fbZAVa"}"#);
            }
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control & 0x3f) + 1;
    let stream: Cow<'_, [u8]> = if control & 0x80 != 0 {
        Cow::Owned(frame_pieces(rest))
    } else if control & 0x40 != 0 {
        Cow::Owned(template_pieces(rest))
    } else {
        Cow::Borrowed(rest)
    };

    let (packets, error) = run(&stream, chunk);
    let (whole_packets, whole_error) = run(&stream, stream.len());
    assert_eq!(packets, whole_packets, "the split changed the packets");
    assert_eq!(error, whole_error, "the split changed the error");
    for (packet, _) in &packets {
        check_round_trip(packet);
    }
});
