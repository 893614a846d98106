//! PING/PONG keepalive, the round-trip estimate and the idle timeout.

use std::time::{Duration, Instant};

#[derive(Debug)]
pub(crate) struct Keepalive {
    interval: Option<Duration>,
    idle_timeout: Option<Duration>,
    next_ping: Option<Instant>,
    outstanding: Option<(u64, Instant)>,
    sequence: u64,
    srtt: Option<Duration>,
    last_received: Instant,
}

impl Keepalive {
    pub(crate) fn new(
        interval: Option<Duration>,
        idle_timeout: Option<Duration>,
        now: Instant,
    ) -> Keepalive {
        Keepalive {
            interval,
            idle_timeout,
            // A first PING right away gives an early round-trip estimate.
            next_ping: Some(now),
            outstanding: None,
            sequence: 0,
            srtt: None,
            last_received: now,
        }
    }

    /// Smoothed round-trip time, once measured.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.srtt
    }

    pub(crate) fn on_received(&mut self, now: Instant) {
        self.last_received = now;
    }

    /// Whether the idle timeout has passed.
    pub(crate) fn idle(&self, now: Instant) -> Option<Duration> {
        self.idle_timeout
            .filter(|timeout| now.saturating_duration_since(self.last_received) >= *timeout)
    }

    /// A PING to send now, if one is due.
    pub(crate) fn ping_due(&mut self, now: Instant) -> Option<u64> {
        let due = self.next_ping.is_some_and(|at| now >= at);
        if !due {
            return None;
        }
        self.next_ping = self.interval.map(|interval| now + interval);
        if self.interval.is_none() && self.srtt.is_some() {
            return None;
        }
        self.sequence += 1;
        self.outstanding = Some((self.sequence, now));
        Some(self.sequence)
    }

    /// A PONG arrived; returns the new round-trip sample if it answers our PING.
    pub(crate) fn on_pong(&mut self, opaque: u64, now: Instant) -> Option<Duration> {
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
            .map(|timeout| self.last_received + timeout);
        match (self.next_ping, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pings_on_schedule_and_measures_rtt() {
        let start = Instant::now();
        let mut keepalive = Keepalive::new(Some(Duration::from_secs(10)), None, start);
        assert_eq!(keepalive.ping_due(start), Some(1));
        assert_eq!(keepalive.ping_due(start), None);
        let sample = keepalive.on_pong(1, start + Duration::from_millis(4));
        assert_eq!(sample, Some(Duration::from_millis(4)));
        assert_eq!(keepalive.rtt(), Some(Duration::from_millis(4)));
        assert_eq!(keepalive.on_pong(1, start), None, "answered twice");
        assert_eq!(keepalive.deadline(), Some(start + Duration::from_secs(10)));
        assert_eq!(keepalive.ping_due(start + Duration::from_secs(10)), Some(2));
    }

    #[test]
    fn idles_out_without_traffic() {
        let start = Instant::now();
        let keepalive = Keepalive::new(None, Some(Duration::from_secs(5)), start);
        assert_eq!(keepalive.idle(start + Duration::from_secs(4)), None);
        assert_eq!(
            keepalive.idle(start + Duration::from_secs(5)),
            Some(Duration::from_secs(5))
        );
    }
}
