//! The three packet kinds of the Python pipe (`docs/python-013-wire-format.md` §4).

use bytes::Bytes;

use super::info::Info;

/// What a packet is, from its `ext.type`.
///
/// Exhaustive on purpose: the set is fixed by the wire format, and a new
/// kind would be a new protocol version that every core must handle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// `{"type": "mission"}`: a mission head.
    Mission,
    /// `{"type": "data", …}`: a data chunk.
    Data,
    /// `{"type": "cancel", …}`: a cancel.
    Cancel,
}

impl PacketKind {
    /// The `ext.type` string.
    pub fn as_str(self) -> &'static str {
        match self {
            PacketKind::Mission => "mission",
            PacketKind::Data => "data",
            PacketKind::Cancel => "cancel",
        }
    }
}

impl std::fmt::Display for PacketKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A mission head (`docs/python-013-wire-format.md` §4.1): announces a
/// message, its total length and its info. Wire form: ext `{"type": "mission"}`, meta
/// `{"extension": "<id>", "length": <n>, "info": {…}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Head {
    /// The mission's extension id (6 characters from `[A-Za-z0-9]` in Python).
    pub extension: String,
    /// Total payload length in bytes, the sum of the data chunks to come.
    /// A Python receiver never completes a mission of length 0 (§9.3).
    pub length: u64,
    /// The info object (route, message id, …).
    pub info: Info,
}

/// A data chunk (`docs/python-013-wire-format.md` §4.2). Wire form: ext
/// `{"type": "data", "extension": "<id>"}`, meta the raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Data {
    /// The extension id of the mission it belongs to.
    pub extension: String,
    /// The bytes; a slice of the read buffer when decoded. Never empty when
    /// encoded (§9.3); at most [`CHUNK_LEN`](super::CHUNK_LEN) bytes.
    pub chunk: Bytes,
}

/// A cancel (`docs/python-013-wire-format.md` §4.3). Wire form: ext
/// `{"type": "cancel", "extension": "<id>"}`, meta `{"extension": "<id>"}`.
/// The receiver ignores the meta, and so does this decoder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cancel {
    /// The extension id of the mission to drop.
    pub extension: String,
}

/// One packet of the Python pipe.
///
/// Exhaustive on purpose: the set is fixed by the wire format, and a new
/// kind would be a new protocol version that every core must handle.
#[derive(Debug, Clone, PartialEq)]
pub enum Packet {
    /// A mission head.
    Head(Head),
    /// A data chunk.
    Data(Data),
    /// A cancel.
    Cancel(Cancel),
}

impl Packet {
    /// The packet's kind.
    pub fn kind(&self) -> PacketKind {
        match self {
            Packet::Head(_) => PacketKind::Mission,
            Packet::Data(_) => PacketKind::Data,
            Packet::Cancel(_) => PacketKind::Cancel,
        }
    }

    /// The extension id the packet is about.
    pub fn extension(&self) -> &str {
        match self {
            Packet::Head(head) => &head.extension,
            Packet::Data(data) => &data.extension,
            Packet::Cancel(cancel) => &cancel.extension,
        }
    }
}

impl From<Head> for Packet {
    fn from(head: Head) -> Packet {
        Packet::Head(head)
    }
}

impl From<Data> for Packet {
    fn from(data: Data) -> Packet {
        Packet::Data(data)
    }
}

impl From<Cancel> for Packet {
    fn from(cancel: Cancel) -> Packet {
        Packet::Cancel(cancel)
    }
}
