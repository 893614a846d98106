//! The incremental decoder, strict or resyncing.

use bytes::{Buf, BytesMut};

use crate::error::DecodeError;
use crate::frame::Frame;
use crate::header::{FrameHeader, FrameKind, HEADER_LEN, SYNC, read_raw_header};
use crate::limits::Limits;

/// How the decoder treats damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum DecodeMode {
    /// Any damage is a [`DecodeError`]: for reliable byte streams (TCP, QUIC,
    /// Unix sockets), where damage means a broken peer.
    #[default]
    Strict,
    /// Damage is reported as a [`Decoded::Damaged`] item and decoding goes on
    /// from the next valid header: for lossy byte streams (serial lines, radios).
    Resync,
}

/// What the decoder yields.
///
/// Exhaustive on purpose, like [`Damage`]: a connection core must handle
/// every item, and a new kind is a new protocol version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decoded {
    /// A frame whose header and payload CRCs checked and whose layout is valid.
    Frame(Frame),
    /// Damage met in [`DecodeMode::Resync`]; never yielded in strict mode.
    Damaged(Damage),
}

/// Damage reported by a resyncing decoder. Whatever it covered was thrown
/// away; nothing damaged is ever yielded as a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Damage {
    /// Bytes discarded while looking for the next valid frame header: noise,
    /// headers whose CRC failed, the remains of damaged frames. Whatever message
    /// was in flight may have lost data.
    Skipped {
        /// How many bytes were discarded.
        bytes: u64,
    },
    /// A frame whose header checked but which could not be accepted (payload
    /// CRC mismatch, limit exceeded, unknown kind, malformed payload, cut off by
    /// the end of the stream). Its message is known and should be failed.
    Frame {
        /// The message the frame belonged to (0 for the connection).
        message_id: u64,
        /// The frame's kind, if the header named a known one. It tells whose
        /// message the id is: OPEN, DATA and END name the sender's, CREDIT
        /// names the recipient's.
        kind: Option<FrameKind>,
        /// What was wrong with it.
        error: DecodeError,
    },
}

/// Counters kept by a [`Decoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecoderStats {
    /// Frames yielded.
    pub frames: u64,
    /// Bytes of the frames yielded.
    pub frame_bytes: u64,
    /// Frames reported as [`Damage::Frame`].
    pub damaged_frames: u64,
    /// Bytes discarded while resyncing (including damaged frames' sync markers).
    pub skipped_bytes: u64,
    /// Times the decoder lost sync and found it again.
    pub resyncs: u64,
}

/// Turns a byte stream, fed in any split, into [`Decoded`] items.
///
/// Shaped like tokio-util's `Decoder`: call [`Decoder::decode`] with the read
/// buffer after each read; it consumes a whole frame and returns it, or returns
/// `Ok(None)` and leaves the partial bytes in place (having reserved room for
/// the rest of the frame once its length was checked against the limit). At the
/// end of the stream call [`Decoder::decode_eof`] until it returns `Ok(None)`.
///
/// DATA chunks and OPEN bodies come out as slices of the read buffer, not copies.
///
/// After an error in [`DecodeMode::Strict`] the stream is unusable: report the
/// error (with a GOAWAY carrying [`DecodeError::code`]) and close.
///
/// ```
/// use bytes::BytesMut;
/// use netcore_protocol::{Damage, DecodeMode, Decoded, Decoder, Encoder, Frame, Limits, Ping};
///
/// let mut wire = BytesMut::new();
/// let encoder = Encoder::default();
/// encoder.encode_into(&Frame::Ping(Ping { opaque: 1 }), &mut wire)?;
/// wire.extend_from_slice(b"line noise");
/// encoder.encode_into(&Frame::Ping(Ping { opaque: 2 }), &mut wire)?;
///
/// let mut decoder = Decoder::with_mode(Limits::default(), DecodeMode::Resync);
/// let mut items = Vec::new();
/// while let Some(item) = decoder.decode_eof(&mut wire)? {
///     items.push(item);
/// }
/// assert_eq!(items, vec![
///     Decoded::Frame(Frame::Ping(Ping { opaque: 1 })),
///     Decoded::Damaged(Damage::Skipped { bytes: 10 }),
///     Decoded::Frame(Frame::Ping(Ping { opaque: 2 })),
/// ]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Decoder {
    limits: Limits,
    mode: DecodeMode,
    /// A header that checked, whose payload has not fully arrived yet.
    pending: Option<FrameHeader>,
    /// Bytes skipped since the last report.
    unreported_skip: u64,
    stats: DecoderStats,
}

impl Decoder {
    /// A strict decoder enforcing `limits` (this side's own receive limits).
    pub fn new(limits: Limits) -> Decoder {
        Decoder::with_mode(limits, DecodeMode::Strict)
    }

    /// A decoder enforcing `limits` in the given mode.
    pub fn with_mode(limits: Limits, mode: DecodeMode) -> Decoder {
        Decoder {
            limits,
            mode,
            pending: None,
            unreported_skip: 0,
            stats: DecoderStats::default(),
        }
    }

    /// The limits enforced.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The mode.
    pub fn mode(&self) -> DecodeMode {
        self.mode
    }

    /// Counters so far.
    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Decodes the next item from `src`, or returns `Ok(None)` when more bytes
    /// are needed.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Decoded>, DecodeError> {
        self.next(src, false)
    }

    /// Like [`Decoder::decode`], for when no more bytes will come: a partial
    /// frame left at the end is an error ([`DecodeError::Truncated`]) in strict
    /// mode and a [`Damage`] item in resync mode (after which the bytes it held
    /// are scanned for frames).
    pub fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Decoded>, DecodeError> {
        self.next(src, true)
    }

    fn next(&mut self, src: &mut BytesMut, eof: bool) -> Result<Option<Decoded>, DecodeError> {
        loop {
            if let Some(header) = self.pending {
                return self.finish_frame(header, src, eof);
            }
            if src.is_empty() {
                // A run of skipped bytes is reported once, when the next valid
                // header is found or the stream ends.
                return Ok(if eof { self.take_skip_report() } else { None });
            }
            if !src.starts_with(&SYNC[..src.len().min(SYNC.len())]) {
                if self.mode == DecodeMode::Strict && src.len() < SYNC.len() && !eof {
                    return Ok(None); // report both bad bytes, not a guess
                }
                self.lose_sync(src)?;
                continue;
            }
            if src.len() < HEADER_LEN {
                if !eof {
                    return Ok(None);
                }
                let buffered = src.len();
                self.fail(DecodeError::Truncated { buffered })?;
                src.clear();
                self.skipped(buffered);
                continue;
            }
            let mut head = [0u8; HEADER_LEN];
            head.copy_from_slice(&src[..HEADER_LEN]);
            let raw = match read_raw_header(&head) {
                Ok(raw) => raw,
                Err(error) => {
                    self.fail(error)?;
                    src.advance(SYNC.len());
                    self.skipped(SYNC.len());
                    continue;
                }
            };
            // A header checked: first report what was skipped to reach it.
            if let Some(report) = self.take_skip_report() {
                return Ok(Some(report));
            }
            match raw.validate(self.limits.frame_payload_limit()) {
                Ok(header) => {
                    src.reserve(header.frame_len().saturating_sub(src.len()));
                    self.pending = Some(header);
                }
                Err(error) => {
                    self.fail(error.clone())?;
                    src.advance(SYNC.len());
                    let kind = FrameKind::from_u8(raw.kind);
                    return Ok(Some(self.damaged_frame(raw.message_id, kind, error)));
                }
            }
        }
    }

    /// The header of a frame checked; waits for the rest and yields it.
    fn finish_frame(
        &mut self,
        header: FrameHeader,
        src: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<Decoded>, DecodeError> {
        let frame_len = header.frame_len();
        if src.len() < frame_len {
            if !eof {
                return Ok(None);
            }
            self.pending = None;
            let error = DecodeError::Truncated {
                buffered: src.len(),
            };
            self.fail(error.clone())?;
            src.advance(SYNC.len());
            return Ok(Some(self.damaged_frame(
                header.message_id,
                Some(header.kind),
                error,
            )));
        }
        self.pending = None;
        let payload_end = frame_len - crate::TRAILER_LEN;
        let mut crc = [0u8; 4];
        crc.copy_from_slice(&src[payload_end..frame_len]);
        let expected = u32::from_be_bytes(crc);
        let actual = crc32c::crc32c(&src[HEADER_LEN..payload_end]);
        if expected != actual {
            let error = DecodeError::BadPayloadCrc {
                kind: header.kind,
                message_id: header.message_id,
                expected,
                actual,
            };
            self.fail(error.clone())?;
            // The length may be what was damaged: trust nothing past the marker.
            src.advance(SYNC.len());
            return Ok(Some(self.damaged_frame(
                header.message_id,
                Some(header.kind),
                error,
            )));
        }
        // Both CRCs checked: the frame's bounds are sound, so it is consumed
        // whole even if its content turns out to be invalid.
        let frame = src.split_to(frame_len).freeze();
        let payload = frame.slice(HEADER_LEN..payload_end);
        match Frame::decode(&header, &payload, &self.limits) {
            Ok(frame) => {
                self.stats.frames += 1;
                self.stats.frame_bytes += frame_len as u64;
                Ok(Some(Decoded::Frame(frame)))
            }
            Err(error) => {
                self.fail(error.clone())?;
                Ok(Some(self.damaged_frame(
                    header.message_id,
                    Some(header.kind),
                    error,
                )))
            }
        }
    }

    /// `src` does not start with the sync marker: strict mode fails, resync
    /// mode drops bytes up to the next possible marker.
    fn lose_sync(&mut self, src: &mut BytesMut) -> Result<(), DecodeError> {
        if self.mode == DecodeMode::Strict {
            let second = src.get(1).copied().unwrap_or(0);
            return Err(DecodeError::BadSync {
                found: [src[0], second],
            });
        }
        // `src` is non-empty and does not start with a marker, so skip ≥ 1.
        let skip = src[1..]
            .iter()
            .position(|&byte| byte == SYNC[0])
            .map_or(src.len(), |at| at + 1);
        src.advance(skip);
        self.skipped(skip);
        Ok(())
    }

    /// Strict mode turns damage into an error; resync mode carries on.
    fn fail(&mut self, error: DecodeError) -> Result<(), DecodeError> {
        match self.mode {
            DecodeMode::Strict => Err(error),
            DecodeMode::Resync => Ok(()),
        }
    }

    fn skipped(&mut self, bytes: usize) {
        if self.unreported_skip == 0 {
            self.stats.resyncs += 1;
        }
        self.unreported_skip += bytes as u64;
        self.stats.skipped_bytes += bytes as u64;
    }

    fn take_skip_report(&mut self) -> Option<Decoded> {
        match std::mem::take(&mut self.unreported_skip) {
            0 => None,
            bytes => Some(Decoded::Damaged(Damage::Skipped { bytes })),
        }
    }

    fn damaged_frame(
        &mut self,
        message_id: u64,
        kind: Option<FrameKind>,
        error: DecodeError,
    ) -> Decoded {
        self.stats.damaged_frames += 1;
        Decoded::Damaged(Damage::Frame {
            message_id,
            kind,
            error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Encoder, Ping};

    fn ping_bytes(opaque: u64) -> BytesMut {
        let mut out = BytesMut::new();
        Encoder::default()
            .encode_into(&Frame::Ping(Ping { opaque }), &mut out)
            .expect("ping encodes");
        out
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let whole = ping_bytes(5);
        let mut decoder = Decoder::new(Limits::default());
        let mut buf = BytesMut::new();
        for (i, byte) in whole.iter().enumerate() {
            buf.extend_from_slice(&[*byte]);
            let item = decoder.decode(&mut buf).expect("no error");
            if i + 1 < whole.len() {
                assert_eq!(item, None, "yielded early at byte {i}");
            } else {
                assert_eq!(item, Some(Decoded::Frame(Frame::Ping(Ping { opaque: 5 }))));
            }
        }
        assert!(buf.is_empty());
        assert_eq!(decoder.stats().frames, 1);
    }

    #[test]
    fn eof_on_a_clean_boundary_is_fine() {
        let mut decoder = Decoder::new(Limits::default());
        let mut buf = ping_bytes(1);
        assert!(matches!(
            decoder.decode_eof(&mut buf),
            Ok(Some(Decoded::Frame(_)))
        ));
        assert_eq!(decoder.decode_eof(&mut buf), Ok(None));
    }

    #[test]
    fn resync_reports_a_truncated_tail() {
        let mut decoder = Decoder::with_mode(Limits::default(), DecodeMode::Resync);
        let mut buf = ping_bytes(1);
        buf.truncate(buf.len() - 1);
        let item = decoder.decode_eof(&mut buf).expect("resync never fails");
        assert_eq!(
            item,
            Some(Decoded::Damaged(Damage::Frame {
                message_id: 0,
                kind: Some(FrameKind::Ping),
                error: DecodeError::Truncated { buffered: 33 }
            }))
        );
        assert_eq!(
            decoder.decode_eof(&mut buf),
            Ok(Some(Decoded::Damaged(Damage::Skipped { bytes: 31 })))
        );
        assert_eq!(decoder.decode_eof(&mut buf), Ok(None));
    }
}
