//! What handlers return: [`Reply`], [`ReplyError`], [`IntoReply`] and [`Json`].

use bytes::Bytes;
use netcore_pipe::Body;
use netcore_pipe::protocol::Headers;
use serde::Serialize;

use crate::dialect;

/// A numeric error code carried by an error reply. The named ones follow
/// HTTP's numbers so they read familiarly; applications may use any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplyCode(pub u32);

impl ReplyCode {
    /// The request was malformed (bad JSON, missing field…).
    pub const BAD_REQUEST: ReplyCode = ReplyCode(400);
    /// No route matched and there was no fallback.
    pub const NOT_FOUND: ReplyCode = ReplyCode(404);
    /// The caller's types do not match the handler's (schema fingerprint).
    pub const SCHEMA_MISMATCH: ReplyCode = ReplyCode(409);
    /// The request's body is larger than the receiver holds in memory for
    /// one connection ([`EndpointConfig::max_buffered_request_bytes`](crate::EndpointConfig::max_buffered_request_bytes));
    /// the message says the size and the limit. Send it to a route that
    /// streams its body, or send less.
    pub const TOO_LARGE: ReplyCode = ReplyCode(413);
    /// The caller cancelled the call.
    pub const CANCELLED: ReplyCode = ReplyCode(499);
    /// The handler failed or panicked.
    pub const INTERNAL: ReplyCode = ReplyCode(500);
    /// A call the handler made to another peer failed (other than by its
    /// deadline, which is [`TIMEOUT`](Self::TIMEOUT)).
    pub const BAD_GATEWAY: ReplyCode = ReplyCode(502);
    /// Too many requests in progress on this connection.
    pub const OVERLOADED: ReplyCode = ReplyCode(503);
    /// The deadline passed before the handler finished: the caller's
    /// deadline, a tower timeout layer's, or that of a call the handler
    /// made.
    pub const TIMEOUT: ReplyCode = ReplyCode(504);
}

impl std::fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An error answer: a code and a message.
///
/// ```
/// use netcore_endpoint::{ReplyCode, ReplyError};
/// let error = ReplyError::new(ReplyCode::NOT_FOUND, "no user 42");
/// assert_eq!(error.to_string(), "error 404: no user 42");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("error {code}: {message}")]
pub struct ReplyError {
    /// The code.
    pub code: ReplyCode,
    /// What went wrong, for humans.
    pub message: String,
}

impl ReplyError {
    /// An error reply.
    pub fn new(code: ReplyCode, message: impl Into<String>) -> ReplyError {
        ReplyError {
            code,
            message: message.into(),
        }
    }

    /// An internal error.
    pub fn internal(message: impl Into<String>) -> ReplyError {
        ReplyError::new(ReplyCode::INTERNAL, message)
    }

    /// A bad-request error.
    pub fn bad_request(message: impl Into<String>) -> ReplyError {
        ReplyError::new(ReplyCode::BAD_REQUEST, message)
    }
}

/// A handler's answer: headers and a body (in memory, or streamed), or an
/// error.
#[derive(Debug)]
pub enum Reply {
    /// A successful answer, its body in memory.
    Ok {
        /// Headers (content type, …).
        headers: Headers,
        /// The body.
        body: Bytes,
    },
    /// A successful answer whose body is read as it is sent: a file of any
    /// size ([`Body::file`]) or a stream of chunks ([`Body::stream`]),
    /// under the pipe's flow control, so the handler never holds it whole.
    /// Its send is given up when no byte of it goes out for
    /// [`reply_timeout`](crate::EndpointConfig::reply_timeout) (or, before
    /// its first, past the call's deadline), not after a total time: a
    /// download takes as long as the link needs. The caller receives it
    /// whole ([`Peer::call`](crate::Peer::call)) or as a stream
    /// ([`Peer::call_streamed`](crate::Peer::call_streamed)).
    Stream {
        /// Headers (content type, …).
        headers: Headers,
        /// The body.
        body: Body,
    },
    /// An error answer.
    Err(ReplyError),
}

impl Reply {
    /// A successful reply with this body and no headers.
    pub fn body(body: impl Into<Bytes>) -> Reply {
        Reply::Ok {
            headers: Headers::new(),
            body: body.into(),
        }
    }

    /// A successful reply streaming `body` (a file, a stream, or bytes),
    /// with no headers.
    pub fn stream(body: impl Into<Body>) -> Reply {
        Reply::Stream {
            headers: Headers::new(),
            body: body.into(),
        }
    }

    /// An error reply.
    pub fn error(code: ReplyCode, message: impl Into<String>) -> Reply {
        Reply::Err(ReplyError::new(code, message))
    }

    /// Whether this is an error reply.
    pub fn is_err(&self) -> bool {
        matches!(self, Reply::Err(_))
    }
}

/// Anything a handler may return.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler's reply",
    label = "a handler returns something that becomes a reply",
    note = "return `Json<T>` (for a serde type), `String`, `&'static str`, `Bytes`, `Vec<u8>`, `Body` (a file or a stream, sent as it is read), `()`, `Reply`, or `Result<T, E>` of one of them with `E: Into<ReplyError>`"
)]
pub trait IntoReply {
    /// Converts into a reply.
    fn into_reply(self) -> Reply;
}

impl IntoReply for Reply {
    fn into_reply(self) -> Reply {
        self
    }
}

impl IntoReply for ReplyError {
    fn into_reply(self) -> Reply {
        Reply::Err(self)
    }
}

impl IntoReply for () {
    fn into_reply(self) -> Reply {
        Reply::body(Bytes::new())
    }
}

impl IntoReply for Bytes {
    fn into_reply(self) -> Reply {
        Reply::body(self)
    }
}

/// Bytes become [`Reply::Ok`]; a file or a stream [`Reply::Stream`].
impl IntoReply for Body {
    fn into_reply(self) -> Reply {
        match self {
            Body::Bytes(bytes) => Reply::body(bytes),
            body => Reply::stream(body),
        }
    }
}

impl IntoReply for Vec<u8> {
    fn into_reply(self) -> Reply {
        Reply::body(self)
    }
}

impl IntoReply for String {
    fn into_reply(self) -> Reply {
        Reply::body(self)
    }
}

impl IntoReply for &'static str {
    fn into_reply(self) -> Reply {
        Reply::body(Bytes::from_static(self.as_bytes()))
    }
}

impl<T: IntoReply, E: Into<ReplyError>> IntoReply for Result<T, E> {
    fn into_reply(self) -> Reply {
        match self {
            Ok(value) => value.into_reply(),
            Err(error) => Reply::Err(error.into()),
        }
    }
}

/// A JSON body: as an extractor it parses the request, as a return value it
/// serialises the reply (with `content-type: application/json`).
///
/// ```
/// use netcore_endpoint::{IntoReply, Json, Reply};
/// #[derive(serde::Serialize)]
/// struct User { id: u32 }
/// let Reply::Ok { body, headers } = Json(User { id: 7 }).into_reply() else { panic!() };
/// assert_eq!(body, r#"{"id":7}"#);
/// assert_eq!(headers.get_str("content-type"), Some("application/json"));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoReply for Json<T> {
    fn into_reply(self) -> Reply {
        match serde_json::to_vec(&self.0) {
            Ok(body) => {
                let mut headers = Headers::new();
                // A constant, valid header: cannot fail.
                let _ = headers.insert_static(dialect::CONTENT_TYPE, dialect::JSON);
                Reply::Ok {
                    headers,
                    body: body.into(),
                }
            }
            Err(error) => Reply::Err(ReplyError::internal(format!(
                "the reply could not be serialised as JSON: {error}"
            ))),
        }
    }
}
