//! What can go wrong talking to a Python netcore 0.1.3 peer.

use netcore_protocol::py013::{DecodeError, EncodeError};

/// Why a message or the connection failed in Python-compatible mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Py013Error {
    /// The peer sent bytes that are not the Python 0.1.3 format.
    #[error("the Python peer broke the netcore 0.1.3 wire format: {0}")]
    Decode(DecodeError),
    /// The message cannot be put in the Python format (a head over 4096
    /// bytes: the route and headers are too long).
    #[error("the message cannot be sent to a Python netcore 0.1.3 peer: {0}")]
    Encode(EncodeError),
    /// The body's length is unknown (a stream); a mission head must announce it.
    #[error(
        "a Python netcore 0.1.3 peer needs the body length up front, and this body is a stream of unknown length; collect it or send a file"
    )]
    UnknownLength,
    /// A header value is not JSON text. Each header is one key of the
    /// mission's info object, its value the JSON of that key's value.
    #[error(
        "header {name:?} is not JSON text ({reason}): in Python-compatible mode each header is an info key whose value is JSON, e.g. \"\\\"echo\\\"\" for a string"
    )]
    HeaderNotJson {
        /// The header.
        name: String,
        /// What the JSON parser said.
        reason: String,
    },
    /// More data arrived for a mission than its head announced.
    #[error("mission {extension} announced {length} bytes but {received} arrived")]
    Overlong {
        /// The mission's extension id.
        extension: String,
        /// The announced length.
        length: u64,
        /// Bytes received so far.
        received: u64,
    },
    /// A new head came with the id of a mission still arriving; as on a
    /// Python receiver, the later mission replaces the earlier one.
    #[error("mission {extension} was replaced by a new mission with the same id")]
    Replaced {
        /// The mission's extension id.
        extension: String,
    },
}

impl Py013Error {
    /// Who is to blame.
    pub fn fault(&self) -> crate::Fault {
        use crate::Fault;
        match self {
            Py013Error::Decode(DecodeError::Truncated { .. }) => Fault::Link,
            Py013Error::Decode(_) | Py013Error::Overlong { .. } | Py013Error::Replaced { .. } => {
                Fault::Peer
            }
            Py013Error::Encode(_) => Fault::Limit,
            Py013Error::UnknownLength | Py013Error::HeaderNotJson { .. } => Fault::Local,
        }
    }
}
