//! The fixed 22-byte frame header and the frame kinds.
//!
//! ```text
//! offset  size  field
//!      0     2  sync marker      F5 4E
//!      2     1  version          02
//!      3     1  kind             see FrameKind
//!      4     2  flags            u16, big-endian, meaning depends on kind
//!      6     8  message id       u64, big-endian (0 = the connection)
//!     14     4  payload length   u32, big-endian
//!     18     4  header CRC32C    over bytes 0..18, big-endian
//! ```

use crate::error::DecodeError;

/// The two bytes every frame starts with. `0xF5` never occurs in UTF-8 text,
/// so a resyncing decoder rarely stops on text that merely looks like a frame.
pub const SYNC: [u8; 2] = [0xF5, 0x4E];

/// The wire-format version this crate speaks (LSO v2).
pub const VERSION: u8 = 2;

/// Length in bytes of the fixed frame header, header CRC included.
pub const HEADER_LEN: usize = 22;

/// Length in bytes of the payload CRC that closes every frame.
pub const TRAILER_LEN: usize = 4;

/// Bytes a frame adds around its payload: header plus payload CRC.
pub const FRAME_OVERHEAD: usize = HEADER_LEN + TRAILER_LEN;

/// Offset of the header CRC inside the header (the CRC covers the bytes before it).
pub(crate) const HEADER_CRC_OFFSET: usize = 18;

/// The kind of a frame, byte 3 of its header.
///
/// Exhaustive on purpose: the set is fixed by the wire format, and a new
/// kind would be a new protocol version that every core must handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FrameKind {
    /// First frame on a connection, from both sides: limits and capabilities.
    Hello = 0x01,
    /// Starts a message: priority, total length if known, headers, first bytes.
    Open = 0x02,
    /// A chunk of a message body, at a stated offset.
    Data = 0x03,
    /// Ends a message whose total length was not known when it was opened.
    End = 0x04,
    /// Abandons a message, from its sender or its receiver.
    Cancel = 0x05,
    /// Grants the peer more flow-control credit, for one message or the connection.
    Credit = 0x06,
    /// Asks the peer for a PONG (keepalive, round-trip time).
    Ping = 0x07,
    /// Answers a PING with the same opaque bytes.
    Pong = 0x08,
    /// Announces a graceful close, with a reason.
    GoAway = 0x09,
}

impl FrameKind {
    /// Every kind, in wire order.
    pub const ALL: [FrameKind; 9] = [
        FrameKind::Hello,
        FrameKind::Open,
        FrameKind::Data,
        FrameKind::End,
        FrameKind::Cancel,
        FrameKind::Credit,
        FrameKind::Ping,
        FrameKind::Pong,
        FrameKind::GoAway,
    ];

    /// The kind for a wire byte, if it names one.
    pub const fn from_u8(byte: u8) -> Option<FrameKind> {
        Some(match byte {
            0x01 => FrameKind::Hello,
            0x02 => FrameKind::Open,
            0x03 => FrameKind::Data,
            0x04 => FrameKind::End,
            0x05 => FrameKind::Cancel,
            0x06 => FrameKind::Credit,
            0x07 => FrameKind::Ping,
            0x08 => FrameKind::Pong,
            0x09 => FrameKind::GoAway,
            _ => return None,
        })
    }

    /// The wire byte of this kind.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The flag bits this kind defines; any other bit set is an error.
    pub(crate) const fn known_flags(self) -> u16 {
        match self {
            FrameKind::Cancel => crate::frame::Cancel::FLAG_BY_RECEIVER,
            _ => 0,
        }
    }

    /// Whether frames of this kind concern one message (id ≥ 1) rather than the
    /// connection (id 0). CREDIT may do either.
    pub(crate) const fn id_rule(self) -> IdRule {
        match self {
            FrameKind::Open | FrameKind::Data | FrameKind::End | FrameKind::Cancel => {
                IdRule::Message
            }
            FrameKind::Credit => IdRule::Any,
            FrameKind::Hello | FrameKind::Ping | FrameKind::Pong | FrameKind::GoAway => {
                IdRule::Connection
            }
        }
    }
}

impl std::fmt::Display for FrameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            FrameKind::Hello => "HELLO",
            FrameKind::Open => "OPEN",
            FrameKind::Data => "DATA",
            FrameKind::End => "END",
            FrameKind::Cancel => "CANCEL",
            FrameKind::Credit => "CREDIT",
            FrameKind::Ping => "PING",
            FrameKind::Pong => "PONG",
            FrameKind::GoAway => "GOAWAY",
        };
        f.pad(name)
    }
}

/// Which message ids a frame kind may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdRule {
    /// Must be 0.
    Connection,
    /// Must be ≥ 1.
    Message,
    /// 0 for the connection, ≥ 1 for a message.
    Any,
}

/// A frame header whose CRC, version, kind, flags, id and length were checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The frame kind.
    pub kind: FrameKind,
    /// Kind-specific flag bits.
    pub flags: u16,
    /// The message the frame belongs to; 0 for connection-level frames.
    pub message_id: u64,
    /// Number of payload bytes between the header and the payload CRC.
    pub payload_len: u32,
}

impl FrameHeader {
    /// Total bytes of the frame on the wire: header, payload and payload CRC.
    pub const fn frame_len(&self) -> usize {
        FRAME_OVERHEAD + self.payload_len as usize
    }

    /// Writes the 22 header bytes, CRC included.
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..2].copy_from_slice(&SYNC);
        out[2] = VERSION;
        out[3] = self.kind.as_u8();
        out[4..6].copy_from_slice(&self.flags.to_be_bytes());
        out[6..14].copy_from_slice(&self.message_id.to_be_bytes());
        out[14..18].copy_from_slice(&self.payload_len.to_be_bytes());
        let crc = crc32c::crc32c(&out[..HEADER_CRC_OFFSET]);
        out[HEADER_CRC_OFFSET..].copy_from_slice(&crc.to_be_bytes());
        out
    }
}

/// The header fields as read, before version, kind, flags, id and length are
/// judged. Produced only once the sync marker and header CRC have checked, so
/// every field is what the sender wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RawHeader {
    pub(crate) version: u8,
    pub(crate) kind: u8,
    pub(crate) flags: u16,
    pub(crate) message_id: u64,
    pub(crate) payload_len: u32,
}

/// Reads the first [`HEADER_LEN`] bytes of `bytes`: checks the sync marker and
/// the header CRC, nothing else.
pub(crate) fn read_raw_header(bytes: &[u8; HEADER_LEN]) -> Result<RawHeader, DecodeError> {
    if bytes[0..2] != SYNC {
        return Err(DecodeError::BadSync {
            found: [bytes[0], bytes[1]],
        });
    }
    let expected = u32::from_be_bytes(be4(&bytes[HEADER_CRC_OFFSET..]));
    let actual = crc32c::crc32c(&bytes[..HEADER_CRC_OFFSET]);
    if expected != actual {
        return Err(DecodeError::BadHeaderCrc { expected, actual });
    }
    Ok(RawHeader {
        version: bytes[2],
        kind: bytes[3],
        flags: u16::from_be_bytes([bytes[4], bytes[5]]),
        message_id: u64::from_be_bytes(be8(&bytes[6..14])),
        payload_len: u32::from_be_bytes(be4(&bytes[14..18])),
    })
}

impl RawHeader {
    /// Judges the fields: version, kind, flags, id rule and the payload length
    /// against `max_payload`.
    pub(crate) fn validate(self, max_payload: u32) -> Result<FrameHeader, DecodeError> {
        if self.version != VERSION {
            return Err(DecodeError::UnsupportedVersion {
                version: self.version,
            });
        }
        let kind =
            FrameKind::from_u8(self.kind).ok_or(DecodeError::UnknownKind { kind: self.kind })?;
        let unknown = self.flags & !kind.known_flags();
        if unknown != 0 {
            return Err(DecodeError::UnknownFlags {
                kind,
                flags: unknown,
            });
        }
        let id_ok = match kind.id_rule() {
            IdRule::Connection => self.message_id == 0,
            IdRule::Message => self.message_id != 0,
            IdRule::Any => true,
        };
        if !id_ok {
            return Err(DecodeError::BadMessageId {
                kind,
                message_id: self.message_id,
            });
        }
        if self.payload_len > max_payload {
            return Err(DecodeError::FrameTooLarge {
                kind,
                len: self.payload_len,
                max: max_payload,
            });
        }
        Ok(FrameHeader {
            kind,
            flags: self.flags,
            message_id: self.message_id,
            payload_len: self.payload_len,
        })
    }
}

fn be4(slice: &[u8]) -> [u8; 4] {
    let mut out = [0u8; 4];
    out.copy_from_slice(&slice[..4]);
    out
}

fn be8(slice: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&slice[..8]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_byte() {
        for kind in FrameKind::ALL {
            assert_eq!(FrameKind::from_u8(kind.as_u8()), Some(kind));
        }
        assert_eq!(FrameKind::from_u8(0), None);
        assert_eq!(FrameKind::from_u8(0x0A), None);
    }

    #[test]
    fn header_round_trips_and_crc_covers_every_field() {
        let header = FrameHeader {
            kind: FrameKind::Data,
            flags: 0,
            message_id: 0x0102_0304_0506_0708,
            payload_len: 4096,
        };
        let bytes = header.to_bytes();
        let raw = read_raw_header(&bytes).expect("valid header");
        assert_eq!(raw.validate(u32::MAX), Ok(header));
        for i in 2..HEADER_LEN {
            let mut damaged = bytes;
            damaged[i] ^= 0x10;
            assert!(
                matches!(
                    read_raw_header(&damaged),
                    Err(DecodeError::BadHeaderCrc { .. })
                ),
                "flip at byte {i} not caught"
            );
        }
    }
}
