//! The encoder: packets to bytes exactly as a Python 0.1.3 sender writes them.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::EncodeError;
use super::info::Info;
use super::json::write_python_str;
use super::limits::{CHUNK_LEN, MAX_SEND_EXT_LEN, MAX_SEND_META_LEN, python_reads_chunk_len};
use super::packet::{Cancel, Data, Head, Packet, PacketKind};

/// Bytes of the two length fields of a packet.
const LENGTHS_LEN: usize = 8;

/// Turns [`Packet`]s into the bytes a Python 0.1.3 sender writes: JSON with
/// `json.dumps`' separators and escaping, little-endian lengths, and only what
/// a Python receiver reads correctly (ext ≤ [`MAX_SEND_EXT_LEN`], meta ≤
/// [`MAX_SEND_META_LEN`], no empty data chunk).
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use netcore_protocol::py013::{Data, Encoder, Packet};
///
/// let mut wire = BytesMut::new();
/// let data = Packet::Data(Data { extension: "fbZAVa".into(), chunk: Bytes::from_static(b"{\"x\": 1}") });
/// Encoder::new().encode_into(&data, &mut wire)?;
/// assert_eq!(&wire[..], b"\x27\0\0\0{\"type\": \"data\", \"extension\": \"fbZAVa\"}\x08\0\0\0{\"x\": 1}");
/// # Ok::<(), netcore_protocol::py013::EncodeError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Encoder {
    _private: (),
}

impl Encoder {
    /// An encoder (it has no state: the Python format has no negotiation).
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Appends the bytes of `packet` to `dst`. On error nothing is appended.
    pub fn encode_into(&self, packet: &Packet, dst: &mut BytesMut) -> Result<(), EncodeError> {
        match packet {
            Packet::Head(head) => {
                let meta = head_meta(head)?;
                write_packet(PacketKind::Mission, MISSION_EXT, meta.as_bytes(), dst)
            }
            Packet::Data(data) => {
                if data.chunk.is_empty() {
                    return Err(EncodeError::EmptyChunk);
                }
                let ext = id_ext(PacketKind::Data, &data.extension);
                write_packet(PacketKind::Data, &ext, &data.chunk, dst)
            }
            Packet::Cancel(cancel) => {
                let ext = id_ext(PacketKind::Cancel, &cancel.extension);
                let meta = cancel_meta(&cancel.extension);
                write_packet(PacketKind::Cancel, &ext, meta.as_bytes(), dst)
            }
        }
    }

    /// The bytes of `packet`.
    pub fn encode(&self, packet: &Packet) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::new();
        self.encode_into(packet, &mut out)?;
        Ok(out.freeze())
    }
}

/// The ext of every mission head: always these 19 bytes.
const MISSION_EXT: &str = r#"{"type": "mission"}"#;

/// `{"type": "<kind>", "extension": "<id>"}`.
fn id_ext(kind: PacketKind, extension: &str) -> String {
    let mut ext = String::with_capacity(36 + extension.len());
    ext.push_str(r#"{"type": ""#);
    ext.push_str(kind.as_str());
    ext.push_str(r#"", "extension": "#);
    write_python_str(&mut ext, extension);
    ext.push('}');
    ext
}

/// `{"extension": "<id>"}`.
fn cancel_meta(extension: &str) -> String {
    let mut meta = String::with_capacity(17 + extension.len());
    meta.push_str(r#"{"extension": "#);
    write_python_str(&mut meta, extension);
    meta.push('}');
    meta
}

/// `{"extension": "<id>", "length": <n>, "info": {…}}`.
fn head_meta(head: &Head) -> Result<String, EncodeError> {
    let mut meta = String::with_capacity(64 + head.extension.len());
    meta.push_str(r#"{"extension": "#);
    write_python_str(&mut meta, &head.extension);
    meta.push_str(r#", "length": "#);
    meta.push_str(&head.length.to_string());
    meta.push_str(r#", "info": "#);
    // The info sits one level inside the head object.
    head.info.as_object().write_at(&mut meta, 1)?;
    meta.push('}');
    Ok(meta)
}

/// Writes `ext_len | ext | meta_len | meta` after checking both lengths
/// against what a Python receiver reads correctly.
fn write_packet(
    kind: PacketKind,
    ext: &str,
    meta: &[u8],
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    if ext.len() > MAX_SEND_EXT_LEN {
        return Err(EncodeError::ExtTooLong {
            kind,
            len: ext.len(),
            max: MAX_SEND_EXT_LEN,
        });
    }
    if kind == PacketKind::Data {
        if !python_reads_chunk_len(meta.len()) {
            return Err(EncodeError::UnreadableChunk { len: meta.len() });
        }
    } else if meta.len() > MAX_SEND_META_LEN {
        return Err(EncodeError::MetaTooLong {
            kind,
            len: meta.len(),
            max: MAX_SEND_META_LEN,
        });
    }
    dst.reserve(LENGTHS_LEN + ext.len() + meta.len());
    // Both lengths are at most MAX_SEND_CHUNK_LEN (1 MiB), so they fit an i32.
    dst.put_i32_le(ext.len() as i32);
    dst.put_slice(ext.as_bytes());
    dst.put_i32_le(meta.len() as i32);
    dst.put_slice(meta);
    Ok(())
}

/// The bytes that go before a data chunk of `chunk_len` bytes of mission
/// `extension`: `ext_len | ext | meta_len`. A sender that keeps chunks in
/// their own buffers writes this, then the chunk (no copy of the chunk).
///
/// Fails like [`Encoder::encode_into`] would for that data packet: an empty
/// chunk, a chunk a Python receiver misreads (over [`MAX_SEND_META_LEN`] and
/// not a multiple of 2048, [`python_reads_chunk_len`]), an id too long for
/// the ext.
///
/// ```
/// use netcore_protocol::py013::data_prefix;
/// let prefix = data_prefix("fbZAVa", 8)?;
/// assert_eq!(&prefix[..], b"\x27\0\0\0{\"type\": \"data\", \"extension\": \"fbZAVa\"}\x08\0\0\0");
/// # Ok::<(), netcore_protocol::py013::EncodeError>(())
/// ```
pub fn data_prefix(extension: &str, chunk_len: usize) -> Result<Bytes, EncodeError> {
    if chunk_len == 0 {
        return Err(EncodeError::EmptyChunk);
    }
    if !python_reads_chunk_len(chunk_len) {
        return Err(EncodeError::UnreadableChunk { len: chunk_len });
    }
    let ext = id_ext(PacketKind::Data, extension);
    if ext.len() > MAX_SEND_EXT_LEN {
        return Err(EncodeError::ExtTooLong {
            kind: PacketKind::Data,
            len: ext.len(),
            max: MAX_SEND_EXT_LEN,
        });
    }
    let mut prefix = BytesMut::with_capacity(LENGTHS_LEN + ext.len());
    prefix.put_i32_le(ext.len() as i32);
    prefix.put_slice(ext.as_bytes());
    // At most MAX_SEND_CHUNK_LEN (1 MiB): fits an i32.
    prefix.put_i32_le(chunk_len as i32);
    Ok(prefix.freeze())
}

/// Cuts `body` into consecutive [`CHUNK_LEN`]-byte chunks (the last one may be
/// shorter) as a Python sender does; an empty body gives no chunk. The chunks
/// share `body`'s memory.
///
/// ```
/// use bytes::Bytes;
/// let sizes: Vec<usize> = netcore_protocol::py013::split_chunks(&Bytes::from(vec![0u8; 10_000]))
///     .map(|chunk| chunk.len())
///     .collect();
/// assert_eq!(sizes, [4096, 4096, 1808]);
/// ```
pub fn split_chunks(body: &Bytes) -> impl Iterator<Item = Bytes> + '_ {
    (0..body.len())
        .step_by(CHUNK_LEN)
        .map(move |start| body.slice(start..(start + CHUNK_LEN).min(body.len())))
}

/// One outgoing mission: its head, then its body in [`CHUNK_LEN`]-byte data
/// chunks, never an empty one, and never a chunk before the head.
///
/// Everything is checked when the mission is made ([`Mission::new`]), so
/// writing it cannot fail. A sender that interleaves missions as Python does
/// (`docs/python-013-wire-format.md` §7.1) writes each new mission's head,
/// then one chunk of each mission in turn with [`Mission::write_next`].
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use netcore_protocol::py013::{Info, Mission, PacketKind};
///
/// let mut mission = Mission::new("fbZAVa", Info::request("echo", "i0VpEBOW"), Bytes::from(vec![7u8; 5000]))?;
/// let mut wire = BytesMut::new();
/// let mut kinds = Vec::new();
/// while let Some(kind) = mission.write_next(&mut wire) {
///     kinds.push(kind);
/// }
/// assert_eq!(kinds, [PacketKind::Mission, PacketKind::Data, PacketKind::Data]);
/// assert!(mission.is_done());
/// # Ok::<(), netcore_protocol::py013::EncodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Mission {
    head: Head,
    /// The encoded head packet, `None` once written.
    head_bytes: Option<Bytes>,
    /// `ext_len | ext` of this mission's data packets.
    data_prefix: Bytes,
    /// What is left to send.
    body: Bytes,
}

impl Mission {
    /// A mission with extension id `extension` carrying `body` with `info`.
    ///
    /// Fails when the head's meta would exceed [`MAX_SEND_META_LEN`] (a long
    /// route or many info keys: a Python receiver would lose the stream,
    /// `docs/python-013-wire-format.md` §9.2), the id is too long for the
    /// ext, or the info cannot be encoded. An empty body gives a head only, as Python sends it — a Python
    /// receiver never completes such a mission (§9.3).
    pub fn new(
        extension: impl Into<String>,
        info: Info,
        body: Bytes,
    ) -> Result<Mission, EncodeError> {
        let head = Head {
            extension: extension.into(),
            length: body.len() as u64,
            info,
        };
        let mut head_bytes = BytesMut::new();
        Encoder::new().encode_into(&Packet::Head(head.clone()), &mut head_bytes)?;
        let ext = id_ext(PacketKind::Data, &head.extension);
        if ext.len() > MAX_SEND_EXT_LEN {
            return Err(EncodeError::ExtTooLong {
                kind: PacketKind::Data,
                len: ext.len(),
                max: MAX_SEND_EXT_LEN,
            });
        }
        let mut data_prefix = BytesMut::with_capacity(4 + ext.len());
        data_prefix.put_i32_le(ext.len() as i32);
        data_prefix.put_slice(ext.as_bytes());
        Ok(Mission {
            head,
            head_bytes: Some(head_bytes.freeze()),
            data_prefix: data_prefix.freeze(),
            body,
        })
    }

    /// The mission's head.
    pub fn head(&self) -> &Head {
        &self.head
    }

    /// The extension id.
    pub fn extension(&self) -> &str {
        &self.head.extension
    }

    /// Whether the head was written.
    pub fn head_sent(&self) -> bool {
        self.head_bytes.is_none()
    }

    /// Body bytes not yet written.
    pub fn remaining(&self) -> usize {
        self.body.len()
    }

    /// Whether the head and every chunk were written (or it was cancelled).
    pub fn is_done(&self) -> bool {
        self.head_sent() && self.body.is_empty()
    }

    /// Writes the head if it was not written yet; returns whether it did.
    pub fn write_head(&mut self, dst: &mut BytesMut) -> bool {
        match self.head_bytes.take() {
            Some(head) => {
                dst.extend_from_slice(&head);
                true
            }
            None => false,
        }
    }

    /// Writes the next packet: the head first, then one data chunk per call.
    /// Returns its kind, or `None` when the mission is done.
    pub fn write_next(&mut self, dst: &mut BytesMut) -> Option<PacketKind> {
        if self.write_head(dst) {
            return Some(PacketKind::Mission);
        }
        let chunk = self.take_chunk()?;
        dst.reserve(self.data_prefix.len() + 4 + chunk.len());
        dst.put_slice(&self.data_prefix);
        dst.put_i32_le(chunk.len() as i32);
        dst.put_slice(&chunk);
        Some(PacketKind::Data)
    }

    /// The next packet as a value (head first, then data chunks sharing the
    /// body's memory), or `None` when the mission is done.
    pub fn next_packet(&mut self) -> Option<Packet> {
        if self.head_bytes.take().is_some() {
            return Some(Packet::Head(self.head.clone()));
        }
        let chunk = self.take_chunk()?;
        Some(Packet::Data(Data {
            extension: self.head.extension.clone(),
            chunk,
        }))
    }

    /// Drops whatever is left of the body. Returns the cancel to send when
    /// the peer has seen the head and not yet all chunks (Python's
    /// `cancel_mission` only acts then, `docs/python-013-wire-format.md`
    /// §6.5); `None` when nothing is on the wire yet or the mission was
    /// complete (then nothing is sent).
    pub fn cancel(&mut self) -> Option<Cancel> {
        let unfinished = !self.body.is_empty();
        self.body = Bytes::new();
        if self.head_bytes.take().is_some() || !unfinished {
            return None;
        }
        Some(Cancel {
            extension: self.head.extension.clone(),
        })
    }

    fn take_chunk(&mut self) -> Option<Bytes> {
        if self.body.is_empty() {
            return None;
        }
        let len = self.body.len().min(CHUNK_LEN);
        Some(self.body.split_to(len))
    }
}
