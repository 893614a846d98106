//! A minimal frame reader, from docs/wire-format.md §1 and §5: enough to
//! recognise what a server answers a hostile peer with (HELLO, GOAWAY and
//! its code, PONG, CREDIT, OPEN of a reply, DATA).

use crate::wire::{CRC_LEN, HEADER_LEN, SYNC, VERSION, crc, kind};

/// Largest payload the reader accepts: a server never sends more than our
/// HELLO allows, and the suite never asks for more than 16 MiB (§2.1's cap).
pub const MAX_PAYLOAD: usize = 16 << 20;

/// Why bytes could not be read as a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadError {
    /// The frame did not start with `F5 4E`.
    BadSync,
    /// The header CRC did not match.
    BadHeaderCrc,
    /// The version byte was not 2.
    BadVersion(u8),
    /// The payload CRC did not match.
    BadPayloadCrc,
    /// The payload was longer than [`MAX_PAYLOAD`].
    TooLong(usize),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::BadSync => write!(f, "the server's frame lacked the sync marker"),
            ReadError::BadHeaderCrc => write!(f, "the server's frame header failed its CRC"),
            ReadError::BadVersion(v) => write!(f, "the server sent version {v}"),
            ReadError::BadPayloadCrc => write!(f, "the server's payload failed its CRC"),
            ReadError::TooLong(n) => write!(f, "the server announced a {n}-byte payload"),
        }
    }
}

impl std::error::Error for ReadError {}

/// One frame as it arrived, its CRCs checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// The kind byte (see [`kind`]).
    pub kind: u8,
    /// The flags.
    pub flags: u16,
    /// The message id (0 for connection frames).
    pub message_id: u64,
    /// The payload.
    pub payload: Vec<u8>,
}

/// A GOAWAY's fields (§2.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoAway {
    /// Highest of our message ids the server will still process.
    pub last_message_id: u64,
    /// The code (see [`crate::wire::code`]).
    pub code: u32,
    /// The reason, lossily decoded.
    pub reason: String,
}

/// An OPEN's fields (§2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Open {
    /// The priority.
    pub priority: u8,
    /// The body length, `None` when unknown.
    pub total_len: Option<u64>,
    /// The header entries, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The inline body bytes.
    pub body: Vec<u8>,
}

impl Open {
    /// The first value of header `name`, as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
    }
}

/// A HELLO's limits and windows (§2.1), without its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hello {
    /// `max_frame_payload`.
    pub max_frame_payload: u32,
    /// `max_message_size`.
    pub max_message_size: u64,
    /// `max_header_bytes`.
    pub max_header_bytes: u16,
    /// `max_concurrent_messages`.
    pub max_concurrent_messages: u32,
    /// `message_window`.
    pub message_window: u32,
    /// `connection_window`.
    pub connection_window: u32,
}

fn be<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    bytes.get(at..at + N)?.try_into().ok()
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    be(bytes, at).map(u16::from_be_bytes)
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    be(bytes, at).map(u32::from_be_bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    be(bytes, at).map(u64::from_be_bytes)
}

/// Parses a header block (§3); `None` if it is malformed.
pub fn parse_header_block(mut block: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut entries = Vec::new();
    while let Some((&name_len, rest)) = block.split_first() {
        let name = rest.get(..usize::from(name_len))?;
        let value_len = usize::from(u16_at(rest, usize::from(name_len))?);
        let start = usize::from(name_len) + 2;
        let value = rest.get(start..start + value_len)?;
        entries.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
        block = &rest[start + value_len..];
    }
    Some(entries)
}

impl RawFrame {
    /// The fields of a GOAWAY frame.
    pub fn goaway(&self) -> Option<GoAway> {
        (self.kind == kind::GOAWAY).then_some(())?;
        Some(GoAway {
            last_message_id: u64_at(&self.payload, 0)?,
            code: u32_at(&self.payload, 8)?,
            reason: String::from_utf8_lossy(self.payload.get(12..)?).into_owned(),
        })
    }

    /// The opaque value of a PONG frame.
    pub fn pong(&self) -> Option<u64> {
        (self.kind == kind::PONG).then_some(())?;
        u64_at(&self.payload, 0)
    }

    /// The opaque value of a PING frame.
    pub fn ping(&self) -> Option<u64> {
        (self.kind == kind::PING).then_some(())?;
        u64_at(&self.payload, 0)
    }

    /// The `(message id, limit)` of a CREDIT frame.
    pub fn credit(&self) -> Option<(u64, u64)> {
        (self.kind == kind::CREDIT).then_some(())?;
        Some((self.message_id, u64_at(&self.payload, 0)?))
    }

    /// The fields of an OPEN frame.
    pub fn open(&self) -> Option<Open> {
        (self.kind == kind::OPEN).then_some(())?;
        let p = &self.payload;
        let total_len = u64_at(p, 1)?;
        let headers_len = usize::from(u16_at(p, 9)?);
        let block = p.get(11..11 + headers_len)?;
        Some(Open {
            priority: *p.first()?,
            total_len: (total_len != crate::wire::UNKNOWN_LEN).then_some(total_len),
            headers: parse_header_block(block)?,
            body: p[11 + headers_len..].to_vec(),
        })
    }

    /// The `(offset, chunk)` of a DATA frame.
    pub fn data(&self) -> Option<(u64, &[u8])> {
        (self.kind == kind::DATA).then_some(())?;
        Some((u64_at(&self.payload, 0)?, self.payload.get(8..)?))
    }

    /// The limits and windows of a HELLO frame.
    pub fn hello(&self) -> Option<Hello> {
        (self.kind == kind::HELLO).then_some(())?;
        let p = &self.payload;
        Some(Hello {
            max_frame_payload: u32_at(p, 0)?,
            max_message_size: u64_at(p, 4)?,
            max_header_bytes: u16_at(p, 12)?,
            max_concurrent_messages: u32_at(p, 14)?,
            message_window: u32_at(p, 18)?,
            connection_window: u32_at(p, 22)?,
        })
    }
}

/// Splits a byte stream into frames: push bytes in, take frames out.
#[derive(Debug, Default)]
pub struct FrameReader {
    buffer: Vec<u8>,
}

impl FrameReader {
    /// An empty reader.
    pub fn new() -> FrameReader {
        FrameReader::default()
    }

    /// Bytes arrived.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes held that do not make a whole frame yet.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The next whole frame, `Ok(None)` if more bytes are needed. The header
    /// is checked before the payload length is trusted (§5 step 1).
    pub fn next_frame(&mut self) -> Result<Option<RawFrame>, ReadError> {
        let Some(header) = self.buffer.get(..HEADER_LEN) else {
            return Ok(None);
        };
        if header[..2] != SYNC {
            return Err(ReadError::BadSync);
        }
        if u32_at(header, 18) != Some(crc(&header[..18])) {
            return Err(ReadError::BadHeaderCrc);
        }
        if header[2] != VERSION {
            return Err(ReadError::BadVersion(header[2]));
        }
        let payload_len = u32_at(header, 14).map_or(usize::MAX, |n| n as usize);
        if payload_len > MAX_PAYLOAD {
            return Err(ReadError::TooLong(payload_len));
        }
        let total = HEADER_LEN + payload_len + CRC_LEN;
        if self.buffer.len() < total {
            return Ok(None);
        }
        let payload = &self.buffer[HEADER_LEN..HEADER_LEN + payload_len];
        if u32_at(&self.buffer, HEADER_LEN + payload_len) != Some(crc(payload)) {
            return Err(ReadError::BadPayloadCrc);
        }
        let frame = RawFrame {
            kind: header[3],
            flags: u16_at(header, 4).unwrap_or_default(),
            message_id: u64_at(header, 6).unwrap_or_default(),
            payload: payload.to_vec(),
        };
        self.buffer.drain(..total);
        Ok(Some(frame))
    }
}
