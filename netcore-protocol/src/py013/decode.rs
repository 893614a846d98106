//! The incremental decoder.

use bytes::{Buf, Bytes, BytesMut};

use super::error::{DecodeError, JsonPart, LengthField};
use super::info::Info;
use super::json::{Json, Object};
use super::limits::Limits;
use super::packet::{Cancel, Data, Head, Packet, PacketKind};

/// Bytes of one length field.
const LEN_FIELD: usize = 4;

/// Longest `ext.type` quoted back in [`DecodeError::UnknownType`].
const MAX_QUOTED_TYPE: usize = 64;

/// What a packet's `ext` said, once parsed.
#[derive(Debug, Clone)]
enum Ext {
    Mission,
    Data(String),
    Cancel(String),
}

impl Ext {
    fn kind(&self) -> PacketKind {
        match self {
            Ext::Mission => PacketKind::Mission,
            Ext::Data(_) => PacketKind::Data,
            Ext::Cancel(_) => PacketKind::Cancel,
        }
    }
}

/// Counters kept by a [`Decoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecoderStats {
    /// Packets yielded.
    pub packets: u64,
    /// Bytes of the packets yielded.
    pub bytes: u64,
}

/// Turns a byte stream from a Python 0.1.3 peer, fed in any split, into
/// [`Packet`]s.
///
/// Call [`Decoder::decode`] with the read buffer after each read: it consumes
/// one whole packet and returns it, or returns `Ok(None)` and leaves the
/// partial bytes in place (having reserved room for the rest once each length
/// was checked against the [`Limits`]). At the end of the stream call
/// [`Decoder::decode_eof`] until it returns `Ok(None)`.
///
/// The JSON is read as Python's `json.loads` reads it (any separators, any key
/// order, extra keys ignored, a repeated key's last value wins), with the
/// types a Python receiver needs checked. Data chunks come out as slices of
/// the read buffer. An empty data chunk is decoded (a Python sender never
/// makes one); what to do with it is the pipe's business.
///
/// After an error the stream is unusable: close it.
///
/// ```
/// use bytes::BytesMut;
/// use netcore_protocol::py013::{Decoder, Info, Packet};
///
/// let mut wire = BytesMut::from(&b"\x13\0\0\0{\"type\": \"mission\"}\x59\0\0\0{\"extension\": \"fbZAVa\", \"length\": 8, \"info\": {\"route\": \"echo\", \"message_id\": \"i0VpEBOW\"}}"[..]);
/// let mut decoder = Decoder::default();
/// let Some(Packet::Head(head)) = decoder.decode(&mut wire)? else { panic!("a head") };
/// assert_eq!((head.extension.as_str(), head.length), ("fbZAVa", 8));
/// assert_eq!(head.info, Info::request("echo", "i0VpEBOW"));
/// assert_eq!(decoder.decode_eof(&mut wire)?, None);
/// # Ok::<(), netcore_protocol::py013::DecodeError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    limits: Limits,
    /// The parsed `ext` of the packet at the front of the buffer, once its
    /// bytes arrived (so it is parsed once, however the bytes trickle in).
    pending: Option<Ext>,
    stats: DecoderStats,
}

impl Decoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            limits,
            pending: None,
            stats: DecoderStats::default(),
        }
    }

    /// The limits enforced.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Counters so far.
    pub fn stats(&self) -> DecoderStats {
        self.stats
    }

    /// Decodes the next packet from `src`, or returns `Ok(None)` when more
    /// bytes are needed.
    pub fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let result = self.next(src);
        if result.is_err() {
            self.pending = None;
        }
        result
    }

    /// Like [`Decoder::decode`], for when no more bytes will come: a partial
    /// packet left at the end is [`DecodeError::Truncated`].
    pub fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        match self.decode(src)? {
            Some(packet) => Ok(Some(packet)),
            None if src.is_empty() => Ok(None),
            None => {
                self.pending = None;
                Err(DecodeError::Truncated {
                    buffered: src.len(),
                })
            }
        }
    }

    fn next(&mut self, src: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let Some(ext_len) = read_len(src, 0, LengthField::Ext)? else {
            return Ok(None);
        };
        if ext_len > self.limits.max_ext_len {
            return Err(DecodeError::ExtTooLong {
                len: ext_len,
                max: self.limits.max_ext_len,
            });
        }
        let ext_end = LEN_FIELD + ext_len;
        let ext = match &self.pending {
            Some(ext) => ext.clone(),
            None => {
                if src.len() < ext_end {
                    src.reserve(ext_end + LEN_FIELD - src.len());
                    return Ok(None);
                }
                let ext = parse_ext(&src[LEN_FIELD..ext_end])?;
                self.pending = Some(ext.clone());
                ext
            }
        };
        let Some(meta_len) = read_len(src, ext_end, LengthField::Meta)? else {
            return Ok(None);
        };
        let kind = ext.kind();
        let max = match kind {
            PacketKind::Mission => self.limits.max_head_len,
            PacketKind::Data => self.limits.max_chunk_len,
            PacketKind::Cancel => self.limits.max_cancel_len,
        };
        if meta_len > max {
            return Err(DecodeError::MetaTooLong {
                kind,
                len: meta_len,
                max,
            });
        }
        let meta_start = ext_end + LEN_FIELD;
        let total = meta_start + meta_len;
        if src.len() < total {
            src.reserve(total - src.len());
            return Ok(None);
        }
        // The whole packet is here: it is consumed whatever its meta holds.
        self.pending = None;
        let mut packet = src.split_to(total).freeze();
        packet.advance(meta_start);
        let decoded = match ext {
            Ext::Mission => Packet::Head(parse_head(&packet, self.limits.max_message_len)?),
            Ext::Data(extension) => Packet::Data(Data {
                extension,
                chunk: packet,
            }),
            Ext::Cancel(extension) => Packet::Cancel(Cancel { extension }),
        };
        self.stats.packets += 1;
        self.stats.bytes += total as u64;
        Ok(Some(decoded))
    }
}

/// Reads the little-endian i32 length at `at`, if its bytes are there.
fn read_len(src: &[u8], at: usize, field: LengthField) -> Result<Option<usize>, DecodeError> {
    let Some(bytes) = src.get(at..at + LEN_FIELD) else {
        return Ok(None);
    };
    let mut raw = [0u8; LEN_FIELD];
    raw.copy_from_slice(bytes);
    let len = i32::from_le_bytes(raw);
    usize::try_from(len)
        .map(Some)
        .map_err(|_| DecodeError::NegativeLength { field, len })
}

/// Parses a JSON text that must be an object.
fn parse_object(bytes: &[u8], part: JsonPart) -> Result<Object, DecodeError> {
    match Json::parse(bytes) {
        Ok(Json::Object(object)) => Ok(object),
        Ok(_) => Err(DecodeError::NotAnObject { part }),
        Err(error) => Err(DecodeError::BadJson {
            part,
            reason: error.to_string(),
        }),
    }
}

/// The string under `key`, which must be there.
fn string_key(
    object: &mut Object,
    part: JsonPart,
    key: &'static str,
) -> Result<String, DecodeError> {
    match object.remove(key) {
        Some(Json::String(text)) => Ok(text),
        Some(_) => Err(DecodeError::WrongType {
            part,
            key,
            expected: "a string",
        }),
        None => Err(DecodeError::MissingKey { part, key }),
    }
}

/// `{"type": "mission"}`, or `{"type": "data"|"cancel", "extension": "<id>"}`;
/// other keys are ignored, as Python ignores them.
fn parse_ext(bytes: &[u8]) -> Result<Ext, DecodeError> {
    let part = JsonPart::Ext;
    let mut ext = parse_object(bytes, part)?;
    let kind = string_key(&mut ext, part, "type")?;
    match kind.as_str() {
        "mission" => Ok(Ext::Mission),
        "data" => Ok(Ext::Data(string_key(&mut ext, part, "extension")?)),
        "cancel" => Ok(Ext::Cancel(string_key(&mut ext, part, "extension")?)),
        _ => Err(DecodeError::UnknownType {
            found: kind.chars().take(MAX_QUOTED_TYPE).collect(),
        }),
    }
}

/// `{"extension": "<id>", "length": <n>, "info": {…}}` in any order, other
/// keys ignored.
fn parse_head(meta: &Bytes, max_message_len: u64) -> Result<Head, DecodeError> {
    let part = JsonPart::Head;
    let mut head = parse_object(meta, part)?;
    let extension = string_key(&mut head, part, "extension")?;
    let length = match head.remove("length") {
        Some(Json::Int(length)) => u64::try_from(length).map_err(|_| DecodeError::WrongType {
            part,
            key: "length",
            expected: "an integer from 0 to 2^64 - 1",
        })?,
        Some(_) => {
            return Err(DecodeError::WrongType {
                part,
                key: "length",
                expected: "an integer from 0 to 2^64 - 1",
            });
        }
        None => {
            return Err(DecodeError::MissingKey {
                part,
                key: "length",
            });
        }
    };
    if length > max_message_len {
        return Err(DecodeError::MessageTooLarge {
            len: length,
            max: max_message_len,
        });
    }
    let info = match head.remove("info") {
        Some(Json::Object(info)) => Info::from(info),
        Some(_) => {
            return Err(DecodeError::WrongType {
                part,
                key: "info",
                expected: "an object",
            });
        }
        None => return Err(DecodeError::MissingKey { part, key: "info" }),
    };
    Ok(Head {
        extension,
        length,
        info,
    })
}
