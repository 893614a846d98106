//! The encoder: frames a payload without copying caller-owned bytes.

use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::EncodeError;
use crate::frame::{Frame, UNKNOWN_LEN};
use crate::header::{FrameHeader, HEADER_LEN, IdRule, TRAILER_LEN};
use crate::limits::Limits;

/// Turns [`Frame`]s into bytes, refusing anything the peer's advertised
/// [`Limits`] would reject.
///
/// [`Encoder::encode`] returns an [`EncodedFrame`]: a [`Buf`] of three parts —
/// header (plus the kind's fixed fields), the caller's `Bytes` body shared
/// rather than copied, and the payload CRC — ready for a vectored write.
/// [`Encoder::encode_into`] copies everything into one buffer instead, which is
/// cheaper for small frames.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use netcore_protocol::{Data, Decoder, Decoded, Encoder, Frame, Limits};
///
/// let encoder = Encoder::new(Limits::default());
/// let frame = Frame::from(Data { message_id: 1, offset: 0, payload: Bytes::from_static(b"hello") });
/// let mut wire = BytesMut::new();
/// encoder.encode_into(&frame, &mut wire)?;
///
/// let mut decoder = Decoder::new(Limits::default());
/// assert_eq!(decoder.decode(&mut wire)?, Some(Decoded::Frame(frame)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Encoder {
    peer: Limits,
}

impl Encoder {
    /// An encoder for a peer that advertised `peer_limits` (use
    /// `Limits::default()` until the peer's HELLO arrives).
    pub fn new(peer_limits: Limits) -> Encoder {
        Encoder { peer: peer_limits }
    }

    /// The peer limits this encoder respects.
    pub fn peer_limits(&self) -> &Limits {
        &self.peer
    }

    /// Replaces the peer limits (after the peer's HELLO).
    pub fn set_peer_limits(&mut self, peer_limits: Limits) {
        self.peer = peer_limits;
    }

    /// Largest chunk that fits one DATA frame for this peer.
    pub fn max_data_chunk(&self) -> usize {
        self.peer.frame_payload_limit() as usize - crate::Data::PREFIX_LEN
    }

    /// Encodes `frame` without copying its body.
    pub fn encode(&self, frame: &Frame) -> Result<EncodedFrame, EncodeError> {
        let header = self.check(frame)?;
        let prefix_len = frame.prefix_len();
        let mut head = BytesMut::with_capacity(HEADER_LEN + prefix_len);
        head.put_slice(&header.to_bytes());
        frame.write_prefix(&mut head);
        let body = frame.body().cloned().unwrap_or_default();
        let crc = crc32c::crc32c_append(crc32c::crc32c(&head[HEADER_LEN..]), &body);
        Ok(EncodedFrame {
            head: head.freeze(),
            body,
            tail: crc.to_be_bytes(),
            tail_at: 0,
        })
    }

    /// Encodes `frame` by appending all of its bytes to `dst`.
    pub fn encode_into(&self, frame: &Frame, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let header = self.check(frame)?;
        dst.reserve(header.frame_len());
        dst.put_slice(&header.to_bytes());
        let payload_start = dst.len();
        frame.write_prefix(dst);
        if let Some(body) = frame.body() {
            dst.put_slice(body);
        }
        let crc = crc32c::crc32c(&dst[payload_start..]);
        dst.put_u32(crc);
        Ok(())
    }

    /// Checks `frame` against the protocol and the peer's limits; returns its header.
    fn check(&self, frame: &Frame) -> Result<FrameHeader, EncodeError> {
        let kind = frame.kind();
        let message_id = frame.message_id();
        let id_ok = match kind.id_rule() {
            IdRule::Connection => message_id == 0,
            IdRule::Message => message_id != 0,
            IdRule::Any => true,
        };
        if !id_ok {
            return Err(EncodeError::BadMessageId { kind, message_id });
        }
        let block = frame.header_block_len();
        let max_block = usize::from(self.peer.max_header_bytes);
        if block > max_block {
            return Err(EncodeError::HeaderBlockTooLarge {
                len: block,
                max: max_block,
            });
        }
        if let Frame::Open(open) = frame {
            let max = self.peer.max_message_size.min(UNKNOWN_LEN - 1);
            let announced = open.total_len.unwrap_or(open.body.len() as u64);
            if announced > max {
                return Err(EncodeError::MessageTooLarge {
                    len: announced,
                    max,
                });
            }
            if open.body.len() as u64 > announced {
                return Err(EncodeError::BodyExceedsLength {
                    body: open.body.len(),
                    total: announced,
                });
            }
        }
        let len = frame.payload_len();
        let max = self.peer.frame_payload_limit();
        let payload_len = u32::try_from(len)
            .ok()
            .filter(|len| *len <= max)
            .ok_or(EncodeError::FrameTooLarge { kind, len, max })?;
        Ok(FrameHeader {
            kind,
            flags: frame.flags(),
            message_id,
            payload_len,
        })
    }
}

/// An encoded frame as three parts: header (with the kind's fixed fields), the
/// caller's body (shared, not copied) and the payload CRC.
///
/// It is a [`Buf`]: write it with `write_all_buf`, or gather its parts with
/// [`Buf::chunks_vectored`] for a vectored write.
#[derive(Debug, Clone)]
pub struct EncodedFrame {
    head: Bytes,
    body: Bytes,
    tail: [u8; TRAILER_LEN],
    tail_at: usize,
}

impl EncodedFrame {
    /// Bytes not yet consumed.
    pub fn len(&self) -> usize {
        self.head.len() + self.body.len() + (TRAILER_LEN - self.tail_at)
    }

    /// Whether every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The unconsumed bytes copied into one contiguous buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.len());
        out.put_slice(&self.head);
        out.put_slice(&self.body);
        out.put_slice(&self.tail[self.tail_at..]);
        out.freeze()
    }

    /// The body part, for checking that it was not copied.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

impl Buf for EncodedFrame {
    fn remaining(&self) -> usize {
        self.len()
    }

    fn chunk(&self) -> &[u8] {
        if !self.head.is_empty() {
            &self.head
        } else if !self.body.is_empty() {
            &self.body
        } else {
            &self.tail[self.tail_at..]
        }
    }

    fn advance(&mut self, mut cnt: usize) {
        let from_head = cnt.min(self.head.len());
        self.head.advance(from_head);
        cnt -= from_head;
        let from_body = cnt.min(self.body.len());
        self.body.advance(from_body);
        cnt -= from_body;
        self.tail_at = (self.tail_at + cnt).min(TRAILER_LEN);
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let parts: [&'a [u8]; 3] = [&self.head, &self.body, &self.tail[self.tail_at..]];
        let mut filled = 0;
        for part in parts.into_iter().filter(|part| !part.is_empty()) {
            let Some(slot) = dst.get_mut(filled) else {
                break;
            };
            *slot = IoSlice::new(part);
            filled += 1;
        }
        filled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Data, FrameKind, Headers, Open, Ping};

    fn data(len: usize) -> Frame {
        Frame::Data(Data {
            message_id: 1,
            offset: 0,
            payload: Bytes::from(vec![7u8; len]),
        })
    }

    #[test]
    fn both_encodings_produce_the_same_bytes() -> Result<(), EncodeError> {
        let encoder = Encoder::default();
        for frame in [data(0), data(1000), Frame::Ping(Ping { opaque: 9 })] {
            let mut copied = BytesMut::new();
            encoder.encode_into(&frame, &mut copied)?;
            let parts = encoder.encode(&frame)?;
            assert_eq!(parts.len(), frame.encoded_len());
            assert_eq!(parts.to_bytes(), copied.freeze());
        }
        Ok(())
    }

    #[test]
    fn body_is_shared_not_copied() -> Result<(), EncodeError> {
        let payload = Bytes::from(vec![1u8; 4096]);
        let frame = Frame::Data(Data {
            message_id: 3,
            offset: 0,
            payload: payload.clone(),
        });
        let encoded = Encoder::default().encode(&frame)?;
        assert_eq!(encoded.body().as_ptr(), payload.as_ptr());
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(encoded.chunks_vectored(&mut slices), 3);
        assert_eq!(slices[1].as_ptr(), payload.as_ptr());
        Ok(())
    }

    #[test]
    fn buf_advances_across_parts() -> Result<(), EncodeError> {
        let mut encoded = Encoder::default().encode(&data(10))?;
        let whole = encoded.to_bytes();
        let mut collected = Vec::new();
        while encoded.has_remaining() {
            let step = encoded.chunk().len().min(5);
            collected.extend_from_slice(&encoded.chunk()[..step]);
            encoded.advance(step);
        }
        assert_eq!(collected, whole);
        encoded.advance(100);
        assert!(encoded.is_empty());
        Ok(())
    }

    #[test]
    fn peer_limits_are_respected() {
        let encoder = Encoder::new(Limits {
            max_frame_payload: 256,
            max_message_size: 1000,
            max_header_bytes: 8,
            ..Limits::default()
        });
        assert_eq!(
            encoder.encode(&data(249)).err(),
            Some(EncodeError::FrameTooLarge {
                kind: FrameKind::Data,
                len: 257,
                max: 256
            })
        );
        assert!(encoder.encode(&data(248)).is_ok());
        let big = Frame::Open(Open::new(1, Some(1001)));
        assert_eq!(
            encoder.encode(&big).err(),
            Some(EncodeError::MessageTooLarge {
                len: 1001,
                max: 1000
            })
        );
        let mut headers = Headers::new();
        let _ = headers.insert("route", "/abc");
        let open = Frame::Open(Open {
            headers,
            ..Open::new(1, Some(10))
        });
        assert_eq!(
            encoder.encode(&open).err(),
            Some(EncodeError::HeaderBlockTooLarge { len: 12, max: 8 })
        );
        let zero = Frame::Open(Open::new(0, None));
        assert!(matches!(
            encoder.encode(&zero),
            Err(EncodeError::BadMessageId { .. })
        ));
    }
}
