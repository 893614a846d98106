//! The sizes the Python library imposes on senders, and the receive limits.

/// Size of the data chunks a Python sender cuts a payload into
/// (`docs/python-013-wire-format.md` §4.2).
/// The encoder never writes a longer data chunk: a Python receiver misreads a
/// meta longer than 4096 bytes unless it is a multiple of 2048 (§9.2).
pub const CHUNK_LEN: usize = 4096;

/// Longest meta (head JSON, data chunk or cancel JSON) a Python receiver reads
/// correctly whatever its length (`docs/python-013-wire-format.md` §9.2). The
/// encoder refuses longer ones.
pub const MAX_SEND_META_LEN: usize = 4096;

/// Whether a Python 0.1.3 receiver reads a data chunk of `len` bytes
/// correctly, and the encoder writes it: one of at most [`MAX_SEND_META_LEN`]
/// bytes, or a multiple of 2048 up to [`MAX_SEND_CHUNK_LEN`] (its reader steps through a meta 2048 bytes at a time and only
/// misreads a last partial step after the second,
/// `docs/python-013-wire-format.md` §9.2). Longer chunks mean fewer packets
/// for a Python receiver to parse.
///
/// ```
/// use netcore_protocol::py013::python_reads_chunk_len;
/// assert!(python_reads_chunk_len(4096) && python_reads_chunk_len(100));
/// assert!(python_reads_chunk_len(64 << 10));
/// assert!(!python_reads_chunk_len(6000));
/// ```
pub const fn python_reads_chunk_len(len: usize) -> bool {
    len <= MAX_SEND_META_LEN || (len.is_multiple_of(2048) && len <= MAX_SEND_CHUNK_LEN)
}

/// Longest data chunk the encoder writes (1 MiB): a multiple of 2048, well
/// inside the `i32` length field.
pub const MAX_SEND_CHUNK_LEN: usize = 1 << 20;

/// Longest `ext` a Python receiver reads correctly: its read helper returns
/// only the last 2048-byte piece it read (`docs/python-013-wire-format.md`
/// §9.2). The encoder refuses longer ones (only an extension id of about 2000
/// characters gets there).
pub const MAX_SEND_EXT_LEN: usize = 2048;

/// Receive limits: every length read from the wire is checked against these
/// before any room is reserved for it.
///
/// One field per length of the format, which is frozen, so it can be built
/// literally; the `with_*` setters change one field of a preset.
///
/// The defaults accept everything a Python 0.1.3 peer can send to another
/// Python peer successfully, with room to spare.
///
/// ```
/// use netcore_protocol::py013::Limits;
/// let tight = Limits::default().with_max_message_len(1 << 20);
/// assert_eq!(tight.max_chunk_len, Limits::default().max_chunk_len);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, getset::WithSetters)]
#[getset(set_with = "pub")]
pub struct Limits {
    /// Longest `ext` JSON accepted (default 2048: longer ones break Python).
    pub max_ext_len: usize,
    /// Longest mission-head meta (the JSON with the info) accepted (default 16 KiB).
    pub max_head_len: usize,
    /// Longest data chunk accepted (default 64 KiB; Python sends 4096).
    pub max_chunk_len: usize,
    /// Longest cancel meta accepted (default 4096; it is ignored anyway).
    pub max_cancel_len: usize,
    /// Largest total payload length a head may announce (default 4 GiB).
    pub max_message_len: u64,
}

impl Limits {
    /// Default `max_ext_len`.
    pub const DEFAULT_EXT_LEN: usize = MAX_SEND_EXT_LEN;
    /// Default `max_head_len`.
    pub const DEFAULT_HEAD_LEN: usize = 16 << 10;
    /// Default `max_chunk_len`.
    pub const DEFAULT_CHUNK_LEN: usize = 64 << 10;
    /// Default `max_cancel_len`.
    pub const DEFAULT_CANCEL_LEN: usize = MAX_SEND_META_LEN;
    /// Default `max_message_len`.
    pub const DEFAULT_MESSAGE_LEN: u64 = 4 << 30;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_ext_len: Limits::DEFAULT_EXT_LEN,
            max_head_len: Limits::DEFAULT_HEAD_LEN,
            max_chunk_len: Limits::DEFAULT_CHUNK_LEN,
            max_cancel_len: Limits::DEFAULT_CANCEL_LEN,
            max_message_len: Limits::DEFAULT_MESSAGE_LEN,
        }
    }
}
