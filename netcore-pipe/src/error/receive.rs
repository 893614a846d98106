//! [`ReceiveError`]: why an incoming message was not received completely.

use std::io;
use std::sync::Arc;

use netcore_protocol::ErrorCode;

use super::connection::ConnectionError;
use super::fault::Fault;
use crate::core::py013::Py013Error;

/// Why no message could be received ([`Pipe::recv`], [`Pipe::accept`]) or an
/// incoming message's body did not arrive completely ([`Incoming::bytes`], a
/// [`BodyStream`]).
///
/// [`Pipe::recv`]: crate::Pipe::recv
/// [`Pipe::accept`]: crate::Pipe::accept
/// [`Incoming::bytes`]: crate::Incoming::bytes
/// [`BodyStream`]: crate::BodyStream
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The connection ended before the message (or any message) arrived
    /// completely.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// `recv` was called on a streaming pipe, or `accept` on a complete one.
    #[error("wrong receive mode: {0}")]
    WrongReceiveMode(&'static str),
    /// The peer cancelled the message before sending all of it.
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
    /// Spilling a large incoming body to disk failed.
    #[error("spilling the body to disk failed: {0}")]
    Spill(Arc<io::Error>),
    /// The message is longer than a limit of this side allows, so it was
    /// refused (its sender sees it cancelled); the connection goes on.
    #[error("the message ({len} bytes) is longer than the {limit} allows ({max} bytes)")]
    TooLarge {
        /// The limit: `"spill_budget"` or `"receive_buffer"` (the
        /// [`PipeConfig`](crate::PipeConfig) field), or `"announced length"`
        /// (the body outgrew the length its peer announced).
        limit: &'static str,
        /// The message's length: as announced, or for a body of unknown
        /// length the bytes that had arrived when it went over.
        len: u64,
        /// What the limit allows, in bytes.
        max: u64,
    },
    /// A Python 0.1.3 peer broke the rules of one message
    /// ([`Py013Error::Overlong`], [`Replaced`](Py013Error::Replaced);
    /// Python-compatible mode).
    #[error(transparent)]
    Py013(Py013Error),
}

impl ReceiveError {
    /// Who is to blame.
    ///
    /// ```
    /// use netcore_pipe::{ConnectionError, Fault, ReceiveError};
    /// assert_eq!(ReceiveError::Damaged("lost".into()).fault(), Fault::Link);
    /// assert_eq!(ReceiveError::from(ConnectionError::PeerClosed).fault(), Fault::Peer);
    /// ```
    pub fn fault(&self) -> Fault {
        match self {
            ReceiveError::Connection(error) => error.fault(),
            ReceiveError::CancelledByPeer { .. } => Fault::Peer,
            ReceiveError::Damaged(_) => Fault::Link,
            ReceiveError::TooLarge { .. } => Fault::Limit,
            ReceiveError::WrongReceiveMode(_) | ReceiveError::Spill(_) => Fault::Local,
            ReceiveError::Py013(error) => error.fault(),
        }
    }

    /// The connection's error, if the message failed because the
    /// connection ended.
    pub fn connection(&self) -> Option<&ConnectionError> {
        match self {
            ReceiveError::Connection(error) => Some(error),
            _ => None,
        }
    }

    /// The code to send the peer in a CANCEL of the message for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            ReceiveError::Connection(error) => error.code(),
            ReceiveError::CancelledByPeer { .. } => ErrorCode::CANCELLED,
            ReceiveError::Damaged(_) => ErrorCode::DAMAGED,
            ReceiveError::TooLarge { .. } => ErrorCode::LIMIT_EXCEEDED,
            _ => ErrorCode::INTERNAL,
        }
    }

    /// The [`io::ErrorKind`] this error has as an [`io::Error`] (a
    /// transport's or file's own kind is kept).
    pub fn io_kind(&self) -> io::ErrorKind {
        use io::ErrorKind;
        match self {
            ReceiveError::Connection(error) => error.io_kind(),
            ReceiveError::CancelledByPeer { .. } => ErrorKind::Interrupted,
            ReceiveError::Spill(io) => io.kind(),
            ReceiveError::WrongReceiveMode(_) => ErrorKind::InvalidInput,
            ReceiveError::Damaged(_) | ReceiveError::Py013(_) | ReceiveError::TooLarge { .. } => {
                ErrorKind::InvalidData
            }
        }
    }
}

impl From<ReceiveError> for io::Error {
    /// An I/O error of a fitting kind (a transport's or spill file's own
    /// kind is kept) wrapping the receive error, which `get_ref` and
    /// `source` reach.
    fn from(error: ReceiveError) -> io::Error {
        io::Error::new(error.io_kind(), error)
    }
}
