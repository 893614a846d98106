//! The one error type of the pipe: why a connection, a send or a receive ended.

use std::io;
use std::sync::Arc;

use netcore_protocol::{DecodeError, ErrorCode, FrameKind, InboundError};

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
    /// The peer closed the link (end of stream) while this was pending.
    #[error("the peer closed the link")]
    PeerClosed,
    /// The peer sent bytes that are not valid LSO v2.
    #[error("the peer broke the wire format: {0}")]
    Decode(DecodeError),
    /// The peer broke the message rules (ids, lengths, offsets, limits).
    #[error("the peer broke the message rules: {0}")]
    Inbound(InboundError),
    /// The peer sent more than the flow-control limit it was granted.
    #[error("the peer sent past its flow-control limit on {scope}: {reached} > {limit} bytes")]
    FlowControl {
        /// `"the connection"` or `"message N"`.
        scope: String,
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
    #[error("the pipe was closed")]
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
    /// The peer is going away and will not process this message.
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
    /// The message could not be encoded for this peer (too large, bad headers).
    #[error("the message cannot be sent to this peer: {0}")]
    Encode(netcore_protocol::EncodeError),
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
            PipeError::Damaged(_) => ErrorCode::DAMAGED,
            PipeError::Refused(_) => ErrorCode::REFUSED,
            PipeError::GoAway { code, .. } => *code,
            _ => ErrorCode::INTERNAL,
        }
    }
}
