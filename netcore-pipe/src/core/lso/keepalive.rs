//! PING/PONG keepalive, the round-trip estimate, the idle timeout and the
//! keepalive timeout (a link that stopped answering).
//!
//! Two different silences end a connection:
//!
//! - **idle**: no message frame (OPEN, DATA, END) in either direction for
//!   the idle timeout. PING, PONG and CREDIT do not count: a peer that only
//!   keeps the link warm, or trickles bytes that never complete a frame,
//!   does not hold a connection for ever.
//! - **keepalive**: a PING of ours went unanswered for the keepalive
//!   timeout: the path is blackholed (sockets open, nothing arrives) or the
//!   peer is wedged. A PONG to any PING of ours (not only the latest: on a
//!   lossy link one may be lost) clears it.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Keepalive {
    interval: Option<Duration>,
    idle_timeout: Option<Duration>,
    keepalive_timeout: Option<Duration>,
    next_ping: Option<Instant>,
    outstanding: Option<(u64, Instant)>,
    /// When the oldest PING still unanswered went out.
    unanswered_since: Option<Instant>,
    sequence: u64,
    srtt: Option<Duration>,
    /// The last message frame, sent or received.
    last_progress: Instant,
}

impl Keepalive {
    pub(crate) fn new(
        interval: Option<Duration>,
        idle_timeout: Option<Duration>,
        keepalive_timeout: Option<Duration>,
        now: Instant,
    ) -> Keepalive {
        Keepalive {
            interval,
            idle_timeout,
            keepalive_timeout,
            // A first PING right away gives an early round-trip estimate.
            next_ping: Some(now),
            outstanding: None,
            unanswered_since: None,
            sequence: 0,
            srtt: None,
            last_progress: now,
        }
    }

    /// Smoothed round-trip time, once measured.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// A message frame went out or came in: the connection is not idle.
    pub(crate) fn on_progress(&mut self, now: Instant) {
        self.last_progress = self.last_progress.max(now);
    }

    /// Whether the idle timeout has passed.
    pub(crate) fn idle(&self, now: Instant) -> Option<Duration> {
        self.idle_timeout
            .filter(|timeout| now.saturating_duration_since(self.last_progress) >= *timeout)
    }

    /// Whether a PING has gone unanswered for the keepalive timeout.
    pub(crate) fn unanswered(&self, now: Instant) -> Option<Duration> {
        let since = self.unanswered_since?;
        self.keepalive_timeout
            .filter(|timeout| now.saturating_duration_since(since) >= *timeout)
    }

    /// Whether a keepalive tick is due now; moves the schedule on. The PING
    /// itself is registered by [`Keepalive::ping_sent`] once it can go out
    /// (not before the peer's HELLO).
    pub(crate) fn ping_due(&mut self, now: Instant) -> bool {
        let due = self.next_ping.is_some_and(|at| now >= at);
        if !due {
            return false;
        }
        self.next_ping = self.interval.map(|interval| now + interval);
        // Without keepalive only the first PING goes out, for the estimate.
        self.interval.is_some() || self.srtt.is_none()
    }

    /// Whether a first round-trip sample is still to be asked for: no
    /// estimate yet and no PING out. The core PINGs as soon as the peer's
    /// HELLO arrives, so windows can grow from the first round trip.
    pub(crate) fn wants_first_sample(&self) -> bool {
        self.srtt.is_none() && self.outstanding.is_none()
    }

    /// A PING goes out now: returns its opaque value, and times it.
    pub(crate) fn ping_sent(&mut self, now: Instant) -> u64 {
        self.sequence += 1;
        self.outstanding = Some((self.sequence, now));
        self.unanswered_since.get_or_insert(now);
        self.sequence
    }

    /// A PONG arrived; returns the new round-trip sample if it answers our
    /// latest PING.
    pub(crate) fn on_pong(&mut self, opaque: u64, now: Instant) -> Option<Duration> {
        if opaque >= 1 && opaque <= self.sequence {
            // The peer answers: the path works both ways.
            self.unanswered_since = None;
        }
        let (sequence, sent) = self.outstanding?;
        if sequence != opaque {
            return None;
        }
        self.outstanding = None;
        let sample = now.saturating_duration_since(sent);
        self.srtt = Some(match self.srtt {
            None => sample,
            Some(srtt) => (srtt * 7 + sample) / 8,
        });
        Some(sample)
    }

    /// When `handle_timeout` should next run.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        let idle = self
            .idle_timeout
            .map(|timeout| self.last_progress + timeout);
        let unanswered = self
            .unanswered_since
            .zip(self.keepalive_timeout)
            .map(|(since, timeout)| since + timeout);
        [self.next_ping, idle, unanswered]
            .into_iter()
            .flatten()
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_on_schedule_and_measures_rtt() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(Some(Duration::from_secs(10)), None, None, start);
        assert!(keepalive.ping_due(start));
        assert_eq!(keepalive.ping_sent(start), 1);
        assert!(!keepalive.ping_due(start));
        let sample = keepalive.on_pong(1, start + Duration::from_millis(4));
        assert_eq!(sample, Some(Duration::from_millis(4)));
        assert_eq!(keepalive.rtt(), Some(Duration::from_millis(4)));
        assert_eq!(keepalive.on_pong(1, start), None, "answered twice");
        assert_eq!(keepalive.deadline(), Some(start + Duration::from_secs(10)));
        assert!(keepalive.ping_due(start + Duration::from_secs(10)));
        assert_eq!(keepalive.ping_sent(start + Duration::from_secs(10)), 2);
    }

    #[test]
    fn a_first_sample_is_asked_for_until_one_arrives() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(None, None, None, start);
        assert!(keepalive.wants_first_sample());
        // The first tick passes before the peer is known: nothing is sent,
        // and the first sample is still wanted.
        assert!(keepalive.ping_due(start));
        assert!(keepalive.wants_first_sample());
        let opaque = keepalive.ping_sent(start);
        assert!(!keepalive.wants_first_sample(), "one PING out is enough");
        keepalive.on_pong(opaque, start + Duration::from_millis(56));
        assert!(!keepalive.wants_first_sample());
        assert_eq!(keepalive.rtt(), Some(Duration::from_millis(56)));
        // Keepalive off: no PING ever again.
        assert!(!keepalive.ping_due(start + Duration::from_secs(60)));
    }

    #[test]
    fn idles_out_without_traffic() {
        let start = Instant::now();
        let keepalive = Keepalive::new(None, Some(Duration::from_secs(5)), None, start);
        assert_eq!(keepalive.idle(start + Duration::from_secs(4)), None);
        assert_eq!(
            keepalive.idle(start + Duration::from_secs(5)),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn only_progress_resets_the_idle_timer() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let mut keepalive = Keepalive::new(Some(second), Some(second * 5), None, start);
        // PINGs answered every second keep the link alive, not busy.
        for s in 0..5 {
            let now = start + second * s;
            if keepalive.ping_due(now) {
                let opaque = keepalive.ping_sent(now);
                keepalive.on_pong(opaque, now);
            }
        }
        assert_eq!(keepalive.idle(start + second * 5), Some(second * 5));
        keepalive.on_progress(start + second * 4);
        assert_eq!(keepalive.idle(start + second * 5), None);
    }

    #[test]
    fn an_unanswered_ping_times_out_and_any_answer_clears_it() {
        let start = Instant::now();
        let second = Duration::from_secs(1);
        let mut keepalive = Keepalive::new(Some(second), None, Some(second * 3), start);
        assert!(keepalive.ping_due(start));
        assert_eq!(keepalive.ping_sent(start), 1);
        assert!(keepalive.ping_due(start + second));
        assert_eq!(keepalive.ping_sent(start + second), 2);
        assert_eq!(keepalive.unanswered(start + second * 2), None);
        assert_eq!(keepalive.deadline(), Some(start + second * 2));
        // A late answer to the first PING still proves the path works.
        keepalive.on_pong(1, start + second * 2);
        assert_eq!(keepalive.unanswered(start + second * 10), None);
        assert!(keepalive.ping_due(start + second * 2));
        assert_eq!(keepalive.ping_sent(start + second * 2), 3);
        assert_eq!(
            keepalive.unanswered(start + second * 5),
            Some(second * 3),
            "blackholed since the third PING"
        );
        // A PONG we never asked for clears nothing.
        keepalive.on_pong(99, start + second * 5);
        assert!(keepalive.unanswered(start + second * 5).is_some());
    }
}
