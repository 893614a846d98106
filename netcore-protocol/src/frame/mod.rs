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
///
/// Exhaustive on purpose: the set is fixed by the wire format, and a new
/// kind would be a new protocol version that every core must handle.
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

#[cfg(test)]
mod tests {
    use bytes::{Bytes, BytesMut};

    use super::*;
    use crate::{Decoded, Decoder, Encoder, ErrorCode, HEADER_LEN};

    /// Encodes `frame`, checks the header fields on the wire, decodes it back
    /// and returns the wire bytes.
    fn round_trip(frame: Frame) -> BytesMut {
        let mut wire = BytesMut::new();
        Encoder::default()
            .encode_into(&frame, &mut wire)
            .expect("frame encodes");
        assert_eq!(wire.len(), frame.encoded_len());
        assert_eq!(wire[3], frame.kind().as_u8());
        assert_eq!(u16::from_be_bytes([wire[4], wire[5]]), frame.flags());
        assert_eq!(wire[6..14], frame.message_id().to_be_bytes());
        assert_eq!(
            wire[14..18],
            (frame.payload_len() as u32).to_be_bytes(),
            "payload length field"
        );
        let bytes = wire.clone();
        let decoded = Decoder::new(Limits::default())
            .decode(&mut wire)
            .expect("frame decodes");
        assert_eq!(decoded, Some(Decoded::Frame(frame)));
        assert!(wire.is_empty());
        bytes
    }

    fn payload(wire: &BytesMut) -> &[u8] {
        &wire[HEADER_LEN..wire.len() - crate::TRAILER_LEN]
    }

    #[test]
    fn hello() -> Result<(), crate::HeaderError> {
        let mut hello = Hello::new(Limits::default());
        hello.capabilities = 0b101;
        hello.headers.insert("agent", "netcore-rust/0.1")?;
        let wire = round_trip(Frame::Hello(hello));
        let p = payload(&wire);
        assert_eq!(p[0..4], (1u32 << 20).to_be_bytes());
        assert_eq!(p.len(), Hello::FIXED_LEN + 1 + 5 + 2 + 16);
        Ok(())
    }

    #[test]
    fn open_with_known_and_unknown_length() -> Result<(), crate::HeaderError> {
        let mut headers = Headers::new();
        headers
            .insert("route", "/a")?
            .insert("content-type", "json")?;
        let open = Open {
            message_id: 42,
            priority: Priority::HIGH,
            total_len: Some(5),
            headers,
            body: Bytes::from_static(b"ab"),
        };
        let wire = round_trip(Frame::Open(open.clone()));
        let p = payload(&wire);
        assert_eq!(p[0], 192);
        assert_eq!(p[1..9], 5u64.to_be_bytes());
        assert_eq!(p[p.len() - 2..], *b"ab");
        let wire = round_trip(Frame::Open(Open {
            total_len: None,
            ..open
        }));
        assert_eq!(payload(&wire)[1..9], [0xFF; 8]);
        Ok(())
    }

    #[test]
    fn data_chunk_is_a_slice_of_the_read_buffer() {
        let frame = Frame::Data(Data {
            message_id: 9,
            offset: 1 << 40,
            payload: Bytes::from(vec![0xAB; 300]),
        });
        let mut wire = round_trip(frame);
        let start = wire.as_ptr() as usize;
        let end = start + wire.len();
        let item = Decoder::new(Limits::default()).decode(&mut wire);
        let Ok(Some(Decoded::Frame(Frame::Data(data)))) = item else {
            panic!("expected DATA, got {item:?}");
        };
        let at = data.payload.as_ptr() as usize;
        assert!(at >= start && at + 300 <= end, "chunk was copied");
        assert_eq!(data.offset, 1 << 40);
    }

    #[test]
    fn end() {
        let wire = round_trip(Frame::End(End {
            message_id: 3,
            total_len: 77,
        }));
        assert_eq!(payload(&wire), 77u64.to_be_bytes());
    }

    #[test]
    fn cancel_from_either_side() {
        for by_receiver in [false, true] {
            let wire = round_trip(Frame::Cancel(Cancel {
                message_id: 5,
                by_receiver,
                code: ErrorCode::CANCELLED,
                reason: "user gave up".into(),
            }));
            assert_eq!(wire[5], u8::from(by_receiver));
            assert_eq!(payload(&wire)[4..], *b"user gave up");
        }
    }

    #[test]
    fn credit_for_a_message_and_the_connection() {
        for message_id in [0, 8] {
            let wire = round_trip(Frame::Credit(Credit {
                message_id,
                limit: 1 << 33,
            }));
            assert_eq!(payload(&wire), (1u64 << 33).to_be_bytes());
        }
    }

    #[test]
    fn ping_and_pong() {
        let wire = round_trip(Frame::Ping(Ping { opaque: 0xDEAD }));
        assert_eq!(payload(&wire), 0xDEADu64.to_be_bytes());
        let wire = round_trip(Frame::Pong(Pong { opaque: 0xDEAD }));
        assert_eq!(wire[3], FrameKind::Pong.as_u8());
    }

    #[test]
    fn goaway() {
        let wire = round_trip(Frame::GoAway(GoAway {
            last_message_id: 11,
            code: ErrorCode::SHUTDOWN,
            reason: "maintenance".into(),
        }));
        let p = payload(&wire);
        assert_eq!(p[0..8], 11u64.to_be_bytes());
        assert_eq!(p[8..12], 7u32.to_be_bytes());
    }
}
