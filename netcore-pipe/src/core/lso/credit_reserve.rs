//! The connection credit a sender keeps for urgent messages.
//!
//! Messages below [`Priority::HIGH`](netcore_protocol::Priority::HIGH) do
//! not use the last of the connection credit (an eighth of the peer's HELLO
//! window, at most two chunks), so a small urgent message beside bulk goes
//! at once instead of waiting a round trip for CREDIT. A receiver may grant
//! credit by any policy (docs/wire-format.md §2.6), including one that waits
//! until nearly all of its window was read: the reserve is therefore held
//! only for a while (two round trips, at least 10 ms; 100 ms before the
//! round trip is known). If no CREDIT lifted the credit above it by then,
//! it is released to every message until credit rises above it again, so
//! bulk never waits for ever on credit it was given.
//!
//! ```text
//!   Held ──credit ≤ reserve──▶ Entered(since) ──hold passed──▶ Released
//!    ▲                              │                             │
//!    └────────credit > reserve──────┴─────────────────────────────┘
//! ```

use std::time::{Duration, Instant};

/// How long the reserve is held once credit fell to it, before the round
/// trip is known.
const HOLD_WITHOUT_RTT: Duration = Duration::from_millis(100);

/// The shortest hold.
const MIN_HOLD: Duration = Duration::from_millis(10);

/// Round trips the reserve is held for.
const HOLD_ROUND_TRIPS: u32 = 2;

/// Where the reserve stands (see the [module docs](self)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    /// Credit is above the reserve, or has not fallen to it yet.
    #[default]
    Held,
    /// Credit fell to the reserve at this instant; held until the hold ends.
    Entered(Instant),
    /// Held long enough with no CREDIT: every message may use it.
    Released,
}

/// The reserve's state machine.
#[derive(Debug, Default)]
pub(crate) struct CreditReserve {
    state: State,
}

impl CreditReserve {
    /// How long the reserve is held for a round trip of `rtt`.
    pub(crate) fn hold(rtt: Option<Duration>) -> Duration {
        rtt.map_or(HOLD_WITHOUT_RTT, |rtt| {
            rtt.saturating_mul(HOLD_ROUND_TRIPS).max(MIN_HOLD)
        })
    }

    /// The reserve messages below HIGH must leave now: `full` or nothing.
    /// `credit`: the connection credit left.
    pub(crate) fn applies(&mut self, credit: u64, full: u64, now: Instant, hold: Duration) -> u64 {
        if credit > full {
            self.state = State::Held;
            return full;
        }
        match self.state {
            State::Held => {
                self.state = State::Entered(now);
                full
            }
            State::Entered(since) if now.saturating_duration_since(since) >= hold => {
                self.state = State::Released;
                0
            }
            State::Entered(_) => full,
            State::Released => 0,
        }
    }

    /// When the hold ends, if it is running: the core must be polled then.
    pub(crate) fn deadline(&self, hold: Duration) -> Option<Instant> {
        match self.state {
            State::Entered(since) => Some(since + hold),
            State::Held | State::Released => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_reserve_is_held_for_the_hold_then_released_until_credit_comes() {
        let start = Instant::now();
        let hold = 20 * MS;
        let mut reserve = CreditReserve::default();
        assert_eq!(reserve.applies(1000, 100, start, hold), 100);
        assert_eq!(reserve.deadline(hold), None);
        // Credit fell to the reserve: held for the hold.
        assert_eq!(reserve.applies(100, 100, start, hold), 100);
        assert_eq!(reserve.deadline(hold), Some(start + hold));
        assert_eq!(reserve.applies(100, 100, start + 19 * MS, hold), 100);
        // No CREDIT within it: released, and no timer left running.
        assert_eq!(reserve.applies(100, 100, start + hold, hold), 0);
        assert_eq!(reserve.deadline(hold), None);
        assert_eq!(reserve.applies(0, 100, start + 30 * MS, hold), 0);
        // CREDIT lifts credit above it: held again.
        assert_eq!(reserve.applies(500, 100, start + 40 * MS, hold), 100);
        assert_eq!(reserve.applies(50, 100, start + 41 * MS, hold), 100);
        assert_eq!(reserve.deadline(hold), Some(start + 41 * MS + hold));
    }

    #[test]
    fn the_hold_is_two_round_trips_and_at_least_ten_milliseconds() {
        assert_eq!(CreditReserve::hold(None), HOLD_WITHOUT_RTT);
        assert_eq!(CreditReserve::hold(Some(50 * MS)), 100 * MS);
        assert_eq!(
            CreditReserve::hold(Some(Duration::from_micros(40))),
            MIN_HOLD
        );
    }
}
