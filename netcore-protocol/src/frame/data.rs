//! DATA and END: a message's body chunks and the end of an unknown-length body.

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::Reader;
use crate::error::DecodeError;
use crate::header::FrameKind;

/// A chunk of message `message_id`'s body, starting at byte `offset` of the body.
///
/// The offset lets a receiver prove that no chunk went missing: on a lossy link
/// a lost DATA frame shows up as a gap, never as a silently shorter body.
///
/// Payload layout: `offset u64 BE | chunk bytes`. Decoding hands out `payload`
/// as a slice of the read buffer; encoding frames it without a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// The message the chunk belongs to.
    pub message_id: u64,
    /// Position of the chunk's first byte in the message body.
    pub offset: u64,
    /// The chunk.
    pub payload: Bytes,
}

impl Data {
    /// Bytes before the chunk in the payload.
    pub const PREFIX_LEN: usize = 8;

    pub(crate) fn write_prefix(&self, dst: &mut BytesMut) {
        dst.put_u64(self.offset);
    }

    pub(crate) fn decode(message_id: u64, payload: &Bytes) -> Result<Data, DecodeError> {
        let mut r = Reader::new(payload, FrameKind::Data);
        let offset = r.u64("offset")?;
        Ok(Data {
            message_id,
            offset,
            payload: r.rest(),
        })
    }
}

/// Ends message `message_id`, whose length was not known when it was opened,
/// stating the body's final length so a lost last chunk is noticed.
///
/// Payload layout: `total_len u64 BE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// The message that ends.
    pub message_id: u64,
    /// Total body bytes the sender sent.
    pub total_len: u64,
}

impl End {
    pub(crate) const PAYLOAD_LEN: usize = 8;

    pub(crate) fn write_prefix(&self, dst: &mut BytesMut) {
        dst.put_u64(self.total_len);
    }

    pub(crate) fn decode(message_id: u64, payload: &Bytes) -> Result<End, DecodeError> {
        let mut r = Reader::new(payload, FrameKind::End);
        let total_len = r.u64("total_len")?;
        r.finish()?;
        Ok(End {
            message_id,
            total_len,
        })
    }
}
