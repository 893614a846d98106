//! The connection's lifecycle: the [`Phase`] enum and its transitions
//! (closing, GOAWAY, the end), and what time does (keepalive, idle timeout).
//!
//! ```text
//!   Open ──close()──────────────▶ Closing{peer_goaway: false, by_peer: false}
//!   Open ──peer GOAWAY(NO_ERROR)─▶ Closing{peer_goaway: true, by_peer: true}
//!   Closing ──our messages framed: GOAWAY out──▶ Draining{peer_goaway}
//!   Closing/Draining ──peer GOAWAY──▶ same, peer_goaway: true
//!   Draining{peer_goaway: true} ──nothing in flight──▶ Closed
//!   any ──abort / error / EOF──▶ Closed
//! ```
//!
//! Whether the peer's HELLO came is not a phase: it is the peer's settings,
//! [`Connection::peer_hello`]; [`Connection::state`] combines both into the
//! public [`ConnectionState`].

use std::time::Instant;

use netcore_protocol::{ErrorCode, Frame, GoAway, Ping};

use super::Connection;
use super::credit_reserve::CreditReserve;
use crate::core::{ConnectionState, Event};
use crate::error::{ConnectionError, ReceiveError, SendError};

/// Where the connection is in its close, from open to over. Each variant
/// holds exactly what that phase needs, so no combination of flags can
/// contradict another.
#[derive(Debug)]
pub(super) enum Phase {
    /// Messages may be opened.
    Open,
    /// A close was asked for (by us, or by the peer's GOAWAY): no new
    /// messages; our GOAWAY waits until our messages are all framed.
    Closing {
        /// The GOAWAY code to send.
        code: ErrorCode,
        /// The GOAWAY reason to send.
        reason: String,
        /// The peer said GOAWAY too.
        peer_goaway: bool,
        /// The peer's GOAWAY started the close.
        by_peer: bool,
    },
    /// Our GOAWAY is out; messages in flight both ways finish.
    Draining {
        /// The peer said GOAWAY too.
        peer_goaway: bool,
        /// The peer's GOAWAY started the close.
        by_peer: bool,
    },
    /// Over; [`Event::Closed`] was emitted.
    Closed {
        /// Why, if not graceful.
        error: Option<ConnectionError>,
        /// A graceful end the peer started.
        by_peer: bool,
    },
}

/// A transition the current phase does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NotAllowed {
    pub(super) from: ConnectionState,
}

impl Phase {
    pub(super) fn is_closed(&self) -> bool {
        matches!(self, Phase::Closed { .. })
    }

    /// The peer said GOAWAY (gracefully or not).
    pub(super) fn peer_goaway(&self) -> bool {
        matches!(
            self,
            Phase::Closing {
                peer_goaway: true,
                ..
            } | Phase::Draining {
                peer_goaway: true,
                ..
            }
        )
    }

    /// The close under way was started by the peer's GOAWAY.
    pub(super) fn started_by_peer(&self) -> bool {
        matches!(
            self,
            Phase::Closing { by_peer: true, .. } | Phase::Draining { by_peer: true, .. }
        )
    }

    /// Our GOAWAY is out (or will never be needed).
    pub(super) fn goaway_sent(&self) -> bool {
        matches!(self, Phase::Draining { .. } | Phase::Closed { .. })
    }

    /// Whether message `id` may be opened now, and if not, why: this side
    /// is closing, the peer is going away, or the connection is over.
    pub(super) fn check_open(&self, id: u64) -> Result<(), SendError> {
        match self {
            Phase::Open => Ok(()),
            _ if self.peer_goaway() => Err(SendError::Refused(id)),
            Phase::Closed {
                error: Some(error), ..
            } => Err(SendError::Connection(error.clone())),
            Phase::Closed { by_peer: true, .. } => Err(ConnectionError::PeerClosed.into()),
            _ => Err(ConnectionError::Closed.into()),
        }
    }

    /// `Open → Closing`: this side asks for a graceful close.
    pub(super) fn begin_close(&mut self, code: ErrorCode, reason: &str) -> Result<(), NotAllowed> {
        match self {
            Phase::Open => {
                *self = Phase::Closing {
                    code,
                    reason: reason.to_owned(),
                    peer_goaway: false,
                    by_peer: false,
                };
                Ok(())
            }
            other => Err(NotAllowed {
                from: other.public(true),
            }),
        }
    }

    /// The peer's graceful GOAWAY: `Open → Closing` (we close too), or
    /// noted in `Closing`/`Draining`.
    pub(super) fn on_peer_goaway(&mut self) -> Result<(), NotAllowed> {
        match self {
            Phase::Open => {
                *self = Phase::Closing {
                    code: ErrorCode::NO_ERROR,
                    reason: String::new(),
                    peer_goaway: true,
                    by_peer: true,
                };
                Ok(())
            }
            Phase::Closing { peer_goaway, .. } | Phase::Draining { peer_goaway, .. } => {
                *peer_goaway = true;
                Ok(())
            }
            Phase::Closed { .. } => Err(NotAllowed {
                from: ConnectionState::Closed,
            }),
        }
    }

    /// `Closing → Draining`: returns the GOAWAY to send.
    pub(super) fn send_goaway(&mut self) -> Result<(ErrorCode, String), NotAllowed> {
        match std::mem::replace(self, Phase::Open) {
            Phase::Closing {
                code,
                reason,
                peer_goaway,
                by_peer,
            } => {
                *self = Phase::Draining {
                    peer_goaway,
                    by_peer,
                };
                Ok((code, reason))
            }
            other => {
                let from = other.public(true);
                *self = other;
                Err(NotAllowed { from })
            }
        }
    }

    /// `any → Closed`. Returns `false` if it already was.
    pub(super) fn finish(&mut self, error: Option<ConnectionError>, by_peer: bool) -> bool {
        if self.is_closed() {
            return false;
        }
        *self = Phase::Closed { error, by_peer };
        true
    }

    /// The public name of this phase; `peer_known` says whether the peer's
    /// HELLO came.
    pub(super) fn public(&self, peer_known: bool) -> ConnectionState {
        match self {
            Phase::Open if peer_known => ConnectionState::Open,
            Phase::Open => ConnectionState::AwaitingHello,
            Phase::Closing { .. } => ConnectionState::Closing,
            Phase::Draining { .. } => ConnectionState::Draining,
            Phase::Closed { .. } => ConnectionState::Closed,
        }
    }
}

impl Connection {
    /// Where the connection is in its life.
    pub fn state(&self) -> ConnectionState {
        self.phase.public(self.peer.is_some())
    }

    /// Starts a graceful close: no new messages may be opened; those already
    /// accepted are sent, then GOAWAY says no more will come; messages in
    /// flight both ways finish. [`Event::Closed`] follows once both sides are
    /// done. Does nothing if a close is already under way.
    pub fn close(&mut self, code: ErrorCode, reason: &str) {
        if self.phase.begin_close(code, reason).is_ok() {
            self.check_graceful_end();
        }
    }

    /// Ends the connection at once: everything pending fails with `error`,
    /// the peer gets a GOAWAY with its code.
    pub fn abort(&mut self, error: ConnectionError) {
        if self.phase.is_closed() {
            return;
        }
        // A violation by the peer (or a local failure) is worth a warning;
        // an application's own abort is not.
        if matches!(error, ConnectionError::Closed) {
            tracing::debug!(%error, "connection aborted");
        } else {
            tracing::warn!(%error, code = %error.code(), "connection aborted");
        }
        if !self.phase.goaway_sent() {
            self.queue_goaway(error.code(), error.to_string());
        }
        self.fail_everything(error.clone());
        self.finish(Some(error), false);
    }

    fn queue_goaway(&mut self, code: ErrorCode, reason: String) {
        self.control.push_back(Frame::GoAway(GoAway {
            last_message_id: self.highest_incoming,
            code,
            reason,
        }));
    }

    /// Sends our GOAWAY once a close was asked for and our messages are all
    /// framed; once both sides said GOAWAY and nothing is in flight, the
    /// connection is over.
    pub(super) fn check_graceful_end(&mut self) {
        if matches!(self.phase, Phase::Closing { .. })
            && self.send.messages.is_empty()
            && let Ok((code, reason)) = self.phase.send_goaway()
        {
            self.queue_goaway(code, reason);
        }
        if let Phase::Draining {
            peer_goaway: true,
            by_peer,
        } = self.phase
            && self.send.messages.is_empty()
            && self.tracker.open_messages() == 0
        {
            self.finish(None, by_peer);
        }
    }

    /// Fails every message both ways with the connection's `error`.
    pub(super) fn fail_everything(&mut self, error: ConnectionError) {
        let outgoing: Vec<u64> = self.send.messages.keys().copied().collect();
        for id in outgoing {
            self.send.remove(id);
            self.events.push_back(Event::OutgoingFailed {
                id,
                error: SendError::Connection(error.clone()),
            });
        }
        // Only messages the application was told about can fail.
        self.tracker.clear();
        for id in self.arriving() {
            self.forget_incoming(id);
            self.events.push_back(Event::IncomingFailed {
                id,
                error: ReceiveError::Connection(error.clone()),
            });
        }
    }

    /// The end: [`Event::Closed`], once.
    pub(super) fn finish(&mut self, error: Option<ConnectionError>, by_peer: bool) {
        if self.phase.finish(error.clone(), by_peer) {
            self.events.push_back(Event::Closed { error, by_peer });
        }
    }

    // ----- time ------------------------------------------------------------

    /// Time passed: sends keepalive PINGs and enforces the handshake, idle
    /// and keepalive timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.phase.is_closed() {
            return;
        }
        if let Some(deadline) = self.handshake_deadline
            && now >= deadline
        {
            let waited = self.config.handshake_timeout.unwrap_or_default();
            self.abort(ConnectionError::HandshakeTimeout(waited));
            return;
        }
        if let Some(idle) = self.keepalive.idle(now) {
            self.abort(ConnectionError::IdleTimeout(idle));
            return;
        }
        if let Some(silent) = self.keepalive.unanswered(now) {
            self.abort(ConnectionError::KeepaliveTimeout(silent));
            return;
        }
        if !self.keepalive.ping_due(now) {
            return;
        }
        self.shrink_quiet_window();
        let lossy = self.config.is_lossy_link();
        if lossy && !self.peer_has_our_hello {
            // Our HELLO may have been lost: say it again.
            self.control.push_back(Frame::Hello(self.hello.clone()));
        }
        // Before the peer's HELLO nothing but HELLO may go out; the first
        // PING then leaves with the HELLO's arrival (`handle_hello`).
        if self.peer.is_some() {
            self.ping(now);
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
                    self.queue_credit(message_id, limit);
                }
            }
        }
    }

    /// A keepalive interval went by: if no body byte arrived in it, the
    /// connection window goes back to its initial size, so a connection
    /// that moved bulk once does not keep a large window (memory the peer
    /// could fill) while it idles. Credit already granted stays granted.
    fn shrink_quiet_window(&mut self) {
        if let Some(window) = &mut self.recv_window {
            if window.received == self.received_at_tick {
                if window.window > window.initial {
                    tracing::debug!(
                        window = window.window,
                        initial = window.initial,
                        "connection quiet; receive window back to its initial size"
                    );
                }
                // Also forgets what the path carried: the next transfer
                // may find it faster.
                window.reset();
            }
            self.received_at_tick = window.received;
        }
    }

    /// Queues a PING, timed for the round-trip estimate.
    pub(super) fn ping(&mut self, now: Instant) {
        let opaque = self.keepalive.ping_sent(now);
        self.control.push_back(Frame::Ping(Ping { opaque }));
    }

    /// When [`Connection::handle_timeout`] should next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.phase.is_closed() {
            None
        } else {
            let reserve = self
                .credit_reserve
                .deadline(CreditReserve::hold(self.keepalive.rtt()));
            [self.keepalive.deadline(), self.handshake_deadline, reserve]
                .into_iter()
                .flatten()
                .min()
        }
    }
}
