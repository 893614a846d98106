//! The receiving side of the connection: frames from the peer, reassembly
//! into message events, flow-control credit as the application consumes,
//! and damage on lossy links.

use std::time::Instant;

use bytes::Bytes;
use netcore_protocol::{
    Damage, Decoded, ErrorCode, Frame, FrameKind, GoAway, Hello, Inbound, Ping, Pong,
};

use super::flow::{Growth, RecvWindow};
use super::{Connection, UNLIMITED_WINDOW};
use crate::core::Event;
use crate::error::{ConnectionError, FlowScope, ReceiveError, SendError};

/// An incoming message the application has been told about.
#[derive(Debug)]
pub(super) struct IncomingState {
    pub(super) window: RecvWindow,
    pub(super) total_len: Option<u64>,
    /// Every body byte arrived (some may still be unread).
    pub(super) complete: bool,
    /// Bytes of its header block, counted against `header_budget`.
    pub(super) header_bytes: usize,
    /// Whether they were taken from the shared header budget instead.
    pub(super) header_shared: bool,
}

impl Connection {
    /// Stops tracking incoming message `id`; its headers leave the budget.
    pub(super) fn forget_incoming(&mut self, id: u64) -> Option<IncomingState> {
        let state = self.incoming.remove(&id)?;
        if state.header_shared {
            let held = self.shared_header_bytes.held();
            self.shared_header_bytes
                .shrink_to(held.saturating_sub(state.header_bytes as u64));
        } else {
            self.header_bytes = self.header_bytes.saturating_sub(state.header_bytes);
        }
        Some(state)
    }

    /// Takes `n` header bytes from the shared header budget, all or none.
    fn take_shared_header_bytes(&mut self, n: usize) -> bool {
        let held = self.shared_header_bytes.held();
        let want = held + n as u64;
        if self.shared_header_bytes.grow_to(want) == want {
            true
        } else {
            self.shared_header_bytes.shrink_to(held);
            false
        }
    }

    /// Incoming messages announced to the application and still arriving.
    pub(super) fn arriving(&self) -> Vec<u64> {
        self.incoming
            .iter()
            .filter(|(_, state)| !state.complete)
            .map(|(id, _)| *id)
            .collect()
    }

    /// The application consumed `n` body bytes of incoming message `id`:
    /// flow-control credit goes back to the peer.
    pub fn consumed(&mut self, id: u64, n: u64, now: Instant) {
        let growth = Growth {
            rtt: self.keepalive.rtt(),
            max_window: self.config.max_window,
            shrinks: false,
        };
        let Some(state) = self.incoming.get_mut(&id) else {
            return;
        };
        let n = n.min(state.window.unconsumed());
        let raised = state.window.consume(n, now, growth, state.total_len);
        let message_window = state.window.window;
        let complete = state.complete;
        // The connection window is not the narrower one for a single
        // transfer: it holds at least any message's window, up to twice
        // what the path carries per round trip once that is known (a
        // message's window may open past it on bursts; the connection's
        // bounds what queues in the path).
        if let Some(window) = &mut self.recv_window
            && window.window < message_window
        {
            let size = message_window.min(window.path_ceiling());
            window.grow_to(size, self.config.max_connection_window, now);
        }
        if complete && state.window.unconsumed() == 0 {
            self.forget_incoming(id);
        } else if let Some(limit) = raised.filter(|_| !complete) {
            self.last_message_window = state.window.window;
            self.queue_credit(id, limit);
        }
        self.consume_connection(n, now);
    }

    fn consume_connection(&mut self, n: u64, now: Instant) {
        let growth = Growth {
            rtt: self.keepalive.rtt(),
            max_window: self.config.max_connection_window,
            shrinks: true,
        };
        let Some(window) = &mut self.recv_window else {
            return;
        };
        // Bytes flow again after a quiet spell shrank it to its floor: it
        // opens to its initial size again, from the budget.
        let restored = window.restore_initial(now);
        let before = window.window;
        let raised = window.consume(n, now, growth, None).max(restored);
        if window.window < before {
            // Too large for the path: no message needs more than the
            // connection can have in flight.
            for state in self.incoming.values_mut() {
                state.window.clamp_to(window.window);
            }
        }
        if let Some(limit) = raised {
            self.queue_credit(0, limit);
        }
    }

    /// The application will not read incoming message `id` any further: if
    /// it is still arriving the peer gets a CANCEL; its unread bytes are
    /// released. Returns whether the message was known.
    pub fn cancel_incoming(&mut self, id: u64, now: Instant) -> bool {
        let Some(state) = self.forget_incoming(id) else {
            return false;
        };
        if !state.complete {
            self.tracker.cancel(id);
            self.stats.cancels += 1;
            self.queue_refusal(id, ErrorCode::CANCELLED, String::new());
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
                    self.abort(ConnectionError::Decode(error));
                    break;
                }
            }
            if self.phase.is_closed() {
                break;
            }
        }
    }

    /// The peer closed the link (end of stream).
    pub fn handle_eof(&mut self, now: Instant) {
        if self.config.is_lossy_link() {
            while let Ok(Some(item)) = self.decoder.decode_eof(&mut self.input) {
                self.handle_decoded(item, now);
            }
        }
        if self.phase.is_closed() {
            return;
        }
        let graceful = self.phase.peer_goaway()
            && self.send.messages.is_empty()
            && self.tracker.open_messages() == 0;
        if graceful {
            let by_peer = self.phase.started_by_peer();
            self.finish(None, by_peer);
        } else {
            self.fail_everything(ConnectionError::PeerClosed);
            self.finish(Some(ConnectionError::PeerClosed), false);
        }
    }

    /// The transport failed.
    pub fn handle_transport_error(&mut self, error: ConnectionError) {
        if self.phase.is_closed() {
            return;
        }
        self.fail_everything(error.clone());
        self.finish(Some(error), false);
    }

    /// A decoded item from the peer.
    pub fn handle_decoded(&mut self, item: Decoded, now: Instant) {
        self.now = self.now.max(now);
        if self.phase.is_closed() {
            return;
        }
        match item {
            Decoded::Frame(frame) => {
                tracing::trace!(
                    kind = ?frame.kind(),
                    msg.id = frame.message_id(),
                    payload = frame.payload_len(),
                    "frame read"
                );
                if matches!(frame, Frame::Open(_) | Frame::Data(_) | Frame::End(_)) {
                    self.keepalive.on_progress(now);
                }
                self.stats.frames_received += 1;
                if let Err(error) = self.handle_frame(frame, now) {
                    self.abort(error);
                }
            }
            Decoded::Damaged(damage) => self.handle_damage(damage),
        }
    }

    fn handle_frame(&mut self, frame: Frame, now: Instant) -> Result<(), ConnectionError> {
        let lossy = self.config.is_lossy_link();
        if !matches!(frame, Frame::Hello(_)) {
            self.peer_has_our_hello = true;
        }
        if self.peer.is_none() {
            return match frame {
                Frame::Hello(hello) => self.handle_hello(hello),
                // On a lossy link the peer's HELLO may have been lost; it is
                // repeated, so wait for it.
                _ if lossy => Ok(()),
                _ => Err(ConnectionError::NoHello { kind: frame.kind() }),
            };
        }
        match frame {
            // A repeated HELLO (lossy links repeat it until answered).
            Frame::Hello(_) if lossy => Ok(()),
            Frame::Hello(_) => Err(ConnectionError::DuplicateHello),
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
                        error: SendError::CancelledByPeer {
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
                        error: ReceiveError::CancelledByPeer {
                            code: cancel.code,
                            reason: cancel.reason,
                        },
                    });
                }
                Ok(())
            }
            Frame::Credit(credit) => {
                if credit.message_id == 0 {
                    self.peer_window = self
                        .peer_window
                        .max(credit.limit.saturating_sub(self.send_total));
                    if let Some(limit) = &mut self.send_limit {
                        *limit = (*limit).max(credit.limit);
                    }
                } else {
                    self.send.raise_limit(credit.message_id, credit.limit);
                }
                Ok(())
            }
            Frame::Ping(Ping { opaque }) => {
                // Only the latest PING is answered (see `pong`).
                self.pong = Some(opaque);
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

    fn handle_hello(&mut self, hello: Hello) -> Result<(), ConnectionError> {
        self.handshake_deadline = None;
        self.encoder.set_peer_limits(hello.limits);
        self.send_limit = (hello.connection_window != UNLIMITED_WINDOW)
            .then_some(u64::from(hello.connection_window));
        let window = u64::from(hello.message_window);
        for id in self.send.messages.keys().copied().collect::<Vec<_>>() {
            self.send.raise_limit(id, window);
        }
        self.events.push_back(Event::Connected {
            agent: hello.headers.get_str("agent").map(str::to_owned),
        });
        self.peer = Some(hello);
        // The peer is real: the connection window opens to its initial
        // size, the part above the floor from the shared budget (a peer
        // that never says HELLO holds none of it).
        let now = self.now;
        if let Some(limit) = self
            .recv_window
            .as_mut()
            .and_then(|window| window.restore_initial(now))
        {
            self.queue_credit(0, limit);
        }
        // The round trip is measured from the start, not from the first
        // keepalive tick after the handshake: windows grow from it.
        if self.keepalive.wants_first_sample() {
            self.ping(self.now);
        }
        Ok(())
    }

    fn handle_message_frame(&mut self, frame: Frame) -> Result<(), ConnectionError> {
        let lossy = self.config.is_lossy_link();
        let id = frame.message_id();
        let inbound = match self.tracker.on_frame(&frame) {
            Ok(inbound) => inbound,
            Err(netcore_protocol::InboundError::MessageTooLarge { reached, max, .. }) => {
                // One message over the limit fails that message, not the
                // connection; its bytes are released.
                let body_len = match &frame {
                    Frame::Data(data) => data.payload.len() as u64,
                    _ => 0,
                };
                if let Some(window) = &mut self.recv_window {
                    let _ = window.receive(body_len);
                }
                self.received_and_released(body_len);
                self.fail_incoming(
                    id,
                    ReceiveError::TooLarge {
                        limit: "max_message_size",
                        len: reached,
                        max,
                    },
                );
                return Ok(());
            }
            Err(error) if lossy => {
                // On a lossy link a broken message costs that message only.
                self.fail_incoming(id, ReceiveError::Damaged(error.to_string()));
                return Ok(());
            }
            Err(error) => return Err(ConnectionError::Inbound(error)),
        };
        let body = match &frame {
            Frame::Open(open) => open.body.clone(),
            Frame::Data(data) => data.payload.clone(),
            _ => Bytes::new(),
        };
        if let Some(window) = &mut self.recv_window {
            window
                .receive(body.len() as u64)
                .map_err(|overrun| ConnectionError::FlowControl {
                    scope: FlowScope::Connection,
                    limit: overrun.limit,
                    reached: overrun.reached,
                })?;
        }
        let Inbound::Progress { complete, .. } = inbound else {
            // A late frame of a message we cancelled: its bytes are released.
            if lossy && !matches!(frame, Frame::End(_)) {
                self.refuse(id, ErrorCode::CANCELLED);
            }
            let released = body.len() as u64;
            self.received_and_released(released);
            return Ok(());
        };
        if let Frame::Open(open) = frame {
            self.highest_incoming = self.highest_incoming.max(id);
            let header_bytes = open.headers.encoded_len();
            let budget = self.config.header_budget;
            // The connection's own budget first, then the shared one.
            let header_shared = self.header_bytes + header_bytes > budget;
            if !complete && header_shared && !self.take_shared_header_bytes(header_bytes) {
                tracing::debug!(
                    msg.id = id,
                    header_bytes,
                    budget,
                    "message refused: the header budgets are full"
                );
                self.tracker.cancel(id);
                self.queue_refusal(
                    id,
                    ErrorCode::REFUSED,
                    format!(
                        "header budget of {budget} bytes is full, and so is the shared one of {} bytes",
                        self.config.shared_header_budget.total()
                    ),
                );
                self.received_and_released(body.len() as u64);
                return Ok(());
            }
            let header_shared = !complete && header_shared;
            if !header_shared {
                self.header_bytes += header_bytes;
            }
            self.incoming.insert(
                id,
                IncomingState {
                    window: RecvWindow::new(u64::from(self.config.message_window)),
                    total_len: open.total_len,
                    complete: false,
                    header_bytes,
                    header_shared,
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
                return Err(ConnectionError::FlowControl {
                    scope: FlowScope::Message(id),
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
                self.forget_incoming(id);
            }
        }
        Ok(())
    }

    fn handle_goaway(&mut self, goaway: GoAway) {
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
                error: SendError::Refused(id),
            });
        }
        self.events.push_back(Event::PeerGoingAway {
            code: goaway.code,
            reason: goaway.reason.clone(),
        });
        if goaway.code != ErrorCode::NO_ERROR {
            let error = ConnectionError::GoAway {
                code: goaway.code,
                reason: goaway.reason,
            };
            self.fail_everything(error.clone());
            self.finish(Some(error), false);
            return;
        }
        // The peer is going: we close too, once our messages are out.
        if self.phase.on_peer_goaway().is_ok() {
            self.check_graceful_end();
        }
    }

    fn handle_damage(&mut self, damage: Damage) {
        self.stats.damage_reports += 1;
        tracing::warn!(?damage, "damage on the link: resynchronised past it");
        match damage {
            // OPEN, DATA and END (or a kind we cannot tell) name the peer's
            // message; CREDIT and CANCEL may name ours, whose credit the
            // keepalive refresh restores.
            Damage::Frame {
                message_id,
                kind: None | Some(FrameKind::Open | FrameKind::Data | FrameKind::End),
                error,
            } if message_id != 0 => {
                self.fail_incoming(message_id, ReceiveError::Damaged(error.to_string()));
            }
            Damage::Frame { .. } => {}
            Damage::Skipped { bytes } => {
                // Any message in flight may have lost a frame in those bytes,
                // and a lost last frame would leave it waiting forever: fail
                // them all rather than risk delivering a short or stuck body.
                for id in self.arriving() {
                    self.fail_incoming(
                        id,
                        ReceiveError::Damaged(format!("{bytes} bytes lost or damaged on the link")),
                    );
                }
            }
        }
    }

    /// Fails incoming message `id` (if open) and tells the peer to stop it.
    fn fail_incoming(&mut self, id: u64, error: ReceiveError) {
        let was_open = self.incoming.get(&id).is_some_and(|s| !s.complete);
        self.refuse(id, error.code());
        if was_open {
            if let Some(state) = self.forget_incoming(id) {
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
        self.queue_refusal(id, code, String::new());
    }

    fn drop_incoming(&mut self, id: u64, now: Instant) {
        if let Some(state) = self.forget_incoming(id) {
            self.consume_connection(state.window.unconsumed(), now);
        }
    }
}
