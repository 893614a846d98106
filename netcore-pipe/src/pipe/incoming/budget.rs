//! [`Budget`]: a byte budget (memory or disk) that collectors reserve from,
//! waiting in turn when it is full, and [`Reservation`], the share one
//! message holds until it is dropped.

use std::sync::Arc;

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

/// A budget of bytes. Reservations are served first come, first served
/// (a large one is not overtaken by later small ones).
#[derive(Debug)]
pub(crate) struct Budget {
    limit: u64,
    permits: Arc<Semaphore>,
    /// Held while a reservation larger than one semaphore acquire (4 GiB)
    /// is taken in pieces, so that at most one reservation at a time holds
    /// part of what it waits for.
    in_pieces: Mutex<()>,
}

/// The most bytes one semaphore acquire takes.
const PIECE: u64 = u32::MAX as u64;

impl Budget {
    /// A budget of `limit` bytes (at most what a semaphore counts).
    pub(crate) fn new(limit: u64) -> Budget {
        let limit = limit.min(Semaphore::MAX_PERMITS as u64);
        Budget {
            limit,
            permits: Arc::new(Semaphore::new(limit as usize)),
            in_pieces: Mutex::new(()),
        }
    }

    /// Its size in bytes.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes reserved now.
    pub(crate) fn held(&self) -> u64 {
        self.limit - self.permits.available_permits() as u64
    }

    /// Reserves `bytes` if they are free now (up to 4 GiB at once).
    pub(crate) fn try_reserve(&self, bytes: u64) -> Option<Reservation> {
        let mut reservation = Reservation::default();
        if bytes == 0 {
            return Some(reservation);
        }
        let piece = u32::try_from(bytes).ok()?;
        let permit = self.permits.clone().try_acquire_many_owned(piece).ok()?;
        reservation.add(permit);
        Some(reservation)
    }

    /// Reserves `bytes` (at most [`Budget::limit`]), waiting until they are
    /// free. Cancel-safe: dropping the future gives back what it took.
    pub(crate) async fn reserve(&self, bytes: u64) -> Reservation {
        debug_assert!(bytes <= self.limit);
        let bytes = bytes.min(self.limit);
        let mut reservation = Reservation::default();
        if bytes == 0 {
            return reservation;
        }
        let _in_pieces = if bytes > PIECE {
            Some(self.in_pieces.lock().await)
        } else {
            None
        };
        let mut left = bytes;
        while left > 0 {
            let piece = left.min(PIECE);
            // The semaphore is never closed.
            let Ok(permit) = self.permits.clone().acquire_many_owned(piece as u32).await else {
                break;
            };
            reservation.add(permit);
            left -= piece;
        }
        reservation
    }
}

/// Bytes reserved from a [`Budget`], given back when this is dropped.
#[derive(Debug, Default)]
pub(crate) struct Reservation {
    permits: Vec<OwnedSemaphorePermit>,
}

impl Reservation {
    fn add(&mut self, permit: OwnedSemaphorePermit) {
        match self.permits.last_mut() {
            // A permit counts at most `PIECE`.
            Some(last) if (last.num_permits() + permit.num_permits()) as u64 <= PIECE => {
                last.merge(permit);
            }
            _ => self.permits.push(permit),
        }
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> u64 {
        self.permits.iter().map(|p| p.num_permits() as u64).sum()
    }

    /// Adds `other` (of the same budget) to this one.
    pub(crate) fn merge(&mut self, other: Reservation) {
        for permit in other.permits {
            self.add(permit);
        }
    }

    /// Gives back all but `keep` bytes.
    pub(crate) fn shrink_to(&mut self, keep: u64) {
        let mut excess = self.bytes().saturating_sub(keep);
        while excess > 0 {
            let Some(last) = self.permits.last_mut() else {
                return;
            };
            let n = last.num_permits() as u64;
            if n <= excess {
                self.permits.pop();
                excess -= n;
            } else {
                // `excess < n <= u32::MAX` pieces: fits a usize.
                drop(last.split(excess as usize));
                excess = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reservations_hold_their_bytes_until_dropped() {
        let budget = Budget::new(100);
        let mut first = budget.reserve(60).await;
        assert_eq!(first.bytes(), 60);
        assert_eq!(budget.held(), 60);
        assert!(budget.try_reserve(50).is_none(), "over the budget");
        let second = budget.try_reserve(40).expect("fits");
        assert_eq!(budget.held(), 100);
        first.shrink_to(10);
        assert_eq!(first.bytes(), 10);
        assert_eq!(budget.held(), 50);
        first.merge(budget.try_reserve(5).expect("fits"));
        assert_eq!(first.bytes(), 15);
        drop(second);
        drop(first);
        assert_eq!(budget.held(), 0);
        assert_eq!(budget.try_reserve(0).map(|r| r.bytes()), Some(0));
    }

    #[tokio::test]
    async fn a_reservation_waits_until_the_bytes_are_free() {
        let budget = Arc::new(Budget::new(10));
        let held = budget.reserve(8).await;
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve(5).await.bytes() }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "reserved past the budget");
        drop(held);
        assert_eq!(waiting.await.expect("reserved"), 5);
    }

    #[tokio::test]
    async fn reservations_over_4_gib_are_taken_in_pieces() {
        let budget = Budget::new(10 << 30);
        let mut big = budget.reserve(9 << 30).await;
        assert_eq!(big.bytes(), 9 << 30);
        assert_eq!(budget.held(), 9 << 30);
        big.shrink_to(1 << 30);
        assert_eq!(budget.held(), 1 << 30);
    }
}
