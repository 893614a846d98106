//! Typed errors of the codec: what went wrong, with the numbers that show it.

use crate::code::ErrorCode;
use crate::header::FrameKind;

/// Why bytes from the wire could not be decoded into a frame.
///
/// In [`DecodeMode::Strict`](crate::DecodeMode::Strict) the decoder returns
/// these as errors; in [`DecodeMode::Resync`](crate::DecodeMode::Resync) it
/// reports them inside [`Damage`](crate::Damage) items and carries on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The bytes where a frame should start are not the sync marker `F5 4E`.
    #[error("expected sync marker F5 4E, found {:02X} {:02X}", found[0], found[1])]
    BadSync {
        /// The two bytes found instead.
        found: [u8; 2],
    },
    /// The header CRC does not match the header: the header was damaged, so
    /// none of its fields (the length above all) can be trusted.
    #[error("header CRC32C mismatch: header says {expected:#010x}, bytes give {actual:#010x}")]
    BadHeaderCrc {
        /// CRC carried in the header.
        expected: u32,
        /// CRC computed over the header bytes.
        actual: u32,
    },
    /// The header names a wire-format version this decoder does not speak.
    #[error(
        "unsupported wire-format version {version} (this side speaks version {})",
        crate::VERSION
    )]
    UnsupportedVersion {
        /// The version byte received.
        version: u8,
    },
    /// The header names a frame kind that does not exist in this version.
    #[error("unknown frame kind {kind:#04x}")]
    UnknownKind {
        /// The kind byte received.
        kind: u8,
    },
    /// Flag bits that this frame kind does not define are set.
    #[error("{kind} frame has undefined flag bits {flags:#06x} set")]
    UnknownFlags {
        /// The frame kind.
        kind: FrameKind,
        /// The undefined bits that were set.
        flags: u16,
    },
    /// A connection-level frame carries a message id, or a message frame carries id 0.
    #[error("{kind} frame cannot carry message id {message_id}")]
    BadMessageId {
        /// The frame kind.
        kind: FrameKind,
        /// The id received.
        message_id: u64,
    },
    /// The payload length in the header is above the negotiated maximum; nothing
    /// was allocated for it.
    #[error("{kind} frame payload of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// The frame kind.
        kind: FrameKind,
        /// The payload length the header announced.
        len: u32,
        /// The limit in force.
        max: u32,
    },
    /// The payload CRC does not match the payload: the payload was damaged.
    #[error(
        "payload CRC32C mismatch in {kind} frame of message {message_id}: frame says {expected:#010x}, bytes give {actual:#010x}"
    )]
    BadPayloadCrc {
        /// The frame kind.
        kind: FrameKind,
        /// The message the frame belonged to.
        message_id: u64,
        /// CRC carried after the payload.
        expected: u32,
        /// CRC computed over the payload.
        actual: u32,
    },
    /// An OPEN or HELLO header block is larger than the negotiated maximum.
    #[error("header block of {len} bytes exceeds the limit of {max} bytes")]
    HeaderBlockTooLarge {
        /// Size of the header block announced.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// A message is, or would grow, larger than the negotiated maximum.
    #[error("message {message_id} of {len} bytes exceeds the limit of {max} bytes")]
    MessageTooLarge {
        /// The message.
        message_id: u64,
        /// Its announced (or reached) size.
        len: u64,
        /// The limit in force.
        max: u64,
    },
    /// The payload checked but does not have the layout its kind requires.
    #[error("malformed {kind} payload: {what}")]
    Malformed {
        /// The frame kind.
        kind: FrameKind,
        /// What is wrong with it.
        what: Malformation,
    },
    /// The byte stream ended in the middle of a frame.
    #[error("stream ended inside a frame: {buffered} bytes of an incomplete frame left")]
    Truncated {
        /// Bytes of the incomplete frame that were received.
        buffered: usize,
    },
}

impl DecodeError {
    /// The code to put in the GOAWAY this error calls for.
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::FrameTooLarge { .. }
            | DecodeError::HeaderBlockTooLarge { .. }
            | DecodeError::MessageTooLarge { .. } => ErrorCode::LIMIT_EXCEEDED,
            DecodeError::BadSync { .. }
            | DecodeError::BadHeaderCrc { .. }
            | DecodeError::BadPayloadCrc { .. }
            | DecodeError::Truncated { .. } => ErrorCode::DAMAGED,
            DecodeError::UnsupportedVersion { .. } => ErrorCode::UNSUPPORTED_VERSION,
            DecodeError::UnknownKind { .. }
            | DecodeError::UnknownFlags { .. }
            | DecodeError::BadMessageId { .. }
            | DecodeError::Malformed { .. } => ErrorCode::PROTOCOL_ERROR,
        }
    }
}

/// What is wrong inside a payload whose CRC checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformation {
    /// The payload ends before a field it must contain.
    #[error("payload ends inside the {field} field")]
    Short {
        /// The field that is cut.
        field: &'static str,
    },
    /// Bytes follow the last field of a kind that has no room for more.
    #[error("{count} unexpected bytes after the last field")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// A text field is not valid UTF-8.
    #[error("the {field} field is not valid UTF-8")]
    NotUtf8 {
        /// The field.
        field: &'static str,
    },
    /// A header entry has an empty name.
    #[error("a header name is empty")]
    EmptyHeaderName,
    /// An OPEN carries more body bytes than the total length it announces.
    #[error("inline body of {body} bytes is longer than the announced total of {total} bytes")]
    BodyExceedsLength {
        /// Inline body bytes.
        body: usize,
        /// Announced total length.
        total: u64,
    },
    /// A HELLO advertises a limit below what the protocol needs to work.
    #[error("limit {field} = {value} is below the protocol minimum of {min}")]
    LimitBelowMinimum {
        /// Which limit.
        field: &'static str,
        /// The value advertised.
        value: u64,
        /// The smallest value allowed.
        min: u64,
    },
}

/// Why a frame could not be encoded. Encoding checks against the limits the
/// peer advertised, so nothing is sent that the peer would have to reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The payload would be larger than the peer accepts in one frame.
    #[error("{kind} payload of {len} bytes exceeds the peer's frame limit of {max} bytes")]
    FrameTooLarge {
        /// The frame kind.
        kind: FrameKind,
        /// Payload length the frame would have.
        len: usize,
        /// The peer's limit.
        max: u32,
    },
    /// The header block would be larger than the peer accepts.
    #[error("header block of {len} bytes exceeds the peer's limit of {max} bytes")]
    HeaderBlockTooLarge {
        /// Size the block would have.
        len: usize,
        /// The peer's limit.
        max: usize,
    },
    /// The announced message length is above the peer's maximum message size.
    #[error("message of {len} bytes exceeds the peer's limit of {max} bytes")]
    MessageTooLarge {
        /// The announced length.
        len: u64,
        /// The peer's limit.
        max: u64,
    },
    /// The frame carries a message id its kind does not allow.
    #[error("{kind} frame cannot carry message id {message_id}")]
    BadMessageId {
        /// The frame kind.
        kind: FrameKind,
        /// The id.
        message_id: u64,
    },
    /// An OPEN carries more inline body bytes than its announced total length.
    #[error("inline body of {body} bytes is longer than the announced total of {total} bytes")]
    BodyExceedsLength {
        /// Inline body bytes.
        body: usize,
        /// Announced total length.
        total: u64,
    },
}

/// Why a header entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// Header names are 1 to 255 bytes of UTF-8.
    #[error("header name must be 1 to 255 bytes, got {len}")]
    BadNameLength {
        /// The name's length in bytes.
        len: usize,
    },
    /// Header values are at most 65 535 bytes.
    #[error("header value for {name:?} is {len} bytes, more than 65535")]
    ValueTooLong {
        /// The header's name.
        name: String,
        /// The value's length in bytes.
        len: usize,
    },
}
