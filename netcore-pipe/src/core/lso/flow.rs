//! Receive-side flow control: absolute limits, granted as the application
//! consumes, with windows that grow towards the bandwidth-delay product.
//!
//! ## The growth rule
//!
//! Credit goes back each time a quarter of the window has been consumed, so
//! the sender may have up to the window in flight, less a quarter. For the
//! link to stay busy the window must hold what the path carries in one round
//! trip (the bandwidth-delay product, BDP) plus that quarter: the receiver
//! measures it. A **stretch** lasts at least one round trip (the RTT the
//! PING/PONG exchange measures, from the first round trip of the
//! connection) and a quarter of the window, or one whole window, whichever
//! comes first; the bytes the application consumed in it give the delivery
//! per round trip, and the rate is also sampled every eighth of a window.
//! At the end of each stretch:
//!
//! - **The window may be the limit** (half the window of the stretch before,
//!   whose credit these bytes used, came through per round trip): it grows
//!   to the larger of twice itself (at most two round trips' worth of the
//!   stretch) and **twice the burst rate × the RTT**, at most 64-fold.
//!   Bursts at the path's own rate, spaced out by a window that is too
//!   small, reveal the path's bandwidth, so the window jumps to about
//!   2 × BDP.
//! - **The path or the reader is the limit**: after a *continuous* stretch
//!   (no wait of a round trip between two reads), what it delivered per
//!   round trip is the path's BDP. A window that shrinks (the connection's)
//!   more than three times that was opened too far (by bursts read out of a
//!   buffer faster than the path carries, typically on short paths) and
//!   only queues bulk in the path ahead of every new message: it shrinks to
//!   twice the BDP (not within two round trips of a growth, whose stretch
//!   still carries bytes granted under the smaller window), and from then
//!   on bursts open it no further than that (doubling still does, and a
//!   stretch the window limits raises the estimate, for a path that got
//!   faster; a quiet connection forgets it). Message windows do
//!   not shrink: a message's delivery is its share of the connection, and
//!   shrinking by it would starve the messages already behind; they are
//!   kept within the connection's window when it shrinks.
//!
//! Always up to `max_window`, and for the connection window as far as its
//! [`WindowBudget`](super::WindowBudget) allows; the connection window is
//! also kept at least as large as any message's (up to twice the path's
//! BDP once known). The first stretch starts with the first bytes read and
//! counts them, so a first window that arrives whole in one burst is judged
//! at once.
//!
//! - A transfer limited by its window reaches 2 × BDP within one or two
//!   round trips (a 56 ms path at 500 MB/s: from 512 KiB to 56 MB), or
//!   doubles each round trip where its deliveries are not bursty.
//! - A transfer limited by the path settles at 2–3 × BDP: the sender keeps
//!   1.5–3 BDP in flight, so at most two round trips' worth queue ahead of
//!   a new message.
//! - A slow reader consumes little per round trip: its window does not grow,
//!   and it still stops the sender (credit goes back only as it reads).
//! - Paths with a round trip under 1 ms (loopback, a LAN) keep the initial
//!   windows: their BDP is below them, and bursts read out of a socket
//!   buffer there would look like a fast path (small windows keep a small
//!   message's latency low under bulk).
//!
//! A stretch that lasted a round trip but carried less than a quarter of the
//! window goes on: ending it on the first chunk of the next burst would
//! judge the window by that chunk (and not grow it for another round trip).
//! Samples shorter than 10 µs are not timed (bytes read out of a buffer,
//! not the path's rate), and the jump is bounded (64-fold, `max_window`,
//! the budget), so a burst of reads cannot blow a window up unbounded.

use std::time::{Duration, Instant};

use super::window_budget::Reservation;

/// Credit goes back once `1 / CREDIT_FRACTION` of the window was consumed.
const CREDIT_FRACTION: u64 = 4;

/// The window may be the limit (and grows) when at least `1 /
/// LIMITED_FRACTION` of it is delivered per round trip. A sender held back
/// by the window delivers three quarters of it to all of it per round trip
/// (credit goes back every quarter), less what the round trip of CREDIT
/// and the sender's credit reserve for urgent messages take: measured
/// with three quarters, windows stuck just above the BDP.
const LIMITED_FRACTION: u64 = 2;

/// A window grows to this many round trips' worth of delivery: by the rate
/// over the whole stretch, or by the fastest delivery over an eighth of a
/// window (a burst at the path's rate: its bandwidth)...
const TARGET_ROUND_TRIPS: u64 = 2;

/// A window more than this many round trips' worth of what a continuous
/// stretch delivered only queues bytes in the path ahead of new messages:
/// it shrinks back to [`TARGET_ROUND_TRIPS`]' worth.
const OVERSIZED_ROUND_TRIPS: u64 = 3;

/// ...nor more than this many times over in one stretch.
const MAX_GROWTH: u64 = 64;

/// The delivery rate is sampled this many times per window.
const SAMPLES_PER_WINDOW: u64 = 8;

/// Windows grow only on paths whose round trip is at least this long. On
/// shorter ones (loopback, a LAN) the initial windows already carry more
/// than the path's bandwidth-delay product (512 KiB per 0.5 ms is 1 GB/s
/// per message, the connection's 4 MiB eight times that), and bursts read
/// out of a socket buffer at memory speed would otherwise look like a fast
/// path: measured on loopback, they grew a message window to 3.4 MiB, and
/// keeping it at 512 KiB gave 1.22 → 1.50 GB/s and a small message's p99
/// under bulk 2.5–3.7 ms → 0.6–1.4 ms.
const MIN_GROWTH_RTT: Duration = Duration::from_millis(1);

/// Samples shorter than this are not timed (a burst read from a buffer, not
/// the path's rate).
const MIN_SAMPLE: Duration = Duration::from_micros(10);

/// How a window may grow: the round-trip estimate and the ceiling.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Growth {
    /// Smoothed round-trip time, once measured (no growth before).
    pub(crate) rtt: Option<Duration>,
    /// Largest the window may become.
    pub(crate) max_window: u64,
    /// Whether a window too large for the path shrinks (the connection's:
    /// what it holds is what the path queues). Message windows do not:
    /// each one's delivery is its share of the connection, not the path's
    /// rate, and shrinking by it would starve the ones already behind; they
    /// are kept within the connection's window instead.
    pub(crate) shrinks: bool,
}

/// One receive window: a message's or the connection's.
#[derive(Debug)]
pub(crate) struct RecvWindow {
    /// Absolute limit granted to the peer (body bytes).
    pub(crate) limit: u64,
    /// Body bytes received.
    pub(crate) received: u64,
    /// Body bytes the application consumed.
    pub(crate) consumed: u64,
    /// Current window size.
    pub(crate) window: u64,
    /// The window it started with.
    pub(crate) initial: u64,
    /// The part of the window that is not taken from the budget: all of
    /// `initial` for a window granted whole, or only a floor when the
    /// rest of the initial window was itself taken from the budget.
    unreserved: u64,
    /// Where the current measurement stretch began: when, and how much had
    /// been consumed then.
    stretch: Option<(Instant, u64)>,
    /// The window during the previous stretch: the bytes delivered in a
    /// stretch were granted a round trip earlier, under that window.
    granted_under: u64,
    /// When the delivery rate was last sampled, and how much had been
    /// consumed then.
    last_sample: Option<(Instant, u64)>,
    /// The fastest delivery between two samples in this stretch, bytes/s.
    peak_rate: u64,
    /// When bytes were last consumed, and the longest wait between two
    /// consumptions in this stretch: a stretch without a wait of a round
    /// trip is continuous (neither side paused).
    last_consumed_at: Option<Instant>,
    longest_pause: Duration,
    /// What the path delivered per round trip in the last continuous
    /// stretch the window did not limit (windows that shrink only): its
    /// bandwidth-delay product, once known. Bursts no longer open the
    /// window past twice it (doubling still does, for a path that got
    /// faster).
    path_per_round_trip: Option<u64>,
    /// When the window last grew.
    grown_at: Option<Instant>,
    /// Where growth beyond `initial` is taken from (the connection's
    /// window); `None`: only `max_window` bounds it.
    reservation: Option<Reservation>,
}

/// What a measurement stretch saw, taken when it ends.
struct StretchEnd {
    /// The window its bytes were granted under (the previous stretch's).
    granted_under: u64,
    /// Its fastest sampled delivery, bytes/s.
    peak_rate: u64,
    /// Its longest wait between two consumptions.
    longest_pause: Duration,
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
            initial: window,
            unreserved: window,
            stretch: None,
            granted_under: window,
            last_sample: None,
            peak_rate: 0,
            last_consumed_at: None,
            longest_pause: Duration::ZERO,
            path_per_round_trip: None,
            grown_at: None,
            reservation: None,
        }
    }

    /// A window whose growth beyond `window` is taken from a budget.
    #[cfg(test)]
    pub(crate) fn with_reservation(window: u64, reservation: Reservation) -> RecvWindow {
        RecvWindow {
            reservation: Some(reservation),
            ..RecvWindow::new(window)
        }
    }

    /// A window that starts at `floor` bytes, its own, and is meant to be
    /// `initial` bytes: the part above the floor is taken from the budget
    /// by [`restore_initial`](Self::restore_initial) once the peer has
    /// said HELLO (and when bytes flow again after a quiet spell), and
    /// given back when
    /// it goes quiet ([`reset`](Self::reset) shrinks it to the floor) once
    /// the credit granted under it is used. It grows from the
    /// budget as [`with_reservation`](Self::with_reservation)'s does.
    pub(crate) fn with_floor(floor: u64, initial: u64, reservation: Reservation) -> RecvWindow {
        RecvWindow {
            initial: initial.max(floor),
            unreserved: floor,
            reservation: Some(reservation),
            ..RecvWindow::new(floor)
        }
    }

    /// Grows a window below its initial size back to it, as far as the
    /// budget allows; returns the new limit to announce, if it rose.
    pub(crate) fn restore_initial(&mut self, now: Instant) -> Option<u64> {
        if self.window >= self.initial {
            return None;
        }
        self.grow_to(self.initial, self.initial, now);
        let limit = self.consumed.saturating_add(self.window);
        (limit > self.limit).then(|| {
            self.limit = limit;
            limit
        })
    }

    /// Bytes of budget held.
    #[cfg(test)]
    pub(crate) fn reserved(&self) -> u64 {
        self.reservation.as_ref().map_or(0, Reservation::held)
    }

    /// Gives back what the window no longer needs: it must cover the
    /// window and the credit already granted.
    fn release_unneeded(&mut self) {
        let needed = self
            .window
            .max(self.outstanding())
            .saturating_sub(self.unreserved);
        if let Some(reservation) = &mut self.reservation {
            reservation.shrink_to(needed);
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

    /// Bytes the peer may still send: granted and not yet received.
    pub(crate) fn credit(&self) -> u64 {
        self.limit.saturating_sub(self.received)
    }

    /// Bytes granted and not yet consumed: the most the peer can make this
    /// side hold from now on without another raise.
    pub(crate) fn outstanding(&self) -> u64 {
        self.limit.saturating_sub(self.consumed)
    }

    /// Records `n` consumed bytes. Returns a new limit to announce once a
    /// quarter of the window was consumed since the last one; the window
    /// first grows by the rule of the [module docs](self). `cap` bounds the
    /// limit (a message's total length).
    pub(crate) fn consume(
        &mut self,
        n: u64,
        now: Instant,
        growth: Growth,
        cap: Option<u64>,
    ) -> Option<u64> {
        let before = self.consumed;
        self.consumed = (self.consumed + n).min(self.received);
        if let Some(at) = self.last_consumed_at.replace(now) {
            self.longest_pause = self.longest_pause.max(now.saturating_duration_since(at));
        }
        self.sample_rate(now);
        self.measure(now, before, growth);
        let left = self.limit.saturating_sub(self.consumed);
        if left > self.window - self.window / CREDIT_FRACTION {
            return None;
        }
        let mut limit = self.consumed.saturating_add(self.window);
        if let Some(cap) = cap {
            limit = limit.min(cap);
        }
        let raised = (limit > self.limit).then(|| {
            self.limit = limit;
            limit
        });
        self.release_unneeded();
        raised
    }

    /// Ends the measurement stretch if it lasted a round trip (or a whole
    /// window went by) and grows the window towards its target. `before`:
    /// what had been consumed before the bytes that led here.
    fn measure(&mut self, now: Instant, before: u64, growth: Growth) {
        let Some((since, consumed_then)) = self.stretch else {
            // The first stretch starts with the first bytes read, and
            // counts them: a first window that arrives whole in one burst
            // ends it at once, a round trip earlier than if it ended with
            // the next window's bytes. It is judged once the round trip is
            // known.
            self.stretch = Some((now, before));
            return;
        };
        let Some(rtt) = growth.rtt.filter(|rtt| !rtt.is_zero()) else {
            return;
        };
        let elapsed = now.saturating_duration_since(since);
        let delivered = self.consumed - consumed_then;
        if rtt < MIN_GROWTH_RTT {
            // No growth on so short a path, but the stretches go on, so
            // that a round trip that grows past the threshold is judged on
            // fresh figures, not on a peak from the connection's start.
            if elapsed >= rtt {
                self.next_stretch(now);
            }
            return;
        }
        // A stretch lasts a round trip and carries at least a quarter of
        // the window (the bytes that make credit go back), so it does not
        // end on the first chunk of a burst and judge the window by it; a
        // whole window ends it at once.
        let long_enough = elapsed >= rtt && delivered >= self.window / CREDIT_FRACTION;
        if !long_enough && delivered < self.window {
            return;
        }
        let ended = self.next_stretch(now);
        // Bytes delivered per round trip at the rate of this stretch.
        let per_round_trip = if elapsed.is_zero() {
            u64::MAX
        } else {
            let scaled = u128::from(delivered) * rtt.as_nanos() / elapsed.as_nanos();
            u64::try_from(scaled).unwrap_or(u64::MAX)
        };
        let StretchEnd {
            granted_under,
            peak_rate,
            longest_pause,
        } = ended;
        let target = per_round_trip.saturating_mul(TARGET_ROUND_TRIPS);
        let limited = per_round_trip.saturating_mul(LIMITED_FRACTION) >= granted_under;
        if !limited {
            // The path or the reader is the limit. A window far above what
            // a continuous stretch (no pause of the reader or the sender)
            // delivered per round trip, such as one opened by bursts read
            // faster than the path carries, queues that much more ahead of
            // every new message: it shrinks (credit granted stays granted).
            // Not judged within two round trips of a growth: the bytes of
            // such a stretch were granted under the smaller window.
            let continuous = longest_pause < rtt;
            let settled = self
                .grown_at
                .is_none_or(|at| now.saturating_duration_since(at) >= rtt.saturating_mul(2));
            if growth.shrinks && continuous && settled {
                self.path_per_round_trip = Some(per_round_trip);
                if self.window > per_round_trip.saturating_mul(OVERSIZED_ROUND_TRIPS) {
                    self.clamp_to(target);
                    self.granted_under = self.granted_under.min(self.window);
                }
            }
            return;
        }
        // A limited stretch proves the path carries at least this much.
        if let Some(path) = &mut self.path_per_round_trip {
            *path = (*path).max(per_round_trip);
        }
        // The window is the limit: double, to at most two round trips'
        // worth of this stretch; or, if bursts came faster (the window, not
        // the path, spaces them out), to two round trips at the burst rate.
        let doubled = self.window.saturating_mul(2).min(target);
        let scaled = u128::from(peak_rate) * rtt.as_nanos() / 1_000_000_000;
        let by_bandwidth = u64::try_from(scaled)
            .unwrap_or(u64::MAX)
            .saturating_mul(TARGET_ROUND_TRIPS)
            .min(self.window.saturating_mul(MAX_GROWTH))
            .min(self.path_ceiling());
        let grown = doubled.max(by_bandwidth);
        self.grow_to(grown, growth.max_window, now);
    }

    /// Ends the current stretch and starts the next one now: returns what
    /// the ended one measured.
    fn next_stretch(&mut self, now: Instant) -> StretchEnd {
        self.stretch = Some((now, self.consumed));
        StretchEnd {
            granted_under: std::mem::replace(&mut self.granted_under, self.window),
            peak_rate: std::mem::take(&mut self.peak_rate),
            longest_pause: std::mem::take(&mut self.longest_pause),
        }
    }

    /// Grows the window to `size` if it is smaller, within `max_window` and
    /// what the budget gives.
    pub(crate) fn grow_to(&mut self, size: u64, max_window: u64, now: Instant) {
        let mut grown = size.min(max_window.max(self.window));
        if let Some(reservation) = &mut self.reservation {
            let held = reservation.grow_to(grown.saturating_sub(self.unreserved));
            grown = grown.min(self.unreserved + held);
        }
        if grown > self.window {
            self.window = grown;
            self.grown_at = Some(now);
        }
    }

    /// The most bursts may open the window to: twice the path's
    /// bandwidth-delay product once it is known, else no bound.
    pub(crate) fn path_ceiling(&self) -> u64 {
        self.path_per_round_trip.map_or(u64::MAX, |per_round_trip| {
            per_round_trip
                .saturating_mul(TARGET_ROUND_TRIPS)
                .max(self.initial)
        })
    }

    /// Shrinks the window to `size` (at least its initial size) if it is
    /// larger; credit already granted stays granted.
    pub(crate) fn clamp_to(&mut self, size: u64) {
        let size = size.max(self.initial);
        if self.window > size {
            self.window = size;
            self.release_unneeded();
        }
    }

    /// Times the delivery since the previous raise: a sample of the rate the
    /// path delivers at.
    fn sample_rate(&mut self, now: Instant) {
        let Some((at, consumed_then)) = self.last_sample else {
            self.last_sample = Some((now, self.consumed));
            return;
        };
        // Every eighth of the smaller of this window and the last one: a
        // window that just grew still sees the bursts of the one before.
        let bytes = self.consumed - consumed_then;
        if bytes < self.window.min(self.granted_under) / SAMPLES_PER_WINDOW {
            return;
        }
        let elapsed = now.saturating_duration_since(at);
        if elapsed >= MIN_SAMPLE {
            let rate = u128::from(bytes) * 1_000_000_000 / elapsed.as_nanos();
            self.peak_rate = self.peak_rate.max(u64::try_from(rate).unwrap_or(u64::MAX));
        }
        self.last_sample = Some((now, self.consumed));
    }

    /// Shrinks the window back to its initial size, or for a window with
    /// a floor, to the floor (the connection went quiet: the budget gets
    /// its part back); credit already granted stays granted.
    pub(crate) fn reset(&mut self) {
        self.window = self.unreserved.min(self.initial).min(self.window);
        self.stretch = None;
        self.longest_pause = Duration::ZERO;
        self.path_per_round_trip = None;
        self.release_unneeded();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn growth(rtt: Option<Duration>, max_window: u64) -> Growth {
        Growth {
            rtt,
            max_window,
            shrinks: true,
        }
    }

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
    fn credit_is_granted_after_a_quarter_of_the_window() {
        let now = Instant::now();
        let none = growth(None, 1000);
        let mut window = RecvWindow::new(100);
        window.receive(100).expect("within limit");
        assert_eq!(window.consume(20, now, none, None), None);
        assert_eq!(window.consume(20, now, none, None), Some(140));
        assert_eq!(window.unconsumed(), 60);
        assert_eq!(window.credit(), 40);
        assert_eq!(window.outstanding(), 100);
    }

    /// Feeds `rounds` round trips in which the peer sends the whole window
    /// and the application reads it at once; returns the window after each.
    fn window_limited(
        window: &mut RecvWindow,
        start: Instant,
        rtt: Duration,
        max: u64,
    ) -> Vec<u64> {
        let mut sizes = Vec::new();
        for round in 0..8u32 {
            let now = start + rtt * round;
            let credit = window.credit();
            window.receive(credit).expect("within limit");
            window.consume(credit, now, growth(Some(rtt), max), None);
            sizes.push(window.window);
        }
        sizes
    }

    #[test]
    fn a_window_limited_transfer_doubles_its_window_each_round_trip() {
        let start = Instant::now();
        let mut window = RecvWindow::new(1000);
        let sizes = window_limited(&mut window, start, 50 * MS, 64_000);
        assert_eq!(
            sizes[0], 1000,
            "the first stretch only starts the measurement"
        );
        assert!(
            sizes
                .windows(2)
                .skip(1)
                .all(|pair| pair[1] == (pair[0] * 2).min(64_000)),
            "doubles each round trip up to the ceiling: {sizes:?}"
        );
        assert_eq!(*sizes.last().expect("rounds"), 64_000);
    }

    #[test]
    fn bursts_at_the_path_rate_open_the_window_to_the_bandwidth_delay_product() {
        // The path carries 1000 bytes per 0.1 ms (10 MB/s) and what the
        // window allows comes as one burst per 50 ms round trip: BDP 500 000.
        let start = Instant::now();
        let rtt = 50 * MS;
        let g = growth(Some(rtt), 1 << 30);
        let mut window = RecvWindow::new(8000);
        let mut sizes = Vec::new();
        for round in 0..5u32 {
            let pieces = (window.credit() / 1000).min(500);
            for piece in 0..pieces {
                let now = start + rtt * round + Duration::from_micros(100) * piece as u32;
                window.receive(1000).expect("within limit");
                window.consume(1000, now, g, None);
            }
            sizes.push(window.window);
        }
        assert_eq!(
            sizes[0],
            8000 * MAX_GROWTH,
            "the first window, arriving whole in one burst, ends the first \
             stretch at once and opens the window, at most 64× in one stretch"
        );
        assert!(
            sizes[1] >= 1_000_000,
            "the next stretch reaches 2 × BDP at once: {sizes:?}"
        );
        assert!(
            *sizes.last().expect("rounds") <= 2_000_000,
            "and stays within 4 × BDP: {sizes:?}"
        );
    }

    #[test]
    fn a_path_limited_transfer_settles_between_two_and_four_bdp() {
        // The path carries 10 000 bytes per 10 ms round trip; the window
        // starts at 1000 and the ceiling is far away.
        let start = Instant::now();
        let rtt = 10 * MS;
        let mut window = RecvWindow::new(1000);
        let g = growth(Some(rtt), 1 << 30);
        let mut now = start;
        for _ in 0..2000 {
            // 1000 bytes per millisecond, whatever the window allows.
            let n = window.credit().min(1000);
            window.receive(n).expect("within limit");
            window.consume(n, now, g, None);
            now += MS;
        }
        assert!(
            (20_000..=40_000).contains(&window.window),
            "BDP = 10 000, got {}",
            window.window
        );
    }

    /// Feeds a path that carries 1000 bytes per millisecond for `ms`
    /// milliseconds from `now`, whatever the window allows.
    fn path_limited(window: &mut RecvWindow, now: &mut Instant, ms: u32, g: Growth) {
        for _ in 0..ms {
            let n = window.credit().min(1000);
            window.receive(n).expect("within limit");
            window.consume(n, *now, g, None);
            *now += MS;
        }
    }

    #[test]
    fn a_window_opened_too_far_shrinks_to_twice_what_the_path_carries() {
        // BDP 10 000; bursts read out of a buffer opened the window to 20 ×.
        let rtt = 10 * MS;
        let g = growth(Some(rtt), 1 << 30);
        let mut window = RecvWindow::new(1000);
        let mut now = Instant::now();
        window.grow_to(200_000, 1 << 30, now);
        path_limited(&mut window, &mut now, 500, g);
        assert!(
            (10_000..=20_000).contains(&window.window),
            "BDP = 10 000, got {}",
            window.window
        );
        assert_eq!(window.path_ceiling(), 20_000, "twice the path's BDP");
        // Bursts no longer open it past that; a quiet connection forgets it.
        window.reset();
        assert_eq!(window.path_ceiling(), u64::MAX);
    }

    #[test]
    fn a_window_that_does_not_shrink_keeps_its_size() {
        // A message's window: its delivery is its share of the connection.
        let rtt = 10 * MS;
        let g = Growth {
            shrinks: false,
            ..growth(Some(rtt), 1 << 30)
        };
        let mut window = RecvWindow::new(1000);
        let mut now = Instant::now();
        window.grow_to(200_000, 1 << 30, now);
        path_limited(&mut window, &mut now, 500, g);
        assert_eq!(window.window, 200_000);
        window.clamp_to(30_000);
        assert_eq!(window.window, 30_000, "kept within the connection's");
        window.clamp_to(10);
        assert_eq!(window.window, 1000, "never below its initial size");
    }

    #[test]
    fn a_slow_reader_keeps_the_window_and_stops_the_sender() {
        let start = Instant::now();
        let rtt = 10 * MS;
        let g = growth(Some(rtt), 1 << 30);
        let mut window = RecvWindow::new(1000);
        window.receive(1000).expect("within limit");
        assert!(window.receive(1).is_err(), "no credit past the window");
        // 100 bytes a second: far below a window per round trip.
        for second in 0..10u32 {
            window.consume(100, start + Duration::from_secs(second.into()), g, None);
        }
        assert_eq!(window.window, 1000);
        assert!(window.outstanding() <= 1000);
    }

    #[test]
    fn no_growth_on_a_path_shorter_than_a_millisecond() {
        // Loopback or a LAN: whole windows read in bursts, as out of a
        // socket buffer, do not open the window.
        let start = Instant::now();
        let mut window = RecvWindow::new(1000);
        let sizes = window_limited(&mut window, start, MIN_GROWTH_RTT / 2, 64_000);
        assert!(sizes.iter().all(|&size| size == 1000), "{sizes:?}");
        // Stretches still end there: a round trip that later grows past
        // the threshold is judged on fresh figures.
        let (since, _) = window.stretch.expect("a stretch");
        assert!(since > start, "the first stretch ended");
        let mut window = RecvWindow::new(1000);
        let sizes = window_limited(&mut window, start, MIN_GROWTH_RTT, 64_000);
        assert!(
            sizes.last() > Some(&1000),
            "from 1 ms on it grows: {sizes:?}"
        );
    }

    #[test]
    fn no_growth_without_a_round_trip_estimate() {
        let start = Instant::now();
        let mut window = RecvWindow::new(1000);
        for round in 0..8u32 {
            let credit = window.credit();
            window.receive(credit).expect("within limit");
            window.consume(credit, start + MS * round, growth(None, 1 << 20), None);
        }
        assert_eq!(window.window, 1000);
    }

    #[test]
    fn reset_shrinks_the_window_but_keeps_granted_credit() {
        let start = Instant::now();
        let mut window = RecvWindow::new(1000);
        window_limited(&mut window, start, 50 * MS, 64_000);
        let limit = window.limit;
        window.reset();
        assert_eq!(window.window, 1000);
        assert_eq!(window.limit, limit);
    }

    #[test]
    fn growth_comes_from_the_budget_and_goes_back_to_it() {
        use super::super::window_budget::WindowBudget;
        let start = Instant::now();
        let budget = WindowBudget::new(10_000);
        let reservation = || Reservation::new(budget.clone());
        let mut a = RecvWindow::with_reservation(1000, reservation());
        let mut b = RecvWindow::with_reservation(1000, reservation());
        window_limited(&mut a, start, 50 * MS, 64_000);
        assert_eq!(a.window, 11_000, "initial + the whole budget");
        assert_eq!(budget.in_use(), 10_000);
        window_limited(&mut b, start, 50 * MS, 64_000);
        assert_eq!(b.window, 1000, "nothing left to grow by");
        // `a` goes quiet: the window shrinks, the budget comes back once
        // the credit granted is used.
        a.reset();
        assert_eq!(budget.in_use(), a.outstanding() - 1000);
        let credit = a.credit();
        a.receive(credit).expect("within limit");
        a.consume(
            a.unconsumed(),
            start + MS * 1000,
            growth(None, 64_000),
            None,
        );
        assert_eq!(a.reserved(), 0);
        assert_eq!(budget.in_use(), 0);
        drop(b);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn limit_never_passes_the_cap() {
        let none = growth(None, 1000);
        let mut window = RecvWindow::new(100);
        window.receive(100).expect("within limit");
        assert_eq!(
            window.consume(100, Instant::now(), none, Some(150)),
            Some(150)
        );
        window.receive(50).expect("within limit");
        assert_eq!(window.consume(50, Instant::now(), none, Some(150)), None);
    }
}
