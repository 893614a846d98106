//! The info object of a mission head (`docs/python-013-wire-format.md` §6.1).

use super::json::{Json, Object};

/// The `info` object of a mission head: an ordered JSON object whose keys
/// the Python Endpoint reads as `route`, `message_id` and `is_response`; any
/// other key becomes a request header on the Python side.
///
/// Its key order is kept, so what is decoded re-encodes to the same bytes.
/// The constructors use the orders Python sends:
///
/// ```
/// use netcore_protocol::py013::Info;
///
/// let request = Info::request("echo", "i0VpEBOW");
/// assert_eq!(request.to_python_string()?, r#"{"route": "echo", "message_id": "i0VpEBOW"}"#);
/// let reply = Info::response(Some("echo"), "i0VpEBOW");
/// assert_eq!(
///     reply.to_python_string()?,
///     r#"{"route": "echo", "is_response": true, "message_id": "i0VpEBOW"}"#
/// );
/// assert_eq!((reply.route(), reply.message_id(), reply.is_response()), (Some("echo"), Some("i0VpEBOW"), true));
/// # Ok::<(), netcore_protocol::py013::EncodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Info {
    object: Object,
}

impl Info {
    /// An empty info (`{}`, what `pipe.send(data)` sends by default).
    pub fn new() -> Info {
        Info::default()
    }

    /// A request's info as `Endpoint.send` writes it:
    /// `{"route": …, "message_id": …}`.
    pub fn request(route: &str, message_id: &str) -> Info {
        let mut info = Info::new();
        info.insert("route", route);
        info.insert("message_id", message_id);
        info
    }

    /// A reply's info: `{"route": …, "is_response": true, "message_id": …}`
    /// as a handler's `Response` writes it, or without `route` as
    /// `send_response` writes it.
    pub fn response(route: Option<&str>, message_id: &str) -> Info {
        let mut info = Info::new();
        if let Some(route) = route {
            info.insert("route", route);
        }
        info.insert("is_response", true);
        info.insert("message_id", message_id);
        info
    }

    /// `route`, if present and a string.
    pub fn route(&self) -> Option<&str> {
        self.object.get("route").and_then(Json::as_str)
    }

    /// `message_id`, if present and a string.
    pub fn message_id(&self) -> Option<&str> {
        self.object.get("message_id").and_then(Json::as_str)
    }

    /// Whether `is_response` is `true`. (The Python Endpoint never looks at
    /// it, `docs/python-013-wire-format.md` §6.3; a reply is matched by
    /// `message_id` alone.)
    pub fn is_response(&self) -> bool {
        matches!(self.object.get("is_response"), Some(Json::Bool(true)))
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.object.get(key)
    }

    /// Sets `key`; an existing key keeps its place. Returns the old value.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Json>) -> Option<Json> {
        self.object.insert(key, value)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        self.object.remove(key)
    }

    /// The whole object.
    pub fn as_object(&self) -> &Object {
        &self.object
    }

    /// The whole object, by value.
    pub fn into_object(self) -> Object {
        self.object
    }

    /// The `json.dumps` text of the info.
    pub fn to_python_string(&self) -> Result<String, super::EncodeError> {
        let mut out = String::new();
        self.object.write_at(&mut out, 0)?;
        Ok(out)
    }
}

impl From<Object> for Info {
    fn from(object: Object) -> Info {
        Info { object }
    }
}
