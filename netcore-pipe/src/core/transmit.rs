//! What a core hands its driver to write: [`Transmit`], one frame or packet
//! as [`WireBytes`], a `Buf` whose body part is shared, not copied.

use std::io::IoSlice;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use netcore_protocol::EncodedFrame;

/// The bytes of one frame or packet, ready for a vectored write: an LSO v2
/// [`EncodedFrame`] (header, body, CRC), or a head and a body of a format
/// without a trailer. The body is shared with the caller's `Bytes`.
#[derive(Debug, Clone)]
pub struct WireBytes(Parts);

#[derive(Debug, Clone)]
enum Parts {
    Frame(EncodedFrame),
    HeadBody { head: Bytes, body: Bytes },
}

impl WireBytes {
    /// `head`, then `body` (shared, not copied).
    pub fn from_parts(head: Bytes, body: Bytes) -> WireBytes {
        WireBytes(Parts::HeadBody { head, body })
    }

    /// Bytes not yet consumed.
    pub fn len(&self) -> usize {
        self.remaining()
    }

    /// Whether every byte was consumed.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The bytes copied into one buffer (for tests and small frames).
    pub fn to_bytes(&self) -> Bytes {
        match &self.0 {
            Parts::Frame(frame) => frame.to_bytes(),
            Parts::HeadBody { head, body } => {
                let mut out = BytesMut::with_capacity(head.len() + body.len());
                out.put_slice(head);
                out.put_slice(body);
                out.freeze()
            }
        }
    }
}

impl From<EncodedFrame> for WireBytes {
    fn from(frame: EncodedFrame) -> WireBytes {
        WireBytes(Parts::Frame(frame))
    }
}

impl Buf for WireBytes {
    fn remaining(&self) -> usize {
        match &self.0 {
            Parts::Frame(frame) => frame.remaining(),
            Parts::HeadBody { head, body } => head.len() + body.len(),
        }
    }

    fn chunk(&self) -> &[u8] {
        match &self.0 {
            Parts::Frame(frame) => frame.chunk(),
            Parts::HeadBody { head, body } if head.is_empty() => body,
            Parts::HeadBody { head, .. } => head,
        }
    }

    fn advance(&mut self, cnt: usize) {
        match &mut self.0 {
            Parts::Frame(frame) => frame.advance(cnt),
            Parts::HeadBody { head, body } => {
                let from_head = cnt.min(head.len());
                head.advance(from_head);
                body.advance((cnt - from_head).min(body.len()));
            }
        }
    }

    fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        match &self.0 {
            Parts::Frame(frame) => frame.chunks_vectored(dst),
            Parts::HeadBody { head, body } => {
                let mut filled = 0;
                for part in [head, body] {
                    if part.is_empty() {
                        continue;
                    }
                    let Some(slot) = dst.get_mut(filled) else {
                        break;
                    };
                    *slot = IoSlice::new(part);
                    filled += 1;
                }
                filled
            }
        }
    }
}

/// One frame or packet to write, as chosen by a core's `poll_transmit`.
#[derive(Debug)]
pub struct Transmit {
    /// The bytes to write.
    pub frame: WireBytes,
    /// The outgoing message the bytes belong to, if any.
    pub message_id: Option<u64>,
    /// Body bytes of that message in them.
    pub body_len: usize,
    /// They complete that message.
    pub last: bool,
}

impl Transmit {
    /// A control frame (no message body).
    pub fn control(frame: impl Into<WireBytes>) -> Transmit {
        Transmit {
            frame: frame.into(),
            message_id: None,
            body_len: 0,
            last: false,
        }
    }

    /// `head` then `body` of message `message_id`, `body_len` of whose body
    /// bytes they carry; `last` if they complete it.
    pub fn from_parts(
        head: Bytes,
        body: Bytes,
        message_id: Option<u64>,
        body_len: usize,
        last: bool,
    ) -> Transmit {
        Transmit {
            frame: WireBytes::from_parts(head, body),
            message_id,
            body_len,
            last,
        }
    }

    /// The bytes in one buffer (a copy; for tests and small frames).
    pub fn to_bytes(&self) -> Bytes {
        self.frame.to_bytes()
    }
}
