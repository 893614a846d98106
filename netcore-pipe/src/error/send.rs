//! [`SendError`]: why an outgoing message was not sent completely.

use std::io;
use std::sync::Arc;

use netcore_protocol::{EncodeError, ErrorCode};

use super::connection::ConnectionError;
use super::fault::Fault;
use crate::core::py013::Py013Error;

/// Why an outgoing message could not be started ([`Pipe::send`]) or was not
/// sent completely (its [`SendHandle`]).
///
/// [`Pipe::send`]: crate::Pipe::send
/// [`SendHandle`]: crate::SendHandle
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The connection ended (or never started) before the message was sent.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The peer is going away (it sent GOAWAY) and will not process this
    /// message.
    #[error("the peer is going away and refused message {0}")]
    Refused(u64),
    /// This side cancelled the message.
    #[error("the message was cancelled")]
    Cancelled,
    /// The peer cancelled the message (it stopped reading it).
    #[error("the peer cancelled the message: {code}: {reason}")]
    CancelledByPeer {
        /// The CANCEL code.
        code: ErrorCode,
        /// The CANCEL reason.
        reason: String,
    },
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
    /// The message cannot be put in the Python 0.1.3 format
    /// ([`Py013Error::Encode`], [`UnknownLength`](Py013Error::UnknownLength),
    /// [`HeaderNotJson`](Py013Error::HeaderNotJson); Python-compatible mode).
    #[error(transparent)]
    Py013(Py013Error),
}

impl SendError {
    /// Who is to blame.
    ///
    /// ```
    /// use netcore_pipe::{ConnectionError, Fault, SendError};
    /// assert_eq!(SendError::Refused(4).fault(), Fault::Peer);
    /// assert_eq!(SendError::from(ConnectionError::Closed).fault(), Fault::Local);
    /// ```
    pub fn fault(&self) -> Fault {
        match self {
            SendError::Connection(error) => error.fault(),
            SendError::Refused(_) | SendError::CancelledByPeer { .. } => Fault::Peer,
            SendError::Cancelled | SendError::Body(_) | SendError::LengthMismatch { .. } => {
                Fault::Local
            }
            SendError::Encode(EncodeError::BadMessageId { .. }) => Fault::Local,
            SendError::Encode(_) => Fault::Limit,
            SendError::Py013(error) => error.fault(),
        }
    }

    /// The connection's error, if the message failed because the
    /// connection ended.
    pub fn connection(&self) -> Option<&ConnectionError> {
        match self {
            SendError::Connection(error) => Some(error),
            _ => None,
        }
    }

    /// The [`io::ErrorKind`] this error has as an [`io::Error`] (a
    /// transport's or file's own kind is kept).
    pub fn io_kind(&self) -> io::ErrorKind {
        use io::ErrorKind;
        match self {
            SendError::Connection(error) => error.io_kind(),
            SendError::Refused(_) => ErrorKind::ConnectionRefused,
            SendError::Cancelled | SendError::CancelledByPeer { .. } => ErrorKind::Interrupted,
            SendError::Body(io) => io.kind(),
            SendError::LengthMismatch { .. } | SendError::Encode(_) | SendError::Py013(_) => {
                ErrorKind::InvalidInput
            }
        }
    }
}

impl From<SendError> for io::Error {
    /// An I/O error of a fitting kind (a transport's or body source's own
    /// kind is kept) wrapping the send error, which `get_ref` and `source`
    /// reach.
    fn from(error: SendError) -> io::Error {
        io::Error::new(error.io_kind(), error)
    }
}
