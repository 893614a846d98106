//! OPEN: starts a message.

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::Reader;
use crate::error::{DecodeError, Malformation};
use crate::header::FrameKind;
use crate::headers::Headers;
use crate::limits::Limits;

/// Scheduling priority of a message: higher values are served first, strictly
/// (a message of a higher tier always goes before one of a lower tier).
///
/// ```
/// use netcore_protocol::Priority;
/// assert!(Priority::HIGH > Priority::NORMAL);
/// assert_eq!(Priority::default(), Priority::NORMAL);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Priority(pub u8);

impl Priority {
    /// Background bulk transfers.
    pub const LOW: Priority = Priority(64);
    /// The default.
    pub const NORMAL: Priority = Priority(128);
    /// Latency-sensitive traffic (calls, replies).
    pub const HIGH: Priority = Priority(192);
}

impl Default for Priority {
    fn default() -> Self {
        Priority::NORMAL
    }
}

/// Starts message `message_id`: its priority, its total length if known, its
/// headers (route, content type, …) and, optionally, its first body bytes — so
/// a small message travels as a single frame.
///
/// A message whose `total_len` is `Some(n)` is complete when `n` body bytes
/// have arrived; one whose `total_len` is `None` ends with an [`End`](crate::End).
///
/// Payload layout (big-endian):
/// `priority u8 | total_len u64 (all ones = unknown) | headers_len u16 |
/// headers | body`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// The new message's id (≥ 1, unique among the sender's open messages).
    pub message_id: u64,
    /// Scheduling priority.
    pub priority: Priority,
    /// Total body length, if the sender knows it up front.
    pub total_len: Option<u64>,
    /// Key/value headers.
    pub headers: Headers,
    /// The first body bytes (may be empty).
    pub body: Bytes,
}

/// The `total_len` value that means "unknown".
pub(crate) const UNKNOWN_LEN: u64 = u64::MAX;

impl Open {
    /// Fixed part of the payload, before the header block.
    pub(crate) const FIXED_LEN: usize = 1 + 8 + 2;

    /// An OPEN with default priority, no headers and no inline body.
    pub fn new(message_id: u64, total_len: Option<u64>) -> Open {
        Open {
            message_id,
            priority: Priority::default(),
            total_len,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    pub(crate) fn prefix_len(&self) -> usize {
        Self::FIXED_LEN + self.headers.encoded_len()
    }

    pub(crate) fn write_prefix(&self, dst: &mut BytesMut) {
        dst.put_u8(self.priority.0);
        dst.put_u64(self.total_len.unwrap_or(UNKNOWN_LEN));
        // The encoder checked the block fits the peer's u16 header limit.
        dst.put_u16(self.headers.encoded_len() as u16);
        self.headers.encode(dst);
    }

    pub(crate) fn decode(
        message_id: u64,
        payload: &Bytes,
        limits: &Limits,
    ) -> Result<Open, DecodeError> {
        let mut r = Reader::new(payload, FrameKind::Open);
        let priority = Priority(r.u8("priority")?);
        let total_len = match r.u64("total_len")? {
            UNKNOWN_LEN => None,
            len if len > limits.max_message_size => {
                return Err(DecodeError::MessageTooLarge {
                    message_id,
                    len,
                    max: limits.max_message_size,
                });
            }
            len => Some(len),
        };
        let headers = super::read_header_block(&mut r, limits)?;
        let body = r.rest();
        if body.len() as u64 > limits.max_message_size {
            return Err(DecodeError::MessageTooLarge {
                message_id,
                len: body.len() as u64,
                max: limits.max_message_size,
            });
        }
        if let Some(total) = total_len
            && body.len() as u64 > total
        {
            return Err(r.malformed(Malformation::BodyExceedsLength {
                body: body.len(),
                total,
            }));
        }
        Ok(Open {
            message_id,
            priority,
            total_len,
            headers,
            body,
        })
    }
}
