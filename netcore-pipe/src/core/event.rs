//! What the connection core tells its driver.

use bytes::Bytes;
use netcore_protocol::{ErrorCode, Headers, Priority};

use crate::error::{ConnectionError, ReceiveError, SendError};

/// Something that happened on the connection, for the driver to act on.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Event {
    /// The peer is known (its HELLO arrived, or at once for a format without
    /// a handshake): messages may be framed.
    Connected {
        /// The `agent` the peer named, if its format says.
        agent: Option<String>,
    },
    /// The peer opened a message.
    IncomingOpened {
        /// The message id (in the peer's numbering).
        id: u64,
        /// Its priority.
        priority: Priority,
        /// Its headers.
        headers: Headers,
        /// Its total length, if announced.
        total_len: Option<u64>,
    },
    /// Body bytes of an incoming message, in order.
    IncomingData {
        /// The message.
        id: u64,
        /// The chunk (a slice of the read buffer).
        bytes: Bytes,
    },
    /// An incoming message is complete.
    IncomingFinished {
        /// The message.
        id: u64,
    },
    /// An incoming message ended without completing.
    IncomingFailed {
        /// The message.
        id: u64,
        /// Why.
        error: ReceiveError,
    },
    /// An outgoing message was framed completely (its last frame was emitted
    /// by [`Core::poll_transmit`](super::Core::poll_transmit)).
    OutgoingFramed {
        /// The message.
        id: u64,
    },
    /// An outgoing message ended without being sent completely.
    OutgoingFailed {
        /// The message.
        id: u64,
        /// Why.
        error: SendError,
    },
    /// The peer announced it is going away (GOAWAY).
    PeerGoingAway {
        /// Its code.
        code: ErrorCode,
        /// Its reason.
        reason: String,
    },
    /// A round-trip time sample from PING/PONG.
    Rtt(std::time::Duration),
    /// The connection is over: `None` after a graceful close, else why.
    /// After this, every pending message has had its failure event.
    Closed {
        /// Why, if not graceful.
        error: Option<ConnectionError>,
        /// A graceful close the peer started (its GOAWAY, or its end of
        /// stream in a format where that is how a peer leaves).
        by_peer: bool,
    },
}
