//! Typed errors of the Python 0.1.3 codec.

use super::packet::PacketKind;

/// Which of the two length fields of a packet (`docs/python-013-wire-format.md` §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthField {
    /// `ext_len`, the length of the extension JSON.
    Ext,
    /// `meta_len`, the length of the payload.
    Meta,
}

/// Which JSON text of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonPart {
    /// The `ext` JSON that says what the packet is (`docs/python-013-wire-format.md` §4).
    Ext,
    /// The meta of a mission head: `extension`, `length`, `info`
    /// (`docs/python-013-wire-format.md` §4.1).
    Head,
}

impl std::fmt::Display for JsonPart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            JsonPart::Ext => "packet ext",
            JsonPart::Head => "mission head",
        })
    }
}

/// Why bytes from a Python 0.1.3 peer could not be decoded into a packet.
///
/// After any of these the stream is unusable (a Python receiver's thread dies
/// on the same input, `docs/python-013-wire-format.md` §12.2): report it and
/// close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A length field is negative (Python never sends one).
    #[error("negative {field:?} length {len}")]
    NegativeLength {
        /// The field.
        field: LengthField,
        /// The value read.
        len: i32,
    },
    /// `ext_len` is above [`Limits::max_ext_len`](super::Limits::max_ext_len).
    #[error("packet ext of {len} bytes exceeds the limit of {max}")]
    ExtTooLong {
        /// The length announced.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// `meta_len` is above the limit for the packet's kind.
    #[error("{kind} meta of {len} bytes exceeds the limit of {max}")]
    MetaTooLong {
        /// The packet's kind.
        kind: PacketKind,
        /// The length announced.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A JSON text is not valid JSON (or uses what `serde_json` refuses:
    /// `NaN`, `Infinity`, lone surrogates, nesting deeper than 128).
    #[error("{part} is not valid JSON: {reason}")]
    BadJson {
        /// Which JSON text.
        part: JsonPart,
        /// `serde_json`'s description.
        reason: String,
    },
    /// A JSON text is valid but not an object.
    #[error("{part} JSON is not an object")]
    NotAnObject {
        /// Which JSON text.
        part: JsonPart,
    },
    /// A key the packet needs is missing (a Python receiver dies of a KeyError).
    #[error("{part} JSON lacks the key {key:?}")]
    MissingKey {
        /// Which JSON text.
        part: JsonPart,
        /// The key.
        key: &'static str,
    },
    /// A key holds a value of the wrong type.
    #[error("{part} JSON key {key:?} is not {expected}")]
    WrongType {
        /// Which JSON text.
        part: JsonPart,
        /// The key.
        key: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// `ext.type` is none of `mission`, `data`, `cancel`.
    #[error("unknown packet type {found:?}")]
    UnknownType {
        /// The type found (at most 64 characters of it).
        found: String,
    },
    /// A head announces a payload above
    /// [`Limits::max_message_len`](super::Limits::max_message_len).
    #[error("mission of {len} bytes exceeds the limit of {max}")]
    MessageTooLarge {
        /// The length announced.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// The stream ended inside a packet.
    #[error("stream ended inside a packet ({buffered} bytes buffered)")]
    Truncated {
        /// Bytes of the partial packet.
        buffered: usize,
    },
}

/// Why a packet or mission cannot be sent to a Python 0.1.3 peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The `ext` would exceed [`MAX_SEND_EXT_LEN`](super::MAX_SEND_EXT_LEN)
    /// (an extension id of about 2000 characters), which a Python receiver
    /// misreads.
    #[error("{kind} ext of {len} bytes exceeds the {max} a Python peer reads correctly")]
    ExtTooLong {
        /// The packet's kind.
        kind: PacketKind,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The meta would exceed [`MAX_SEND_META_LEN`](super::MAX_SEND_META_LEN),
    /// which a Python receiver misreads (`docs/python-013-wire-format.md`
    /// §9.2). For a head this means the route, ids and other info keys are
    /// too long.
    #[error("{kind} meta of {len} bytes exceeds the {max} a Python peer reads correctly")]
    MetaTooLong {
        /// The packet's kind.
        kind: PacketKind,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A data chunk over [`MAX_SEND_META_LEN`](super::MAX_SEND_META_LEN) bytes
    /// that is not a multiple of 2048, which a Python receiver misreads
    /// ([`python_reads_chunk_len`](super::python_reads_chunk_len)).
    #[error(
        "a data chunk of {len} bytes: a Python peer misreads chunks over 4096 bytes unless they are a multiple of 2048"
    )]
    UnreadableChunk {
        /// Its length.
        len: usize,
    },
    /// A data chunk is empty: it would stop a Python peer's dispatcher for
    /// good (`docs/python-013-wire-format.md` §9.3).
    #[error("an empty data chunk would stop a Python peer's dispatcher")]
    EmptyChunk,
    /// A float is NaN or infinite (this codec does not read them back).
    #[error("NaN and infinite floats are not encoded")]
    NonFiniteFloat,
    /// JSON nested deeper than the decoder accepts.
    #[error("JSON nested deeper than {max} levels")]
    TooDeep {
        /// The deepest nesting written.
        max: usize,
    },
}
