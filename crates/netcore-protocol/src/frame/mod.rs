//! Typed frames: one struct per kind, gathered in the [`Frame`] enum.

mod control;
mod data;
mod hello;
mod open;
mod reader;

use bytes::{Bytes, BytesMut};

pub use control::{Cancel, Credit, GoAway, Ping, Pong};
pub use data::{Data, End};
pub use hello::Hello;
pub use open::{Open, Priority};

pub(crate) use open::UNKNOWN_LEN;

use crate::error::DecodeError;
use crate::header::{FrameHeader, FrameKind};
use crate::headers::Headers;
use crate::limits::Limits;
use reader::Reader;

/// One LSO v2 frame.
///
/// ```
/// use bytes::Bytes;
/// use netcore_protocol::{Data, Frame, FrameKind};
/// let frame = Frame::Data(Data { message_id: 7, offset: 0, payload: Bytes::from_static(b"hi") });
/// assert_eq!(frame.kind(), FrameKind::Data);
/// assert_eq!(frame.message_id(), 7);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// See [`Hello`].
    Hello(Hello),
    /// See [`Open`].
    Open(Open),
    /// See [`Data`].
    Data(Data),
    /// See [`End`].
    End(End),
    /// See [`Cancel`].
    Cancel(Cancel),
    /// See [`Credit`].
    Credit(Credit),
    /// See [`Ping`].
    Ping(Ping),
    /// See [`Pong`].
    Pong(Pong),
    /// See [`GoAway`].
    GoAway(GoAway),
}

impl Frame {
    /// The frame's kind.
    pub fn kind(&self) -> FrameKind {
        match self {
            Frame::Hello(_) => FrameKind::Hello,
            Frame::Open(_) => FrameKind::Open,
            Frame::Data(_) => FrameKind::Data,
            Frame::End(_) => FrameKind::End,
            Frame::Cancel(_) => FrameKind::Cancel,
            Frame::Credit(_) => FrameKind::Credit,
            Frame::Ping(_) => FrameKind::Ping,
            Frame::Pong(_) => FrameKind::Pong,
            Frame::GoAway(_) => FrameKind::GoAway,
        }
    }

    /// The message id in the frame header (0 for connection-level frames).
    pub fn message_id(&self) -> u64 {
        match self {
            Frame::Open(f) => f.message_id,
            Frame::Data(f) => f.message_id,
            Frame::End(f) => f.message_id,
            Frame::Cancel(f) => f.message_id,
            Frame::Credit(f) => f.message_id,
            Frame::Hello(_) | Frame::Ping(_) | Frame::Pong(_) | Frame::GoAway(_) => 0,
        }
    }

    /// The flag bits of the frame header.
    pub fn flags(&self) -> u16 {
        match self {
            Frame::Cancel(f) => f.flags(),
            _ => 0,
        }
    }

    /// Length of the encoded payload, in bytes.
    pub fn payload_len(&self) -> usize {
        self.prefix_len() + self.body().map_or(0, Bytes::len)
    }

    /// Length of the whole encoded frame, in bytes.
    pub fn encoded_len(&self) -> usize {
        crate::FRAME_OVERHEAD + self.payload_len()
    }

    /// The header-block size of an OPEN or HELLO, 0 for other kinds.
    pub(crate) fn header_block_len(&self) -> usize {
        match self {
            Frame::Hello(f) => f.headers.encoded_len(),
            Frame::Open(f) => f.headers.encoded_len(),
            _ => 0,
        }
    }

    /// Payload bytes the encoder writes itself (everything but the body).
    pub(crate) fn prefix_len(&self) -> usize {
        match self {
            Frame::Hello(f) => f.prefix_len(),
            Frame::Open(f) => f.prefix_len(),
            Frame::Data(_) => Data::PREFIX_LEN,
            Frame::End(_) => End::PAYLOAD_LEN,
            Frame::Cancel(f) => f.prefix_len(),
            Frame::Credit(_) => Credit::PAYLOAD_LEN,
            Frame::Ping(_) | Frame::Pong(_) => control::PING_PAYLOAD_LEN,
            Frame::GoAway(f) => f.prefix_len(),
        }
    }

    pub(crate) fn write_prefix(&self, dst: &mut BytesMut) {
        use bytes::BufMut;
        match self {
            Frame::Hello(f) => f.write_prefix(dst),
            Frame::Open(f) => f.write_prefix(dst),
            Frame::Data(f) => f.write_prefix(dst),
            Frame::End(f) => f.write_prefix(dst),
            Frame::Cancel(f) => f.write_prefix(dst),
            Frame::Credit(f) => f.write_prefix(dst),
            Frame::Ping(Ping { opaque }) | Frame::Pong(Pong { opaque }) => dst.put_u64(*opaque),
            Frame::GoAway(f) => f.write_prefix(dst),
        }
    }

    /// The caller-owned bytes framed without copying: DATA's chunk, OPEN's body.
    pub(crate) fn body(&self) -> Option<&Bytes> {
        match self {
            Frame::Open(f) => Some(&f.body),
            Frame::Data(f) => Some(&f.payload),
            _ => None,
        }
    }

    /// Decodes a payload whose header and CRC have been checked.
    pub(crate) fn decode(
        header: &FrameHeader,
        payload: &Bytes,
        limits: &Limits,
    ) -> Result<Frame, DecodeError> {
        let id = header.message_id;
        Ok(match header.kind {
            FrameKind::Hello => Frame::Hello(Hello::decode(payload, limits)?),
            FrameKind::Open => Frame::Open(Open::decode(id, payload, limits)?),
            FrameKind::Data => Frame::Data(Data::decode(id, payload)?),
            FrameKind::End => Frame::End(End::decode(id, payload)?),
            FrameKind::Cancel => Frame::Cancel(Cancel::decode(id, header.flags, payload)?),
            FrameKind::Credit => Frame::Credit(Credit::decode(id, payload)?),
            FrameKind::Ping => Frame::Ping(Ping {
                opaque: control::decode_opaque(FrameKind::Ping, payload)?,
            }),
            FrameKind::Pong => Frame::Pong(Pong {
                opaque: control::decode_opaque(FrameKind::Pong, payload)?,
            }),
            FrameKind::GoAway => Frame::GoAway(GoAway::decode(payload)?),
        })
    }
}

/// Reads `headers_len u16 | headers`, checking the length against the limit
/// before looking at the block.
fn read_header_block(r: &mut Reader<'_>, limits: &Limits) -> Result<Headers, DecodeError> {
    let len = usize::from(r.u16("headers_len")?);
    let max = usize::from(limits.max_header_bytes);
    if len > max {
        return Err(DecodeError::HeaderBlockTooLarge { len, max });
    }
    let block = r.bytes(len, "headers")?;
    Headers::decode(&block, r.kind())
}

macro_rules! impl_from_frame {
    ($($kind:ident),*) => {$(
        impl From<$kind> for Frame {
            fn from(frame: $kind) -> Frame {
                Frame::$kind(frame)
            }
        }
    )*};
}

impl_from_frame!(Hello, Open, Data, End, Cancel, Credit, Ping, Pong, GoAway);
