//! The error of the pipe: why a connection, a send or a receive ended, and
//! whose fault it was ([`Fault`]).
//!
//! ## What each operation can fail with
//!
//! | operation | errors |
//! |---|---|
//! | handshake ([`Pipe::ready`](crate::Pipe::ready)) | [`NoHello`](PipeError::NoHello), [`DuplicateHello`](PipeError::DuplicateHello), [`Decode`](PipeError::Decode), or how the connection ended |
//! | send ([`Pipe::send`](crate::Pipe::send), its [`SendHandle`](crate::SendHandle)) | [`Closed`](PipeError::Closed), [`Refused`](PipeError::Refused), [`Encode`](PipeError::Encode), [`LengthMismatch`](PipeError::LengthMismatch), [`Body`](PipeError::Body), [`Cancelled`](PipeError::Cancelled), [`CancelledByPeer`](PipeError::CancelledByPeer), or how the connection ended |
//! | receive ([`Pipe::recv`](crate::Pipe::recv), [`Pipe::accept`](crate::Pipe::accept), a [`BodyStream`](crate::BodyStream)) | [`WrongReceiveMode`](PipeError::WrongReceiveMode), [`CancelledByPeer`](PipeError::CancelledByPeer), [`Damaged`](PipeError::Damaged), [`Spill`](PipeError::Spill), or how the connection ended |
//! | the connection ([`Pipe::closed`](crate::Pipe::closed)) | [`PeerClosed`](PipeError::PeerClosed), [`LinkLost`](PipeError::LinkLost), [`Transport`](PipeError::Transport), [`IdleTimeout`](PipeError::IdleTimeout), [`GoAway`](PipeError::GoAway), and the peer's protocol violations: [`Decode`](PipeError::Decode), [`Inbound`](PipeError::Inbound), [`FlowControl`](PipeError::FlowControl), [`Py013`](PipeError::Py013) |
//!
//! [`PipeError::fault`] says who is to blame; `From<PipeError> for
//! std::io::Error` gives each a fitting [`std::io::ErrorKind`].

use std::io;
use std::sync::Arc;

use netcore_protocol::{DecodeError, EncodeError, ErrorCode, FrameKind, InboundError};

/// Who is to blame for a [`PipeError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// This side: it closed the pipe, cancelled the message, supplied a
    /// body that broke its announced length, or misused the API.
    Local,
    /// The peer: it closed the link, went away, refused or cancelled the
    /// message, or broke the wire format or the message rules.
    Peer,
    /// The link between: the transport failed or was cut, or bytes were
    /// damaged.
    Link,
    /// A limit: the message breaks what the peer accepts (its size, its
    /// headers). The error names the limit.
    Limit,
    /// Nobody can tell: nothing came in time (a slow or dead peer, a slow
    /// or dead link, or a timeout too short).
    Timeout,
}

/// Which flow-control window the peer overran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FlowScope {
    /// The connection's window (all messages together).
    Connection,
    /// One message's window.
    Message(u64),
}

impl std::fmt::Display for FlowScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FlowScope::Connection => f.write_str("the connection"),
            FlowScope::Message(id) => write!(f, "message {id}"),
        }
    }
}

/// Why a connection, an outgoing message or an incoming message ended badly.
///
/// It is `Clone` so that one transport failure can be handed to every pending
/// handle; I/O errors are shared behind an `Arc`.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PipeError {
    /// Reading from or writing to the transport failed.
    #[error("transport failed: {0}")]
    Transport(Arc<io::Error>),
    /// The peer closed the link (end of stream) while this was pending, or
    /// it ended the connection gracefully before this could be done.
    #[error("the peer closed the link")]
    PeerClosed,
    /// The link ended in the middle of a frame or packet: the peer, or the
    /// path to it, died mid-write.
    #[error("the link was lost in the middle of a frame ({buffered} bytes of it had arrived)")]
    LinkLost {
        /// Bytes of the cut frame that had arrived.
        buffered: usize,
    },
    /// The peer sent bytes that are not valid LSO v2.
    #[error("the peer broke the wire format: {0}")]
    Decode(DecodeError),
    /// The peer broke the message rules (ids, lengths, offsets, limits).
    #[error("the peer broke the message rules: {0}")]
    Inbound(InboundError),
    /// The peer sent more than the flow-control limit it was granted.
    #[error("the peer sent past its flow-control limit on {scope}: {reached} > {limit} bytes")]
    FlowControl {
        /// Which window.
        scope: FlowScope,
        /// The limit granted.
        limit: u64,
        /// Where the peer got to.
        reached: u64,
    },
    /// The peer's first frame was not HELLO.
    #[error("the peer's first frame was {kind}, not HELLO")]
    NoHello {
        /// What came instead.
        kind: FrameKind,
    },
    /// The peer sent a second HELLO.
    #[error("the peer sent HELLO twice")]
    DuplicateHello,
    /// The peer closed the connection with GOAWAY carrying an error code.
    #[error("the peer closed the connection: {code}: {reason}")]
    GoAway {
        /// The GOAWAY code.
        code: ErrorCode,
        /// The GOAWAY reason.
        reason: String,
    },
    /// Nothing arrived from the peer for longer than the idle timeout.
    #[error("no frame from the peer for {0:?} (idle timeout)")]
    IdleTimeout(std::time::Duration),
    /// This side closed the pipe (or dropped it) while this was pending.
    #[error("this side closed the pipe")]
    Closed,
    /// This side cancelled the message.
    #[error("the message was cancelled")]
    Cancelled,
    /// The peer cancelled the message.
    #[error("the peer cancelled the message: {code}: {reason}")]
    CancelledByPeer {
        /// The CANCEL code.
        code: ErrorCode,
        /// The CANCEL reason.
        reason: String,
    },
    /// Part of the message was lost or damaged on a lossy link.
    #[error("the message was damaged on the link: {0}")]
    Damaged(String),
    /// The peer is going away (it sent GOAWAY) and will not process this
    /// message.
    #[error("the peer is going away and refused message {0}")]
    Refused(u64),
    /// The message's body source (file, stream) failed.
    #[error("reading the message body failed: {0}")]
    Body(Arc<io::Error>),
    /// A body of announced length did not match its announcement.
    #[error("the body was announced as {announced} bytes but supplied {supplied}")]
    LengthMismatch {
        /// The announced length.
        announced: u64,
        /// What the source supplied (at least).
        supplied: u64,
    },
    /// The message could not be encoded for this peer: it breaks a limit
    /// the peer advertised (size, header block), named in the error.
    #[error("the message cannot be sent to this peer: {0}")]
    Encode(EncodeError),
    /// `recv` was called on a streaming pipe, or `accept` on a complete one.
    #[error("wrong receive mode: {0}")]
    WrongReceiveMode(&'static str),
    /// Talking to a Python netcore 0.1.3 peer failed (Python-compatible mode).
    #[error(transparent)]
    Py013(#[from] crate::core::py013::Py013Error),
    /// Spilling a large incoming body to disk failed.
    #[error("spilling the body to disk failed: {0}")]
    Spill(Arc<io::Error>),
}

impl PipeError {
    /// Wraps a transport I/O error.
    pub fn transport(error: io::Error) -> PipeError {
        PipeError::Transport(Arc::new(error))
    }

    /// Who is to blame.
    ///
    /// ```
    /// use netcore_pipe::{Fault, PipeError};
    /// assert_eq!(PipeError::PeerClosed.fault(), Fault::Peer);
    /// assert_eq!(PipeError::Closed.fault(), Fault::Local);
    /// ```
    pub fn fault(&self) -> Fault {
        match self {
            PipeError::Transport(_) | PipeError::LinkLost { .. } | PipeError::Damaged(_) => {
                Fault::Link
            }
            PipeError::IdleTimeout(_) => Fault::Timeout,
            PipeError::Decode(DecodeError::Truncated { .. }) => Fault::Link,
            PipeError::PeerClosed
            | PipeError::Decode(_)
            | PipeError::Inbound(_)
            | PipeError::FlowControl { .. }
            | PipeError::NoHello { .. }
            | PipeError::DuplicateHello
            | PipeError::GoAway { .. }
            | PipeError::CancelledByPeer { .. }
            | PipeError::Refused(_) => Fault::Peer,
            PipeError::Encode(EncodeError::BadMessageId { .. }) => Fault::Local,
            PipeError::Encode(_) => Fault::Limit,
            PipeError::Py013(error) => error.fault(),
            PipeError::Closed
            | PipeError::Cancelled
            | PipeError::Body(_)
            | PipeError::LengthMismatch { .. }
            | PipeError::WrongReceiveMode(_)
            | PipeError::Spill(_) => Fault::Local,
        }
    }

    /// The code to send the peer in a GOAWAY or CANCEL for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            PipeError::Decode(error) => error.code(),
            PipeError::Inbound(error) => error.code(),
            PipeError::FlowControl { .. } => ErrorCode::FLOW_CONTROL,
            PipeError::NoHello { .. } | PipeError::DuplicateHello => ErrorCode::PROTOCOL_ERROR,
            PipeError::IdleTimeout(_) => ErrorCode::IDLE_TIMEOUT,
            PipeError::Closed => ErrorCode::SHUTDOWN,
            PipeError::Cancelled | PipeError::CancelledByPeer { .. } => ErrorCode::CANCELLED,
            PipeError::Damaged(_) | PipeError::LinkLost { .. } => ErrorCode::DAMAGED,
            PipeError::Refused(_) => ErrorCode::REFUSED,
            PipeError::GoAway { code, .. } => *code,
            _ => ErrorCode::INTERNAL,
        }
    }
}

impl From<PipeError> for io::Error {
    /// An I/O error of a fitting kind (a transport's or body source's own
    /// kind is kept) wrapping the pipe error, which `get_ref` and
    /// `source` reach.
    fn from(error: PipeError) -> io::Error {
        use io::ErrorKind;
        let kind = match &error {
            PipeError::Transport(io) => io.kind(),
            PipeError::PeerClosed | PipeError::GoAway { .. } => ErrorKind::ConnectionReset,
            PipeError::LinkLost { .. } => ErrorKind::UnexpectedEof,
            PipeError::IdleTimeout(_) => ErrorKind::TimedOut,
            PipeError::Closed => ErrorKind::NotConnected,
            PipeError::Cancelled | PipeError::CancelledByPeer { .. } => ErrorKind::Interrupted,
            PipeError::Refused(_) => ErrorKind::ConnectionRefused,
            PipeError::Body(io) | PipeError::Spill(io) => io.kind(),
            PipeError::LengthMismatch { .. }
            | PipeError::Encode(_)
            | PipeError::WrongReceiveMode(_) => ErrorKind::InvalidInput,
            _ => ErrorKind::InvalidData,
        };
        io::Error::new(kind, error)
    }
}
