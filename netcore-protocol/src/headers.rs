//! Extensible key/value headers carried by OPEN and HELLO frames.
//!
//! A header block is a sequence of entries, each
//! `name_len: u8 | name: UTF-8 | value_len: u16 BE | value: bytes`, with no
//! count: the enclosing frame says how many bytes the block has.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{DecodeError, HeaderError, Malformation};
use crate::header::FrameKind;

/// An ordered list of key/value headers: names are short UTF-8 strings, values
/// are bytes. Names may repeat; [`Headers::insert`] replaces, [`Headers::append`]
/// adds.
///
/// ```
/// use netcore_protocol::Headers;
/// let mut headers = Headers::new();
/// headers.insert("route", "/users/list")?;
/// headers.insert("content-type", "application/json")?;
/// assert_eq!(headers.get_str("route"), Some("/users/list"));
/// # Ok::<(), netcore_protocol::HeaderError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Headers {
    entries: Vec<(Name, Bytes)>,
}

/// A header name: UTF-8, checked when it was made. Decoded names are
/// slices of the header block's one copy, so decoding allocates once per
/// block, not once per name.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Name(Bytes);

impl Name {
    /// A name known to be UTF-8.
    fn new(name: String) -> Name {
        Name(Bytes::from(name))
    }

    fn as_str(&self) -> &str {
        // Every name was UTF-8 when made (a `String`, or checked on decode).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn is(&self, name: &str) -> bool {
        self.0 == name.as_bytes()
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Longest header name, in bytes.
pub const MAX_HEADER_NAME: usize = u8::MAX as usize;
/// Longest header value, in bytes.
pub const MAX_HEADER_VALUE: usize = u16::MAX as usize;

impl Headers {
    /// No headers.
    pub const fn new() -> Headers {
        Headers {
            entries: Vec::new(),
        }
    }

    /// Sets `name` to `value`, removing any other entries with that name.
    pub fn insert(
        &mut self,
        name: impl Into<String>,
        value: impl Into<Bytes>,
    ) -> Result<&mut Headers, HeaderError> {
        let entry = checked_entry(name.into(), value.into())?;
        Ok(self.replace(entry))
    }

    /// [`insert`](Self::insert) for a name known at compile time: the name
    /// is not copied (no allocation for it).
    pub fn insert_static(
        &mut self,
        name: &'static str,
        value: impl Into<Bytes>,
    ) -> Result<&mut Headers, HeaderError> {
        let entry = checked(Name(Bytes::from_static(name.as_bytes())), value.into())?;
        Ok(self.replace(entry))
    }

    /// Puts `entry` in place of every entry of its name.
    fn replace(&mut self, entry: (Name, Bytes)) -> &mut Headers {
        self.entries.retain(|(existing, _)| *existing != entry.0);
        self.entries.push(entry);
        self
    }

    /// Adds an entry, keeping earlier entries with the same name.
    pub fn append(
        &mut self,
        name: impl Into<String>,
        value: impl Into<Bytes>,
    ) -> Result<&mut Headers, HeaderError> {
        let entry = checked_entry(name.into(), value.into())?;
        self.entries.push(entry);
        Ok(self)
    }

    /// The first value for `name`.
    pub fn get(&self, name: &str) -> Option<&Bytes> {
        self.entries
            .iter()
            .find(|(existing, _)| existing.is(name))
            .map(|(_, value)| value)
    }

    /// The first value for `name`, if it is UTF-8.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name)
            .and_then(|value| std::str::from_utf8(value).ok())
    }

    /// Removes every entry named `name`; returns how many there were.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.entries.len();
        self.entries.retain(|(existing, _)| !existing.is(name));
        before - self.entries.len()
    }

    /// The entries in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &Bytes)> {
        self.entries
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Size of the encoded header block, in bytes.
    pub fn encoded_len(&self) -> usize {
        self.entries
            .iter()
            .map(|(name, value)| 1 + name.len() + 2 + value.len())
            .sum()
    }

    /// Appends the encoded block to `dst`.
    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        for (name, value) in &self.entries {
            // Lengths were checked on insertion; the casts cannot truncate.
            dst.put_u8(name.len() as u8);
            dst.put_slice(&name.0);
            dst.put_u16(value.len() as u16);
            dst.put_slice(value);
        }
    }

    /// Decodes a whole header block. Names and values are slices of one
    /// copy of `block` (one allocation per block): headers often outlive the frame they came in (a request's
    /// metadata lives as long as its handler), and a slice of the frame
    /// would keep the receiver's whole read buffer alive with it.
    pub(crate) fn decode(block: &Bytes, kind: FrameKind) -> Result<Headers, DecodeError> {
        let block = &Bytes::copy_from_slice(block);
        let malformed = |what| DecodeError::Malformed { kind, what };
        // Most blocks hold a few entries (kind, route, call id, deadline).
        let mut entries = Vec::with_capacity(if block.is_empty() { 0 } else { 4 });
        let mut at = 0usize;
        while at < block.len() {
            let name_len = usize::from(block[at]);
            at += 1;
            if name_len == 0 {
                return Err(malformed(Malformation::EmptyHeaderName));
            }
            let name = block
                .get(at..at + name_len)
                .ok_or(malformed(Malformation::Short {
                    field: "header name",
                }))?;
            std::str::from_utf8(name).map_err(|_| {
                malformed(Malformation::NotUtf8 {
                    field: "header name",
                })
            })?;
            let name = Name(block.slice(at..at + name_len));
            at += name_len;
            let len_bytes = block.get(at..at + 2).ok_or(malformed(Malformation::Short {
                field: "header value length",
            }))?;
            let value_len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
            at += 2;
            if block.len() - at < value_len {
                return Err(malformed(Malformation::Short {
                    field: "header value",
                }));
            }
            entries.push((name, block.slice(at..at + value_len)));
            at += value_len;
        }
        Ok(Headers { entries })
    }
}

fn checked_entry(name: String, value: Bytes) -> Result<(Name, Bytes), HeaderError> {
    checked(Name::new(name), value)
}

/// Checks an entry's lengths.
fn checked(name: Name, value: Bytes) -> Result<(Name, Bytes), HeaderError> {
    if name.len() == 0 || name.len() > MAX_HEADER_NAME {
        return Err(HeaderError::BadNameLength { len: name.len() });
    }
    if value.len() > MAX_HEADER_VALUE {
        return Err(HeaderError::ValueTooLong {
            len: value.len(),
            name: name.as_str().to_owned(),
        });
    }
    Ok((name, value))
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a str, &'a Bytes);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a Bytes)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_and_append_keeps() -> Result<(), HeaderError> {
        let mut headers = Headers::new();
        headers.insert("a", "1")?.append("a", "2")?;
        assert_eq!(headers.len(), 2);
        assert_eq!(headers.get_str("a"), Some("1"));
        headers.insert("a", "3")?;
        assert_eq!(headers.len(), 1);
        assert_eq!(headers.get_str("a"), Some("3"));
        assert_eq!(headers.remove("a"), 1);
        assert!(headers.is_empty());
        Ok(())
    }

    #[test]
    fn a_static_name_is_the_same_header() -> Result<(), HeaderError> {
        let mut headers = Headers::new();
        headers
            .insert("route", "/a")?
            .insert_static("route", "/b")?;
        assert_eq!(headers.len(), 1, "insert_static replaces like insert");
        assert_eq!(headers.get_str("route"), Some("/b"));
        assert_eq!(
            headers.insert_static("", "x").err(),
            Some(HeaderError::BadNameLength { len: 0 })
        );
        Ok(())
    }

    #[test]
    fn bad_names_and_values_are_refused() {
        let mut headers = Headers::new();
        assert_eq!(
            headers.insert("", "x").err(),
            Some(HeaderError::BadNameLength { len: 0 })
        );
        assert_eq!(
            headers.insert("n".repeat(256), "x").err(),
            Some(HeaderError::BadNameLength { len: 256 })
        );
        assert!(matches!(
            headers.insert("big", vec![0u8; 65_536]),
            Err(HeaderError::ValueTooLong { len: 65_536, .. })
        ));
    }

    #[test]
    fn block_round_trips_and_values_share_one_copy_not_the_frame()
    -> Result<(), Box<dyn std::error::Error>> {
        let mut headers = Headers::new();
        headers
            .insert("route", "/x")?
            .append("tag", vec![0u8, 255])?;
        let mut block = BytesMut::new();
        headers.encode(&mut block);
        assert_eq!(block.len(), headers.encoded_len());
        let block = block.freeze();
        let decoded = Headers::decode(&block, FrameKind::Open)?;
        assert_eq!(decoded, headers);
        let route = decoded.get("route").ok_or("missing")?;
        let tag = decoded.get("tag").ok_or("missing")?;
        let range = block.as_ptr_range();
        // Not a slice of the frame (that would pin the read buffer)...
        assert!(!range.contains(&route.as_ptr()), "value pins the frame");
        // ...but of one copy of the block, shared by every value.
        let gap = tag.as_ptr() as usize - route.as_ptr() as usize;
        assert_eq!(gap, route.len() + 1 + 3 + 2, "values share one allocation");
        let (name, _) = decoded.iter().next().ok_or("missing")?;
        assert_eq!(
            name.as_ptr() as usize + name.len() + 2,
            route.as_ptr() as usize,
            "names are in the same copy"
        );
        Ok(())
    }

    #[test]
    fn cut_blocks_are_malformed() {
        let block = Bytes::from_static(&[3, b'a', b'b']);
        assert_eq!(
            Headers::decode(&block, FrameKind::Open),
            Err(DecodeError::Malformed {
                kind: FrameKind::Open,
                what: Malformation::Short {
                    field: "header name"
                }
            })
        );
        let block = Bytes::from_static(&[1, b'a', 0, 5, b'x']);
        assert_eq!(
            Headers::decode(&block, FrameKind::Open),
            Err(DecodeError::Malformed {
                kind: FrameKind::Open,
                what: Malformation::Short {
                    field: "header value"
                }
            })
        );
        let block = Bytes::from_static(&[0]);
        assert!(matches!(
            Headers::decode(&block, FrameKind::Hello),
            Err(DecodeError::Malformed {
                what: Malformation::EmptyHeaderName,
                ..
            })
        ));
    }
}
