//! Settings of the Python-compatible connection core.

use netcore_protocol::py013::Limits;

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
}

impl Default for Py013Config {
    fn default() -> Self {
        Py013Config {
            limits: Limits::default(),
            max_incoming: 1024,
            early_buffer: 16 << 20,
            max_early_missions: 64,
            receive_window: 16 << 20,
        }
    }
}
