//! The control frames: CANCEL, CREDIT, PING, PONG and GOAWAY.

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::Reader;
use crate::code::ErrorCode;
use crate::error::DecodeError;
use crate::header::FrameKind;

/// Abandons message `message_id`.
///
/// Sent by the message's sender (it will send no more of it) or by its receiver
/// (it wants no more of it); the flag bit [`Cancel::FLAG_BY_RECEIVER`] says which,
/// because each direction numbers its messages independently.
///
/// Payload layout: `code u32 BE | reason UTF-8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancel {
    /// The message abandoned.
    pub message_id: u64,
    /// `true` when the sender of this frame is the message's *receiver*, i.e.
    /// the message is one the recipient of this frame is sending.
    pub by_receiver: bool,
    /// Why.
    pub code: ErrorCode,
    /// Human-readable detail (may be empty).
    pub reason: String,
}

impl Cancel {
    /// Flag bit: the canceller is the message's receiver.
    pub const FLAG_BY_RECEIVER: u16 = 0x0001;

    pub(crate) fn flags(&self) -> u16 {
        if self.by_receiver {
            Self::FLAG_BY_RECEIVER
        } else {
            0
        }
    }

    pub(crate) fn prefix_len(&self) -> usize {
        4 + self.reason.len()
    }

    pub(crate) fn write_prefix(&self, dst: &mut BytesMut) {
        dst.put_u32(self.code.0);
        dst.put_slice(self.reason.as_bytes());
    }

    pub(crate) fn decode(
        message_id: u64,
        flags: u16,
        payload: &Bytes,
    ) -> Result<Cancel, DecodeError> {
        let mut r = Reader::new(payload, FrameKind::Cancel);
        let code = ErrorCode(r.u32("code")?);
        let reason = r.utf8_rest("reason")?;
        Ok(Cancel {
            message_id,
            by_receiver: flags & Self::FLAG_BY_RECEIVER != 0,
            code,
            reason,
        })
    }
}

/// Raises the recipient's send limit: for its message `message_id`, the body
/// offset it may send up to; for the whole connection (`message_id` 0), the
/// total body bytes of all its messages it may have sent.
///
/// Limits are absolute, not increments, so a lost or repeated CREDIT does no
/// harm: the next one carries the whole truth (what matters on lossy links). A
/// limit lower than one already granted is ignored.
///
/// Payload layout: `limit u64 BE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credit {
    /// The recipient's message the credit is for; 0 for the connection.
    pub message_id: u64,
    /// The new limit, in body bytes.
    pub limit: u64,
}

impl Credit {
    pub(crate) const PAYLOAD_LEN: usize = 8;

    pub(crate) fn write_prefix(&self, dst: &mut BytesMut) {
        dst.put_u64(self.limit);
    }

    pub(crate) fn decode(message_id: u64, payload: &Bytes) -> Result<Credit, DecodeError> {
        let mut r = Reader::new(payload, FrameKind::Credit);
        let limit = r.u64("limit")?;
        r.finish()?;
        Ok(Credit { message_id, limit })
    }
}

/// Asks for a [`Pong`] carrying the same `opaque` value (keepalive, RTT).
///
/// Payload layout: `opaque u64 BE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ping {
    /// Any value; the PONG echoes it.
    pub opaque: u64,
}

/// Answers a [`Ping`] with its `opaque` value.
///
/// Payload layout: `opaque u64 BE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pong {
    /// The PING's value.
    pub opaque: u64,
}

pub(crate) const PING_PAYLOAD_LEN: usize = 8;

pub(crate) fn decode_opaque(kind: FrameKind, payload: &Bytes) -> Result<u64, DecodeError> {
    let mut r = Reader::new(payload, kind);
    let opaque = r.u64("opaque")?;
    r.finish()?;
    Ok(opaque)
}

/// Announces a graceful close: the sender opens no more messages and will
/// process the recipient's messages up to `last_message_id`; messages in
/// flight may finish.
///
/// Payload layout: `last_message_id u64 BE | code u32 BE | reason UTF-8`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoAway {
    /// Highest id of the recipient's messages the sender will still process.
    pub last_message_id: u64,
    /// Why ([`ErrorCode::NO_ERROR`] for a plain shutdown).
    pub code: ErrorCode,
    /// Human-readable detail (may be empty).
    pub reason: String,
}

impl GoAway {
    pub(crate) fn prefix_len(&self) -> usize {
        8 + 4 + self.reason.len()
    }

    pub(crate) fn write_prefix(&self, dst: &mut BytesMut) {
        dst.put_u64(self.last_message_id);
        dst.put_u32(self.code.0);
        dst.put_slice(self.reason.as_bytes());
    }

    pub(crate) fn decode(payload: &Bytes) -> Result<GoAway, DecodeError> {
        let mut r = Reader::new(payload, FrameKind::GoAway);
        let last_message_id = r.u64("last_message_id")?;
        let code = ErrorCode(r.u32("code")?);
        let reason = r.utf8_rest("reason")?;
        Ok(GoAway {
            last_message_id,
            code,
            reason,
        })
    }
}
