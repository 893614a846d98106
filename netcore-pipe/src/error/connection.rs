//! [`ConnectionError`]: why a connection ended, or could not start.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use netcore_protocol::{DecodeError, ErrorCode, FrameKind, InboundError};

use super::fault::{Fault, FlowScope};
use crate::core::py013::Py013Error;

/// Why a connection ended badly, or could not start.
///
/// [`Pipe::ready`](crate::Pipe::ready), [`Pipe::closed`](crate::Pipe::closed)
/// and [`Pipe::close`](crate::Pipe::close) fail with it; a send or a receive
/// that was pending when the connection ended fails with it too, wrapped as
/// [`SendError::Connection`](crate::SendError::Connection) or
/// [`ReceiveError::Connection`](crate::ReceiveError::Connection).
///
/// It is `Clone` so that one transport failure can be handed to every
/// pending handle; I/O errors are shared behind an `Arc`.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
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
    /// No message frame went either way for the idle timeout
    /// ([`CoreConfig::idle_timeout`](crate::core::CoreConfig::idle_timeout)).
    #[error("no message went either way for {0:?} (idle timeout)")]
    IdleTimeout(Duration),
    /// The peer's HELLO did not arrive within the handshake timeout
    /// ([`CoreConfig::handshake_timeout`](crate::core::CoreConfig::handshake_timeout)):
    /// it connected and said nothing, or not enough.
    #[error("the peer sent no HELLO within {0:?} (handshake timeout)")]
    HandshakeTimeout(Duration),
    /// A keepalive PING went unanswered for the keepalive timeout
    /// ([`CoreConfig::keepalive_timeout`](crate::core::CoreConfig::keepalive_timeout)):
    /// the path is blackholed or the peer is wedged.
    #[error("the peer answered no PING for {0:?} (keepalive timeout): the link is dead")]
    KeepaliveTimeout(Duration),
    /// Writing one batch to the transport took longer than the write
    /// timeout ([`PipeConfig::write_timeout`](crate::PipeConfig::write_timeout)):
    /// the peer stopped reading, or the link stopped taking bytes. What was
    /// queued for it is dropped.
    #[error("the link took no bytes for {0:?} (write timeout): the peer stopped reading")]
    WriteStalled(Duration),
    /// This side closed the pipe (or dropped it) while this was pending.
    #[error("this side closed the pipe")]
    Closed,
    /// A Python netcore 0.1.3 peer sent bytes that are not its format
    /// ([`Py013Error::Decode`]; Python-compatible mode).
    #[error(transparent)]
    Py013(Py013Error),
}

impl ConnectionError {
    /// Wraps a transport I/O error.
    pub fn transport(error: io::Error) -> ConnectionError {
        ConnectionError::Transport(Arc::new(error))
    }

    /// Who is to blame.
    ///
    /// ```
    /// use netcore_pipe::{ConnectionError, Fault};
    /// assert_eq!(ConnectionError::PeerClosed.fault(), Fault::Peer);
    /// assert_eq!(ConnectionError::Closed.fault(), Fault::Local);
    /// ```
    pub fn fault(&self) -> Fault {
        match self {
            ConnectionError::Transport(_)
            | ConnectionError::LinkLost { .. }
            | ConnectionError::Decode(DecodeError::Truncated { .. }) => Fault::Link,
            ConnectionError::IdleTimeout(_)
            | ConnectionError::HandshakeTimeout(_)
            | ConnectionError::KeepaliveTimeout(_)
            | ConnectionError::WriteStalled(_) => Fault::Timeout,
            ConnectionError::PeerClosed
            | ConnectionError::Decode(_)
            | ConnectionError::Inbound(_)
            | ConnectionError::FlowControl { .. }
            | ConnectionError::NoHello { .. }
            | ConnectionError::DuplicateHello
            | ConnectionError::GoAway { .. } => Fault::Peer,
            ConnectionError::Py013(error) => error.fault(),
            ConnectionError::Closed => Fault::Local,
        }
    }

    /// The code to send the peer in a GOAWAY for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            ConnectionError::Decode(error) => error.code(),
            ConnectionError::Inbound(error) => error.code(),
            ConnectionError::FlowControl { .. } => ErrorCode::FLOW_CONTROL,
            ConnectionError::NoHello { .. } | ConnectionError::DuplicateHello => {
                ErrorCode::PROTOCOL_ERROR
            }
            ConnectionError::IdleTimeout(_)
            | ConnectionError::HandshakeTimeout(_)
            | ConnectionError::KeepaliveTimeout(_)
            | ConnectionError::WriteStalled(_) => ErrorCode::IDLE_TIMEOUT,
            ConnectionError::Closed => ErrorCode::SHUTDOWN,
            ConnectionError::LinkLost { .. } => ErrorCode::DAMAGED,
            ConnectionError::GoAway { code, .. } => *code,
            _ => ErrorCode::INTERNAL,
        }
    }

    /// The [`io::ErrorKind`] this error has as an [`io::Error`] (a
    /// transport's or file's own kind is kept).
    pub fn io_kind(&self) -> io::ErrorKind {
        use io::ErrorKind;
        match self {
            ConnectionError::Transport(io) => io.kind(),
            ConnectionError::PeerClosed | ConnectionError::GoAway { .. } => {
                ErrorKind::ConnectionReset
            }
            ConnectionError::LinkLost { .. } => ErrorKind::UnexpectedEof,
            ConnectionError::IdleTimeout(_)
            | ConnectionError::HandshakeTimeout(_)
            | ConnectionError::KeepaliveTimeout(_)
            | ConnectionError::WriteStalled(_) => ErrorKind::TimedOut,
            ConnectionError::Closed => ErrorKind::NotConnected,
            _ => ErrorKind::InvalidData,
        }
    }
}

impl From<ConnectionError> for io::Error {
    /// An I/O error of a fitting kind (a transport's own kind is kept)
    /// wrapping the connection error, which `get_ref` and `source` reach.
    fn from(error: ConnectionError) -> io::Error {
        io::Error::new(error.io_kind(), error)
    }
}
