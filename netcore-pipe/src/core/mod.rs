//! The sans-IO connection core: the whole pipe state machine, with no I/O and
//! no clock of its own.
//!
//! A [`Connection`] is fed what happened — bytes or decoded frames arrived
//! ([`Connection::handle_input`], [`Connection::handle_decoded`]), the link
//! ended ([`Connection::handle_eof`]), time passed
//! ([`Connection::handle_timeout`]) — and asked what to do: the next frame to
//! write ([`Connection::poll_transmit`]), what to tell the application
//! ([`Connection::poll_event`]) and when to wake it next
//! ([`Connection::poll_timeout`]). The async [`Pipe`](crate::Pipe) is a thin
//! driver around it, the way `quinn` drives `quinn-proto`.
//!
//! Inside: a control lane (HELLO, PONG, CREDIT, CANCEL, GOAWAY, PING) always
//! goes before data; data is scheduled by strict priority tiers and deficit
//! round robin by bytes inside a tier; reassembly hands out body chunks in
//! order and grants flow-control credit as the application consumes them.
//!
//! ```
//! use std::time::Instant;
//! use bytes::Bytes;
//! use netcore_pipe::core::{Connection, CoreConfig, Event};
//! use netcore_protocol::{Headers, Priority};
//!
//! let now = Instant::now();
//! let mut a = Connection::new(CoreConfig::default(), now);
//! let mut b = Connection::new(CoreConfig::default(), now);
//! let id = a.open(Priority::NORMAL, Headers::new(), Some(5)).expect("open");
//! a.push_body(id, Bytes::from_static(b"hello"), true).expect("body");
//!
//! // Move bytes both ways until nothing is left to say.
//! for _ in 0..4 {
//!     while let Some(t) = a.poll_transmit(now) { b.handle_input(&t.to_bytes(), now); }
//!     while let Some(t) = b.poll_transmit(now) { a.handle_input(&t.to_bytes(), now); }
//! }
//! let mut body = Vec::new();
//! while let Some(event) = b.poll_event() {
//!     if let Event::IncomingData { bytes, .. } = event { body.extend_from_slice(&bytes); }
//! }
//! assert_eq!(body, b"hello");
//! ```

mod config;
mod event;
mod flow;
mod keepalive;
pub mod py013;
mod send;

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use netcore_protocol::{
    Cancel, Credit, Damage, DecodeMode, Decoded, Decoder, EncodedFrame, Encoder, ErrorCode, Frame,
    FrameKind, GoAway, Headers, Hello, Inbound, InboundTracker, Ping, Pong, Priority,
};

pub use config::CoreConfig;
pub use event::Event;

use crate::error::PipeError;
use flow::RecvWindow;
use keepalive::Keepalive;
use send::{Budget, SendSide};

/// A HELLO `connection_window` of `u32::MAX` means "no connection-level flow
/// control" (used on lossy links, where lost bytes would make it drift).
const UNLIMITED_WINDOW: u32 = u32::MAX;

/// One frame to write, as chosen by [`Connection::poll_transmit`].
#[derive(Debug)]
pub struct Transmit {
    /// The encoded frame (a `Buf` of header, body and CRC; the body is not copied).
    pub frame: EncodedFrame,
    /// The outgoing message the frame belongs to, if it is a message frame.
    pub message_id: Option<u64>,
    /// Body bytes of that message in this frame.
    pub body_len: usize,
    /// This frame completes that message.
    pub last: bool,
}

impl Transmit {
    /// The frame's bytes in one buffer (a copy; for tests and small frames).
    pub fn to_bytes(&self) -> Bytes {
        self.frame.to_bytes()
    }
}

/// Counters of a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CoreStats {
    /// Frames handed out by `poll_transmit`.
    pub frames_sent: u64,
    /// Bytes of those frames.
    pub bytes_sent: u64,
    /// Frames accepted from the peer.
    pub frames_received: u64,
    /// Outgoing messages framed completely.
    pub messages_sent: u64,
    /// Incoming messages completed.
    pub messages_received: u64,
    /// Messages cancelled, by either side.
    pub cancels: u64,
    /// Damage reports from the resync decoder.
    pub damage_reports: u64,
}

#[derive(Debug)]
struct IncomingState {
    window: RecvWindow,
    total_len: Option<u64>,
    complete: bool,
}

/// The sans-IO state machine of one pipe connection. See the [module
/// docs](self).
#[derive(Debug)]
pub struct Connection {
    config: CoreConfig,
    encoder: Encoder,
    /// Decoder for [`Connection::handle_input`] (drivers may decode elsewhere).
    decoder: Decoder,
    input: BytesMut,
    control: VecDeque<Frame>,
    send: SendSide,
    /// Our HELLO, kept to repeat it on lossy links.
    hello: Hello,
    /// The peer's HELLO, once received.
    peer: Option<Hello>,
    /// A frame other than HELLO came from the peer, so it has our HELLO (it
    /// sends nothing else before it has).
    peer_has_hello: bool,
    /// Connection-level send limit granted by the peer (`None`: unlimited).
    send_limit: Option<u64>,
    /// Body bytes sent on all messages.
    send_total: u64,
    tracker: InboundTracker,
    incoming: HashMap<u64, IncomingState>,
    /// Connection-level receive window (`None` in resync mode).
    recv_window: Option<RecvWindow>,
    highest_incoming: u64,
    keepalive: Keepalive,
    events: VecDeque<Event>,
    /// A graceful close was asked for: GOAWAY goes out once our own
    /// messages are all framed (GOAWAY promises no more OPENs).
    closing: Option<(ErrorCode, String)>,
    goaway_sent: bool,
    peer_goaway: bool,
    closed: bool,
    stats: CoreStats,
    /// The latest time the core was told about.
    now: Instant,
}

impl Connection {
    /// A new connection; its HELLO is the first frame `poll_transmit` returns.
    pub fn new(config: CoreConfig, now: Instant) -> Connection {
        let resync = config.decode_mode == DecodeMode::Resync;
        let connection_window = if resync {
            UNLIMITED_WINDOW
        } else {
            config.connection_window.min(UNLIMITED_WINDOW - 1)
        };
        let mut hello = Hello::new(config.limits);
        hello.message_window = config.message_window;
        hello.connection_window = connection_window;
        if hello.headers.insert("agent", config.agent.clone()).is_err() {
            tracing::debug!("agent string too long for a header; sent without it");
        }
        let mut control = VecDeque::new();
        control.push_back(Frame::Hello(hello.clone()));
        Connection {
            encoder: Encoder::default(),
            decoder: Decoder::with_mode(config.limits, config.decode_mode),
            input: BytesMut::new(),
            control,
            send: SendSide::default(),
            hello,
            peer: None,
            peer_has_hello: false,
            send_limit: Some(0),
            send_total: 0,
            tracker: InboundTracker::new(config.limits),
            incoming: HashMap::new(),
            recv_window: (!resync).then(|| RecvWindow::new(connection_window.into())),
            highest_incoming: 0,
            keepalive: Keepalive::new(config.keepalive, config.idle_timeout, now),
            events: VecDeque::new(),
            closing: None,
            goaway_sent: false,
            peer_goaway: false,
            closed: false,
            stats: CoreStats::default(),
            now,
            config,
        }
    }

    /// The settings.
    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    /// The peer's HELLO, once it arrived.
    pub fn peer_hello(&self) -> Option<&Hello> {
        self.peer.as_ref()
    }

    /// Counters so far.
    pub fn stats(&self) -> CoreStats {
        self.stats
    }

    /// The smoothed round-trip time, once measured.
    pub fn rtt(&self) -> Option<std::time::Duration> {
        self.keepalive.rtt()
    }

    /// Whether the connection is over ([`Event::Closed`] was emitted).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    // ----- sending ---------------------------------------------------------

    /// Starts an outgoing message; returns its id. Its body is supplied with
    /// [`Connection::push_body`] (all at once or in pieces).
    pub fn open(
        &mut self,
        priority: Priority,
        headers: Headers,
        total_len: Option<u64>,
    ) -> Result<u64, PipeError> {
        self.open_with_id(self.send.next_id(), priority, headers, total_len)
    }

    /// Like [`Connection::open`], with an id chosen by the caller (a driver
    /// that hands out ids before the core sees the message). The id must be
    /// ≥ 1 and not used by a pending message; ids should increase.
    pub fn open_with_id(
        &mut self,
        id: u64,
        priority: Priority,
        headers: Headers,
        total_len: Option<u64>,
    ) -> Result<u64, PipeError> {
        if id == 0 || self.send.messages.contains_key(&id) {
            return Err(PipeError::Encode(
                netcore_protocol::EncodeError::BadMessageId {
                    kind: FrameKind::Open,
                    message_id: id,
                },
            ));
        }
        if self.closed || self.goaway_sent || self.closing.is_some() {
            return Err(PipeError::Closed);
        }
        if self.peer_goaway {
            return Err(PipeError::Refused(0));
        }
        if let Some(peer) = &self.peer {
            let max_block = usize::from(peer.limits.max_header_bytes);
            if headers.encoded_len() > max_block {
                return Err(PipeError::Encode(
                    netcore_protocol::EncodeError::HeaderBlockTooLarge {
                        len: headers.encoded_len(),
                        max: max_block,
                    },
                ));
            }
            if let Some(len) = total_len
                && len > peer.limits.max_message_size
            {
                return Err(PipeError::Encode(
                    netcore_protocol::EncodeError::MessageTooLarge {
                        len,
                        max: peer.limits.max_message_size,
                    },
                ));
            }
        }
        let initial = self
            .peer
            .as_ref()
            .map_or(0, |p| u64::from(p.message_window));
        Ok(self.send.open(id, priority, headers, total_len, initial))
    }

    /// Supplies body bytes for outgoing message `id`; `finish` says no more
    /// will come. A message of announced length finishes by itself when its
    /// last byte is supplied.
    pub fn push_body(&mut self, id: u64, chunk: Bytes, finish: bool) -> Result<(), PipeError> {
        let result = self.send.push(id, chunk, finish);
        if let Err(error) = &result
            && !matches!(error, PipeError::Closed)
        {
            self.fail_outgoing(id, error.clone(), ErrorCode::INTERNAL);
        }
        result
    }

    /// Body bytes supplied for outgoing message `id` and not yet framed
    /// (`None` once the message is fully framed or gone). Drivers use it to
    /// read ahead from a file or stream by a bounded amount.
    pub fn buffered(&self, id: u64) -> Option<u64> {
        self.send.buffered(id)
    }

    /// Outgoing messages not yet completely framed.
    pub fn outgoing_messages(&self) -> usize {
        self.send.messages.len()
    }

    /// Abandons outgoing message `id`: no more of it is framed and, if the
    /// peer had seen it, it gets a CANCEL. Returns whether it was pending.
    pub fn cancel_outgoing(&mut self, id: u64) -> bool {
        let Some(message) = self.send.remove(id) else {
            return false;
        };
        self.stats.cancels += 1;
        self.check_graceful_end();
        if message.opened() {
            self.control.push_back(Frame::Cancel(Cancel {
                message_id: id,
                by_receiver: false,
                code: ErrorCode::CANCELLED,
                reason: String::new(),
            }));
        }
        true
    }

    fn fail_outgoing(&mut self, id: u64, error: PipeError, code: ErrorCode) {
        if let Some(message) = self.send.remove(id) {
            if message.opened() {
                self.control.push_back(Frame::Cancel(Cancel {
                    message_id: id,
                    by_receiver: false,
                    code,
                    reason: error.to_string(),
                }));
            }
            self.events.push_back(Event::OutgoingFailed { id, error });
            self.check_graceful_end();
        }
    }

    // ----- receiving -------------------------------------------------------

    /// The application consumed `n` body bytes of incoming message `id`:
    /// flow-control credit goes back to the peer.
    pub fn consumed(&mut self, id: u64, n: u64, now: Instant) {
        let rtt = self.keepalive.rtt();
        let max_window = self.config.max_window;
        let Some(state) = self.incoming.get_mut(&id) else {
            return;
        };
        let n = n.min(state.window.unconsumed());
        let raised = state
            .window
            .consume(n, now, rtt, max_window, state.total_len);
        let complete = state.complete;
        if complete && state.window.unconsumed() == 0 {
            self.incoming.remove(&id);
        } else if let Some(limit) = raised.filter(|_| !complete) {
            self.control.push_back(Frame::Credit(Credit {
                message_id: id,
                limit,
            }));
        }
        self.consume_connection(n, now);
    }

    fn consume_connection(&mut self, n: u64, now: Instant) {
        let rtt = self.keepalive.rtt();
        let max_window = self.config.max_window;
        if let Some(window) = &mut self.recv_window
            && let Some(limit) = window.consume(n, now, rtt, max_window, None)
        {
            self.control.push_back(Frame::Credit(Credit {
                message_id: 0,
                limit,
            }));
        }
    }

    /// The application will not read incoming message `id` any further: if
    /// it is still arriving the peer gets a CANCEL; its unread bytes are
    /// released. Returns whether the message was known.
    pub fn cancel_incoming(&mut self, id: u64, now: Instant) -> bool {
        let Some(state) = self.incoming.remove(&id) else {
            return false;
        };
        if !state.complete {
            self.tracker.cancel(id);
            self.stats.cancels += 1;
            self.control.push_back(Frame::Cancel(Cancel {
                message_id: id,
                by_receiver: true,
                code: ErrorCode::CANCELLED,
                reason: String::new(),
            }));
        }
        self.consume_connection(state.window.unconsumed(), now);
        self.check_graceful_end();
        true
    }

    /// Incoming messages open or not yet fully consumed.
    pub fn incoming_messages(&self) -> usize {
        self.incoming.len()
    }

    /// Bytes arrived from the transport: decodes and handles every complete
    /// frame (the driver may instead decode elsewhere and call
    /// [`Connection::handle_decoded`]).
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.input.extend_from_slice(bytes);
        loop {
            match self.decoder.decode(&mut self.input) {
                Ok(Some(item)) => self.handle_decoded(item, now),
                Ok(None) => break,
                Err(error) => {
                    self.abort(PipeError::Decode(error));
                    break;
                }
            }
            if self.closed {
                break;
            }
        }
    }

    /// The peer closed the link (end of stream).
    pub fn handle_eof(&mut self, now: Instant) {
        if self.config.decode_mode == DecodeMode::Resync {
            while let Ok(Some(item)) = self.decoder.decode_eof(&mut self.input) {
                self.handle_decoded(item, now);
            }
        }
        if self.closed {
            return;
        }
        let graceful =
            self.peer_goaway && self.send.messages.is_empty() && self.tracker.open_messages() == 0;
        if graceful {
            self.finish(None);
        } else {
            self.fail_everything(PipeError::PeerClosed);
            self.finish(Some(PipeError::PeerClosed));
        }
    }

    /// The transport failed.
    pub fn handle_transport_error(&mut self, error: PipeError) {
        if self.closed {
            return;
        }
        self.fail_everything(error.clone());
        self.finish(Some(error));
    }

    /// A decoded item from the peer.
    pub fn handle_decoded(&mut self, item: Decoded, now: Instant) {
        self.now = self.now.max(now);
        if self.closed {
            return;
        }
        match item {
            Decoded::Frame(frame) => {
                self.keepalive.on_received(now);
                self.stats.frames_received += 1;
                if let Err(error) = self.handle_frame(frame, now) {
                    self.abort(error);
                }
            }
            Decoded::Damaged(damage) => self.handle_damage(damage),
        }
    }

    fn handle_frame(&mut self, frame: Frame, now: Instant) -> Result<(), PipeError> {
        let lossy = self.config.decode_mode == DecodeMode::Resync;
        if !matches!(frame, Frame::Hello(_)) {
            self.peer_has_hello = true;
        }
        if self.peer.is_none() {
            return match frame {
                Frame::Hello(hello) => self.handle_hello(hello),
                // On a lossy link the peer's HELLO may have been lost; it is
                // repeated, so wait for it.
                _ if lossy => Ok(()),
                _ => Err(PipeError::NoHello { kind: frame.kind() }),
            };
        }
        match frame {
            // A repeated HELLO (lossy links repeat it until answered).
            Frame::Hello(_) if lossy => Ok(()),
            Frame::Hello(_) => Err(PipeError::DuplicateHello),
            Frame::Open(_) | Frame::Data(_) | Frame::End(_) => {
                self.handle_message_frame(frame)?;
                self.check_graceful_end();
                Ok(())
            }
            Frame::Cancel(cancel) if cancel.by_receiver => {
                // The peer no longer wants one of our messages.
                if self.send.remove(cancel.message_id).is_some() {
                    self.stats.cancels += 1;
                    self.check_graceful_end();
                    self.events.push_back(Event::OutgoingFailed {
                        id: cancel.message_id,
                        error: PipeError::CancelledByPeer {
                            code: cancel.code,
                            reason: cancel.reason,
                        },
                    });
                }
                Ok(())
            }
            Frame::Cancel(cancel) => {
                let id = cancel.message_id;
                if let Ok(Inbound::Cancelled { .. }) =
                    self.tracker.on_frame(&Frame::Cancel(cancel.clone()))
                {
                    self.stats.cancels += 1;
                    self.drop_incoming(id, now);
                    self.check_graceful_end();
                    self.events.push_back(Event::IncomingFailed {
                        id,
                        error: PipeError::CancelledByPeer {
                            code: cancel.code,
                            reason: cancel.reason,
                        },
                    });
                }
                Ok(())
            }
            Frame::Credit(credit) => {
                if credit.message_id == 0 {
                    if let Some(limit) = &mut self.send_limit {
                        *limit = (*limit).max(credit.limit);
                    }
                } else {
                    self.send.raise_limit(credit.message_id, credit.limit);
                }
                Ok(())
            }
            Frame::Ping(Ping { opaque }) => {
                self.control.push_back(Frame::Pong(Pong { opaque }));
                Ok(())
            }
            Frame::Pong(Pong { opaque }) => {
                if let Some(sample) = self.keepalive.on_pong(opaque, now) {
                    self.events.push_back(Event::Rtt(sample));
                }
                Ok(())
            }
            Frame::GoAway(goaway) => {
                self.handle_goaway(goaway);
                Ok(())
            }
        }
    }

    fn handle_hello(&mut self, hello: Hello) -> Result<(), PipeError> {
        self.encoder.set_peer_limits(hello.limits);
        self.send_limit = (hello.connection_window != UNLIMITED_WINDOW)
            .then_some(u64::from(hello.connection_window));
        let window = u64::from(hello.message_window);
        for id in self.send.messages.keys().copied().collect::<Vec<_>>() {
            self.send.raise_limit(id, window);
        }
        self.events.push_back(Event::Connected {
            peer: Box::new(hello.clone()),
        });
        self.peer = Some(hello);
        Ok(())
    }

    fn handle_message_frame(&mut self, frame: Frame) -> Result<(), PipeError> {
        let resync = self.config.decode_mode == DecodeMode::Resync;
        let id = frame.message_id();
        let inbound = match self.tracker.on_frame(&frame) {
            Ok(inbound) => inbound,
            Err(error) if resync => {
                // On a lossy link a broken message costs that message only.
                self.fail_incoming(id, PipeError::Damaged(error.to_string()));
                return Ok(());
            }
            Err(error) => return Err(PipeError::Inbound(error)),
        };
        let body = match &frame {
            Frame::Open(open) => open.body.clone(),
            Frame::Data(data) => data.payload.clone(),
            _ => Bytes::new(),
        };
        if let Some(window) = &mut self.recv_window {
            window
                .receive(body.len() as u64)
                .map_err(|overrun| PipeError::FlowControl {
                    scope: "the connection".to_owned(),
                    limit: overrun.limit,
                    reached: overrun.reached,
                })?;
        }
        let Inbound::Progress { complete, .. } = inbound else {
            // A late frame of a message we cancelled: its bytes are released.
            if resync && !matches!(frame, Frame::End(_)) {
                self.refuse(id, ErrorCode::CANCELLED);
            }
            let released = body.len() as u64;
            self.received_and_released(released);
            return Ok(());
        };
        if let Frame::Open(open) = frame {
            self.highest_incoming = self.highest_incoming.max(id);
            self.incoming.insert(
                id,
                IncomingState {
                    window: RecvWindow::new(u64::from(self.config.message_window)),
                    total_len: open.total_len,
                    complete: false,
                },
            );
            self.events.push_back(Event::IncomingOpened {
                id,
                priority: open.priority,
                headers: open.headers,
                total_len: open.total_len,
            });
        }
        if let Some(state) = self.incoming.get_mut(&id) {
            if let Err(overrun) = state.window.receive(body.len() as u64) {
                return Err(PipeError::FlowControl {
                    scope: format!("message {id}"),
                    limit: overrun.limit,
                    reached: overrun.reached,
                });
            }
            state.complete = complete;
        }
        if !body.is_empty() {
            self.events
                .push_back(Event::IncomingData { id, bytes: body });
        }
        if complete {
            self.stats.messages_received += 1;
            self.events.push_back(Event::IncomingFinished { id });
            if self
                .incoming
                .get(&id)
                .is_some_and(|state| state.window.unconsumed() == 0)
            {
                self.incoming.remove(&id);
            }
        }
        Ok(())
    }

    fn handle_goaway(&mut self, goaway: GoAway) {
        self.peer_goaway = true;
        // Messages the peer never saw will not be processed.
        let refused: Vec<u64> = self
            .send
            .messages
            .iter()
            .filter(|(id, message)| **id > goaway.last_message_id && !message.opened())
            .map(|(id, _)| *id)
            .collect();
        for id in refused {
            self.send.remove(id);
            self.events.push_back(Event::OutgoingFailed {
                id,
                error: PipeError::Refused(id),
            });
        }
        self.events.push_back(Event::PeerGoingAway {
            code: goaway.code,
            reason: goaway.reason.clone(),
        });
        if goaway.code != ErrorCode::NO_ERROR {
            let error = PipeError::GoAway {
                code: goaway.code,
                reason: goaway.reason,
            };
            self.fail_everything(error.clone());
            self.finish(Some(error));
            return;
        }
        // The peer is going: we close too, once our messages are out.
        if self.closing.is_none() {
            self.closing = Some((ErrorCode::NO_ERROR, String::new()));
        }
        self.check_graceful_end();
    }

    fn handle_damage(&mut self, damage: Damage) {
        self.stats.damage_reports += 1;
        tracing::debug!(?damage, "damage on the link");
        match damage {
            // OPEN, DATA and END (or a kind we cannot tell) name the peer's
            // message; CREDIT and CANCEL may name ours, whose credit the
            // keepalive refresh restores.
            Damage::Frame {
                message_id,
                kind: None | Some(FrameKind::Open | FrameKind::Data | FrameKind::End),
                error,
            } if message_id != 0 => {
                self.fail_incoming(message_id, PipeError::Damaged(error.to_string()));
            }
            Damage::Frame { .. } => {}
            Damage::Skipped { bytes } => {
                // Any message in flight may have lost a frame in those bytes,
                // and a lost last frame would leave it waiting forever: fail
                // them all rather than risk delivering a short or stuck body.
                let open: Vec<u64> = self
                    .incoming
                    .iter()
                    .filter(|(_, state)| !state.complete)
                    .map(|(id, _)| *id)
                    .collect();
                for id in open {
                    self.fail_incoming(
                        id,
                        PipeError::Damaged(format!("{bytes} bytes lost or damaged on the link")),
                    );
                }
            }
        }
    }

    /// Fails incoming message `id` (if open) and tells the peer to stop it.
    fn fail_incoming(&mut self, id: u64, error: PipeError) {
        let was_open = self.incoming.get(&id).is_some_and(|s| !s.complete);
        self.refuse(id, error.code());
        if was_open {
            if let Some(state) = self.incoming.remove(&id) {
                self.consume_connection(state.window.unconsumed(), self.now);
            }
            self.events.push_back(Event::IncomingFailed { id, error });
            self.check_graceful_end();
        }
    }

    /// Bytes counted against the connection window that nobody will read
    /// (frames of a message already given up): released at once, with the
    /// CREDIT that may be due — else the peer could wait for it forever.
    fn received_and_released(&mut self, bytes: u64) {
        self.consume_connection(bytes, self.now);
    }

    /// Forgets incoming message `id` and asks the peer to stop sending it.
    fn refuse(&mut self, id: u64, code: ErrorCode) {
        self.tracker.cancel(id);
        self.control.push_back(Frame::Cancel(Cancel {
            message_id: id,
            by_receiver: true,
            code,
            reason: String::new(),
        }));
    }

    fn drop_incoming(&mut self, id: u64, now: Instant) {
        if let Some(state) = self.incoming.remove(&id) {
            self.consume_connection(state.window.unconsumed(), now);
        }
    }

    // ----- time ------------------------------------------------------------

    /// Time passed: sends keepalive PINGs and enforces the idle timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.closed {
            return;
        }
        if let Some(idle) = self.keepalive.idle(now) {
            self.abort(PipeError::IdleTimeout(idle));
            return;
        }
        let Some(opaque) = self.keepalive.ping_due(now) else {
            return;
        };
        let lossy = self.config.decode_mode == DecodeMode::Resync;
        if lossy && !self.peer_has_hello {
            // Our HELLO may have been lost: say it again.
            self.control.push_back(Frame::Hello(self.hello.clone()));
        }
        if self.peer.is_some() {
            self.control.push_back(Frame::Ping(Ping { opaque }));
            if lossy {
                // CREDIT frames can be lost on a lossy link; limits are
                // absolute, so repeating them is harmless and unsticks a
                // sender waiting for one that never came.
                let limits: Vec<(u64, u64)> = self
                    .incoming
                    .iter()
                    .filter(|(_, state)| !state.complete)
                    .map(|(id, state)| (*id, state.window.limit))
                    .collect();
                for (message_id, limit) in limits {
                    self.control
                        .push_back(Frame::Credit(Credit { message_id, limit }));
                }
            }
        }
    }

    /// When [`Connection::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            None
        } else {
            self.keepalive.deadline()
        }
    }

    // ----- output ----------------------------------------------------------

    /// The next frame to write, if any: control frames first, then data by
    /// priority and deficit round robin.
    pub fn poll_transmit(&mut self, _now: Instant) -> Option<Transmit> {
        loop {
            if let Some(frame) = self.control.pop_front() {
                match self.encoder.encode(&frame) {
                    Ok(encoded) => return Some(self.count(encoded, None, 0, false)),
                    Err(error) => {
                        tracing::warn!(%error, kind = %frame.kind(), "control frame dropped");
                        continue;
                    }
                }
            }
            if self.closed {
                return None;
            }
            let peer = self.peer.as_ref()?;
            let max_payload = peer.limits.frame_payload_limit() as usize;
            let budget = Budget {
                chunk: self
                    .config
                    .chunk_size
                    .clamp(1, max_payload - netcore_protocol::Data::PREFIX_LEN),
                max_payload,
                connection: self
                    .send_limit
                    .map_or(u64::MAX, |limit| limit.saturating_sub(self.send_total)),
                can_open: self.send.open_at_peer < peer.limits.max_concurrent_messages as usize,
            };
            let chosen = self.send.next_frame(&budget)?;
            self.send_total += chosen.body_len as u64;
            match self.encoder.encode(&chosen.frame) {
                Ok(encoded) => {
                    if chosen.last {
                        self.stats.messages_sent += 1;
                        self.events.push_back(Event::OutgoingFramed {
                            id: chosen.message_id,
                        });
                        self.check_graceful_end();
                    }
                    return Some(self.count(
                        encoded,
                        Some(chosen.message_id),
                        chosen.body_len,
                        chosen.last,
                    ));
                }
                Err(error) => {
                    let error = PipeError::Encode(error);
                    if chosen.last {
                        // Already removed by the scheduler.
                        self.events.push_back(Event::OutgoingFailed {
                            id: chosen.message_id,
                            error,
                        });
                    } else {
                        self.fail_outgoing(chosen.message_id, error, ErrorCode::INTERNAL);
                    }
                }
            }
        }
    }

    fn count(
        &mut self,
        frame: EncodedFrame,
        message_id: Option<u64>,
        body_len: usize,
        last: bool,
    ) -> Transmit {
        self.stats.frames_sent += 1;
        self.stats.bytes_sent += frame.len() as u64;
        Transmit {
            frame,
            message_id,
            body_len,
            last,
        }
    }

    /// The next thing to tell the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    // ----- closing ---------------------------------------------------------

    /// Starts a graceful close: no new messages may be opened; those already
    /// accepted are sent, then GOAWAY says no more will come; messages in
    /// flight both ways finish. [`Event::Closed`] follows once both sides are
    /// done.
    pub fn close(&mut self, code: ErrorCode, reason: &str) {
        if self.closed || self.goaway_sent || self.closing.is_some() {
            return;
        }
        self.closing = Some((code, reason.to_owned()));
        self.check_graceful_end();
    }

    /// Ends the connection at once: everything pending fails with `error`,
    /// the peer gets a GOAWAY with its code.
    pub fn abort(&mut self, error: PipeError) {
        if self.closed {
            return;
        }
        tracing::debug!(%error, "connection aborted");
        if !self.goaway_sent {
            self.send_goaway(error.code(), error.to_string());
        }
        self.fail_everything(error.clone());
        self.finish(Some(error));
    }

    fn send_goaway(&mut self, code: ErrorCode, reason: String) {
        self.goaway_sent = true;
        self.control.push_back(Frame::GoAway(GoAway {
            last_message_id: self.highest_incoming,
            code,
            reason,
        }));
    }

    /// Sends our GOAWAY once a close was asked for and our messages are all
    /// framed; once both sides said GOAWAY and nothing is in flight, the
    /// connection is over.
    fn check_graceful_end(&mut self) {
        if !self.goaway_sent
            && self.send.messages.is_empty()
            && let Some((code, reason)) = self.closing.take()
        {
            self.send_goaway(code, reason);
        }
        if self.goaway_sent
            && self.peer_goaway
            && self.send.messages.is_empty()
            && self.tracker.open_messages() == 0
        {
            self.finish(None);
        }
    }

    fn fail_everything(&mut self, error: PipeError) {
        let outgoing: Vec<u64> = self.send.messages.keys().copied().collect();
        for id in outgoing {
            self.send.remove(id);
            self.events.push_back(Event::OutgoingFailed {
                id,
                error: error.clone(),
            });
        }
        // Only messages the application was told about can fail.
        self.tracker.clear();
        let announced: Vec<u64> = self
            .incoming
            .iter()
            .filter(|(_, state)| !state.complete)
            .map(|(id, _)| *id)
            .collect();
        for id in announced {
            self.incoming.remove(&id);
            self.events.push_back(Event::IncomingFailed {
                id,
                error: error.clone(),
            });
        }
    }

    fn finish(&mut self, error: Option<PipeError>) {
        if !self.closed {
            self.closed = true;
            self.events.push_back(Event::Closed { error });
        }
    }
}

#[cfg(test)]
mod tests;
