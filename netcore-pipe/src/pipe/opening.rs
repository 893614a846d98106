//! [`Opening`]: a message the core opened during the current pass over its
//! events, held back until the pass shows whether its whole body came with
//! it.
//!
//! Most calls, replies and notifications are one frame: the core reports
//! them as `IncomingOpened`, `IncomingData`, `IncomingFinished` in a row.
//! Such a message is handed to the application with its body already whole
//! ([`BodyStream::whole`]): no body channel, no [`BodySink`], no entry in
//! the driver's table of incoming bodies. Any other event for it, or for
//! another message, or the end of the pass, hands it over as a live stream
//! instead, with what arrived so far, so messages are delivered in the
//! order they opened either way.

use std::sync::Arc;

use bytes::Bytes;
use netcore_protocol::{Headers, Priority};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::incoming::{BodyStream, Incoming};
use super::shared::Shared;
use super::sink::BodySink;

/// A message opened in this pass, not yet handed over.
#[derive(Debug)]
pub(crate) struct Opening {
    pub(crate) id: u64,
    pub(crate) priority: Priority,
    pub(crate) headers: Headers,
    pub(crate) total_len: Option<u64>,
    /// When its opening frame was read.
    pub(crate) opened_at: Instant,
    /// The one chunk of body that came with it, if any.
    chunk: Option<Bytes>,
}

impl Opening {
    pub(crate) fn new(
        id: u64,
        priority: Priority,
        headers: Headers,
        total_len: Option<u64>,
        opened_at: Instant,
    ) -> Opening {
        Opening {
            id,
            priority,
            headers,
            total_len,
            opened_at,
            chunk: None,
        }
    }

    /// Body bytes for this message: kept if they are its first; handed
    /// back otherwise (the body comes in pieces: it goes live).
    pub(crate) fn data(&mut self, bytes: Bytes) -> Result<(), Bytes> {
        if self.chunk.is_some() {
            return Err(bytes);
        }
        self.chunk = Some(bytes);
        Ok(())
    }

    /// The body is complete: the message with its body whole. A small body
    /// is copied out of the read buffer it points into, as [`BodySink`]
    /// does, so a message held unread never pins a whole read block.
    pub(crate) fn into_whole(self, shared: Arc<Shared>) -> Incoming {
        let body = match self.chunk {
            None => Bytes::new(),
            Some(chunk) if chunk.len() < BodySink::COALESCE => Bytes::copy_from_slice(&chunk),
            Some(chunk) => chunk,
        };
        Incoming {
            id: self.id,
            headers: self.headers,
            priority: self.priority,
            total_len: self.total_len,
            opened_at: self.opened_at,
            body: BodyStream::whole(self.id, body, shared),
        }
    }

    /// The body goes on past this pass: the message with a live body
    /// stream, and the sink the driver feeds it through (holding what
    /// arrived so far).
    pub(crate) fn into_live(self, shared: Arc<Shared>) -> (Incoming, BodySink) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut sink = BodySink::new(tx);
        if let Some(chunk) = self.chunk {
            sink.data(chunk);
        }
        let incoming = Incoming {
            id: self.id,
            headers: self.headers,
            priority: self.priority,
            total_len: self.total_len,
            opened_at: self.opened_at,
            body: BodyStream::new(self.id, rx, shared),
        };
        (incoming, sink)
    }
}
