//! HELLO: the first frame each side sends.

use bytes::{BufMut, Bytes, BytesMut};

use super::reader::Reader;
use crate::error::{DecodeError, Malformation};
use crate::header::FrameKind;
use crate::headers::Headers;
use crate::limits::Limits;

/// The first frame each side sends: the limits it enforces on receive, its
/// initial flow-control windows, its capability bits and free-form headers
/// (for instance `agent`). Message id 0.
///
/// Payload layout (big-endian):
/// `max_frame_payload u32 | max_message_size u64 | max_header_bytes u16 |
/// max_concurrent_messages u32 | message_window u32 | connection_window u32 |
/// capabilities u64 | headers_len u16 | headers`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// Limits the sender of this HELLO enforces on what it receives.
    pub limits: Limits,
    /// Initial send limit, in body bytes, of each message the peer opens.
    pub message_window: u32,
    /// Initial send limit, in body bytes, of the whole connection.
    pub connection_window: u32,
    /// Capability bits; none are defined in version 2, unknown bits are ignored.
    pub capabilities: u64,
    /// Free-form headers (`agent`, for instance).
    pub headers: Headers,
}

impl Hello {
    /// Fixed part of the payload, before the header block.
    pub(crate) const FIXED_LEN: usize = 4 + 8 + 2 + 4 + 4 + 4 + 8 + 2;

    /// A HELLO advertising `limits`, with windows of 256 KiB per message and
    /// 16 MiB for the connection, no capabilities and no headers.
    pub fn new(limits: Limits) -> Hello {
        Hello {
            limits,
            message_window: 256 << 10,
            connection_window: 16 << 20,
            capabilities: 0,
            headers: Headers::new(),
        }
    }

    pub(crate) fn prefix_len(&self) -> usize {
        Self::FIXED_LEN + self.headers.encoded_len()
    }

    pub(crate) fn write_prefix(&self, dst: &mut BytesMut) {
        dst.put_u32(self.limits.max_frame_payload);
        dst.put_u64(self.limits.max_message_size);
        dst.put_u16(self.limits.max_header_bytes);
        dst.put_u32(self.limits.max_concurrent_messages);
        dst.put_u32(self.message_window);
        dst.put_u32(self.connection_window);
        dst.put_u64(self.capabilities);
        // The encoder checked the block fits the peer's u16 header limit.
        dst.put_u16(self.headers.encoded_len() as u16);
        self.headers.encode(dst);
    }

    pub(crate) fn decode(payload: &Bytes, limits: &Limits) -> Result<Hello, DecodeError> {
        let mut r = Reader::new(payload, FrameKind::Hello);
        let advertised = Limits {
            max_frame_payload: r.u32("max_frame_payload")?,
            max_message_size: r.u64("max_message_size")?,
            max_header_bytes: r.u16("max_header_bytes")?,
            max_concurrent_messages: r.u32("max_concurrent_messages")?,
        };
        advertised
            .validate()
            .map_err(|what: Malformation| r.malformed(what))?;
        let message_window = r.u32("message_window")?;
        let connection_window = r.u32("connection_window")?;
        let capabilities = r.u64("capabilities")?;
        let headers = super::read_header_block(&mut r, limits)?;
        r.finish()?;
        Ok(Hello {
            limits: advertised,
            message_window,
            connection_window,
            capabilities,
            headers,
        })
    }
}
