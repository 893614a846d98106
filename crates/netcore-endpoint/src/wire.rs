//! How calls, replies and notifications travel as pipe messages: a few
//! headers on each message, the body as it is.
//!
//! | header | on | meaning |
//! |---|---|---|
//! | `nc-kind` | every message | `call`, `notify`, `reply`, `error` or `cancel` |
//! | `route` | call, notify | the route to run |
//! | `nc-call` | call, reply, error, cancel | the caller's call id (decimal) |
//! | `nc-deadline-ms` | call | milliseconds the caller will wait (optional) |
//! | `nc-code` | error | the error code (decimal) |
//! | `content-type` | any | what the body is (optional) |
//!
//! An error reply's body is its message, UTF-8.

use netcore_pipe::protocol::Headers;

pub(crate) const KIND: &str = "nc-kind";
pub(crate) const ROUTE: &str = "route";
pub(crate) const CALL: &str = "nc-call";
pub(crate) const DEADLINE: &str = "nc-deadline-ms";
pub(crate) const CODE: &str = "nc-code";
/// The header naming a body's content type.
pub const CONTENT_TYPE: &str = "content-type";
/// The content type of JSON bodies.
pub const JSON: &str = "application/json";

/// What a message is, from its `nc-kind` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Call,
    Notify,
    Reply,
    Error,
    Cancel,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Call => "call",
            Kind::Notify => "notify",
            Kind::Reply => "reply",
            Kind::Error => "error",
            Kind::Cancel => "cancel",
        }
    }

    pub(crate) fn of(headers: &Headers) -> Option<Kind> {
        Some(match headers.get_str(KIND)? {
            "call" => Kind::Call,
            "notify" => Kind::Notify,
            "reply" => Kind::Reply,
            "error" => Kind::Error,
            "cancel" => Kind::Cancel,
            _ => return None,
        })
    }
}

/// A decimal number header.
pub(crate) fn number(headers: &Headers, name: &str) -> Option<u64> {
    headers.get_str(name)?.parse().ok()
}
