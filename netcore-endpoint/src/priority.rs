//! The priority a request or a reply goes at when nobody chose one.
//!
//! A small message — most calls and replies — goes at
//! [`Priority::HIGH`], so it passes any bulk on the same connection; a
//! large one, an upload or a download, at [`Priority::NORMAL`], so it does
//! not share the top tier with the small calls beside it and stretch their
//! wait by its chunks. "Small" is a body of known length up to
//! [`SMALL_BODY`] bytes; a stream of unknown length counts as large.

use netcore_pipe::Body;
use netcore_pipe::protocol::Priority;

/// Bodies up to this many bytes (64 KiB: one chunk at the default chunk
/// size) go at [`Priority::HIGH`] unless the caller chooses otherwise;
/// longer ones, and streams of unknown length, at [`Priority::NORMAL`].
pub const SMALL_BODY: u64 = 64 << 10;

/// The default priority of a message carrying `body`.
pub(crate) fn default_priority(body: &Body) -> Priority {
    match body.len() {
        Some(len) if len <= SMALL_BODY => Priority::HIGH,
        _ => Priority::NORMAL,
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn small_bodies_go_first_large_ones_and_streams_beside_bulk() {
        let body = |len: usize| Body::from(Bytes::from(vec![0u8; len]));
        assert_eq!(default_priority(&body(0)), Priority::HIGH);
        assert_eq!(default_priority(&body(SMALL_BODY as usize)), Priority::HIGH);
        assert_eq!(
            default_priority(&body(SMALL_BODY as usize + 1)),
            Priority::NORMAL
        );
        let stream = Body::Stream(Box::pin(futures::stream::empty()));
        assert_eq!(default_priority(&stream), Priority::NORMAL);
    }
}
