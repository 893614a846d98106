//! [`FlowStats`]: what flow control is doing on a connection right now.

/// A snapshot of a connection's flow control: the windows each way and
/// what is in flight, so a user can see why a transfer is slow (a window
/// that stopped growing, a reader that stopped reading, a peer that grants
/// no credit).
///
/// All figures count body bytes. `None` means the format or the link has no
/// such window (a lossy link keeps no connection window; Python 0.1.3 has no
/// flow control at all).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlowStats {
    /// Bytes the peer lets this side send now on the connection, all
    /// messages together. 0 while the sender waits for credit.
    pub send_credit: Option<u64>,
    /// The connection's receive window: how far ahead of what the
    /// application has read the peer may send. It starts at
    /// `CoreConfig::connection_window` and grows towards the
    /// bandwidth-delay product, up to `CoreConfig::max_connection_window`.
    pub recv_window: Option<u64>,
    /// The receive window of the incoming message that last got credit (a
    /// single transfer is bound by its message's window too; it grows by the
    /// same rule up to `CoreConfig::max_window`). 0 before any.
    pub recv_message_window: u64,
    /// Bytes the peer may still send before it waits for credit: bytes in
    /// flight towards this side plus credit it has not used yet.
    pub recv_credit: Option<u64>,
    /// Body bytes received and not yet read by the application, all
    /// messages together.
    pub recv_buffered: Option<u64>,
}
