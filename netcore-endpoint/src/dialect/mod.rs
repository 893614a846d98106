//! How calls, replies, notifications and cancels travel as pipe messages:
//! the wire dialects, one implementation of [`Dialect`] each.
//!
//! | dialect | file | pipe's wire format |
//! |---|---|---|
//! | Netcore's own, LSO v2: `nc-kind`, `nc-call`… headers | [`lso2`] | [`WireFormat::Lso2`] (and any format this crate does not know) |
//! | Python netcore 0.1.3: info keys `route`, `message_id`, `is_response` | [`py013`] | [`WireFormat::Py013`] |
//!
//! A connection's [`Peer`](crate::Peer) holds its dialect as a
//! `&'static dyn Dialect`, picked once from the pipe's wire format by
//! [`of`]; the reader, the serving side and the peer only call the trait
//! (one virtual call per message), so nothing outside this module looks at
//! which dialect a connection speaks.
//!
//! ## Adding a third dialect
//!
//! 1. A new file, `dialect/foo.rs`, with a unit struct implementing
//!    [`Dialect`]: how a request or notification is written
//!    ([`request`](Dialect::request)), a reply ([`reply`](Dialect::reply),
//!    `Ok(None)` for what the format cannot carry), a cancel
//!    ([`cancel`](Dialect::cancel)), how an incoming message is read
//!    ([`classify`](Dialect::classify), into [`Classified`] and, for a call,
//!    the [`ReplyTo`] its own `reply` reads back), and its call-id and
//!    timeout rules. Its header-setting failures are [`RequestError`]s.
//! 2. A `mod foo;` here and one arm in [`of`], from the new
//!    [`WireFormat`] variant to `&foo::Foo`.
//!
//! Nothing else changes: the peer, the reader and the serving side only see
//! the trait.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use netcore_pipe::protocol::{HeaderError, Headers};
use netcore_pipe::{Body, Message, WireFormat};

use crate::reply::{Reply, ReplyCode};

pub(crate) mod lso2;
pub(crate) mod py013;

/// The header naming a body's content type.
pub const CONTENT_TYPE: &str = "content-type";
/// The content type of JSON bodies.
pub const JSON: &str = "application/json";

/// The dialect of a connection whose pipe speaks `wire`: the one place an
/// implementation is picked. A format this crate does not know (the enum
/// may grow) is spoken as LSO v2, Netcore's own.
pub(crate) fn of(wire: &WireFormat) -> &'static dyn Dialect {
    match wire {
        WireFormat::Py013(_) => &py013::Py013,
        _ => &lso2::Lso2,
    }
}

/// One wire dialect: how the endpoint's calls, replies, notifications and
/// cancels map onto pipe messages, and the rules that differ with it (call
/// ids, timeouts). Implementations are stateless unit structs; each
/// connection holds one as `&'static dyn Dialect` (see the [module
/// docs](self)).
pub(crate) trait Dialect: Send + Sync + 'static {
    /// The dialect's name, as errors and logs show it (`"LSO v2"`).
    fn name(&self) -> &'static str;

    /// The timeout of calls when neither the call nor the endpoint sets
    /// one (`None`: calls may wait for as long as the connection lives).
    fn default_call_timeout(&self) -> Option<Duration>;

    /// The call id of a connection's first call; each later call takes the
    /// next one. Called once per connection (it may be random).
    fn first_call_id(&self) -> u64;

    /// Whether a notification takes a call id too (from the same count as
    /// calls), to give the peer an id it can answer.
    fn notifications_take_call_ids(&self) -> bool;

    /// The message of a call (`call_id` set) or a notification (`None`) to
    /// `route`. `deadline` is how long the caller waits, if it says;
    /// `headers` are the caller's extra headers.
    fn request(
        &self,
        route: &str,
        call_id: Option<u64>,
        deadline: Option<Duration>,
        body: Body,
        headers: Headers,
    ) -> Result<Message, RequestError>;

    /// The message answering the call `to` describes (as this dialect's
    /// [`classify`](Dialect::classify) recorded it); `Ok(None)` when the
    /// dialect cannot carry this reply (the caller is left to time out).
    fn reply(&self, to: &ReplyTo, reply: Reply) -> Result<Option<Message>, RequestError>;

    /// The message telling the peer call `call_id` was abandoned; `None`
    /// when the dialect has no such message.
    fn cancel(&self, call_id: u64) -> Option<Message>;

    /// What an incoming message with these headers is. `pending` says
    /// whether a call id is waiting for its reply on this side.
    fn classify(&self, headers: Headers, pending: &dyn Fn(u64) -> bool) -> Classified;
}

/// An incoming message, classified by the connection's dialect.
#[derive(Debug)]
pub(crate) enum Classified {
    /// A call: run `route`, send a reply to `reply_to`.
    Call {
        route: String,
        reply_to: ReplyTo,
        /// How long the caller waits, if it said.
        deadline: Option<Duration>,
        headers: Headers,
    },
    /// A notification: run `route`, answer nothing.
    Notify { route: String, headers: Headers },
    /// The reply to call `call_id` of this side.
    Reply {
        call_id: u64,
        /// `Some(code)` for an error reply (its body is the message).
        error: Option<ReplyCode>,
        headers: Headers,
    },
    /// The peer abandoned its call `call_id`.
    Cancel { call_id: u64 },
    /// Nothing to act on, and why (logged at debug level).
    Ignored(&'static str),
}

/// Where the reply to an incoming call goes: what the dialect that
/// classified the call recorded of it, read back by the same dialect's
/// [`reply`](Dialect::reply). Fields a dialect does not use stay `None`.
#[derive(Debug, Clone)]
pub(crate) struct ReplyTo {
    /// The id this side knows the call by: handlers see it, cancels name it.
    pub(crate) call_id: u64,
    /// The peer's own id for the call when replies must repeat it as the
    /// peer wrote it (a Python `message_id`).
    pub(crate) peer_call_id: Option<String>,
    /// The call's route, for dialects whose replies name one.
    pub(crate) route: Option<String>,
}

impl ReplyTo {
    /// A call known by its call id alone.
    pub(crate) fn call(call_id: u64) -> ReplyTo {
        ReplyTo {
            call_id,
            peer_call_id: None,
            route: None,
        }
    }
}

/// Why a request (or a reply) message could not be built. Nothing was sent.
///
/// Its [`source`](std::error::Error::source) is the protocol's
/// [`HeaderError`] or the [`serde_json::Error`] itself (the `Arc` only
/// keeps the error `Clone`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum RequestError {
    /// A header (or, to a Python peer, an info key) cannot be set: its name
    /// or value is out of the protocol's bounds.
    Header {
        /// The header's name.
        name: String,
        /// What the protocol refused.
        source: HeaderError,
    },
    /// A header value is not UTF-8 text, which a Python netcore 0.1.3 info
    /// key needs (it travels as a JSON string).
    NotText {
        /// The header's name.
        name: String,
    },
    /// The request body could not be written as JSON
    /// ([`Peer::call_json`](crate::Peer::call_json), typed calls).
    Json(Arc<serde_json::Error>),
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::Header { name, .. } => write!(f, "header {name:?} cannot be set"),
            RequestError::NotText { name } => write!(
                f,
                "header {name:?} is not UTF-8 text, which a Python info key needs"
            ),
            RequestError::Json(_) => f.write_str("the request body could not be written as JSON"),
        }
    }
}

// By hand rather than derived: the source of `Json` is the
// `serde_json::Error` itself, not its `Arc`, so that it downcasts.
impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RequestError::Header { source, .. } => Some(source),
            RequestError::NotText { .. } => None,
            RequestError::Json(error) => Some(&**error),
        }
    }
}

impl From<serde_json::Error> for RequestError {
    fn from(error: serde_json::Error) -> RequestError {
        RequestError::Json(Arc::new(error))
    }
}

/// Sets header `name`, replacing any value it had.
pub(crate) fn set_header(
    headers: &mut Headers,
    name: &str,
    value: impl Into<Bytes>,
) -> Result<(), RequestError> {
    named(name, headers.insert(name, value))
}

/// [`set_header`] for a name known at compile time (the dialects' own
/// headers): the name is not copied.
pub(crate) fn set_static_header(
    headers: &mut Headers,
    name: &'static str,
    value: impl Into<Bytes>,
) -> Result<(), RequestError> {
    named(name, headers.insert_static(name, value))
}

/// An insertion's outcome, its error naming the header.
fn named(name: &str, inserted: Result<&mut Headers, HeaderError>) -> Result<(), RequestError> {
    inserted.map(|_| ()).map_err(|source| RequestError::Header {
        name: name.to_owned(),
        source,
    })
}

/// A decimal number header.
pub(crate) fn number(headers: &Headers, name: &str) -> Option<u64> {
    headers.get_str(name)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pipe_format_picks_the_dialect() {
        assert_eq!(of(&WireFormat::Lso2).name(), "LSO v2");
        let python = netcore_pipe::PipeConfig::py013().wire;
        assert_eq!(of(&python).name(), "Python netcore 0.1.3");
    }

    #[test]
    fn a_refused_header_names_itself_and_keeps_the_protocol_error() {
        let mut headers = Headers::new();
        let error = set_header(&mut headers, "big", vec![b'x'; 70_000]).expect_err("too long");
        assert!(matches!(&error, RequestError::Header { name, .. } if name == "big"));
        let source = std::error::Error::source(&error).expect("a source");
        assert!(source.downcast_ref::<HeaderError>().is_some(), "{source}");
        let json = serde_json::from_str::<u32>("x").expect_err("not JSON");
        let error = RequestError::from(json);
        let source = std::error::Error::source(&error).expect("a source");
        assert!(source.is::<serde_json::Error>(), "{source}");
    }
}
