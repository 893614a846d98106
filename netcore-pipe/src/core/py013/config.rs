//! Settings of the Python-compatible connection core.

use netcore_protocol::py013::{CHUNK_LEN, Limits, MAX_SEND_CHUNK_LEN, python_reads_chunk_len};

/// How a Python-compatible [`Connection`](super::Connection) receives: the
/// decode limits and the bounds on what it holds for the peer.
///
/// The format has no flow control, so the only brake on a Python sender is
/// the transport itself: once `receive_window` body bytes are delivered but
/// not yet read by the application, the pipe stops reading from the
/// transport until the application catches up.
///
/// ```
/// use netcore_pipe::core::py013::Py013Config;
/// let config = Py013Config::default().with_receive_window(1 << 20);
/// assert_eq!(config.max_incoming, 1024);
/// ```
#[derive(Debug, Clone, getset::WithSetters)]
#[getset(set_with = "pub")]
#[non_exhaustive]
pub struct Py013Config {
    /// Decode limits (lengths of ext, head, chunk, message).
    pub limits: Limits,
    /// Most incoming missions in progress at once; a head beyond it is
    /// ignored (its mission dropped, with a warning).
    pub max_incoming: usize,
    /// Most bytes of data chunks held for missions whose head has not
    /// arrived yet (a Python sender can put chunks before their head,
    /// `docs/python-013-wire-format.md` §7.3). A mission that would go past
    /// it is dropped, with a warning.
    pub early_buffer: usize,
    /// Most missions with chunks waiting for their head at once.
    pub max_early_missions: usize,
    /// Body bytes delivered to the application and not yet read, beyond
    /// which reading from the transport pauses.
    pub receive_window: u64,
    /// Size of the data chunks an outgoing body is cut into (the last one
    /// or two are shorter). Default 64 KiB.
    ///
    /// A Python 0.1.3 sender uses 4096; a Python receiver reads any chunk of
    /// at most 4096 bytes or a multiple of 2048
    /// ([`python_reads_chunk_len`]), and longer chunks cost it fewer socket
    /// reads and fewer packet heads to parse: a 10 MiB download into a
    /// Python program takes a fraction of the time (`cargo xtask bench`,
    /// `python`). Set 4096 to cut bodies exactly as Python does. Other values
    /// are rounded down to a multiple of 2048 (and kept within
    /// [`MAX_SEND_CHUNK_LEN`]); a Rust receiver in this mode accepts chunks
    /// up to its [`Limits::max_chunk_len`] (64 KiB by default).
    pub chunk_len: usize,
}

impl Default for Py013Config {
    fn default() -> Self {
        Py013Config {
            limits: Limits::default(),
            max_incoming: 1024,
            early_buffer: 16 << 20,
            max_early_missions: 64,
            receive_window: 16 << 20,
            chunk_len: 64 << 10,
        }
    }
}

impl Py013Config {
    /// [`chunk_len`](Py013Config::chunk_len) as sent: one a Python receiver
    /// reads (rounded down to a multiple of 2048 if need be, at least 1).
    ///
    /// ```
    /// use netcore_pipe::core::py013::Py013Config;
    /// assert_eq!(Py013Config::default().sendable_chunk_len(), 64 << 10);
    /// assert_eq!(Py013Config::default().with_chunk_len(4096).sendable_chunk_len(), 4096);
    /// assert_eq!(Py013Config::default().with_chunk_len(6000).sendable_chunk_len(), 4096);
    /// assert_eq!(Py013Config::default().with_chunk_len(0).sendable_chunk_len(), 1);
    /// ```
    pub fn sendable_chunk_len(&self) -> usize {
        let len = self.chunk_len.clamp(1, MAX_SEND_CHUNK_LEN);
        if python_reads_chunk_len(len) {
            len
        } else {
            (len - len % 2048).max(CHUNK_LEN)
        }
    }
}
