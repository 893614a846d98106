//! Receive-side flow control: absolute limits, granted as the application
//! consumes, with windows that grow towards the bandwidth-delay product.

use std::time::{Duration, Instant};

/// One receive window: a message's or the connection's.
#[derive(Debug, Clone)]
pub(crate) struct RecvWindow {
    /// Absolute limit granted to the peer (body bytes).
    pub(crate) limit: u64,
    /// Body bytes received.
    pub(crate) received: u64,
    /// Body bytes the application consumed.
    pub(crate) consumed: u64,
    /// Current window size.
    pub(crate) window: u64,
    /// When the limit was last raised.
    last_raise: Option<Instant>,
}

/// The peer went past the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Overrun {
    pub(crate) limit: u64,
    pub(crate) reached: u64,
}

impl RecvWindow {
    pub(crate) fn new(window: u64) -> RecvWindow {
        RecvWindow {
            limit: window,
            received: 0,
            consumed: 0,
            window,
            last_raise: None,
        }
    }

    /// Records `n` received bytes; fails if that passes the limit.
    pub(crate) fn receive(&mut self, n: u64) -> Result<(), Overrun> {
        let reached = self.received.saturating_add(n);
        if reached > self.limit {
            return Err(Overrun {
                limit: self.limit,
                reached,
            });
        }
        self.received = reached;
        Ok(())
    }

    /// Bytes received and not consumed.
    pub(crate) fn unconsumed(&self) -> u64 {
        self.received - self.consumed
    }

    /// Records `n` consumed bytes. Returns a new limit to announce when less
    /// than half a window of credit is left. If the peer had used up all its
    /// credit and the previous raise was less than one round trip ago, the
    /// window drains faster than credit can come back — it is below the
    /// bandwidth-delay product — so it doubles (up to `max_window`). `cap` bounds the limit (a message's total
    /// length).
    ///
    /// One round trip rather than two: a window of twice the BDP is enough to
    /// keep the link busy, and every byte beyond it is queued ahead of the
    /// next small message.
    pub(crate) fn consume(
        &mut self,
        n: u64,
        now: Instant,
        rtt: Option<Duration>,
        max_window: u64,
        cap: Option<u64>,
    ) -> Option<u64> {
        self.consumed = (self.consumed + n).min(self.received);
        let left = self.limit.saturating_sub(self.consumed);
        if left > self.window / 2 {
            return None;
        }
        // Grow only when the peer used up all its credit (it had to stop and
        // wait) and the previous raise came less than a round trip ago.
        let exhausted = self.received >= self.limit;
        if let (true, Some(last), Some(rtt)) = (exhausted, self.last_raise, rtt)
            && now.saturating_duration_since(last) < rtt
        {
            self.window = (self.window * 2).min(max_window.max(self.window));
        }
        self.last_raise = Some(now);
        let mut limit = self.consumed.saturating_add(self.window);
        if let Some(cap) = cap {
            limit = limit.min(cap);
        }
        (limit > self.limit).then(|| {
            self.limit = limit;
            limit
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrun_is_refused() {
        let mut window = RecvWindow::new(100);
        assert_eq!(window.receive(100), Ok(()));
        assert_eq!(
            window.receive(1),
            Err(Overrun {
                limit: 100,
                reached: 101
            })
        );
    }

    #[test]
    fn credit_is_granted_after_half_a_window() {
        let now = Instant::now();
        let mut window = RecvWindow::new(100);
        window.receive(100).expect("within limit");
        assert_eq!(window.consume(40, now, None, 1000, None), None);
        assert_eq!(window.consume(20, now, None, 1000, None), Some(160));
        assert_eq!(window.unconsumed(), 40);
    }

    #[test]
    fn window_grows_when_raises_come_faster_than_a_round_trip() {
        let start = Instant::now();
        let rtt = Some(Duration::from_millis(10));
        let mut window = RecvWindow::new(100);
        window.receive(100).expect("within limit");
        assert_eq!(window.consume(100, start, rtt, 1000, None), Some(200));
        window.receive(100).expect("within limit");
        let soon = start + Duration::from_millis(5);
        assert_eq!(window.consume(100, soon, rtt, 1000, None), Some(400));
        assert_eq!(window.window, 200);
        // Slow consumption: no growth.
        window.receive(200).expect("within limit");
        let later = soon + Duration::from_secs(1);
        assert_eq!(window.consume(200, later, rtt, 1000, None), Some(600));
        assert_eq!(window.window, 200);
        // Fast, but the peer never ran out of credit: no growth either.
        window.receive(150).expect("within limit");
        let quick = later + Duration::from_millis(1);
        assert_eq!(window.consume(150, quick, rtt, 1000, None), Some(750));
        assert_eq!(window.window, 200);
    }

    #[test]
    fn limit_never_passes_the_cap() {
        let mut window = RecvWindow::new(100);
        window.receive(100).expect("within limit");
        assert_eq!(
            window.consume(100, Instant::now(), None, 1000, Some(150)),
            Some(150)
        );
        window.receive(50).expect("within limit");
        assert_eq!(
            window.consume(50, Instant::now(), None, 1000, Some(150)),
            None
        );
    }
}
