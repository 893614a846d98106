//! [`BodySink`]: the driver's end of one incoming body.
//!
//! Chunks of at least [`BodySink::COALESCE`] bytes go to the reader as they
//! came, without a copy. Smaller ones are copied into one tail buffer that
//! is handed over when the reader is waiting for data, when it reaches the
//! coalescing size, or when the body ends. So a peer that sends a body one
//! byte per frame costs its bytes, not a channel slot and a pinned read
//! buffer per byte; and a small message (one frame) is handed over whole,
//! at its end, with no extra round trip.

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use super::incoming::Piece;

/// The driver's end of one incoming body (see the [module docs](self)).
#[derive(Debug)]
pub(crate) struct BodySink {
    tx: mpsc::UnboundedSender<Piece>,
    /// Small chunks not yet handed over.
    tail: BytesMut,
    /// The reader found nothing to read and waits: hand over at once.
    wanted: bool,
}

impl BodySink {
    /// Chunks of at least this many bytes are handed over as they came.
    pub(crate) const COALESCE: usize = 16 << 10;

    pub(crate) fn new(tx: mpsc::UnboundedSender<Piece>) -> BodySink {
        BodySink {
            tx,
            tail: BytesMut::new(),
            wanted: false,
        }
    }

    /// Body bytes arrived.
    pub(crate) fn data(&mut self, bytes: Bytes) {
        if bytes.len() >= Self::COALESCE {
            self.flush();
            self.hand_over(bytes);
            return;
        }
        self.tail.extend_from_slice(&bytes);
        if self.wanted || self.tail.len() >= Self::COALESCE {
            self.flush();
        }
    }

    /// The reader waits for data.
    pub(crate) fn want(&mut self) {
        if self.tail.is_empty() {
            self.wanted = true;
        } else {
            self.flush();
        }
    }

    /// The body is over: what is left, then `last` (its end or failure).
    pub(crate) fn finish(mut self, last: Piece) {
        self.flush();
        let _ = self.tx.send(last);
    }

    fn flush(&mut self) {
        if !self.tail.is_empty() {
            let chunk = self.tail.split().freeze();
            self.hand_over(chunk);
        }
    }

    fn hand_over(&mut self, chunk: Bytes) {
        self.wanted = false;
        let _ = self.tx.send(Piece::Chunk(chunk));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(rx: &mut mpsc::UnboundedReceiver<Piece>) -> Vec<usize> {
        std::iter::from_fn(|| match rx.try_recv() {
            Ok(Piece::Chunk(bytes)) => Some(bytes.len()),
            Ok(Piece::End) => Some(0),
            _ => None,
        })
        .collect()
    }

    #[test]
    fn tiny_chunks_coalesce_until_the_reader_waits() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut sink = BodySink::new(tx);
        for _ in 0..1000 {
            sink.data(Bytes::from_static(b"x"));
        }
        assert!(drain(&mut rx).is_empty(), "nobody asked yet");
        sink.want();
        assert_eq!(drain(&mut rx), vec![1000]);
        // Waiting already: the next byte goes at once.
        sink.want();
        sink.data(Bytes::from_static(b"y"));
        assert_eq!(drain(&mut rx), vec![1]);
        for _ in 0..(BodySink::COALESCE + 10) {
            sink.data(Bytes::from_static(b"z"));
        }
        assert_eq!(drain(&mut rx), vec![BodySink::COALESCE]);
        sink.finish(Piece::End);
        assert_eq!(drain(&mut rx), vec![10, 0]);
    }

    #[test]
    fn big_chunks_go_as_they_came_and_in_order() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut sink = BodySink::new(tx);
        sink.data(Bytes::from_static(b"abc"));
        let big = Bytes::from(vec![1u8; BodySink::COALESCE]);
        let address = big.as_ptr();
        sink.data(big);
        let first = rx.try_recv();
        assert!(matches!(first, Ok(Piece::Chunk(ref b)) if b.as_ref() == b"abc"));
        match rx.try_recv() {
            Ok(Piece::Chunk(bytes)) => assert_eq!(bytes.as_ptr(), address, "not copied"),
            other => panic!("{other:?}"),
        }
    }
}
