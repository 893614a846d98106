//! Bytes received in a chunk bigger than the caller's read buffer, kept for
//! the next read: shared by the chunk-based readers.

use bytes::{Buf, Bytes};

/// The unread rest of the last chunk received.
#[derive(Debug, Default)]
pub(super) struct Leftover {
    bytes: Bytes,
}

impl Leftover {
    /// Whether no bytes are waiting.
    pub(super) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// How many bytes are waiting.
    pub(super) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Moves as many waiting bytes as fit into `buf`; returns how many.
    pub(super) fn take_into(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes.advance(n);
        n
    }

    /// Serves a freshly received `chunk`: copies what fits into `buf` and keeps
    /// the rest. Must only be called when nothing is waiting.
    pub(super) fn serve(&mut self, chunk: Bytes, buf: &mut [u8]) -> usize {
        debug_assert!(self.is_empty(), "a new chunk would overtake waiting bytes");
        self.bytes = chunk;
        self.take_into(buf)
    }
}
