//! [`WindowBudget`]: memory for receive windows above their floor, shared
//! by the connections made from one configuration.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of receive window above each connection's floor, shared by every
/// connection whose [`CoreConfig`](super::CoreConfig) is a clone of one
/// another (a server's connections, or a client's pool).
///
/// A connection's receive window is the most unread body bytes its peer may
/// make it hold. Its floor, `CoreConfig::min_connection_window`, is its
/// own and is what its HELLO grants; the rest of its initial window
/// (`CoreConfig::connection_window`) is taken from this budget once the
/// peer's HELLO has come (a peer that never finishes the handshake holds
/// none of it) and granted by CREDIT, and so is its growth towards the
/// bandwidth-delay product on long paths, up to
/// `CoreConfig::max_connection_window`. What is above the floor is given
/// back when the window shrinks (after a quiet keepalive interval, once the
/// peer used the credit granted under it; it is taken again when bytes
/// flow), or when the connection ends. When the budget is
/// spent, new connections start from their floor and windows stop growing:
/// transfers then run at what the windows they have allow, and no peers —
/// 1024 hostile ones included — can make the process hold more than
/// `connections × min_connection_window + budget` of unread bodies.
///
/// ```
/// use netcore_pipe::core::{CoreConfig, WindowBudget};
///
/// // Every connection of this server shares 256 MiB of window growth.
/// let config = CoreConfig::default().with_window_budget(WindowBudget::new(256 << 20));
/// let for_one_connection = config.clone();
/// assert_eq!(for_one_connection.window_budget.total(), 256 << 20);
/// assert_eq!(config.window_budget.in_use(), 0);
/// ```
#[derive(Clone)]
pub struct WindowBudget {
    inner: Arc<Inner>,
}

struct Inner {
    total: u64,
    in_use: AtomicU64,
}

impl WindowBudget {
    /// The default: 512 MiB, enough for four connections at the largest
    /// default window, or many at once on paths of smaller
    /// bandwidth-delay product.
    pub const DEFAULT_TOTAL: u64 = 512 << 20;

    /// A budget of `total` bytes.
    pub fn new(total: u64) -> WindowBudget {
        WindowBudget {
            inner: Arc::new(Inner {
                total,
                in_use: AtomicU64::new(0),
            }),
        }
    }

    /// Its size.
    pub fn total(&self) -> u64 {
        self.inner.total
    }

    /// Bytes taken by windows now.
    pub fn in_use(&self) -> u64 {
        self.inner.in_use.load(Ordering::Relaxed)
    }

    /// Takes up to `want` bytes; returns how many were granted.
    fn take(&self, want: u64) -> u64 {
        let mut granted = 0;
        let _ = self
            .inner
            .in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |in_use| {
                granted = want.min(self.inner.total.saturating_sub(in_use));
                Some(in_use + granted)
            });
        granted
    }

    fn give_back(&self, n: u64) {
        let _ = self
            .inner
            .in_use
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |in_use| {
                Some(in_use.saturating_sub(n))
            });
    }
}

impl Default for WindowBudget {
    fn default() -> Self {
        WindowBudget::new(WindowBudget::DEFAULT_TOTAL)
    }
}

impl fmt::Debug for WindowBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowBudget")
            .field("total", &self.total())
            .field("in_use", &self.in_use())
            .finish()
    }
}

/// The share of a [`WindowBudget`] one window holds; given back on drop.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: WindowBudget,
    held: u64,
}

impl Reservation {
    pub(crate) fn new(budget: WindowBudget) -> Reservation {
        Reservation { budget, held: 0 }
    }

    /// Bytes held.
    pub(crate) fn held(&self) -> u64 {
        self.held
    }

    /// Holds at least `n` bytes if the budget allows; returns what is held.
    pub(crate) fn grow_to(&mut self, n: u64) -> u64 {
        if n > self.held {
            self.held += self.budget.take(n - self.held);
        }
        self.held
    }

    /// Holds at most `n` bytes, giving the rest back.
    pub(crate) fn shrink_to(&mut self, n: u64) {
        if n < self.held {
            self.budget.give_back(self.held - n);
            self.held = n;
        }
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.give_back(self.held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_share_the_budget_and_give_it_back() {
        let budget = WindowBudget::new(100);
        let mut a = Reservation::new(budget.clone());
        let mut b = Reservation::new(budget.clone());
        assert_eq!(a.grow_to(70), 70);
        assert_eq!(b.grow_to(70), 30, "only what is left");
        assert_eq!(budget.in_use(), 100);
        a.shrink_to(20);
        assert_eq!(budget.in_use(), 50);
        assert_eq!(b.grow_to(70), 70);
        drop(b);
        assert_eq!(budget.in_use(), 20);
        drop(a);
        assert_eq!(budget.in_use(), 0);
    }
}
