//! An ordered JSON value, read with `serde_json` and written the way Python's
//! `json.dumps` writes it with default settings (`docs/python-013-wire-format.md` §3).
//!
//! Python keeps the keys of a dict in insertion order and `json.dumps` writes
//! them in that order, so byte-exact output needs an object that keeps its
//! order; `serde_json::Map` sorts its keys unless the (workspace-wide)
//! `preserve_order` feature is on, so this module has its own small value type.

use std::fmt::{self, Write as _};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::error::EncodeError;

/// Deepest nesting of arrays and objects written, matching the recursion limit
/// `serde_json` applies when reading (so anything decoded can be re-encoded).
pub const MAX_DEPTH: usize = 128;

/// A JSON value whose objects keep their keys in order.
///
/// Numbers are either integers (what Python writes for an `int` that fits
/// 128 bits) or floats (what Python writes for a `float`, always with a `.` or
/// an exponent). Integers beyond the 64-bit range of `serde_json` come back as
/// floats when decoded.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null` (Python `None`).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An integer.
    Int(i128),
    /// A float; non-finite values cannot be encoded.
    Float(f64),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object with its keys in order.
    Object(Object),
}

impl Json {
    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(text) => Some(text),
            _ => None,
        }
    }

    /// The object, if this is one.
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Json::Object(object) => Some(object),
            _ => None,
        }
    }

    /// Parses `bytes` as one JSON value (surrounding whitespace allowed), as
    /// Python's `json.loads` would, except that `NaN`, `Infinity` and lone
    /// surrogate escapes are refused. Nesting deeper than [`MAX_DEPTH`] is
    /// refused too.
    pub fn parse(bytes: &[u8]) -> Result<Json, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// Appends the `json.dumps` text of this value to `out`: separators `", "`
    /// and `": "`, `ensure_ascii` escaping with lower-case hex, floats as
    /// Python's `repr`.
    pub fn write_python(&self, out: &mut String) -> Result<(), EncodeError> {
        self.write_at(out, 0)
    }

    /// The `json.dumps` text of this value.
    pub fn to_python_string(&self) -> Result<String, EncodeError> {
        let mut out = String::new();
        self.write_python(&mut out)?;
        Ok(out)
    }

    fn write_at(&self, out: &mut String, depth: usize) -> Result<(), EncodeError> {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(true) => out.push_str("true"),
            Json::Bool(false) => out.push_str("false"),
            Json::Int(value) => write_display(out, value),
            Json::Float(value) => write_python_float(out, *value)?,
            Json::String(text) => write_python_str(out, text),
            Json::Array(items) => {
                let depth = deeper(depth)?;
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    item.write_at(out, depth)?;
                }
                out.push(']');
            }
            Json::Object(object) => object.write_at(out, depth)?,
        }
        Ok(())
    }
}

impl From<&str> for Json {
    fn from(text: &str) -> Json {
        Json::String(text.to_owned())
    }
}

impl From<String> for Json {
    fn from(text: String) -> Json {
        Json::String(text)
    }
}

impl From<bool> for Json {
    fn from(value: bool) -> Json {
        Json::Bool(value)
    }
}

impl From<i64> for Json {
    fn from(value: i64) -> Json {
        Json::Int(value.into())
    }
}

impl From<u64> for Json {
    fn from(value: u64) -> Json {
        Json::Int(value.into())
    }
}

impl From<Object> for Json {
    fn from(object: Object) -> Json {
        Json::Object(object)
    }
}

/// A JSON object that keeps its keys in insertion order, like a Python dict.
///
/// ```
/// use netcore_protocol::py013::{Json, Object};
///
/// let mut object = Object::new();
/// object.insert("b", 1u64);
/// object.insert("a", true);
/// object.insert("b", 2u64); // replaced in place, as in a Python dict
/// assert_eq!(Json::from(object).to_python_string()?, r#"{"b": 2, "a": true}"#);
/// # Ok::<(), netcore_protocol::py013::EncodeError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    entries: Vec<(String, Json)>,
}

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object::default()
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.entries
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// Sets `key` to `value`: an existing key keeps its place (as in a Python
    /// dict), a new one goes last. Returns the value it replaced.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Json>) -> Option<Json> {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(name, _)| *name == key) {
            Some((_, slot)) => Some(std::mem::replace(slot, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        let at = self.entries.iter().position(|(name, _)| name == key)?;
        Some(self.entries.remove(at).1)
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json)> {
        self.entries
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub(crate) fn write_at(&self, out: &mut String, depth: usize) -> Result<(), EncodeError> {
        let depth = deeper(depth)?;
        out.push('{');
        for (i, (key, value)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            write_python_str(out, key);
            out.push_str(": ");
            value.write_at(out, depth)?;
        }
        out.push('}');
        Ok(())
    }
}

impl<K: Into<String>, V: Into<Json>> FromIterator<(K, V)> for Object {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Object {
        let mut object = Object::new();
        for (key, value) in iter {
            object.insert(key, value);
        }
        object
    }
}

fn deeper(depth: usize) -> Result<usize, EncodeError> {
    if depth >= MAX_DEPTH {
        return Err(EncodeError::TooDeep { max: MAX_DEPTH });
    }
    Ok(depth + 1)
}

fn write_display(out: &mut String, value: impl fmt::Display) {
    // Writing into a String cannot fail.
    let _ = write!(out, "{value}");
}

/// Writes `text` as a JSON string the way `json.dumps(ensure_ascii=True)` does.
pub(super) fn write_python_str(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// Writes a float as Python's `repr` does: the shortest digits that read back
/// exactly, in positional form when the decimal exponent is in `-4..16`
/// (with `.0` for integral values), otherwise as `d.ddde±XX`.
fn write_python_float(out: &mut String, value: f64) -> Result<(), EncodeError> {
    if !value.is_finite() {
        return Err(EncodeError::NonFiniteFloat);
    }
    let scientific = format!("{value:e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if negative {
        out.push('-');
    }
    if (-4..16).contains(&exponent) {
        if exponent >= 0 {
            let point = exponent.unsigned_abs() as usize + 1;
            if digits.len() <= point {
                out.push_str(&digits);
                out.extend(std::iter::repeat_n('0', point - digits.len()));
                out.push_str(".0");
            } else {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            }
        } else {
            out.push_str("0.");
            out.extend(std::iter::repeat_n(
                '0',
                exponent.unsigned_abs() as usize - 1,
            ));
            out.push_str(&digits);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let sign = if exponent < 0 { '-' } else { '+' };
        let _ = write!(out, "e{sign}{:02}", exponent.unsigned_abs());
    }
    Ok(())
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Int(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Int(value.into()))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Json, E> {
        Ok(Json::Int(value))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Json, E> {
        Ok(Json::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Json, E> {
        Ok(Json::String(value))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut object = Object::new();
        // A repeated key keeps its first place and takes the last value, as
        // `json.loads` into a dict does.
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            object.insert(key, value);
        }
        Ok(Json::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float(value: f64) -> String {
        let mut out = String::new();
        write_python_float(&mut out, value).expect("finite");
        out
    }

    #[test]
    fn floats_are_written_like_python_repr() {
        let cases = [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (123.0, "123.0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (1234567890123456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (1.2345e20, "1.2345e+20"),
            (-2.5e100, "-2.5e+100"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
        ];
        for (value, python) in cases {
            assert_eq!(float(value), python, "{value:e}");
        }
        assert_eq!(
            Json::Float(f64::NAN).to_python_string(),
            Err(EncodeError::NonFiniteFloat)
        );
    }

    #[test]
    fn strings_are_escaped_like_ensure_ascii() {
        let mut out = String::new();
        write_python_str(&mut out, "é\"\\\n\r\t\u{8}\u{c}\u{1}\u{7f}~ 😀");
        assert_eq!(out, r#""\u00e9\"\\\n\r\t\b\f\u0001\u007f~ \ud83d\ude00""#);
    }

    #[test]
    fn parse_keeps_order_and_last_duplicate() {
        let json = Json::parse(br#" {"z":1,"a":[true,null,-3,2.5],"z":"x"} "#).expect("valid");
        assert_eq!(
            json.to_python_string().expect("encodes"),
            r#"{"z": "x", "a": [true, null, -3, 2.5]}"#
        );
    }

    #[test]
    fn depth_is_bounded_both_ways() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(Json::parse(deep.as_bytes()).is_err());
        let mut value = Json::Null;
        for _ in 0..MAX_DEPTH + 1 {
            value = Json::Array(vec![value]);
        }
        assert_eq!(
            value.to_python_string(),
            Err(EncodeError::TooDeep { max: MAX_DEPTH })
        );
    }
}
