//! Talking to peers running the Python framework **netcore 0.1.3**.
//!
//! Build the endpoint (or server) over a pipe in Python-compatible mode and
//! everything else stays the same — routes, handlers, calls:
//!
//! ```
//! use netcore_endpoint::{Endpoint, EndpointConfig, Router};
//! use netcore_pipe::transport::memory_pair;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = EndpointConfig::python_013();
//! let (a, b) = memory_pair(64 * 1024);
//! let routes = Router::new().route("echo", |body: bytes::Bytes| async move { body }).build()?;
//! let _server = Endpoint::new(b, routes, config.clone());
//! let client = Endpoint::builder().config(config).start(a)?;
//! assert_eq!(client.peer().call("echo", "hi").await?.body, "hi");
//! # Ok(())
//! # }
//! ```
//!
//! ## How calls map onto the Python format
//!
//! - A call is a mission whose info is `{"route": <route>, "message_id":
//!   <8 characters>}`, as Python's `Endpoint.send` writes it. The message id
//!   is the call id written in base 62 with Python's alphabet
//!   ([`message_id`]), so replies map back to calls without a table; each
//!   connection numbers its calls from a random point, so two Rust peers
//!   calling each other do not mistake a request for a reply.
//! - A reply is `{"route": <route>, "is_response": true, "message_id":
//!   <the request's id>}`; its route is the request's unless the handler's
//!   reply sets a `route` header (Python's `Response(route, data)` may name
//!   any route).
//! - Incoming messages are matched by `message_id` only: one that answers a
//!   call waiting here is its reply, whatever else it says. A reply to no
//!   waiting call is **dropped** (Python would route it as a request, and
//!   two endpoints can then bounce replies forever,
//!   `docs/python-013-wire-format.md` §6.3).
//! - Bodies travel as they are: JSON calls send JSON text, raw calls bytes.
//! - Other headers become extra info keys with string values (Python puts
//!   them in `Request.headers`); incoming info keys become headers, strings
//!   without their quotes and other values as JSON text (`is_response` is
//!   `true`). `content-type` is not sent.
//!
//! ## What a Python peer cannot do, and what that means here
//!
//! - **No error replies.** A Python handler that fails, or an unknown
//!   route, sends nothing. Every call therefore has a timeout: the
//!   endpoint's `default_timeout`, or [`DEFAULT_CALL_TIMEOUT`] if that is
//!   `None`. Errors of Rust handlers are not sent to Python callers either
//!   (they are logged at debug level); the caller times out.
//! - **No call cancellation.** Dropping a call future cancels its request
//!   mission if it is still being sent (a cancel packet, and the Python peer
//!   drops the partial message), but a handler already running at the
//!   Python peer runs on.
//! - **No deadlines** travel with calls; Rust handlers serving Python
//!   callers run until they finish.
//! - **Heads of at most 4096 bytes**: route, ids and headers together must
//!   fit, or the call fails at once with a local error naming the size.
//! - **An empty body** is sent as a head alone, as Python does; a Python
//!   receiver never completes it (`docs/python-013-wire-format.md` §9.3), so
//!   such a call times out, and an empty reply from a Rust handler leaves the
//!   Python caller waiting (it is logged as a warning). A Rust receiver
//!   delivers it as an empty message.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use netcore_pipe::protocol::Headers;

use crate::wire::{self, Inbound, ReplyTo};

/// Timeout of calls to a Python peer when the endpoint sets none: a Python
/// peer never answers with an error, so a call could otherwise wait forever.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How many message ids there are: 62⁸.
pub(crate) const MESSAGE_IDS: u64 = 62u64.pow(8);

/// Python's alphabet for ids (`docs/python-013-wire-format.md` §5.2, §5.3).
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Characters of a Python message id.
const MESSAGE_ID_LEN: usize = 8;

/// The 8-character message id of call `call_id`: the number in base 62 with
/// Python's alphabet, most significant digit first (ids up to 62⁸ − 1).
///
/// ```
/// use netcore_endpoint::python::{call_id, message_id};
/// assert_eq!(message_id(1), "AAAAAAAB");
/// assert_eq!(call_id(&message_id(123_456_789)), Some(123_456_789));
/// ```
pub fn message_id(call_id: u64) -> String {
    let mut digits = [ALPHABET[0]; MESSAGE_ID_LEN];
    let mut rest = call_id;
    for digit in digits.iter_mut().rev() {
        *digit = ALPHABET[(rest % 62) as usize];
        rest /= 62;
    }
    digits.iter().map(|&b| char::from(b)).collect()
}

/// The call id a message id stands for, if it is 8 characters of Python's
/// alphabet (every id Python draws is).
pub fn call_id(message_id: &str) -> Option<u64> {
    if message_id.len() != MESSAGE_ID_LEN {
        return None;
    }
    message_id.bytes().try_fold(0u64, |value, byte| {
        let digit = ALPHABET.iter().position(|&b| b == byte)?;
        Some(value * 62 + digit as u64)
    })
}

/// Local call ids for requests whose message id is not one of Python's
/// (above every id [`call_id`] can return).
static NEXT_LOCAL_CALL: AtomicU64 = AtomicU64::new(1 << 63);

fn json_string(text: &str) -> String {
    // Serialising a string cannot fail.
    serde_json::to_string(text).unwrap_or_default()
}

/// Extra headers as info keys with string values.
fn extra_keys(headers: &Headers, out: &mut Headers, skip: &[&str]) -> Result<(), String> {
    for (name, value) in headers.iter() {
        if name == wire::CONTENT_TYPE || skip.contains(&name) {
            continue;
        }
        let text = std::str::from_utf8(value).map_err(|_| {
            format!("header {name:?} is not UTF-8 text, which a Python info key needs")
        })?;
        wire::set(out, name, json_string(text))?;
    }
    Ok(())
}

/// The info of a request: `route`, then `message_id` for a call, then the
/// extra headers.
pub(crate) fn request_info(
    route: &str,
    call_id: Option<u64>,
    headers: &Headers,
) -> Result<Headers, String> {
    let mut info = Headers::new();
    wire::set(&mut info, "route", json_string(route))?;
    if let Some(call_id) = call_id {
        wire::set(&mut info, "message_id", json_string(&message_id(call_id)))?;
    }
    extra_keys(headers, &mut info, &["route", "message_id", "is_response"])?;
    Ok(info)
}

/// The info of a reply: `route`, `is_response: true`, `message_id`, then the
/// reply's extra headers. A `route` header overrides the request's route.
pub(crate) fn reply_info(
    route: &str,
    message_id: &str,
    headers: &Headers,
) -> Result<Headers, String> {
    let route = headers.get_str("route").unwrap_or(route);
    let mut info = Headers::new();
    wire::set(&mut info, "route", json_string(route))?;
    wire::set(&mut info, "is_response", "true")?;
    wire::set(&mut info, "message_id", json_string(message_id))?;
    extra_keys(headers, &mut info, &["route", "message_id", "is_response"])?;
    Ok(info)
}

/// Info keys as the application sees them: JSON strings without their
/// quotes, other values as JSON text.
fn plain_headers(info: &Headers) -> Headers {
    let mut headers = Headers::new();
    for (name, value) in info.iter() {
        let plain = match serde_json::from_slice::<serde_json::Value>(value) {
            Ok(serde_json::Value::String(text)) => text.into(),
            _ => value.clone(),
        };
        // Unquoting only shortens a value that already fit.
        let _ = headers.append(name, plain);
    }
    headers
}

/// What an incoming Python mission is (see the module docs).
pub(crate) fn classify(info: Headers, pending: impl Fn(u64) -> bool) -> Inbound {
    let is_response = info.get_str("is_response") == Some("true");
    let headers = plain_headers(&info);
    let message_id = headers.get_str("message_id").map(str::to_owned);
    let known = message_id.as_deref().and_then(call_id);
    if let Some(call_id) = known.filter(|id| pending(*id)) {
        return Inbound::Reply {
            call_id,
            error: false,
            headers,
        };
    }
    if is_response {
        return Inbound::Ignored("a reply whose message_id no call here is waiting for");
    }
    let Some(route) = headers.get_str("route").map(str::to_owned) else {
        return Inbound::Ignored("a mission without a route");
    };
    match message_id {
        Some(message_id) => Inbound::Call {
            call_id: known.unwrap_or_else(|| NEXT_LOCAL_CALL.fetch_add(1, Ordering::Relaxed)),
            reply_to: ReplyTo::Python013 {
                message_id,
                route: route.clone(),
            },
            route,
            deadline: None,
            headers,
        },
        None => Inbound::Notify { route, headers },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(pairs: &[(&str, &str)]) -> Headers {
        let mut headers = Headers::new();
        for (name, value) in pairs {
            headers.append(*name, value.to_string()).expect("header");
        }
        headers
    }

    #[test]
    fn message_ids_round_trip_and_refuse_what_python_never_draws() {
        for id in [0, 1, 61, 62, 1 << 40, 62u64.pow(8) - 1] {
            let text = message_id(id);
            assert_eq!(text.len(), 8);
            assert_eq!(call_id(&text), Some(id));
        }
        assert_eq!(
            call_id("i0VpEBOW").map(message_id).as_deref(),
            Some("i0VpEBOW")
        );
        assert_eq!(call_id("short"), None);
        assert_eq!(call_id("with-dash"), None);
        assert_eq!(call_id("ééééé"), None);
    }

    #[test]
    fn requests_and_replies_carry_the_python_keys_in_python_order() {
        let mut extra = Headers::new();
        extra
            .insert("content-type", "application/json")
            .expect("header");
        extra.insert("trace", "abc").expect("header");
        let request = request_info("echo", Some(1), &extra).expect("info");
        let keys: Vec<(&str, &str)> = request
            .iter()
            .map(|(k, v)| (k, std::str::from_utf8(v).expect("utf-8")))
            .collect();
        assert_eq!(
            keys,
            [
                ("route", "\"echo\""),
                ("message_id", "\"AAAAAAAB\""),
                ("trace", "\"abc\"")
            ]
        );
        let mut reply_headers = Headers::new();
        reply_headers.insert("route", "other").expect("header");
        let reply = reply_info("echo", "i0VpEBOW", &reply_headers).expect("info");
        let keys: Vec<&str> = reply.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["route", "is_response", "message_id"]);
        assert_eq!(reply.get_str("route"), Some("\"other\""));
        assert_eq!(reply.get_str("is_response"), Some("true"));
    }

    #[test]
    fn replies_match_by_message_id_only_and_unknown_replies_are_dropped() {
        let pending = |id: u64| id == 7;
        let reply = info(&[
            ("message_id", &json_string(&message_id(7))),
            ("route", "\"echo\""),
        ]);
        assert!(matches!(
            classify(reply, pending),
            Inbound::Reply { call_id: 7, .. }
        ));
        let stray = info(&[
            ("route", "\"echo\""),
            ("is_response", "true"),
            ("message_id", "\"zzzzzzzz\""),
        ]);
        assert!(matches!(classify(stray, pending), Inbound::Ignored(_)));
        let request = info(&[("route", "\"echo\""), ("message_id", "\"i0VpEBOW\"")]);
        let Inbound::Call {
            route,
            reply_to: ReplyTo::Python013 { message_id, .. },
            headers,
            ..
        } = classify(request, pending)
        else {
            panic!("a call")
        };
        assert_eq!((route.as_str(), message_id.as_str()), ("echo", "i0VpEBOW"));
        assert_eq!(
            headers.get_str("route"),
            Some("echo"),
            "strings lose their quotes"
        );
        let odd = info(&[("route", "\"echo\""), ("message_id", "\"not python\"")]);
        assert!(
            matches!(classify(odd, pending), Inbound::Call { call_id, .. } if call_id >= 1 << 63)
        );
        assert!(matches!(
            classify(info(&[("route", "\"echo\"")]), pending),
            Inbound::Notify { .. }
        ));
        assert!(matches!(classify(info(&[]), pending), Inbound::Ignored(_)));
    }
}
