//! Fuzzes the incremental decoder, strict and resyncing, with arbitrary bytes
//! fed in arbitrary chunk sizes.
//!
//! Input layout: the first byte is a control byte; the rest is the stream.
//! - bits 0–5: feed chunk size minus one (1 to 64 bytes per feed);
//! - bit 7: "repair" mode — before feeding, every header-sized run starting
//!   with the sync marker gets a correct header CRC, and its payload CRC too
//!   when the whole frame fits, so the fuzzer reaches payload decoding without
//!   having to solve two CRC32Cs per frame.
//!
//! Checked for both decoders:
//! - every yielded frame re-encodes (with an encoder built from the same
//!   limits) to exactly the bytes it consumed, both with `encode_into` and
//!   with the zero-copy `encode`;
//! - `decode_eof` returns `Ok(None)` within `input.len() + 10` calls;
//! - the resyncing decoder never returns an error;
//! - the frames the strict decoder yields before its first error (or all of
//!   them, if it never fails) are exactly the first frames the resyncing
//!   decoder yields, from the same stream positions; and when the strict
//!   decoder never fails, the resyncing one reports no damage.

#![no_main]

use std::borrow::Cow;
use std::ops::Range;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use netcore_protocol::{
    Damage, DecodeMode, Decoded, Decoder, Encoder, Frame, HEADER_LEN, Limits, SYNC, TRAILER_LEN,
};

/// Small limits, so that the limit checks are reachable with small inputs.
const LIMITS: Limits = Limits {
    max_frame_payload: 4096,
    max_message_size: 64 << 10,
    max_header_bytes: 1024,
    max_concurrent_messages: 16,
};

/// Offset of the header CRC inside the header.
const HEADER_CRC_AT: usize = HEADER_LEN - 4;
/// Offset of the payload length inside the header.
const PAYLOAD_LEN_AT: usize = 14;

/// One decoder with its read buffer and what it yielded.
struct Run {
    decoder: Decoder,
    encoder: Encoder,
    buf: BytesMut,
    /// Bytes fed so far (the stream position of the end of `buf`).
    fed: usize,
    /// Set once a strict decoder returned an error: it is done.
    failed: bool,
    /// Stream ranges of the frames yielded, in order.
    frames: Vec<Range<usize>>,
    /// Whether any `Decoded::Damaged` was yielded.
    damaged: bool,
}

impl Run {
    fn new(mode: DecodeMode) -> Run {
        Run {
            decoder: Decoder::with_mode(LIMITS, mode),
            encoder: Encoder::new(LIMITS),
            buf: BytesMut::new(),
            fed: 0,
            failed: false,
            frames: Vec::new(),
            damaged: false,
        }
    }

    /// Stream position of the first unconsumed byte.
    fn position(&self) -> usize {
        self.fed - self.buf.len()
    }

    /// Feeds `chunk` and decodes until the decoder wants more bytes.
    fn feed(&mut self, stream: &[u8], chunk: Range<usize>) {
        if self.failed {
            return;
        }
        self.buf.extend_from_slice(&stream[chunk.clone()]);
        self.fed = chunk.end;
        // Stop at `Ok(None)`, a strict error, or a call that made no progress
        // (a livelock there would also show in `finish` as too many calls).
        while let Some(true) = self.step(stream, false) {}
    }

    /// End of stream: `decode_eof` until `Ok(None)`, which must come within
    /// `stream.len() + 10` calls.
    fn finish(&mut self, stream: &[u8]) {
        if self.failed {
            return;
        }
        let bound = stream.len() + 10;
        for _ in 0..bound {
            if self.step(stream, true).is_none() {
                assert!(
                    self.failed || self.buf.is_empty(),
                    "decode_eof returned Ok(None) with {} bytes left",
                    self.buf.len()
                );
                return;
            }
        }
        panic!(
            "{:?} decode_eof did not return Ok(None) within {bound} calls",
            self.decoder.mode()
        );
    }

    /// One `decode`/`decode_eof` call. `None` when the loop should stop
    /// (`Ok(None)`, or a strict error); otherwise whether the call made
    /// progress: consumed bytes, or yielded a skip report (which consumes
    /// nothing but clears the report the decoder was holding).
    fn step(&mut self, stream: &[u8], eof: bool) -> Option<bool> {
        let before = self.position();
        let result = if eof {
            self.decoder.decode_eof(&mut self.buf)
        } else {
            self.decoder.decode(&mut self.buf)
        };
        let after = self.position();
        match result {
            Ok(None) => None,
            Ok(Some(Decoded::Frame(frame))) => {
                self.check_round_trip(&frame, &stream[before..after]);
                self.frames.push(before..after);
                Some(after > before)
            }
            Ok(Some(Decoded::Damaged(damage))) => {
                assert_eq!(
                    self.decoder.mode(),
                    DecodeMode::Resync,
                    "strict decoder yielded damage {damage:?}"
                );
                self.damaged = true;
                Some(after > before || matches!(damage, Damage::Skipped { .. }))
            }
            Err(error) => {
                assert_eq!(
                    self.decoder.mode(),
                    DecodeMode::Strict,
                    "resync decoder returned an error: {error:?}"
                );
                self.failed = true;
                None
            }
        }
    }

    /// A yielded frame must re-encode to exactly the bytes it consumed.
    fn check_round_trip(&self, frame: &Frame, consumed: &[u8]) {
        let mut encoded = BytesMut::new();
        if let Err(error) = self.encoder.encode_into(frame, &mut encoded) {
            panic!("decoded frame does not re-encode: {error:?}\nframe: {frame:?}");
        }
        assert_eq!(
            &encoded[..],
            consumed,
            "re-encoded frame differs from the bytes it was decoded from\nframe: {frame:?}"
        );
        match self.encoder.encode(frame) {
            Ok(parts) => assert_eq!(&parts.to_bytes()[..], consumed, "encode != encode_into"),
            Err(error) => panic!("encode fails where encode_into did not: {error:?}"),
        }
    }
}

/// Gives every sync-marked header a correct CRC, and its payload too when the
/// frame fits in the input.
fn repair_crcs(input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    let mut at = 0;
    while at + HEADER_LEN <= out.len() {
        if out[at..at + SYNC.len()] != SYNC {
            at += 1;
            continue;
        }
        let crc = crc32c::crc32c(&out[at..at + HEADER_CRC_AT]);
        out[at + HEADER_CRC_AT..at + HEADER_LEN].copy_from_slice(&crc.to_be_bytes());
        let mut len = [0u8; 4];
        len.copy_from_slice(&out[at + PAYLOAD_LEN_AT..at + PAYLOAD_LEN_AT + 4]);
        let payload_len = u32::from_be_bytes(len) as usize;
        let payload_end = at + HEADER_LEN + payload_len;
        if payload_end + TRAILER_LEN <= out.len() {
            let crc = crc32c::crc32c(&out[at + HEADER_LEN..payload_end]);
            out[payload_end..payload_end + TRAILER_LEN].copy_from_slice(&crc.to_be_bytes());
            at = payload_end + TRAILER_LEN;
        } else {
            at += HEADER_LEN;
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
        Cow::Owned(repair_crcs(rest))
    } else {
        Cow::Borrowed(rest)
    };

    let mut strict = Run::new(DecodeMode::Strict);
    let mut resync = Run::new(DecodeMode::Resync);
    let mut start = 0;
    while start < stream.len() {
        let end = (start + chunk).min(stream.len());
        strict.feed(&stream, start..end);
        resync.feed(&stream, start..end);
        start = end;
    }
    strict.finish(&stream);
    resync.finish(&stream);

    // Until the strict decoder meets damage, both decoders are the same.
    assert!(
        resync.frames.starts_with(&strict.frames),
        "strict frames {:?} are not a prefix of resync frames {:?}",
        strict.frames,
        resync.frames
    );
    if !strict.failed {
        assert!(
            !resync.damaged,
            "resync reported damage on a stream strict accepted"
        );
        assert_eq!(strict.frames, resync.frames);
    }
});
