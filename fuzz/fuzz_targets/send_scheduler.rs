//! Fuzzes the send side of the sans-IO LSO v2 core (`core/lso/send.rs`, the
//! scheduler: strict priority tiers, deficit round robin inside a tier)
//! through the public `netcore_pipe::core::Connection` API: arbitrary
//! sequences of opens (priorities, announced or open-ended lengths),
//! body pushes, cancels and frames drawn, against a real peer `Connection`
//! whose application consumes what it likes, so credit comes back as a real
//! peer grants it (its windows and concurrency limit are fuzzed too).
//!
//! Every frame the sender emits is decoded and checked against a model of
//! what the application asked for and what the peer granted:
//!
//! - nothing panics;
//! - the body bytes framed for a message (OPEN inline, then DATA at
//!   contiguous offsets) are exactly the bytes pushed, in order, and its END
//!   (or last frame) comes only after all of them, with their total;
//! - no DATA goes past the message's credit or the connection's (the peer's
//!   HELLO windows raised by its CREDIT frames, as the sender saw them);
//! - every message either completes (`OutgoingFramed`) or fails
//!   (`OutgoingFailed`) exactly once, unless the application cancelled it
//!   (then neither); at the end, with every body finished and the peer
//!   reading everything, every message still pending completes (liveness:
//!   no message is stranded out of the rotation);
//! - strict priority: when a message's frame is emitted, no message of a
//!   higher priority could have sent one (it had nothing framable, or no
//!   credit, or the peer's concurrency limit kept it from opening).

#![no_main]

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use arbitrary::Arbitrary;
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use netcore_pipe::SendError;
use netcore_pipe::core::{Connection, CoreConfig, Event};
use netcore_protocol::{Decoded, Decoder, Frame, Headers, Limits, Priority};

/// The fuzz input: the two sides' settings and the sender's script.
#[derive(Arbitrary, Debug)]
struct Script {
    /// Sender's chunk size: 16 + this % 4096.
    chunk: u16,
    /// Peer's message window: 4 + this, in 64-byte units.
    message_window: u16,
    /// Peer's connection window: 4 + this, in 64-byte units.
    connection_window: u16,
    /// Peer's `max_concurrent_messages`: 1 + this % 8.
    max_concurrent: u8,
    /// Peer's `max_frame_payload`: 256 + this * 16.
    frame_payload: u8,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Opens a message; `announce` gives a total length of `len` bytes.
    Open {
        priority: u8,
        announce: bool,
        len: u16,
        header: u8,
    },
    /// Pushes `len` more body bytes (`finish`: no more after them) to the
    /// `message`-th message opened (modulo their number).
    Push { message: u8, len: u16, finish: bool },
    /// Cancels the `message`-th message opened.
    Cancel { message: u8 },
    /// Draws up to `frames` frames from the sender, into the peer.
    Transmit { frames: u8 },
    /// Everything the peer has to say (HELLO, CREDIT…) goes to the sender.
    PeerFlush,
    /// The peer's application reads `bytes` of what it received of its
    /// `message`-th incoming message with unread bytes.
    Consume { message: u8, bytes: u16 },
    /// The peer's application reads everything it has.
    ConsumeAll,
}

/// What the model knows of one outgoing message.
#[derive(Debug)]
struct Model {
    priority: Priority,
    total_len: Option<u64>,
    /// Body bytes pushed so far.
    pushed: u64,
    /// Body bytes framed so far.
    sent: u64,
    finished: bool,
    opened: bool,
    /// Still pending in the core (not framed completely, failed or
    /// cancelled).
    live: bool,
    cancelled: bool,
    /// `OutgoingFramed` / `OutgoingFailed` events seen.
    framed: u32,
    failed: u32,
    /// Highest per-message send limit the sender was granted.
    limit: u64,
}

/// The byte at `offset` of message `id`'s body.
fn pattern(id: u64, offset: u64) -> u8 {
    (id as u8).wrapping_mul(31) ^ (offset as u8) ^ ((offset >> 8) as u8)
}

fn body(id: u64, from: u64, len: usize) -> Bytes {
    (0..len as u64).map(|i| pattern(id, from + i)).collect()
}

fn check_body(id: u64, from: u64, bytes: &[u8]) {
    for (i, byte) in bytes.iter().enumerate() {
        assert_eq!(
            *byte,
            pattern(id, from + i as u64),
            "message {id}: byte {} framed wrong",
            from + i as u64
        );
    }
}

struct Harness {
    now: Instant,
    sender: Connection,
    peer: Connection,
    /// Decodes what the sender writes (with the peer's limits).
    to_peer: Decoder,
    /// Decodes what the peer writes (with the sender's limits).
    to_sender: Decoder,
    messages: BTreeMap<u64, Model>,
    order: Vec<u64>,
    /// The sender has the peer's HELLO: its windows.
    hello: Option<(u64, u64)>,
    /// Connection-level send limit the sender was granted, and body bytes
    /// it framed in all.
    connection_limit: u64,
    connection_sent: u64,
    /// The largest connection window the peer granted at once (its HELLO's,
    /// or a CREDIT's limit past what was sent by then): what the sender's
    /// credit reserve is a share of.
    peer_window: u64,
    max_concurrent: usize,
    chunk: usize,
    /// Unread body bytes per incoming message of the peer.
    unread: BTreeMap<u64, u64>,
}

impl Harness {
    /// Whether message `m` could have a frame chosen now.
    fn ready(&self, m: &Model) -> bool {
        if !m.live || self.hello.is_none() {
            return false;
        }
        if !m.opened {
            let open_at_peer = self
                .messages
                .values()
                .filter(|m| m.live && m.opened)
                .count();
            return open_at_peer < self.max_concurrent;
        }
        let buffered = m.pushed - m.sent;
        if buffered > 0 {
            let mut room = self.connection_limit.saturating_sub(self.connection_sent);
            if m.priority < Priority::HIGH {
                // Below HIGH the sender leaves the credit reserve (it may
                // release it after a hold; then it would pick this one
                // anyway, so assuming it held is safe for the check).
                room = room.saturating_sub(self.credit_reserve());
            }
            let credit = m.limit.saturating_sub(m.sent).min(room);
            return credit > 0;
        }
        m.finished && m.total_len.is_none()
    }

    /// The most connection credit the sender keeps for HIGH messages: an
    /// eighth of the largest window the peer granted at once, at most two
    /// chunks (the chunk the sender uses is at most `self.chunk`).
    fn credit_reserve(&self) -> u64 {
        if self.hello.is_none() {
            return 0;
        }
        (self.peer_window / 8).min(2 * self.chunk as u64)
    }

    fn model(&mut self, id: u64) -> &mut Model {
        self.messages
            .get_mut(&id)
            .unwrap_or_else(|| panic!("frame or event for message {id}, never opened"))
    }

    /// Takes the sender's events into the model; returns the messages that
    /// failed.
    fn sender_events(&mut self) -> Vec<u64> {
        let mut events = Vec::new();
        while let Some(event) = self.sender.poll_event() {
            events.push(event);
        }
        self.apply(events)
    }

    fn apply(&mut self, events: Vec<Event>) -> Vec<u64> {
        let mut failed = Vec::new();
        for event in events {
            match event {
                Event::OutgoingFramed { id } => {
                    let m = self.model(id);
                    assert!(!m.cancelled, "message {id} framed after its cancel");
                    m.framed += 1;
                    assert_eq!(m.framed + m.failed, 1, "message {id} ended twice");
                    assert!(
                        !m.live,
                        "message {id} reported framed before its last frame"
                    );
                }
                Event::OutgoingFailed { id, .. } => {
                    let m = self.model(id);
                    assert!(!m.cancelled, "message {id} failed after its cancel");
                    m.failed += 1;
                    assert_eq!(m.framed + m.failed, 1, "message {id} ended twice");
                    m.live = false;
                    failed.push(id);
                }
                _ => {}
            }
        }
        failed
    }

    /// Draws one frame from the sender and checks it.
    fn transmit(&mut self) -> bool {
        let ready_before: Vec<(u64, Priority)> = self
            .messages
            .iter()
            .filter(|(_, m)| self.ready(m))
            .map(|(id, m)| (*id, m.priority))
            .collect();
        let Some(transmit) = self.sender.poll_transmit(self.now) else {
            self.sender_events();
            return false;
        };
        let wire = transmit.to_bytes();
        // Taken into the model once the frame is (a last frame's
        // `OutgoingFramed` comes with it).
        let mut events = Vec::new();
        while let Some(event) = self.sender.poll_event() {
            events.push(event);
        }
        let failed: Vec<u64> = events
            .iter()
            .filter_map(|event| match event {
                Event::OutgoingFailed { id, .. } => Some(*id),
                _ => None,
            })
            .collect();
        let mut buf = BytesMut::from(&wire[..]);
        let frame = match self.to_peer.decode(&mut buf) {
            Ok(Some(Decoded::Frame(frame))) => frame,
            other => panic!("the sender wrote a frame its peer cannot decode: {other:?}"),
        };
        assert!(buf.is_empty(), "one transmit, one frame");
        if let Some(id) = frame_message(&frame) {
            let priority = self.model(id).priority;
            for (other, p) in &ready_before {
                assert!(
                    *p <= priority || failed.contains(other),
                    "message {id} (priority {}) framed while message {other} (priority {}) could send",
                    priority.0,
                    p.0
                );
            }
        }
        let chunk = self.chunk;
        let connection_limit = self.connection_limit;
        let connection_sent = self.connection_sent;
        let mut body_len = 0u64;
        match &frame {
            Frame::Open(open) => {
                let id = open.message_id;
                let m = self.model(id);
                assert!(
                    m.live && !m.opened,
                    "OPEN of message {id} twice or after its end"
                );
                assert_eq!(open.priority, m.priority);
                assert_eq!(open.total_len, m.total_len);
                assert!(
                    open.body.len() <= chunk,
                    "OPEN inline body over the chunk size"
                );
                m.opened = true;
                check_body(id, 0, &open.body);
                body_len = open.body.len() as u64;
            }
            Frame::Data(data) => {
                let id = data.message_id;
                let m = self.model(id);
                assert!(m.live && m.opened, "DATA of message {id} not open");
                assert_eq!(data.offset, m.sent, "message {id}: DATA not contiguous");
                assert!(!data.payload.is_empty(), "an empty DATA frame");
                assert!(data.payload.len() <= chunk, "DATA over the chunk size");
                check_body(id, data.offset, &data.payload);
                body_len = data.payload.len() as u64;
            }
            Frame::End(end) => {
                let id = end.message_id;
                let m = self.model(id);
                assert!(m.live && m.opened, "END of message {id} not open");
                assert!(m.finished, "END of message {id} before its body finished");
                assert_eq!(
                    end.total_len, m.pushed,
                    "END total differs from the bytes pushed"
                );
                assert_eq!(m.sent, m.pushed, "END of message {id} before all its bytes");
            }
            _ => {}
        }
        if let Some(id) = frame_message(&frame) {
            let m = self.model(id);
            m.sent += body_len;
            assert!(
                m.sent <= m.pushed,
                "message {id}: more bytes framed than pushed"
            );
            assert!(
                m.sent <= m.limit,
                "message {id}: {} bytes framed past its credit {}",
                m.sent,
                m.limit
            );
            assert!(
                connection_sent + body_len <= connection_limit,
                "connection: framed past its credit {connection_limit}"
            );
            let complete = m.finished && m.sent == m.pushed;
            let last = matches!(frame, Frame::End(_))
                || (m.total_len.is_some() && m.total_len == Some(m.sent) && complete);
            assert_eq!(transmit.last, last, "message {id}: last frame misreported");
            assert_eq!(transmit.body_len as u64, body_len);
            if last {
                m.live = false;
            }
            self.connection_sent += body_len;
            let framed = events.iter().any(
                |event| matches!(event, Event::OutgoingFramed { id: framed } if *framed == id),
            );
            assert_eq!(
                framed, last,
                "message {id}: OutgoingFramed not with its last frame"
            );
        }
        self.apply(events);
        self.peer.handle_input(&wire, self.now);
        self.peer_events();
        true
    }

    /// Takes the peer's events: what it received.
    fn peer_events(&mut self) {
        while let Some(event) = self.peer.poll_event() {
            match event {
                Event::IncomingData { id, bytes } => {
                    *self.unread.entry(id).or_default() += bytes.len() as u64;
                }
                Event::IncomingFailed { id, .. } => {
                    self.unread.remove(&id);
                }
                Event::Closed { error, .. } => {
                    // The sender kept to every limit: the peer never has a
                    // reason to end the connection.
                    assert!(error.is_none(), "the peer closed the connection: {error:?}");
                }
                _ => {}
            }
        }
    }

    /// Everything the peer has to say goes to the sender.
    fn peer_flush(&mut self) {
        while let Some(transmit) = self.peer.poll_transmit(self.now) {
            let wire = transmit.to_bytes();
            let mut buf = BytesMut::from(&wire[..]);
            while let Ok(Some(Decoded::Frame(frame))) = self.to_sender.decode(&mut buf) {
                match frame {
                    Frame::Hello(hello) => {
                        let message = u64::from(hello.message_window);
                        let connection = u64::from(hello.connection_window);
                        self.hello = Some((message, connection));
                        self.connection_limit = self.connection_limit.max(connection);
                        self.peer_window = self.peer_window.max(connection);
                        for m in self.messages.values_mut() {
                            m.limit = m.limit.max(message);
                        }
                    }
                    Frame::Credit(credit) if credit.message_id == 0 => {
                        self.connection_limit = self.connection_limit.max(credit.limit);
                        self.peer_window = self
                            .peer_window
                            .max(credit.limit.saturating_sub(self.connection_sent));
                    }
                    Frame::Credit(credit) => {
                        if let Some(m) = self.messages.get_mut(&credit.message_id)
                            && m.live
                        {
                            m.limit = m.limit.max(credit.limit);
                        }
                    }
                    _ => {}
                }
            }
            self.sender.handle_input(&wire, self.now);
            self.sender_events();
        }
    }

    fn consume(&mut self, id: u64, n: u64) {
        let Some(unread) = self.unread.get_mut(&id) else {
            return;
        };
        let n = n.min(*unread);
        *unread -= n;
        if *unread == 0 {
            self.unread.remove(&id);
        }
        self.peer.consumed(id, n, self.now);
        self.peer_events();
    }

    fn consume_all(&mut self) {
        let all: Vec<(u64, u64)> = self.unread.iter().map(|(k, v)| (*k, *v)).collect();
        for (id, n) in all {
            self.consume(id, n);
        }
    }

    fn push(&mut self, id: u64, len: usize, finish: bool) {
        let (from, live) = match self.messages.get(&id) {
            Some(m) => (m.pushed, m.live),
            None => return,
        };
        let result = self.sender.push_body(id, body(id, from, len), finish);
        let failed = self.sender_events();
        let m = self.model(id);
        match result {
            Ok(()) => {
                assert!(live, "a push to message {id}, no longer pending, was taken");
                m.pushed += len as u64;
                m.finished = finish || m.total_len == Some(m.pushed) || m.finished;
            }
            Err(SendError::Cancelled) => {
                assert!(!live, "a push to pending message {id} refused as cancelled");
            }
            Err(error) => {
                assert!(live, "message {id} not pending failed again: {error}");
                assert!(
                    failed.contains(&id),
                    "message {id} failed without its event"
                );
            }
        }
    }
}

fn frame_message(frame: &Frame) -> Option<u64> {
    match frame {
        Frame::Open(open) => Some(open.message_id),
        Frame::Data(data) => Some(data.message_id),
        Frame::End(end) => Some(end.message_id),
        _ => None,
    }
}

fuzz_target!(|script: Script| {
    let now = Instant::now();
    let sender_limits = Limits::default();
    let peer_limits = Limits {
        max_frame_payload: 256 + u32::from(script.frame_payload) * 16,
        max_message_size: 1 << 20,
        max_header_bytes: 1024,
        max_concurrent_messages: 1 + u32::from(script.max_concurrent % 8),
    };
    let quiet = |config: CoreConfig| {
        config
            .with_keepalive(None)
            .with_keepalive_timeout(None)
            .with_idle_timeout(None)
            .with_handshake_timeout(None)
    };
    let chunk = 16 + usize::from(script.chunk % 4096);
    let sender = Connection::new(
        quiet(CoreConfig::default().with_limits(sender_limits)).with_chunk_size(chunk),
        now,
    );
    let peer = Connection::new(
        quiet(CoreConfig::default().with_limits(peer_limits))
            .with_message_window(64 * (4 + u32::from(script.message_window)))
            .with_connection_window(64 * (4 + u32::from(script.connection_window)))
            .with_max_window(1 << 22),
        now,
    );
    // The sender clamps its chunk to what fits the peer's frames.
    let chunk =
        chunk.min(peer_limits.frame_payload_limit() as usize - netcore_protocol::Data::PREFIX_LEN);
    let mut h = Harness {
        now,
        sender,
        peer,
        to_peer: Decoder::new(peer_limits),
        to_sender: Decoder::new(sender_limits),
        messages: BTreeMap::new(),
        order: Vec::new(),
        hello: None,
        connection_limit: 0,
        peer_window: 0,
        connection_sent: 0,
        max_concurrent: peer_limits.max_concurrent_messages as usize,
        chunk,
        unread: BTreeMap::new(),
    };
    let mut ids: HashMap<usize, u64> = HashMap::new();
    for op in script.ops.into_iter().take(256) {
        match op {
            Op::Open {
                priority,
                announce,
                len,
                header,
            } => {
                if h.messages.len() >= 32 {
                    continue;
                }
                let mut headers = Headers::new();
                if header > 0 {
                    let _ = headers.insert("h", vec![b'x'; usize::from(header)]);
                }
                let total_len = announce.then_some(u64::from(len) % 4096);
                let priority = Priority(priority);
                let id = h
                    .sender
                    .open(priority, headers, total_len)
                    .expect("a small message opens on a live connection");
                ids.insert(h.order.len(), id);
                h.order.push(id);
                let limit = h.hello.map_or(0, |(message, _)| message);
                let previous = h.messages.insert(
                    id,
                    Model {
                        priority,
                        total_len,
                        pushed: 0,
                        sent: 0,
                        finished: total_len == Some(0),
                        opened: false,
                        live: true,
                        cancelled: false,
                        framed: 0,
                        failed: 0,
                        limit,
                    },
                );
                assert!(previous.is_none(), "message id {id} given twice");
                h.sender_events();
            }
            Op::Push {
                message,
                len,
                finish,
            } => {
                if h.order.is_empty() {
                    continue;
                }
                let id = h.order[usize::from(message) % h.order.len()];
                h.push(id, usize::from(len) % 2048, finish);
            }
            Op::Cancel { message } => {
                if h.order.is_empty() {
                    continue;
                }
                let id = h.order[usize::from(message) % h.order.len()];
                let pending = h.sender.cancel_outgoing(id);
                let m = h.model(id);
                assert_eq!(pending, m.live, "cancel of message {id}: pending or not?");
                if pending {
                    m.live = false;
                    m.cancelled = true;
                }
                h.sender_events();
            }
            Op::Transmit { frames } => {
                for _ in 0..frames {
                    if !h.transmit() {
                        break;
                    }
                }
            }
            Op::PeerFlush => h.peer_flush(),
            Op::Consume { message, bytes } => {
                let keys: Vec<u64> = h.unread.keys().copied().collect();
                if !keys.is_empty() {
                    let id = keys[usize::from(message) % keys.len()];
                    h.consume(id, u64::from(bytes));
                }
            }
            Op::ConsumeAll => h.consume_all(),
        }
        assert!(!h.sender.is_closed(), "the sender's connection ended");
    }
    // The end: every body finished, the peer reads everything; whatever is
    // still pending must complete.
    for id in h.order.clone() {
        let (live, pushed, total) = {
            let m = h.model(id);
            (m.live, m.pushed, m.total_len)
        };
        if !live {
            continue;
        }
        match total {
            Some(total) => h.push(id, (total - pushed) as usize, true),
            None => h.push(id, 0, true),
        }
    }
    for _ in 0..100_000 {
        h.peer_flush();
        let mut progressed = false;
        while h.transmit() {
            progressed = true;
        }
        h.consume_all();
        h.peer_flush();
        if !progressed && h.messages.values().all(|m| !m.live) {
            break;
        }
    }
    for (id, m) in &h.messages {
        assert!(!m.live, "message {id} stranded: {m:?}");
        if !m.cancelled {
            assert_eq!(
                m.framed + m.failed,
                1,
                "message {id} did not end once: {m:?}"
            );
        }
    }
});
