//! What handles ask the driver task to do.

use netcore_protocol::{Headers, Priority};

use tokio::sync::mpsc;

use super::incoming::Incoming;
use super::outgoing::{Body, OutgoingEntry};

/// A request from a handle to the driver task.
pub(crate) enum Command {
    /// Start sending a message.
    Send {
        id: u64,
        priority: Priority,
        headers: Headers,
        body: Body,
        entry: OutgoingEntry,
        /// The sender's span (a call's, say): the message's `send` span
        /// is its child, so its events carry the route and the peer.
        span: tracing::Span,
    },
    /// Abandon an outgoing message.
    CancelOutgoing(u64),
    /// The application read `n` body bytes of an incoming message.
    Consumed(u64, u64),
    /// The application dropped an incoming message's body.
    DropIncoming(u64),
    /// The application waits for more of an incoming message's body.
    Want(u64),
    /// Deliver incoming messages as they open, from now on, here (a pipe
    /// built in complete mode switching to streaming).
    Stream(mpsc::UnboundedSender<Incoming>),
    /// Close gracefully.
    Close,
    /// End at once.
    Abort,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Send { id, .. } => write!(f, "Send({id})"),
            Command::CancelOutgoing(id) => write!(f, "CancelOutgoing({id})"),
            Command::Consumed(id, n) => write!(f, "Consumed({id}, {n})"),
            Command::DropIncoming(id) => write!(f, "DropIncoming({id})"),
            Command::Want(id) => write!(f, "Want({id})"),
            Command::Stream(_) => f.write_str("Stream"),
            Command::Close => f.write_str("Close"),
            Command::Abort => f.write_str("Abort"),
        }
    }
}
