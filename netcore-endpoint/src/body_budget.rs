//! A connection's budget for request bodies held whole in memory
//! ([`max_buffered_request_bytes`](crate::EndpointConfig::max_buffered_request_bytes)),
//! and the [`Reservation`] one body holds until its request is done.
//!
//! Two kinds of bodies take from it:
//!
//! - A body of **announced** length reserves all of it at once, before any
//!   byte is read ([`BodyBudget::reserve`]). Such reservations are served
//!   in arrival order (a large one is not overtaken by later small ones);
//!   while one waits it holds nothing.
//! - A body of **unannounced** length grows its reservation as its bytes
//!   arrive ([`Reservation::grow`]). It takes free bytes at once when there
//!   are some; when there are none, **one** such body at a time may wait
//!   for more, keeping what it has, and it is served before the bodies of
//!   announced length that wait. A second body of unannounced length that
//!   finds no free bytes while another waits is refused at once (and gives
//!   back what it held) instead of waiting.
//!
//! Why that cannot deadlock: a wait ends when bytes are given back, and the
//! bytes are held by requests that do not wait on this budget — bodies of
//! announced length being read (all their room is theirs), handlers
//! running, replies being sent, bodies of unannounced length still reading
//! (when they need more, they either get it, become the one waiter, or are
//! refused) — plus the one waiter itself, whose own bytes plus what it asks
//! for never exceed the budget. Waiting bodies of announced length hold
//! nothing. Deadlines, cancels and the connection's end end every wait too.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// The budget of one connection.
#[derive(Debug)]
pub(crate) struct BodyBudget {
    limit: u64,
    state: Mutex<State>,
    /// Told whenever bytes are given back or a waiter leaves.
    changed: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Bytes reserved now.
    held: u64,
    /// The most reserved at once so far.
    peak: u64,
    /// Tickets of the bodies of announced length waiting, in arrival order.
    queue: BTreeSet<u64>,
    next_ticket: u64,
    /// A body of unannounced length waits for more room (at most one).
    grower_waiting: bool,
}

impl State {
    fn take(&mut self, bytes: u64) {
        self.held += bytes;
        self.peak = self.peak.max(self.held);
    }
}

/// Why a body of unannounced length got no more room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GrowRefused {
    /// It would be larger than the whole budget.
    TooLarge,
    /// Other requests hold the rest while another body of unannounced
    /// length already waits for room.
    Contended,
}

impl BodyBudget {
    /// A budget of `limit` bytes.
    pub(crate) fn new(limit: u64) -> Arc<BodyBudget> {
        Arc::new(BodyBudget {
            limit,
            state: Mutex::new(State::default()),
            changed: Notify::new(),
        })
    }

    /// Its size in bytes.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes reserved now and the most reserved at once so far.
    pub(crate) fn held_and_peak(&self) -> (u64, u64) {
        let state = self.lock();
        (state.held, state.peak)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A reservation of nothing, to grow.
    pub(crate) fn empty(self: &Arc<Self>) -> Reservation {
        Reservation {
            budget: self.clone(),
            bytes: 0,
        }
    }

    /// Reserves `bytes` (at most [`limit`](Self::limit); the caller refuses
    /// larger bodies), waiting in turn until they are free. Cancel-safe:
    /// dropping the future leaves the queue.
    pub(crate) async fn reserve(self: &Arc<Self>, bytes: u64) -> Reservation {
        debug_assert!(bytes <= self.limit);
        let bytes = bytes.min(self.limit);
        if bytes == 0 {
            // An empty body waits for nobody.
            return self.empty();
        }
        let ticket = {
            let mut state = self.lock();
            // Nobody waits and it fits: taken at once, in the same lock
            // (a ticket taken and checked in two locks would let bodies
            // arriving together queue behind each other, and wake each
            // other on every release).
            if state.queue.is_empty() && !state.grower_waiting && state.held + bytes <= self.limit {
                state.take(bytes);
                return Reservation {
                    budget: self.clone(),
                    bytes,
                };
            }
            let ticket = state.next_ticket;
            state.next_ticket += 1;
            state.queue.insert(ticket);
            ticket
        };
        let mut waiting = InQueue {
            budget: self,
            ticket: Some(ticket),
        };
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let mut state = self.lock();
                let first = state.queue.first() == Some(&ticket);
                if first && !state.grower_waiting && state.held + bytes <= self.limit {
                    state.queue.remove(&ticket);
                    state.take(bytes);
                    waiting.ticket = None;
                    drop(state);
                    // The next in line may fit too.
                    self.changed.notify_waiters();
                    return Reservation {
                        budget: self.clone(),
                        bytes,
                    };
                }
            }
            changed.await;
        }
    }
}

/// A place in the queue of [`BodyBudget::reserve`], left when dropped.
struct InQueue<'a> {
    budget: &'a BodyBudget,
    ticket: Option<u64>,
}

impl Drop for InQueue<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket {
            self.budget.lock().queue.remove(&ticket);
            self.budget.changed.notify_waiters();
        }
    }
}

/// The waiting grower's turn, given up when dropped.
struct GrowerTurn<'a>(&'a BodyBudget);

impl Drop for GrowerTurn<'_> {
    fn drop(&mut self) {
        self.0.lock().grower_waiting = false;
        self.0.changed.notify_waiters();
    }
}

/// Bytes of the budget held by one request body; given back when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<BodyBudget>,
    bytes: u64,
}

impl Reservation {
    /// Bytes it holds.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Takes `more` bytes if they are free now.
    pub(crate) fn try_grow(&mut self, more: u64) -> bool {
        let mut state = self.budget.lock();
        if state.held + more <= self.budget.limit {
            state.take(more);
            self.bytes += more;
            true
        } else {
            false
        }
    }

    /// Takes `more` bytes, waiting for them if this is the only body that
    /// waits to grow (see the [module docs](self)). Cancel-safe.
    pub(crate) async fn grow(&mut self, more: u64) -> Result<(), GrowRefused> {
        if self.try_grow(more) {
            return Ok(());
        }
        let budget = self.budget.clone();
        if self.bytes.saturating_add(more) > budget.limit {
            return Err(GrowRefused::TooLarge);
        }
        {
            let mut state = budget.lock();
            if state.grower_waiting {
                return Err(GrowRefused::Contended);
            }
            state.grower_waiting = true;
        }
        let _turn = GrowerTurn(&budget);
        loop {
            let changed = budget.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.try_grow(more) {
                return Ok(());
            }
            changed.await;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if self.bytes == 0 {
            return;
        }
        let waited_for = {
            let mut state = self.budget.lock();
            state.held -= self.bytes;
            !state.queue.is_empty() || state.grower_waiting
        };
        // Waking is for those waiting for room: with none, the Notify's
        // own lock is not taken.
        if waited_for {
            self.budget.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn announced_reservations_wait_in_turn_and_hold_nothing_meanwhile() {
        let budget = BodyBudget::new(10);
        let first = budget.reserve(6).await;
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve(8).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(budget.held_and_peak(), (6, 6));
        // A later small one does not overtake the large one waiting.
        let small = tokio::time::timeout(Duration::from_millis(10), budget.reserve(2)).await;
        assert!(small.is_err(), "a later reservation overtook one waiting");
        drop(first);
        let second = waiting.await.expect("reserved");
        assert_eq!(second.bytes(), 8);
        assert_eq!(budget.held_and_peak(), (8, 8));
        drop(second);
        assert_eq!(budget.held_and_peak().0, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn one_grower_waits_and_a_second_one_is_refused() {
        let budget = BodyBudget::new(10);
        let mut a = budget.empty();
        let mut b = budget.empty();
        assert!(a.try_grow(5));
        assert!(b.try_grow(5));
        assert_eq!(b.grow(6).await, Err(GrowRefused::TooLarge));
        let a_grows = tokio::spawn(async move { a.grow(3).await.map(|()| a) });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(b.grow(1).await, Err(GrowRefused::Contended));
        drop(b);
        let a = a_grows.await.expect("joined").expect("grown");
        assert_eq!(a.bytes(), 8);
        assert_eq!(budget.held_and_peak(), (8, 10));
    }

    #[tokio::test(start_paused = true)]
    async fn a_waiting_grower_goes_before_announced_reservations() {
        let budget = BodyBudget::new(10);
        let mut a = budget.empty();
        assert!(a.try_grow(6));
        let other = budget.reserve(4).await;
        let queued = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve(4).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        let a_grows = tokio::spawn(async move { a.grow(4).await.map(|()| a) });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(other);
        let a = a_grows.await.expect("joined").expect("grown");
        assert_eq!(a.bytes(), 10);
        assert!(!queued.is_finished());
        drop(a);
        assert_eq!(queued.await.expect("reserved").bytes(), 4);
    }
}
