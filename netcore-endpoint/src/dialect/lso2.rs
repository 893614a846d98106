//! Netcore's own dialect, over LSO v2 pipes: a few headers on each
//! message, the body as it is.
//!
//! | header | on | meaning |
//! |---|---|---|
//! | `nc-kind` | every message | `call`, `notify`, `reply`, `error` or `cancel` |
//! | `route` | call, notify | the route to run |
//! | `nc-call` | call, reply, error, cancel | the caller's call id (decimal) |
//! | `nc-deadline-ms` | call | milliseconds the caller will wait (optional), counted by the receiver from the arrival of the OPEN; a call made while serving a request carries at most what is left of that request's |
//! | `nc-code` | error | the error code (decimal) |
//! | `content-type` | any | what the body is (optional) |
//!
//! An error reply's body is its message, UTF-8.

use std::time::Duration;

use bytes::Bytes;
use netcore_pipe::protocol::{Headers, Priority};
use netcore_pipe::{Body, Message};

use super::{Classified, Dialect, ReplyTo, RequestError, number, set_static_header};
use crate::priority::default_priority;
use crate::reply::{Reply, ReplyCode};

const KIND: &str = "nc-kind";
const ROUTE: &str = "route";
const CALL: &str = "nc-call";
const DEADLINE: &str = "nc-deadline-ms";
const CODE: &str = "nc-code";

/// What a message is, from its `nc-kind` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Call,
    Notify,
    Reply,
    Error,
    Cancel,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Call => "call",
            Kind::Notify => "notify",
            Kind::Reply => "reply",
            Kind::Error => "error",
            Kind::Cancel => "cancel",
        }
    }

    fn of(headers: &Headers) -> Option<Kind> {
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

/// The LSO v2 dialect (see the [module docs](self)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lso2;

impl Dialect for Lso2 {
    fn name(&self) -> &'static str {
        "LSO v2"
    }

    fn default_call_timeout(&self) -> Option<Duration> {
        // Error replies and cancels travel: a call may wait for its reply.
        None
    }

    fn first_call_id(&self) -> u64 {
        1
    }

    fn notifications_take_call_ids(&self) -> bool {
        false
    }

    fn request(
        &self,
        route: &str,
        call_id: Option<u64>,
        deadline: Option<Duration>,
        body: Body,
        mut headers: Headers,
    ) -> Result<Message, RequestError> {
        let kind = if call_id.is_some() {
            Kind::Call
        } else {
            Kind::Notify
        };
        set_static_header(&mut headers, KIND, kind.as_str())?;
        set_static_header(&mut headers, ROUTE, route.to_owned())?;
        if let Some(call_id) = call_id {
            set_static_header(&mut headers, CALL, call_id.to_string())?;
        }
        if let Some(deadline) = deadline {
            set_static_header(&mut headers, DEADLINE, deadline.as_millis().to_string())?;
        }
        let mut message = Message::new(body);
        message.headers = headers;
        Ok(message)
    }

    fn reply(&self, to: &ReplyTo, reply: Reply) -> Result<Option<Message>, RequestError> {
        let (kind, mut headers, body) = match reply {
            Reply::Ok { headers, body } => (Kind::Reply, headers, Body::Bytes(body)),
            Reply::Stream { headers, body } => (Kind::Reply, headers, body),
            Reply::Err(error) => {
                let mut headers = Headers::new();
                set_static_header(&mut headers, CODE, error.code.0.to_string())?;
                (Kind::Error, headers, Body::from(error.message))
            }
        };
        set_static_header(&mut headers, KIND, kind.as_str())?;
        set_static_header(&mut headers, CALL, to.call_id.to_string())?;
        let mut message = Message::new(body);
        message.priority = default_priority(&message.body);
        message.headers = headers;
        Ok(Some(message))
    }

    fn cancel(&self, call_id: u64) -> Option<Message> {
        let mut message = Message::new(Bytes::new()).priority(Priority::HIGH);
        let ok = set_static_header(&mut message.headers, KIND, Kind::Cancel.as_str()).is_ok()
            && set_static_header(&mut message.headers, CALL, call_id.to_string()).is_ok();
        ok.then_some(message)
    }

    fn classify(&self, headers: Headers, _pending: &dyn Fn(u64) -> bool) -> Classified {
        let call_id = number(&headers, CALL);
        let route = || headers.get_str(ROUTE).unwrap_or_default().to_owned();
        match (Kind::of(&headers), call_id) {
            (Some(Kind::Call), Some(call_id)) => Classified::Call {
                route: route(),
                reply_to: ReplyTo::call(call_id),
                deadline: number(&headers, DEADLINE).map(Duration::from_millis),
                headers,
            },
            // A call without a call id cannot be answered: it runs as a
            // notification, as it always has.
            (Some(Kind::Notify | Kind::Call), _) => Classified::Notify {
                route: route(),
                headers,
            },
            (Some(Kind::Reply), Some(call_id)) => Classified::Reply {
                call_id,
                error: None,
                headers,
            },
            (Some(Kind::Error), Some(call_id)) => Classified::Reply {
                call_id,
                // A code that is missing or out of range is an internal
                // error of the peer.
                error: Some(
                    number(&headers, CODE)
                        .and_then(|code| u32::try_from(code).ok())
                        .map_or(ReplyCode::INTERNAL, ReplyCode),
                ),
                headers,
            },
            (Some(Kind::Cancel), Some(call_id)) => Classified::Cancel { call_id },
            (Some(_), None) => Classified::Ignored("a message without a call id"),
            (None, _) => Classified::Ignored("a message without a known nc-kind"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nothing_pending(_: u64) -> bool {
        false
    }

    #[test]
    fn a_call_reads_back_with_its_route_id_and_deadline() {
        let mut extra = Headers::new();
        extra.insert("trace", "abc").expect("header");
        let message = Lso2
            .request(
                "/echo",
                Some(7),
                Some(Duration::from_millis(250)),
                Body::from("hi"),
                extra,
            )
            .expect("a request");
        let Classified::Call {
            route,
            reply_to,
            deadline,
            headers,
        } = Lso2.classify(message.headers, &nothing_pending)
        else {
            panic!("a call")
        };
        assert_eq!(route, "/echo");
        assert_eq!(reply_to.call_id, 7);
        assert_eq!(deadline, Some(Duration::from_millis(250)));
        assert_eq!(headers.get_str("trace"), Some("abc"));
        let notify = Lso2
            .request("/log", None, None, Body::from("x"), Headers::new())
            .expect("a notification");
        assert!(matches!(
            Lso2.classify(notify.headers, &nothing_pending),
            Classified::Notify { route, .. } if route == "/log"
        ));
    }

    #[test]
    fn replies_errors_and_cancels_name_the_call() {
        let to = ReplyTo::call(9);
        let ok = Lso2
            .reply(&to, Reply::body("ok"))
            .expect("a reply")
            .expect("LSO v2 carries every reply");
        assert!(matches!(
            Lso2.classify(ok.headers, &nothing_pending),
            Classified::Reply {
                call_id: 9,
                error: None,
                ..
            }
        ));
        let error = Reply::error(ReplyCode::NOT_FOUND, "no such route");
        let error = Lso2.reply(&to, error).expect("a reply").expect("carried");
        assert!(matches!(
            Lso2.classify(error.headers, &nothing_pending),
            Classified::Reply {
                call_id: 9,
                error: Some(ReplyCode::NOT_FOUND),
                ..
            }
        ));
        let cancel = Lso2.cancel(9).expect("LSO v2 has cancels");
        assert!(matches!(
            Lso2.classify(cancel.headers, &nothing_pending),
            Classified::Cancel { call_id: 9 }
        ));
        assert!(matches!(
            Lso2.classify(Headers::new(), &nothing_pending),
            Classified::Ignored(_)
        ));
    }
}
