//! Hooks for the fuzz targets in `fuzz/` (`endpoint_headers`): the
//! dialects' header classification and the router's path resolution, which
//! are private. Not part of the API: hidden from the docs, and may change or
//! go at any time.

use std::time::Duration;

use netcore_pipe::WireFormat;
use netcore_pipe::protocol::Headers;

use crate::dialect::{self, Classified, ReplyTo, RequestError};
use crate::reply::Reply;
use crate::router::{Resolved, Routes};

/// What the connection's dialect made of an incoming message
/// (the private `Classified`, with owned fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A call to `route`.
    Call {
        /// The route to run.
        route: String,
        /// The id this side knows the call by.
        call_id: u64,
        /// The peer's own id for it, when replies repeat it.
        peer_call_id: Option<String>,
        /// The route replies name, for dialects whose replies name one.
        reply_route: Option<String>,
        /// How long the caller waits, if it said.
        deadline: Option<Duration>,
        /// The headers handlers see.
        headers: Headers,
    },
    /// A notification to `route`.
    Notify {
        /// The route to run.
        route: String,
        /// The headers handlers see.
        headers: Headers,
    },
    /// The reply to this side's call `call_id`.
    Reply {
        /// The call it answers.
        call_id: u64,
        /// The error code of an error reply.
        error: Option<u32>,
        /// The reply's headers.
        headers: Headers,
    },
    /// The peer abandoned its call `call_id`.
    Cancel {
        /// The call.
        call_id: u64,
    },
    /// Nothing to act on.
    Ignored,
}

/// Classifies `headers` as the dialect of a pipe speaking `wire` does;
/// `pending` says which of this side's call ids wait for a reply.
pub fn classify(wire: &WireFormat, headers: Headers, pending: &dyn Fn(u64) -> bool) -> Kind {
    match dialect::of(wire).classify(headers, pending) {
        Classified::Call {
            route,
            reply_to,
            deadline,
            headers,
        } => Kind::Call {
            route,
            call_id: reply_to.call_id,
            peer_call_id: reply_to.peer_call_id,
            reply_route: reply_to.route,
            deadline,
            headers,
        },
        Classified::Notify { route, headers } => Kind::Notify { route, headers },
        Classified::Reply {
            call_id,
            error,
            headers,
        } => Kind::Reply {
            call_id,
            error: error.map(|code| code.0),
            headers,
        },
        Classified::Cancel { call_id } => Kind::Cancel { call_id },
        Classified::Ignored(_) => Kind::Ignored,
    }
}

/// The headers of a call (`call_id` set) or notification the dialect writes.
///
/// # Errors
///
/// As the dialect's `request`: a header it cannot set.
pub fn request(
    wire: &WireFormat,
    route: &str,
    call_id: Option<u64>,
    deadline: Option<Duration>,
    headers: Headers,
) -> Result<Headers, RequestError> {
    let body = netcore_pipe::Body::from(bytes::Bytes::new());
    dialect::of(wire)
        .request(route, call_id, deadline, body, headers)
        .map(|message| message.headers)
}

/// The headers of the reply to a call the dialect classified as
/// [`Kind::Call`] with these `call_id`, `peer_call_id` and `reply_route`;
/// `None` when the dialect cannot carry `reply`.
///
/// # Errors
///
/// As the dialect's `reply`: a header it cannot set.
pub fn reply(
    wire: &WireFormat,
    call_id: u64,
    peer_call_id: Option<String>,
    reply_route: Option<String>,
    reply: Reply,
) -> Result<Option<Headers>, RequestError> {
    let to = ReplyTo {
        call_id,
        peer_call_id,
        route: reply_route,
    };
    dialect::of(wire)
        .reply(&to, reply)
        .map(|message| message.map(|message| message.headers))
}

/// The headers of the cancel of call `call_id`, if the dialect has cancels.
pub fn cancel(wire: &WireFormat, call_id: u64) -> Option<Headers> {
    dialect::of(wire)
        .cancel(call_id)
        .map(|message| message.headers)
}

/// Where a request for `path` goes in `routes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The route registered at exactly this path.
    Route(String),
    /// The fallback of the blueprint under this prefix (`""`: the root's).
    Fallback(String),
    /// No route: answered "route not found".
    NotFound,
}

/// Resolves `path` as [`Routes::dispatch`] does.
pub fn resolve(routes: &Routes, path: &str) -> Target {
    match routes.resolve(path) {
        Some((Resolved::Route(path), _)) => Target::Route(path.to_owned()),
        Some((Resolved::Fallback(prefix), _)) => Target::Fallback(prefix.to_owned()),
        None => Target::NotFound,
    }
}
