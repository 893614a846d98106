//! The sans-IO core of the **Python-compatible mode**: the same driver-facing
//! interface as the LSO v2 [`Connection`](super::Connection), speaking the
//! wire format of the Python framework netcore 0.1.3 (codec in
//! [`netcore_protocol::py013`]).
//!
//! What it does on top of the codec, following the description of the format
//! in `docs/python-013-wire-format.md` (cited below by section, "§n"):
//!
//! - **Sending** (§7): each message is a mission with a fresh 6-character
//!   extension id, unique among those in flight. Its head goes out before
//!   any chunk; heads and cancels go ahead of data, in the order queued; data
//!   goes in 4096-byte chunks (only the last one shorter, never an empty
//!   one), one chunk per mission per round, highest priority tier first.
//!   A head over 4096 bytes is refused locally ([`Py013Error::Encode`]), as
//!   is a body of unknown length ([`Py013Error::UnknownLength`]).
//!   Cancelling a message whose head is out sends a cancel packet; one whose
//!   head has not gone sends nothing.
//! - **Receiving** (§8): heads open messages, chunks fill them; chunks that
//!   come before their head are held (bounded by
//!   [`Py013Config::early_buffer`]) and replayed when it comes; cancels for
//!   unknown or finished missions are ignored; chunks of finished or dropped
//!   missions are dropped; a mission with length 0 is delivered empty; more
//!   data than announced fails that message only.
//! - **Headers ↔ info** (§6.1): each key of a mission's info object is one
//!   header whose value is the JSON text of the key's value, both ways, so
//!   `route` travels as `"echo"` (quotes included) and `is_response` as
//!   `true`. A header whose value is not JSON text is refused locally.
//! - **No handshake, no flow control, no close message.** The connection is
//!   open at once ([`Event::Connected`] names no agent). Backpressure is the transport's:
//!   reading pauses while [`Py013Config::receive_window`] delivered bytes
//!   are unread ([`Connection::wants_input`]). A graceful close ends the
//!   connection once every outgoing mission is written; end of stream from
//!   the peer is how a Python peer leaves, and fails only what was pending.
//!
//! ```
//! use bytes::Bytes;
//! use netcore_pipe::core::Event;
//! use netcore_pipe::core::py013::{Connection, Py013Config};
//! use netcore_protocol::{Headers, Priority};
//!
//! let mut a = Connection::new(Py013Config::default());
//! let mut b = Connection::new(Py013Config::default());
//! let mut headers = Headers::new();
//! headers.insert("route", "\"echo\"")?;
//! a.open_with_id(1, Priority::NORMAL, headers, Some(10_000))?;
//! a.push_body(1, Bytes::from(vec![7u8; 10_000]), true)?;
//! while let Some(transmit) = a.poll_transmit() {
//!     b.handle_input(&transmit.to_bytes());
//! }
//! let mut body = 0;
//! while let Some(event) = b.poll_event() {
//!     match event {
//!         Event::IncomingOpened { headers, .. } => assert_eq!(headers.get_str("route"), Some("\"echo\"")),
//!         Event::IncomingData { bytes, .. } => body += bytes.len(),
//!         _ => {}
//!     }
//! }
//! assert_eq!(body, 10_000);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod config;
mod error;
mod recv;
mod send;

use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use netcore_protocol::py013::{DecodeError, Decoder, Limits as Py013Limits, Packet};
use netcore_protocol::{Headers, Priority};

pub use config::Py013Config;
pub use error::Py013Error;
pub use recv::RecvStats;

use super::{ConnectionState, Core, CoreDecoder, Event, Transmit};
use crate::error::{ConnectionError, ReceiveError, SendError};
use recv::RecvSide;
use send::{SendOutcome, SendSide};

/// A connection to a Python netcore 0.1.3 peer, sans-IO. See the
/// [module docs](self).
#[derive(Debug)]
pub struct Connection {
    send: SendSide,
    recv: RecvSide,
    /// For [`Connection::handle_input`] only; the pipe decodes on its read task.
    decoder: Decoder,
    input: BytesMut,
    events: VecDeque<Event>,
    outcomes: Vec<SendOutcome>,
    state: ConnectionState,
    /// For the pipe's read-task decoder.
    limits: Py013Limits,
    /// Body bytes kept supplied ahead per mission.
    read_ahead: u64,
}

impl Connection {
    /// A connection, ready at once (the format has no handshake).
    pub fn new(config: Py013Config) -> Connection {
        let mut events = VecDeque::new();
        // No handshake: the peer is as known as it will ever be.
        events.push_back(Event::Connected { agent: None });
        let limits = config.limits;
        let chunk_len = config.sendable_chunk_len();
        Connection {
            decoder: Decoder::new(limits),
            send: SendSide::new(chunk_len),
            read_ahead: READ_AHEAD.max(2 * chunk_len as u64),
            recv: RecvSide::new(config),
            input: BytesMut::new(),
            events,
            outcomes: Vec::new(),
            state: ConnectionState::Open,
            limits,
        }
    }

    /// Whether the connection is over.
    pub fn is_closed(&self) -> bool {
        self.state == ConnectionState::Closed
    }

    /// Where the connection is in its life: `Open` from the start (no
    /// handshake), `Closing` once a close was asked for, then `Closed`.
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// Counters of the receiving side.
    pub fn recv_stats(&self) -> RecvStats {
        self.recv.stats
    }

    /// Outgoing missions in flight.
    pub fn outgoing_messages(&self) -> usize {
        self.send.len()
    }

    /// Incoming missions arriving.
    pub fn incoming_messages(&self) -> usize {
        self.recv.len()
    }

    /// Whether the driver should read more input: false while the
    /// application has a receive window's worth of delivered bytes unread.
    pub fn wants_input(&self) -> bool {
        !self.is_closed() && self.recv.wants_input()
    }

    // ----- sending ---------------------------------------------------------

    /// Starts outgoing message `id` of `len` body bytes; its head (with the
    /// headers as info) is queued at once.
    pub fn open_with_id(
        &mut self,
        id: u64,
        priority: Priority,
        headers: Headers,
        len: Option<u64>,
    ) -> Result<(), SendError> {
        if !self.state.accepts_messages() {
            return Err(ConnectionError::Closed.into());
        }
        self.send.open(id, priority, &headers, len)
    }

    /// Supplies body bytes of outgoing message `id`; `finish` on the last.
    /// A body longer or shorter than announced fails the message.
    pub fn push_body(&mut self, id: u64, chunk: Bytes, finish: bool) -> Result<(), SendError> {
        let result = self.send.push(id, chunk, finish);
        if let Err(error) = &result
            && self.send.cancel(id)
        {
            self.events.push_back(Event::OutgoingFailed {
                id,
                error: error.clone(),
            });
            self.check_closing();
        }
        result
    }

    /// Body bytes of `id` supplied and not yet framed; `None` once it is done.
    pub fn buffered(&self, id: u64) -> Option<u64> {
        self.send.buffered(id)
    }

    /// Abandons outgoing message `id` (a cancel goes out if the peer has its
    /// head). Returns whether it was in flight.
    pub fn cancel_outgoing(&mut self, id: u64) -> bool {
        let cancelled = self.send.cancel(id);
        self.check_closing();
        cancelled
    }

    /// The next packet to write.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let transmit = self.send.poll_transmit(&mut self.outcomes);
        for outcome in self.outcomes.drain(..) {
            self.events.push_back(match outcome {
                SendOutcome::Framed(id) => Event::OutgoingFramed { id },
                SendOutcome::Failed(id, error) => Event::OutgoingFailed { id, error },
            });
        }
        self.check_closing();
        transmit
    }

    // ----- receiving -------------------------------------------------------

    /// The application read `n` body bytes of incoming message `id`.
    pub fn consumed(&mut self, id: u64, n: u64) {
        self.recv.consumed(id, n);
    }

    /// The application dropped incoming message `id`; the rest of it is
    /// dropped as it arrives. Returns whether it was known.
    pub fn cancel_incoming(&mut self, id: u64) -> bool {
        let known = self.recv.cancel(id);
        self.check_closing();
        known
    }

    /// Handles one decoded packet.
    pub fn handle_packet(&mut self, packet: Packet) {
        if self.is_closed() {
            return;
        }
        match packet {
            Packet::Head(head) => self.recv.on_head(head, &mut self.events),
            Packet::Data(data) => self.recv.on_data(data, &mut self.events),
            Packet::Cancel(cancel) => self.recv.on_cancel(&cancel.extension, &mut self.events),
        }
        self.check_closing();
    }

    /// Bytes arrived: decodes and handles every complete packet (the pipe
    /// decodes on its read task and calls [`Connection::handle_packet`]).
    pub fn handle_input(&mut self, bytes: &[u8]) {
        self.input.extend_from_slice(bytes);
        loop {
            match self.decoder.decode(&mut self.input) {
                Ok(Some(packet)) => self.handle_packet(packet),
                Ok(None) => return,
                Err(error) => {
                    self.abort(ConnectionError::Py013(Py013Error::Decode(error)));
                    return;
                }
            }
        }
    }

    /// The peer closed the link: how a Python peer leaves. Only what was
    /// still pending fails.
    pub fn handle_eof(&mut self) {
        if !self.input.is_empty()
            && let Err(error) = self.decoder.decode_eof(&mut self.input)
        {
            self.abort(ConnectionError::Py013(Py013Error::Decode(error)));
            return;
        }
        let pending = self.send.len() + self.recv.len();
        // With nothing pending it is how a Python peer leaves: graceful, the
        // peer's doing; with something pending it is a failure.
        self.end(
            (pending > 0).then_some(ConnectionError::PeerClosed),
            pending == 0,
        );
    }

    /// Reading or writing failed.
    pub fn handle_transport_error(&mut self, error: ConnectionError) {
        self.end(Some(error), false);
    }

    /// Ends the connection at once with `error`.
    pub fn abort(&mut self, error: ConnectionError) {
        self.end(Some(error), false);
    }

    /// Closes gracefully: no new messages; the connection ends once every
    /// outgoing mission is written and every incoming one that had started
    /// has arrived (replies on their way included).
    pub fn close(&mut self) {
        if self.state == ConnectionState::Open {
            self.state = ConnectionState::Closing;
        }
        self.check_closing();
    }

    /// What to tell the application next.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn check_closing(&mut self) {
        if self.state == ConnectionState::Closing && self.send.is_idle() && self.recv.len() == 0 {
            self.end(None, false);
        }
    }

    /// Fails everything pending and reports the end; `by_peer` when the
    /// peer ended it (its end of stream).
    fn end(&mut self, error: Option<ConnectionError>, by_peer: bool) {
        if self.is_closed() {
            return;
        }
        self.state = ConnectionState::Closed;
        let failure = error.clone().unwrap_or(if by_peer {
            ConnectionError::PeerClosed
        } else {
            ConnectionError::Closed
        });
        for id in self.send.drain() {
            self.events.push_back(Event::OutgoingFailed {
                id,
                error: SendError::Connection(failure.clone()),
            });
        }
        for id in self.recv.drain() {
            self.events.push_back(Event::IncomingFailed {
                id,
                error: ReceiveError::Connection(failure.clone()),
            });
        }
        self.events.push_back(Event::Closed { error, by_peer });
    }
}

/// Body bytes kept supplied ahead per mission, at least: 32 of Python's
/// 4096-byte chunks, and always two chunks (a chunk goes out only once it is
/// whole, or the body's rest).
const READ_AHEAD: u64 = 32 * netcore_protocol::py013::CHUNK_LEN as u64;

/// The Python 0.1.3 decoder on the pipe's read task.
impl CoreDecoder for Decoder {
    type Item = Packet;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Packet>, ConnectionError> {
        Decoder::decode(self, buf)
            .map_err(|error| ConnectionError::Py013(Py013Error::Decode(error)))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Packet>, ConnectionError> {
        Decoder::decode_eof(self, buf).map_err(|error| match error {
            // Cut mid-packet: the link died, the peer broke nothing.
            DecodeError::Truncated { buffered } => ConnectionError::LinkLost { buffered },
            error => ConnectionError::Py013(Py013Error::Decode(error)),
        })
    }
}

impl Core for Connection {
    type Decoder = Decoder;

    fn decoder(&self) -> Decoder {
        Decoder::new(self.limits)
    }

    fn state(&self) -> ConnectionState {
        self.state
    }

    fn wants_input(&self) -> bool {
        Connection::wants_input(self)
    }

    fn read_ahead(&self) -> u64 {
        self.read_ahead
    }

    fn handle_item(&mut self, packet: Packet, _now: Instant) {
        tracing::trace!(
            kind = %packet.kind(),
            extension = packet.extension(),
            "packet read"
        );
        self.handle_packet(packet);
    }

    fn handle_eof(&mut self, _now: Instant) {
        Connection::handle_eof(self);
    }

    fn handle_transport_error(&mut self, error: ConnectionError) {
        Connection::handle_transport_error(self, error);
    }

    fn abort(&mut self, error: ConnectionError) {
        Connection::abort(self, error);
    }

    fn close(&mut self) {
        Connection::close(self);
    }

    fn open_with_id(
        &mut self,
        id: u64,
        priority: Priority,
        headers: Headers,
        total_len: Option<u64>,
    ) -> Result<(), SendError> {
        Connection::open_with_id(self, id, priority, headers, total_len)
    }

    fn push_body(&mut self, id: u64, chunk: Bytes, finish: bool) -> Result<(), SendError> {
        Connection::push_body(self, id, chunk, finish)
    }

    fn buffered(&self, id: u64) -> Option<u64> {
        Connection::buffered(self, id)
    }

    fn cancel_outgoing(&mut self, id: u64) -> bool {
        Connection::cancel_outgoing(self, id)
    }

    fn consumed(&mut self, id: u64, n: u64, _now: Instant) {
        Connection::consumed(self, id, n);
    }

    fn cancel_incoming(&mut self, id: u64, _now: Instant) -> bool {
        Connection::cancel_incoming(self, id)
    }

    fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
        Connection::poll_transmit(self)
    }

    fn poll_event(&mut self) -> Option<Event> {
        Connection::poll_event(self)
    }
}

#[cfg(test)]
mod tests;
