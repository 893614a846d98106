//! Why a call failed: [`CallError`], who is at fault ([`Fault`]), and the
//! typed causes of local failures ([`DecodeReplyError`]; the request side's
//! [`RequestError`] lives with the dialects that raise it).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use netcore_pipe::{ConnectionError, Fault, ReceiveError, SendError};

use crate::dialect::RequestError;
use crate::reply::{ReplyCode, ReplyError};

/// Why a call did not produce a reply.
///
/// [`Request`](CallError::Request) and [`Decode`](CallError::Decode) keep
/// their cause as [`source`](std::error::Error::source) (print the chain for
/// the detail); [`Remote`](CallError::Remote),
/// [`Connection`](CallError::Connection), [`Send`](CallError::Send) and
/// [`Receive`](CallError::Receive) show theirs in their message.
///
/// The pipe's errors convert into it (`From`): a send or a receive that
/// failed because the connection ended becomes
/// [`Connection`](CallError::Connection), so the end of a connection has
/// one spelling however a call learnt of it.
/// [`fault`](CallError::fault) says which side to look at; an
/// [`io::Error`] can be made from it, with a matching [`io::ErrorKind`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The peer answered with an error reply.
    #[error("the peer answered with {0}")]
    Remote(ReplyError),
    /// No reply came within the call's wait: its timeout, or what was left
    /// of the deadline of the request it was made for (see
    /// [`RequestContext`](crate::RequestContext)). The call was cancelled
    /// at the peer; if that deadline had passed already, nothing was sent.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The connection failed or closed before the reply came.
    #[error("the connection ended: {0}")]
    Connection(ConnectionError),
    /// The request did not go out (too large for the peer, refused by a
    /// peer going away, cancelled by the peer, its body source failed).
    #[error("the request was not sent: {0}")]
    Send(SendError),
    /// The reply came but its body could not be read (damaged on a lossy
    /// link, cancelled by the peer).
    #[error("the reply could not be received: {0}")]
    Receive(ReceiveError),
    /// The request could not be built (a header out of bounds, a body that
    /// is not JSON…); nothing was sent.
    #[error("the request could not be built")]
    Request(#[source] RequestError),
    /// The reply could not be read as the expected type.
    #[error("the reply could not be decoded")]
    Decode(#[source] DecodeReplyError),
}

impl CallError {
    /// The remote error code, if the peer answered with an error.
    pub fn code(&self) -> Option<ReplyCode> {
        match self {
            CallError::Remote(error) => Some(error.code),
            _ => None,
        }
    }

    /// Who is at fault, as far as this side can tell:
    ///
    /// | error | fault |
    /// |---|---|
    /// | [`Request`](CallError::Request) | [`Local`](Fault::Local): this side's request |
    /// | [`Remote`](CallError::Remote) | [`Peer`](Fault::Peer): its handler or routes refused |
    /// | [`Decode`](CallError::Decode) | [`Peer`](Fault::Peer): its reply is not what this side expects (or the two disagree on the type) |
    /// | [`Connection`](CallError::Connection) | the [`ConnectionError`]'s own ([`ConnectionError::fault`]): the link, the peer that closed, or this side that did |
    /// | [`Send`](CallError::Send), [`Receive`](CallError::Receive) | the pipe error's own: a [`Limit`](Fault::Limit) for a request too large, [`Peer`](Fault::Peer) for a refusal, [`Link`](Fault::Link) for damage… |
    /// | [`Timeout`](CallError::Timeout) | [`Timeout`](Fault::Timeout): a slow peer, a slow link, or a timeout too short |
    ///
    /// ```
    /// use std::time::Duration;
    /// use netcore_endpoint::{CallError, Fault};
    /// assert_eq!(CallError::Timeout(Duration::from_secs(1)).fault(), Fault::Timeout);
    /// ```
    pub fn fault(&self) -> Fault {
        match self {
            CallError::Request(_) => Fault::Local,
            CallError::Remote(_) | CallError::Decode(_) => Fault::Peer,
            CallError::Connection(error) => error.fault(),
            CallError::Send(error) => error.fault(),
            CallError::Receive(error) => error.fault(),
            CallError::Timeout(_) => Fault::Timeout,
        }
    }
}

/// A handler that forwards a failed call with `?` answers its own caller
/// with:
///
/// | error | reply |
/// |---|---|
/// | [`Timeout`](CallError::Timeout), or the peer's [`TIMEOUT`](ReplyCode::TIMEOUT) | [`TIMEOUT`](ReplyCode::TIMEOUT): the deadline error whatever its cause |
/// | the peer's [`OVERLOADED`](ReplyCode::OVERLOADED) | `OVERLOADED` (the caller may retry later) |
/// | the peer's other codes, and link failures | [`BAD_GATEWAY`](ReplyCode::BAD_GATEWAY), the peer's code and message in its message: a downstream `NOT_FOUND` is not about the caller's own request |
/// | [`Request`](CallError::Request) (this side could not build the call) | [`INTERNAL`](ReplyCode::INTERNAL) |
///
/// ```
/// use std::time::Duration;
/// use netcore_endpoint::{CallError, ReplyCode, ReplyError};
/// let error = ReplyError::from(CallError::Timeout(Duration::from_millis(400)));
/// assert_eq!(error.code, ReplyCode::TIMEOUT);
/// let missing = CallError::Remote(ReplyError::new(ReplyCode::NOT_FOUND, "no /b"));
/// assert_eq!(ReplyError::from(missing).code, ReplyCode::BAD_GATEWAY);
/// ```
impl From<CallError> for ReplyError {
    fn from(error: CallError) -> ReplyError {
        let code = match &error {
            CallError::Timeout(_) => ReplyCode::TIMEOUT,
            CallError::Remote(remote)
                if matches!(remote.code, ReplyCode::TIMEOUT | ReplyCode::OVERLOADED) =>
            {
                remote.code
            }
            CallError::Request(_) => ReplyCode::INTERNAL,
            _ => ReplyCode::BAD_GATEWAY,
        };
        ReplyError::new(code, format!("a call this handler made failed: {error}"))
    }
}

impl From<ConnectionError> for CallError {
    fn from(error: ConnectionError) -> CallError {
        CallError::Connection(error)
    }
}

/// [`SendError::Connection`] becomes [`CallError::Connection`]; the rest
/// [`CallError::Send`].
impl From<SendError> for CallError {
    fn from(error: SendError) -> CallError {
        match error {
            SendError::Connection(error) => CallError::Connection(error),
            error => CallError::Send(error),
        }
    }
}

/// [`ReceiveError::Connection`] becomes [`CallError::Connection`]; the rest
/// [`CallError::Receive`].
impl From<ReceiveError> for CallError {
    fn from(error: ReceiveError) -> CallError {
        match error {
            ReceiveError::Connection(error) => CallError::Connection(error),
            error => CallError::Receive(error),
        }
    }
}

/// Why a reply could not be read as the expected type.
///
/// Its [`source`](std::error::Error::source) is the [`serde_json::Error`]
/// itself (the `Arc` only keeps the error `Clone`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DecodeReplyError {
    /// The body is not JSON of the expected shape.
    Json(Arc<serde_json::Error>),
}

impl std::fmt::Display for DecodeReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeReplyError::Json(_) => f.write_str("the reply body is not the expected JSON"),
        }
    }
}

// By hand rather than derived: the source is the `serde_json::Error`
// itself, not its `Arc`, so that it downcasts.
impl std::error::Error for DecodeReplyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DecodeReplyError::Json(error) => Some(&**error),
        }
    }
}

impl From<serde_json::Error> for DecodeReplyError {
    fn from(error: serde_json::Error) -> DecodeReplyError {
        DecodeReplyError::Json(Arc::new(error))
    }
}

/// A call's failure as an I/O error (the [`CallError`] is its
/// [`inner`](io::Error::get_ref) error), for code that speaks `io::Result`:
///
/// | error | kind |
/// |---|---|
/// | [`Timeout`](CallError::Timeout) | [`TimedOut`](io::ErrorKind::TimedOut) |
/// | [`Connection`](CallError::Connection) | the transport's own kind when the transport failed, [`ConnectionAborted`](io::ErrorKind::ConnectionAborted) otherwise |
/// | [`Send`](CallError::Send), [`Receive`](CallError::Receive) | the pipe error's own ([`SendError::io_kind`], [`ReceiveError::io_kind`]) |
/// | [`Request`](CallError::Request) | [`InvalidInput`](io::ErrorKind::InvalidInput) |
/// | [`Decode`](CallError::Decode), [`Remote`](CallError::Remote) | [`InvalidData`](io::ErrorKind::InvalidData) |
///
/// ```
/// use std::time::Duration;
/// use netcore_endpoint::CallError;
/// let error = std::io::Error::from(CallError::Timeout(Duration::from_secs(1)));
/// assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
/// assert!(error.get_ref().is_some_and(|inner| inner.is::<CallError>()));
/// ```
impl From<CallError> for io::Error {
    fn from(error: CallError) -> io::Error {
        let kind = match &error {
            CallError::Timeout(_) => io::ErrorKind::TimedOut,
            CallError::Connection(ConnectionError::Transport(io)) => io.kind(),
            CallError::Connection(_) => io::ErrorKind::ConnectionAborted,
            CallError::Send(error) => error.io_kind(),
            CallError::Receive(error) => error.io_kind(),
            CallError::Request(_) => io::ErrorKind::InvalidInput,
            CallError::Remote(_) | CallError::Decode(_) => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, error)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn typed_causes_stay_reachable() {
        let json = serde_json::from_slice::<u32>(b"\"x\"").expect_err("not a number");
        let error = CallError::Decode(json.into());
        assert_eq!(error.fault(), Fault::Peer);
        let cause = error.source().and_then(|s| s.source()).expect("two deep");
        assert!(cause.is::<serde_json::Error>(), "{cause}");
        assert_eq!(io::Error::from(error).kind(), io::ErrorKind::InvalidData);
        let local = CallError::Request(RequestError::NotText { name: "h".into() });
        assert_eq!(local.fault(), Fault::Local);
        assert_eq!(io::Error::from(local).kind(), io::ErrorKind::InvalidInput);
        let gone =
            CallError::Connection(ConnectionError::transport(io::ErrorKind::BrokenPipe.into()));
        assert_eq!(gone.fault(), Fault::Link);
        assert_eq!(io::Error::from(gone).kind(), io::ErrorKind::BrokenPipe);
        let closed = io::Error::from(CallError::Connection(ConnectionError::Closed));
        assert_eq!(closed.kind(), io::ErrorKind::ConnectionAborted);
    }

    #[test]
    fn the_end_of_a_connection_has_one_spelling_however_a_call_learnt_of_it() {
        let via_send = CallError::from(SendError::Connection(ConnectionError::PeerClosed));
        assert!(
            matches!(via_send, CallError::Connection(ConnectionError::PeerClosed)),
            "{via_send:?}"
        );
        let via_receive = CallError::from(ReceiveError::Connection(ConnectionError::Closed));
        assert!(
            matches!(via_receive, CallError::Connection(ConnectionError::Closed)),
            "{via_receive:?}"
        );
        let refused = CallError::from(SendError::Refused(3));
        assert!(matches!(refused, CallError::Send(SendError::Refused(3))));
        assert_eq!(refused.fault(), Fault::Peer);
        assert_eq!(
            io::Error::from(refused).kind(),
            io::ErrorKind::ConnectionRefused
        );
        let damaged = CallError::from(ReceiveError::Damaged("2 bytes lost".into()));
        assert!(matches!(damaged, CallError::Receive(_)), "{damaged:?}");
        assert_eq!(damaged.fault(), Fault::Link);
        assert!(damaged.to_string().contains("2 bytes lost"), "{damaged}");
    }
}
