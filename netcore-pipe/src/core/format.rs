//! What a wire format implements: a [`Core`] (the connection state machine)
//! and its [`CoreDecoder`] (bytes to the units the core handles).
//!
//! The async [`Pipe`](crate::Pipe) driver is generic over [`Core`]: it never
//! asks which format it runs. LSO v2 ([`Connection`](super::Connection)) and
//! Python netcore 0.1.3 ([`py013::Connection`](super::py013::Connection)) are
//! the two implementations; a third is one new module and
//! [`Pipe::with_core`](crate::Pipe::with_core):
//!
//! ```
//! use std::time::Instant;
//! use bytes::{Bytes, BytesMut};
//! use netcore_pipe::core::{ConnectionState, Core, CoreDecoder, Event, Transmit};
//! use netcore_pipe::protocol::{Headers, Priority};
//! use netcore_pipe::{ConnectionError, PipeConfig, Pipe, SendError, transport::memory_pair};
//!
//! /// A toy format: each message is one line, sent whole; no headers.
//! #[derive(Debug, Default)]
//! struct Lines { out: std::collections::VecDeque<Transmit>, events: std::collections::VecDeque<Event>, next_in: u64, closed: bool }
//! struct LineDecoder;
//!
//! impl CoreDecoder for LineDecoder {
//!     type Item = Bytes;
//!     fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, ConnectionError> {
//!         Ok(buf.iter().position(|b| *b == b'\n').map(|at| buf.split_to(at + 1).freeze().slice(..at)))
//!     }
//! }
//!
//! impl Core for Lines {
//!     type Decoder = LineDecoder;
//!     fn decoder(&self) -> LineDecoder { LineDecoder }
//!     fn state(&self) -> ConnectionState { if self.closed { ConnectionState::Closed } else { ConnectionState::Open } }
//!     fn handle_item(&mut self, line: Bytes, _now: Instant) {
//!         self.next_in += 1;
//!         let id = self.next_in;
//!         self.events.push_back(Event::IncomingOpened { id, priority: Priority::NORMAL, headers: Headers::new(), total_len: Some(line.len() as u64) });
//!         self.events.push_back(Event::IncomingData { id, bytes: line });
//!         self.events.push_back(Event::IncomingFinished { id });
//!     }
//!     fn handle_eof(&mut self, _now: Instant) { self.end(None) }
//!     fn handle_transport_error(&mut self, error: ConnectionError) { self.end(Some(error)) }
//!     fn abort(&mut self, error: ConnectionError) { self.end(Some(error)) }
//!     fn close(&mut self) { self.end(None) }
//!     fn open_with_id(&mut self, _id: u64, _p: Priority, _h: Headers, _len: Option<u64>) -> Result<(), SendError> { Ok(()) }
//!     fn push_body(&mut self, id: u64, chunk: Bytes, _finish: bool) -> Result<(), SendError> {
//!         let line = [&chunk[..], b"\n"].concat();
//!         self.out.push_back(Transmit::from_parts(Bytes::from(line), Bytes::new(), Some(id), chunk.len(), true));
//!         Ok(())
//!     }
//!     fn buffered(&self, _id: u64) -> Option<u64> { None }
//!     fn cancel_outgoing(&mut self, _id: u64) -> bool { false }
//!     fn consumed(&mut self, _id: u64, _n: u64, _now: Instant) {}
//!     fn cancel_incoming(&mut self, _id: u64, _now: Instant) -> bool { false }
//!     fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> { self.out.pop_front() }
//!     fn poll_event(&mut self) -> Option<Event> { self.events.pop_front() }
//! }
//!
//! impl Lines {
//!     fn end(&mut self, error: Option<ConnectionError>) {
//!         if !self.closed { self.closed = true; self.events.push_back(Event::Closed { error, by_peer: false }); }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (a, b) = memory_pair(1024);
//! let left = Pipe::with_core(a, PipeConfig::default(), Lines::default());
//! let right = Pipe::with_core(b, PipeConfig::default(), Lines::default());
//! left.send(netcore_pipe::Message::new("one line"))?.await?;
//! assert_eq!(right.recv().await?.body.to_bytes().await?, "one line");
//! # Ok(())
//! # }
//! ```

use std::fmt::Debug;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use netcore_protocol::{Headers, Priority};

use super::{ConnectionState, Event, FlowStats, Transmit};
use crate::error::{ConnectionError, SendError};

/// Damage a resynchronising decoder has seen so far (both zero for formats
/// that cannot resynchronise).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkDamage {
    /// Times the decoder lost and found the frame boundary again.
    pub resyncs: u64,
    /// Bytes it skipped doing so.
    pub skipped_bytes: u64,
}

/// The read side of a wire format: turns the bytes read from the transport
/// into the units its [`Core`] handles. It runs on the pipe's read task, so
/// integrity checks run beside the rest of the connection.
pub trait CoreDecoder: Send + 'static {
    /// One decoded unit: a frame, a packet, a damage report.
    type Item: Send + Debug + 'static;

    /// The next unit at the front of `buf`, removing its bytes; `Ok(None)`
    /// when more bytes are needed. An error means the peer broke the format
    /// and the connection must end (the driver passes it to
    /// [`Core::abort`]).
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, ConnectionError>;

    /// Like [`decode`](CoreDecoder::decode) once the peer has closed the
    /// link: what is left in `buf` will never be completed. By default a
    /// partial unit left over is simply dropped.
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Self::Item>, ConnectionError> {
        self.decode(buf)
    }

    /// Whether `item` is a whole frame (counted in
    /// [`PipeStats::frames_received`](crate::PipeStats::frames_received))
    /// rather than a damage report.
    fn is_frame(_item: &Self::Item) -> bool {
        true
    }

    /// Damage seen so far.
    fn damage(&self) -> LinkDamage {
        LinkDamage::default()
    }

    /// Body bytes `item` carries as a slice of the read buffer (those that
    /// may outlive it, handed to the application).
    fn body_len(_item: &Self::Item) -> usize {
        0
    }

    /// Replaces the body bytes `item` carries by a copy of their own, so
    /// they no longer keep the read buffer alive.
    fn detach_body(_item: &mut Self::Item) {}
}

/// The sans-IO connection state machine of one wire format.
///
/// It is fed what happened — a decoded unit arrived
/// ([`handle_item`](Core::handle_item)), the link ended, time passed — and
/// asked what to do: the next bytes to write
/// ([`poll_transmit`](Core::poll_transmit)), what to tell the application
/// ([`poll_event`](Core::poll_event)) and when to wake it
/// ([`poll_timeout`](Core::poll_timeout)). It owns no I/O and no clock.
///
/// # Poll order
///
/// The driver, each time it wakes: hands over every command and decoded
/// unit waiting (the latter only while [`wants_input`](Core::wants_input)),
/// supplies body bytes up to [`read_ahead`](Core::read_ahead) per message,
/// drains [`poll_event`](Core::poll_event), then fills a write batch from
/// [`poll_transmit`](Core::poll_transmit); it sleeps until I/O, a command or
/// [`poll_timeout`](Core::poll_timeout), which it reports with
/// [`handle_timeout`](Core::handle_timeout).
///
/// # Contract
///
/// - Message ids of outgoing messages are chosen by the driver
///   ([`open_with_id`](Core::open_with_id)): ≥ 1, increasing, never reused.
/// - Every outgoing message ends with exactly one
///   [`Event::OutgoingFramed`] or [`Event::OutgoingFailed`] (unless the
///   driver cancelled it), every announced incoming message with
///   [`Event::IncomingFinished`] or [`Event::IncomingFailed`].
/// - [`Event::Closed`] comes once, last; after it
///   [`state`](Core::state) is [`ConnectionState::Closed`] and
///   `poll_transmit` returns only what was already queued (a GOAWAY).
pub trait Core: Send + Debug + 'static {
    /// The decoder of this format's byte stream.
    type Decoder: CoreDecoder;

    /// A decoder for the read task (called once, when the pipe starts).
    fn decoder(&self) -> Self::Decoder;

    /// Where the connection is in its life.
    fn state(&self) -> ConnectionState;

    /// Whether the connection is over ([`Event::Closed`] was emitted).
    fn is_closed(&self) -> bool {
        self.state() == ConnectionState::Closed
    }

    /// Whether the driver should read more input now (`false` pauses
    /// reading: backpressure through the transport, for formats without
    /// flow control).
    fn wants_input(&self) -> bool {
        true
    }

    /// Body bytes the driver should keep supplied ahead of framing, per
    /// outgoing message with a streamed body.
    fn read_ahead(&self) -> u64 {
        128 << 10
    }

    /// The smoothed round-trip time, if the format measures it.
    fn rtt(&self) -> Option<Duration> {
        None
    }

    /// Flow control right now, if the format has any.
    fn flow(&self) -> FlowStats {
        FlowStats::default()
    }

    /// One decoded unit from the peer.
    fn handle_item(&mut self, item: <Self::Decoder as CoreDecoder>::Item, now: Instant);

    /// The peer closed the link (end of stream).
    fn handle_eof(&mut self, now: Instant);

    /// Reading from or writing to the transport failed.
    fn handle_transport_error(&mut self, error: ConnectionError);

    /// Time passed (called at or after [`poll_timeout`](Core::poll_timeout)).
    fn handle_timeout(&mut self, _now: Instant) {}

    /// When [`handle_timeout`](Core::handle_timeout) should next be called.
    fn poll_timeout(&self) -> Option<Instant> {
        None
    }

    /// Ends the connection at once: everything pending fails with `error`;
    /// the peer is told why if the format can say it.
    fn abort(&mut self, error: ConnectionError);

    /// Starts a graceful close: no new messages; those accepted finish.
    fn close(&mut self);

    /// Starts outgoing message `id`; its body follows through
    /// [`push_body`](Core::push_body).
    ///
    /// # Errors
    ///
    /// Why the message cannot be sent (the connection is closing, the peer
    /// refuses it, the headers or the length break a limit).
    fn open_with_id(
        &mut self,
        id: u64,
        priority: Priority,
        headers: Headers,
        total_len: Option<u64>,
    ) -> Result<(), SendError>;

    /// Body bytes of outgoing message `id`; `finish` says no more will come.
    ///
    /// # Errors
    ///
    /// The message is gone, or the body breaks its announced length (the
    /// message then fails).
    fn push_body(&mut self, id: u64, chunk: Bytes, finish: bool) -> Result<(), SendError>;

    /// Body bytes of `id` supplied and not yet framed; `None` once the
    /// message is fully framed or gone.
    fn buffered(&self, id: u64) -> Option<u64>;

    /// Abandons outgoing message `id`. Returns whether it was pending.
    fn cancel_outgoing(&mut self, id: u64) -> bool;

    /// The application consumed `n` body bytes of incoming message `id`.
    fn consumed(&mut self, id: u64, n: u64, now: Instant);

    /// The application will not read incoming message `id` any further.
    /// Returns whether it was known.
    fn cancel_incoming(&mut self, id: u64, now: Instant) -> bool;

    /// The next bytes to write, if any.
    fn poll_transmit(&mut self, now: Instant) -> Option<Transmit>;

    /// The next thing to tell the application.
    fn poll_event(&mut self) -> Option<Event>;
}
