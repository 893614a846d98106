//! LSO v2, Netcore's own wire format: the sans-IO [`Connection`].
//!
//! A [`Connection`] is fed what happened — bytes or decoded frames arrived
//! ([`Connection::handle_input`], [`Connection::handle_decoded`]), the link
//! ended ([`Connection::handle_eof`]), time passed
//! ([`Connection::handle_timeout`]) — and asked what to do: the next frame to
//! write ([`Connection::poll_transmit`]), what to tell the application
//! ([`Connection::poll_event`]) and when to wake it next
//! ([`Connection::poll_timeout`]). It implements [`Core`], which is how the
//! [`Pipe`](crate::Pipe) drives it.
//!
//! ## Where things are
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | the [`Connection`] struct, opening and feeding outgoing messages, `poll_transmit` |
//! | `recv.rs` | the receiving side: frames in, reassembly, credit back, damage |
//! | `lifecycle.rs` | the close phases (diagram there), GOAWAY, the end; keepalive and idle time |
//! | `send.rs` | the send scheduler: priority tiers, deficit round robin, a message's own states |
//! | `flow.rs` | receive windows and their growth |
//! | `window_budget.rs` | [`WindowBudget`], the memory windows grow into, shared |
//! | `header_budget.rs` | [`HeaderBudget`], open headers past each connection's own, shared |
//! | `keepalive.rs` | PING/PONG, the round-trip estimate, the idle timer |
//! | `config.rs` | [`CoreConfig`] |
//!
//! ## Poll order
//!
//! Inside `poll_transmit`: the control lane (HELLO, PONG, CREDIT, CANCEL,
//! GOAWAY, PING) always goes before data; data is scheduled by strict
//! priority tiers and deficit round robin by bytes inside a tier, within
//! the peer's credit (per message and per connection) and its concurrency
//! limit. Reassembly hands out body chunks in order and grants credit as the
//! application consumes them.

mod config;
mod credit_reserve;
mod flow;
mod header_budget;
mod keepalive;
mod lifecycle;
mod recv;
mod send;
mod window_budget;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use netcore_protocol::{
    Cancel, DecodeError, Decoded, Decoder, EncodedFrame, Encoder, ErrorCode, Frame, FrameKind,
    Headers, Hello, InboundTracker, Priority,
};

pub use config::CoreConfig;
pub use header_budget::HeaderBudget;
pub use window_budget::WindowBudget;

use crate::core::{ConnectionState, Core, CoreDecoder, Event, FlowStats, LinkDamage, Transmit};
use crate::error::{ConnectionError, SendError};
use credit_reserve::CreditReserve;
use flow::RecvWindow;
use keepalive::Keepalive;
use lifecycle::Phase;
use recv::IncomingState;
use send::{Budget, SendSide};

/// Connection credit kept for messages of `Priority::HIGH` and above: an
/// eighth of the peer's initial connection window, at most two chunks.
const CREDIT_RESERVE_FRACTION: u64 = 8;
const CREDIT_RESERVE_CHUNKS: u64 = 2;

/// A HELLO `connection_window` of `u32::MAX` means "no connection-level flow
/// control" (used on lossy links, where lost bytes would make it drift).
const UNLIMITED_WINDOW: u32 = u32::MAX;

/// Counters of a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
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

/// The sans-IO state machine of one LSO v2 connection. See the [module
/// docs](self).
#[derive(Debug)]
pub struct Connection {
    config: CoreConfig,
    encoder: Encoder,
    /// Decoder for [`Connection::handle_input`] (the pipe decodes on its
    /// read task instead).
    decoder: Decoder,
    input: BytesMut,
    /// Control frames to send, in order (HELLO, CANCEL, PING, GOAWAY).
    control: VecDeque<Frame>,
    /// The PONG owed, if any: only the latest PING is answered, so a peer
    /// that floods PINGs and reads nothing makes us hold one PONG, not one
    /// per PING.
    pong: Option<u64>,
    /// CREDIT owed per message (0: the connection), the latest limit only:
    /// limits are absolute, so a newer one replaces an older one unsent.
    credits: BTreeMap<u64, u64>,
    /// Incoming messages whose receiver CANCEL is queued (sent once).
    cancels_queued: HashSet<u64>,
    send: SendSide,
    /// Our HELLO, kept to repeat it on lossy links.
    hello: Hello,
    /// The peer's HELLO, once received.
    peer: Option<Hello>,
    /// A frame other than HELLO came from the peer, so it has our HELLO (it
    /// sends nothing else before it has).
    peer_has_our_hello: bool,
    /// Connection-level send limit granted by the peer (`None`: unlimited).
    send_limit: Option<u64>,
    /// Body bytes sent on all messages.
    send_total: u64,
    /// The largest connection window the peer has granted so far (its
    /// HELLO's, or more credit than that at once): what the credit kept
    /// for HIGH messages is a share of. A receiver may start at a floor
    /// and open its window once the connection is in use.
    peer_window: u64,
    tracker: InboundTracker,
    incoming: HashMap<u64, IncomingState>,
    /// Header bytes of the messages in `incoming` held in the connection's
    /// own `header_budget`.
    header_bytes: usize,
    /// Header bytes of the messages in `incoming` taken from the shared
    /// header budget (given back when they go, or with the connection).
    shared_header_bytes: window_budget::Reservation,
    /// Connection-level receive window (`None` in resync mode).
    recv_window: Option<RecvWindow>,
    /// Body bytes received by the previous keepalive tick: none since, and
    /// the windows shrink back (see `lifecycle.rs`).
    received_at_tick: u64,
    /// The window of the incoming message that last got credit.
    last_message_window: u64,
    highest_incoming: u64,
    keepalive: Keepalive,
    /// When the peer's HELLO must have arrived by (`None`: it has, or no
    /// limit).
    handshake_deadline: Option<Instant>,
    /// The connection credit kept for HIGH messages (`credit_reserve.rs`).
    credit_reserve: CreditReserve,
    events: VecDeque<Event>,
    /// Where the connection is in its close (see `lifecycle.rs`).
    phase: Phase,
    stats: CoreStats,
    /// The latest time the core was told about.
    now: Instant,
}

impl Connection {
    /// A new connection; its HELLO is the first frame `poll_transmit` returns.
    pub fn new(config: CoreConfig, now: Instant) -> Connection {
        let lossy = config.is_lossy_link();
        // The connection window: its floor is this connection's own and is
        // what the HELLO grants; the rest of the initial window is taken
        // from the shared budget once the peer's HELLO has come (so peers
        // that never finish a handshake hold none of it), and given back
        // with the connection, or when a quiet window shrinks once the peer
        // has used the credit it had.
        let connection_window = if lossy {
            UNLIMITED_WINDOW
        } else {
            let initial = config.connection_window.min(UNLIMITED_WINDOW - 1);
            config.min_connection_window.min(initial)
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
            pong: None,
            credits: BTreeMap::new(),
            cancels_queued: HashSet::new(),
            send: SendSide::default(),
            hello,
            peer: None,
            peer_has_our_hello: false,
            send_limit: Some(0),
            send_total: 0,
            peer_window: 0,
            tracker: InboundTracker::new(config.limits),
            incoming: HashMap::new(),
            header_bytes: 0,
            shared_header_bytes: config.shared_header_budget.reservation(),
            recv_window: (!lossy).then(|| {
                RecvWindow::with_floor(
                    connection_window.into(),
                    u64::from(config.connection_window.min(UNLIMITED_WINDOW - 1)),
                    window_budget::Reservation::new(config.window_budget.clone()),
                )
            }),
            received_at_tick: 0,
            last_message_window: 0,
            highest_incoming: 0,
            keepalive: Keepalive::new(
                config.keepalive,
                config.idle_timeout,
                config.keepalive_timeout,
                now,
            ),
            handshake_deadline: config.handshake_timeout.map(|timeout| now + timeout),
            credit_reserve: CreditReserve::default(),
            events: VecDeque::new(),
            phase: Phase::Open,
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

    /// What flow control is doing right now: windows, credit, bytes in
    /// flight.
    pub fn flow(&self) -> FlowStats {
        let window = self.recv_window.as_ref();
        FlowStats {
            send_credit: self
                .peer
                .as_ref()
                .and(self.send_limit)
                .map(|limit| limit.saturating_sub(self.send_total)),
            recv_window: window.map(|window| window.window),
            recv_message_window: self.last_message_window,
            recv_credit: window.map(flow::RecvWindow::credit),
            recv_buffered: window.map(flow::RecvWindow::unconsumed),
        }
    }

    /// Whether the connection is over ([`Event::Closed`] was emitted).
    pub fn is_closed(&self) -> bool {
        self.phase.is_closed()
    }

    // ----- sending ---------------------------------------------------------

    /// Starts an outgoing message; returns its id. Its body is supplied with
    /// [`Connection::push_body`] (all at once or in pieces).
    pub fn open(
        &mut self,
        priority: Priority,
        headers: Headers,
        total_len: Option<u64>,
    ) -> Result<u64, SendError> {
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
    ) -> Result<u64, SendError> {
        if id == 0 || self.send.messages.contains_key(&id) {
            return Err(SendError::Encode(
                netcore_protocol::EncodeError::BadMessageId {
                    kind: FrameKind::Open,
                    message_id: id,
                },
            ));
        }
        self.phase.check_open(id)?;
        if let Some(peer) = &self.peer {
            let max_block = usize::from(peer.limits.max_header_bytes);
            if headers.encoded_len() > max_block {
                return Err(SendError::Encode(
                    netcore_protocol::EncodeError::HeaderBlockTooLarge {
                        len: headers.encoded_len(),
                        max: max_block,
                    },
                ));
            }
            if let Some(len) = total_len
                && len > peer.limits.max_message_size
            {
                return Err(SendError::Encode(
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
    pub fn push_body(&mut self, id: u64, chunk: Bytes, finish: bool) -> Result<(), SendError> {
        // A body of unannounced length is held to the peer's message limit
        // as it grows: it fails here, named, rather than at the peer.
        if let (Some(peer), Some(supplied)) = (&self.peer, self.send.supplied_unannounced(id)) {
            let max = peer.limits.max_message_size;
            let len = supplied + chunk.len() as u64;
            if len > max {
                let error =
                    SendError::Encode(netcore_protocol::EncodeError::MessageTooLarge { len, max });
                self.fail_outgoing(id, error.clone(), ErrorCode::LIMIT_EXCEEDED);
                return Err(error);
            }
        }
        let result = self.send.push(id, chunk, finish);
        if let Err(error) = &result
            && !matches!(error, SendError::Cancelled)
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

    fn fail_outgoing(&mut self, id: u64, error: SendError, code: ErrorCode) {
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

    /// The next frame to write, if any: control frames first, then data by
    /// priority and deficit round robin.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        loop {
            if let Some(frame) = self.next_control() {
                match self.encoder.encode(&frame) {
                    Ok(encoded) => return Some(self.count(encoded, None, 0, false)),
                    Err(error) => {
                        tracing::warn!(%error, kind = %frame.kind(), "control frame dropped");
                        continue;
                    }
                }
            }
            if self.phase.is_closed() {
                return None;
            }
            let peer = self.peer.as_ref()?;
            let max_payload = peer.limits.frame_payload_limit() as usize;
            let chunk = self
                .config
                .chunk_size
                .clamp(1, max_payload - netcore_protocol::Data::PREFIX_LEN);
            let full_reserve = (u64::from(peer.connection_window).max(self.peer_window)
                / CREDIT_RESERVE_FRACTION)
                .min(chunk as u64 * CREDIT_RESERVE_CHUNKS);
            let can_open = self.send.open_at_peer < peer.limits.max_concurrent_messages as usize;
            let connection = self
                .send_limit
                .map_or(u64::MAX, |limit| limit.saturating_sub(self.send_total));
            let hold = CreditReserve::hold(self.keepalive.rtt());
            let reserve =
                self.credit_reserve
                    .applies(connection, full_reserve, self.now.max(now), hold);
            let budget = Budget {
                chunk,
                max_payload,
                reserve,
                connection,
                can_open,
            };
            let chosen = self.send.next_frame(&budget)?;
            self.send_total += chosen.body_len as u64;
            self.keepalive.on_progress(self.now.max(now));
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
                    let error = SendError::Encode(error);
                    if chosen.last {
                        // Already removed by the scheduler; a close waiting
                        // for our messages may now go on.
                        self.events.push_back(Event::OutgoingFailed {
                            id: chosen.message_id,
                            error,
                        });
                        self.check_graceful_end();
                    } else {
                        self.fail_outgoing(chosen.message_id, error, ErrorCode::INTERNAL);
                    }
                }
            }
        }
    }

    /// The next control frame: those queued in order, then the PONG and
    /// CREDITs owed (coalesced, so they never pile up while the link is
    /// blocked).
    fn next_control(&mut self) -> Option<Frame> {
        if let Some(frame) = self.control.pop_front() {
            if let Frame::Cancel(Cancel {
                message_id,
                by_receiver: true,
                ..
            }) = &frame
            {
                self.cancels_queued.remove(message_id);
            }
            return Some(frame);
        }
        if self.phase.is_closed() {
            return None;
        }
        if let Some(opaque) = self.pong.take() {
            return Some(Frame::Pong(netcore_protocol::Pong { opaque }));
        }
        self.credits.pop_first().map(|(message_id, limit)| {
            Frame::Credit(netcore_protocol::Credit { message_id, limit })
        })
    }

    /// Queues a CREDIT for message `id` (0: the connection), replacing one
    /// not yet sent.
    pub(super) fn queue_credit(&mut self, message_id: u64, limit: u64) {
        let owed = self.credits.entry(message_id).or_insert(limit);
        *owed = (*owed).max(limit);
    }

    /// Queues a receiver CANCEL for incoming message `id`, once.
    pub(super) fn queue_refusal(&mut self, message_id: u64, code: ErrorCode, reason: String) {
        self.credits.remove(&message_id);
        if self.cancels_queued.insert(message_id) {
            self.control.push_back(Frame::Cancel(Cancel {
                message_id,
                by_receiver: true,
                code,
                reason,
            }));
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
            frame: frame.into(),
            message_id,
            body_len,
            last,
        }
    }

    /// The next thing to tell the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }
}

/// The LSO v2 decoder on the pipe's read task (strict or resynchronising).
impl CoreDecoder for Decoder {
    type Item = Decoded;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ConnectionError> {
        Decoder::decode(self, buf).map_err(ConnectionError::Decode)
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Decoded>, ConnectionError> {
        Decoder::decode_eof(self, buf).map_err(|error| match error {
            // Cut mid-frame: the link died, the peer broke nothing.
            DecodeError::Truncated { buffered } => ConnectionError::LinkLost { buffered },
            error => ConnectionError::Decode(error),
        })
    }

    fn is_frame(item: &Decoded) -> bool {
        matches!(item, Decoded::Frame(_))
    }

    fn body_len(item: &Decoded) -> usize {
        match item {
            Decoded::Frame(Frame::Open(open)) => open.body.len(),
            Decoded::Frame(Frame::Data(data)) => data.payload.len(),
            _ => 0,
        }
    }

    fn detach_body(item: &mut Decoded) {
        match item {
            Decoded::Frame(Frame::Open(open)) => open.body = Bytes::copy_from_slice(&open.body),
            Decoded::Frame(Frame::Data(data)) => {
                data.payload = Bytes::copy_from_slice(&data.payload);
            }
            _ => {}
        }
    }

    fn damage(&self) -> LinkDamage {
        let stats = self.stats();
        LinkDamage {
            resyncs: stats.resyncs,
            skipped_bytes: stats.skipped_bytes,
        }
    }
}

impl Core for Connection {
    type Decoder = Decoder;

    fn decoder(&self) -> Decoder {
        Decoder::with_mode(self.config.limits, self.config.decode_mode)
    }

    fn state(&self) -> ConnectionState {
        Connection::state(self)
    }

    fn read_ahead(&self) -> u64 {
        2 * self.config.chunk_size.max(1) as u64
    }

    fn rtt(&self) -> Option<std::time::Duration> {
        Connection::rtt(self)
    }

    fn flow(&self) -> FlowStats {
        Connection::flow(self)
    }

    fn handle_item(&mut self, item: Decoded, now: Instant) {
        self.handle_decoded(item, now);
    }

    fn handle_eof(&mut self, now: Instant) {
        Connection::handle_eof(self, now);
    }

    fn handle_transport_error(&mut self, error: ConnectionError) {
        Connection::handle_transport_error(self, error);
    }

    fn handle_timeout(&mut self, now: Instant) {
        Connection::handle_timeout(self, now);
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Connection::poll_timeout(self)
    }

    fn abort(&mut self, error: ConnectionError) {
        Connection::abort(self, error);
    }

    fn close(&mut self) {
        Connection::close(self, ErrorCode::NO_ERROR, "");
    }

    fn open_with_id(
        &mut self,
        id: u64,
        priority: Priority,
        headers: Headers,
        total_len: Option<u64>,
    ) -> Result<(), SendError> {
        Connection::open_with_id(self, id, priority, headers, total_len).map(|_| ())
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

    fn consumed(&mut self, id: u64, n: u64, now: Instant) {
        Connection::consumed(self, id, n, now);
    }

    fn cancel_incoming(&mut self, id: u64, now: Instant) -> bool {
        Connection::cancel_incoming(self, id, now)
    }

    fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        Connection::poll_transmit(self, now)
    }

    fn poll_event(&mut self) -> Option<Event> {
        Connection::poll_event(self)
    }
}

#[cfg(test)]
mod tests;
