//! The dialect of Python netcore 0.1.3 peers: a call is a mission whose
//! info carries `route` and an 8-character `message_id`; a reply carries
//! `is_response: true` and the request's `message_id`. There are no error
//! replies, cancels of calls or deadlines. The user-facing side — what a
//! Python peer can and cannot do — is in [`crate::py013`].

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use netcore_pipe::protocol::Headers;
use netcore_pipe::{Body, Message};

use super::{
    CONTENT_TYPE, Classified, Dialect, ReplyTo, RequestError, set_header, set_static_header,
};
use crate::priority::default_priority;
use crate::reply::Reply;

/// Timeout of calls to a Python peer when the endpoint sets none: a Python
/// peer never answers with an error, so a call could otherwise wait forever.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How many message ids there are: 62⁸.
const MESSAGE_IDS: u64 = 62u64.pow(8);

/// Python's alphabet for ids (`docs/python-013-wire-format.md` §5.2, §5.3).
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Characters of a Python message id.
const MESSAGE_ID_LEN: usize = 8;

/// The 8-character message id of call `call_id`: the number in base 62 with
/// Python's alphabet, most significant digit first (ids up to 62⁸ − 1).
///
/// ```
/// use netcore_endpoint::py013::{call_id, message_id};
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

/// The Python netcore 0.1.3 dialect (see the [module docs](self) and
/// [`crate::py013`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Py013;

impl Dialect for Py013 {
    fn name(&self) -> &'static str {
        "Python netcore 0.1.3"
    }

    fn default_call_timeout(&self) -> Option<Duration> {
        // A Python peer never answers with an error: every call needs a
        // timeout.
        Some(DEFAULT_CALL_TIMEOUT)
    }

    /// Calls and replies are matched by message id alone and both sides
    /// number their calls: each side starts at a random point of the 62⁸
    /// message ids, so two Rust peers calling each other do not take one's
    /// request for the other's reply (a collision needs their ranges to
    /// meet: about one chance in 10⁸ per million calls).
    fn first_call_id(&self) -> u64 {
        1 + fastrand::u64(..MESSAGE_IDS / 2)
    }

    /// A notification is a request whose reply nobody waits for: the peer
    /// gets a message id it can answer (the answer is dropped here, as a
    /// reply to no waiting call).
    fn notifications_take_call_ids(&self) -> bool {
        true
    }

    fn request(
        &self,
        route: &str,
        call_id: Option<u64>,
        _deadline: Option<Duration>,
        body: Body,
        headers: Headers,
    ) -> Result<Message, RequestError> {
        // No deadlines travel: the info has no place for one.
        let mut message = Message::new(body);
        message.headers = request_info(route, call_id, &headers)?;
        Ok(message)
    }

    fn reply(&self, to: &ReplyTo, reply: Reply) -> Result<Option<Message>, RequestError> {
        let route = to.route.as_deref().unwrap_or_default();
        let (headers, body) = match reply {
            Reply::Ok { headers, body } => {
                if body.is_empty() {
                    tracing::warn!(
                        route,
                        "an empty reply is a head alone, which a Python netcore 0.1.3 peer never completes: its caller will wait"
                    );
                }
                (headers, Body::Bytes(body))
            }
            Reply::Stream { headers, body } => (headers, body),
            Reply::Err(error) => {
                tracing::debug!(
                    %error,
                    route,
                    "error not sent: a Python netcore 0.1.3 peer has no error replies"
                );
                return Ok(None);
            }
        };
        let message_id = match &to.peer_call_id {
            Some(id) => Cow::Borrowed(id.as_str()),
            None => Cow::Owned(message_id(to.call_id)),
        };
        let mut message = Message::new(body);
        message.priority = default_priority(&message.body);
        message.headers = reply_info(route, &message_id, &headers)?;
        Ok(Some(message))
    }

    fn cancel(&self, _call_id: u64) -> Option<Message> {
        // Python has no cancel of a call: its handler runs on.
        None
    }

    fn classify(&self, headers: Headers, pending: &dyn Fn(u64) -> bool) -> Classified {
        classify(headers, pending)
    }
}

fn json_string(text: &str) -> String {
    // Serialising a string cannot fail.
    serde_json::to_string(text).unwrap_or_default()
}

/// Extra headers as info keys with string values.
fn extra_keys(headers: &Headers, out: &mut Headers, skip: &[&str]) -> Result<(), RequestError> {
    for (name, value) in headers.iter() {
        if name == CONTENT_TYPE || skip.contains(&name) {
            continue;
        }
        let text = std::str::from_utf8(value).map_err(|_| RequestError::NotText {
            name: name.to_owned(),
        })?;
        set_header(out, name, json_string(text))?;
    }
    Ok(())
}

/// The info of a request: `route`, then `message_id` for a call, then the
/// extra headers.
fn request_info(
    route: &str,
    call_id: Option<u64>,
    headers: &Headers,
) -> Result<Headers, RequestError> {
    let mut info = Headers::new();
    set_static_header(&mut info, "route", json_string(route))?;
    if let Some(call_id) = call_id {
        set_static_header(&mut info, "message_id", json_string(&message_id(call_id)))?;
    }
    extra_keys(headers, &mut info, &["route", "message_id", "is_response"])?;
    Ok(info)
}

/// The info of a reply: `route`, `is_response: true`, `message_id`, then the
/// reply's extra headers. A `route` header overrides the request's route.
fn reply_info(route: &str, message_id: &str, headers: &Headers) -> Result<Headers, RequestError> {
    let route = headers.get_str("route").unwrap_or(route);
    let mut info = Headers::new();
    set_static_header(&mut info, "route", json_string(route))?;
    set_static_header(&mut info, "is_response", "true")?;
    set_static_header(&mut info, "message_id", json_string(message_id))?;
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

/// What an incoming Python mission is (see [`crate::py013`]).
fn classify(info: Headers, pending: &dyn Fn(u64) -> bool) -> Classified {
    let is_response = info.get_str("is_response") == Some("true");
    let headers = plain_headers(&info);
    let message_id = headers.get_str("message_id").map(str::to_owned);
    let known = message_id.as_deref().and_then(call_id);
    if let Some(call_id) = known.filter(|id| pending(*id)) {
        return Classified::Reply {
            call_id,
            error: None,
            headers,
        };
    }
    if is_response {
        return Classified::Ignored("a reply whose message_id no call here is waiting for");
    }
    let Some(route) = headers.get_str("route").map(str::to_owned) else {
        return Classified::Ignored("a mission without a route");
    };
    match message_id {
        Some(message_id) => Classified::Call {
            reply_to: ReplyTo {
                call_id: known.unwrap_or_else(|| NEXT_LOCAL_CALL.fetch_add(1, Ordering::Relaxed)),
                peer_call_id: Some(message_id),
                route: Some(route.clone()),
            },
            route,
            deadline: None,
            headers,
        },
        None => Classified::Notify { route, headers },
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
            classify(reply, &pending),
            Classified::Reply { call_id: 7, .. }
        ));
        let stray = info(&[
            ("route", "\"echo\""),
            ("is_response", "true"),
            ("message_id", "\"zzzzzzzz\""),
        ]);
        assert!(matches!(classify(stray, &pending), Classified::Ignored(_)));
        let request = info(&[("route", "\"echo\""), ("message_id", "\"i0VpEBOW\"")]);
        let Classified::Call {
            route,
            reply_to:
                ReplyTo {
                    peer_call_id: Some(message_id),
                    ..
                },
            headers,
            ..
        } = classify(request, &pending)
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
            matches!(classify(odd, &pending), Classified::Call { reply_to, .. } if reply_to.call_id >= 1 << 63)
        );
        assert!(matches!(
            classify(info(&[("route", "\"echo\"")]), &pending),
            Classified::Notify { .. }
        ));
        assert!(matches!(
            classify(info(&[]), &pending),
            Classified::Ignored(_)
        ));
    }

    #[test]
    fn a_header_that_is_not_text_is_refused_by_name() {
        let mut extra = Headers::new();
        extra.insert("blob", vec![0xff, 0xfe]).expect("header");
        assert!(matches!(
            request_info("echo", Some(1), &extra),
            Err(RequestError::NotText { name }) if name == "blob"
        ));
    }

    #[test]
    fn errors_are_not_sent_and_replies_repeat_the_message_id() {
        let to = ReplyTo {
            call_id: 5,
            peer_call_id: Some("i0VpEBOW".to_owned()),
            route: Some("echo".to_owned()),
        };
        let error = Reply::error(crate::ReplyCode::INTERNAL, "failed");
        assert!(Py013.reply(&to, error).expect("no error").is_none());
        let reply = Py013
            .reply(&to, Reply::body("ok"))
            .expect("no error")
            .expect("a reply");
        assert_eq!(reply.headers.get_str("message_id"), Some("\"i0VpEBOW\""));
        assert_eq!(reply.headers.get_str("route"), Some("\"echo\""));
        assert!(Py013.cancel(5).is_none());
    }
}
