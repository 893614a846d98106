//! How calls, replies and notifications travel as pipe messages, in the two
//! wire dialects: Netcore's own (LSO v2) and Python netcore 0.1.3's.
//!
//! ## LSO v2: a few headers on each message, the body as it is
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
//!
//! ## Python netcore 0.1.3 (see [`crate::python`])
//!
//! The mission's info carries `route` and an 8-character `message_id`; a
//! reply carries `is_response: true` and the request's `message_id`. There
//! are no error replies, cancels of calls or deadlines.

use std::time::Duration;

use bytes::Bytes;
use netcore_pipe::protocol::{Headers, Priority};
use netcore_pipe::{Body, Message, WireFormat};

use crate::python;
use crate::reply::Reply;

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

/// The wire dialect of a connection, from its pipe's wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Lso2,
    Python013,
}

/// Where a call's reply goes.
#[derive(Debug, Clone)]
pub(crate) enum ReplyTo {
    Lso2 { call_id: u64 },
    Python013 { message_id: String, route: String },
}

/// An incoming message, classified.
#[derive(Debug)]
pub(crate) enum Inbound {
    Call {
        route: String,
        call_id: u64,
        reply_to: ReplyTo,
        deadline: Option<Duration>,
        headers: Headers,
    },
    Notify {
        route: String,
        headers: Headers,
    },
    Reply {
        call_id: u64,
        /// An error reply (LSO v2 only).
        error: bool,
        headers: Headers,
    },
    Cancel {
        call_id: u64,
    },
    Ignored(&'static str),
}

impl Dialect {
    pub(crate) fn of(wire: &WireFormat) -> Dialect {
        match wire {
            WireFormat::Python013(_) => Dialect::Python013,
            _ => Dialect::Lso2,
        }
    }

    /// A call (`call_id` set) or notification message.
    pub(crate) fn request(
        self,
        route: &str,
        call_id: Option<u64>,
        deadline: Option<Duration>,
        body: Body,
        headers: Headers,
    ) -> Result<Message, String> {
        let mut message = Message::new(body);
        message.headers = match self {
            Dialect::Lso2 => {
                let mut headers = headers;
                let kind = if call_id.is_some() {
                    Kind::Call
                } else {
                    Kind::Notify
                };
                set(&mut headers, KIND, kind.as_str())?;
                set(&mut headers, ROUTE, route.to_owned())?;
                if let Some(call_id) = call_id {
                    set(&mut headers, CALL, call_id.to_string())?;
                }
                if let Some(deadline) = deadline {
                    set(&mut headers, DEADLINE, deadline.as_millis().to_string())?;
                }
                headers
            }
            // A notification is a request whose reply nobody waits for.
            Dialect::Python013 => python::request_info(route, call_id, &headers)?,
        };
        Ok(message)
    }

    /// The message answering a call; `None` when the dialect cannot carry it
    /// (a Python peer has no error replies: its caller times out).
    pub(crate) fn reply(self, to: &ReplyTo, reply: Reply) -> Result<Option<Message>, String> {
        let (headers, body) = match (self, to) {
            (Dialect::Lso2, ReplyTo::Lso2 { call_id }) => {
                let (kind, mut headers, body) = match reply {
                    Reply::Ok { headers, body } => (Kind::Reply, headers, body),
                    Reply::Err(error) => {
                        let mut headers = Headers::new();
                        set(&mut headers, CODE, error.code.0.to_string())?;
                        (Kind::Error, headers, Bytes::from(error.message))
                    }
                };
                set(&mut headers, KIND, kind.as_str())?;
                set(&mut headers, CALL, call_id.to_string())?;
                (headers, body)
            }
            (Dialect::Python013, ReplyTo::Python013 { message_id, route }) => match reply {
                Reply::Ok { headers, body } => {
                    if body.is_empty() {
                        tracing::warn!(
                            route,
                            "an empty reply is a head alone, which a Python netcore 0.1.3 peer never completes: its caller will wait"
                        );
                    }
                    (python::reply_info(route, message_id, &headers)?, body)
                }
                Reply::Err(error) => {
                    tracing::debug!(
                        %error,
                        route,
                        "error not sent: a Python netcore 0.1.3 peer has no error replies"
                    );
                    return Ok(None);
                }
            },
            _ => return Err("a reply in the other dialect".to_owned()),
        };
        let mut message = Message::new(body).priority(Priority::HIGH);
        message.headers = headers;
        Ok(Some(message))
    }

    /// The message telling the peer a call was abandoned, if the dialect has one.
    pub(crate) fn cancel(self, call_id: u64) -> Option<Message> {
        match self {
            Dialect::Lso2 => {
                let mut message = Message::new(Bytes::new()).priority(Priority::HIGH);
                let ok = set(&mut message.headers, KIND, Kind::Cancel.as_str()).is_ok()
                    && set(&mut message.headers, CALL, call_id.to_string()).is_ok();
                ok.then_some(message)
            }
            Dialect::Python013 => None,
        }
    }

    /// What an incoming message is. `pending` says whether a call id is
    /// waiting for its reply on this side.
    pub(crate) fn classify(self, headers: Headers, pending: impl Fn(u64) -> bool) -> Inbound {
        match self {
            Dialect::Lso2 => classify_lso2(headers),
            Dialect::Python013 => python::classify(headers, pending),
        }
    }
}

fn classify_lso2(headers: Headers) -> Inbound {
    let call_id = number(&headers, CALL);
    let route = || headers.get_str(ROUTE).unwrap_or_default().to_owned();
    match (Kind::of(&headers), call_id) {
        (Some(Kind::Call), Some(call_id)) => Inbound::Call {
            route: route(),
            call_id,
            reply_to: ReplyTo::Lso2 { call_id },
            deadline: number(&headers, DEADLINE).map(Duration::from_millis),
            headers,
        },
        // A call without a call id cannot be answered: it runs as a
        // notification, as it always has.
        (Some(Kind::Notify | Kind::Call), _) => Inbound::Notify {
            route: route(),
            headers,
        },
        (Some(kind @ (Kind::Reply | Kind::Error)), Some(call_id)) => Inbound::Reply {
            call_id,
            error: kind == Kind::Error,
            headers,
        },
        (Some(Kind::Cancel), Some(call_id)) => Inbound::Cancel { call_id },
        (Some(_), None) => Inbound::Ignored("a message without a call id"),
        (None, _) => Inbound::Ignored("a message without a known nc-kind"),
    }
}

pub(crate) fn set(
    headers: &mut Headers,
    name: &str,
    value: impl Into<Bytes>,
) -> Result<(), String> {
    headers
        .insert(name, value)
        .map(|_| ())
        .map_err(|e| e.to_string())
}
