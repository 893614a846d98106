//! [`Spares`]: emptied buffers handed back to the task that fills them.
//!
//! The read task fills a `Vec` of decoded items per read and the driver
//! empties it; the driver fills a [`Batch`](super::io::Batch) of frames and
//! the write task empties it. Freed where they were emptied, every one of
//! those buffers was an allocation made on one thread and freed on another
//! — two per read, two per batch, thousands a second at small-call rates,
//! and glibc serves a free from another thread's arena under that arena's
//! lock. Handed back instead, the same few buffers go round.
//!
//! At most [`Spares::KEPT`] are kept, and only small ones: a buffer that
//! grew for a burst (a read of thousands of tiny frames) is let go.

use std::sync::{Mutex, PoisonError};

/// A few emptied buffers of one kind, for reuse.
#[derive(Debug)]
pub(crate) struct Spares<T> {
    kept: Mutex<Vec<T>>,
}

impl<T> Default for Spares<T> {
    fn default() -> Self {
        Spares {
            kept: Mutex::new(Vec::new()),
        }
    }
}

/// A buffer [`Spares`] can keep: emptied, and small enough to be worth it.
pub(crate) trait Spare {
    /// Empties it, keeping its capacity; `false` if it is too large to
    /// keep.
    fn empty(&mut self) -> bool;
}

impl<T> Spare for Vec<T> {
    fn empty(&mut self) -> bool {
        self.clear();
        self.capacity() <= Spares::<Vec<T>>::MAX_ITEMS
    }
}

impl<T: Spare> Spares<T> {
    /// Buffers kept at most.
    pub(crate) const KEPT: usize = 4;

    /// Items a kept `Vec` may have room for.
    pub(crate) const MAX_ITEMS: usize = 256;

    /// A spare buffer, empty, if one is kept.
    pub(crate) fn take(&self) -> Option<T> {
        self.kept
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
    }

    /// Hands `spare` back: emptied and kept, or dropped if too large or if
    /// enough are kept.
    pub(crate) fn give(&self, mut spare: T) {
        if !spare.empty() {
            return;
        }
        let mut kept = self.kept.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < Self::KEPT {
            kept.push(spare);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_empty_and_only_a_few_small_ones_are_kept() {
        let spares: Spares<Vec<u32>> = Spares::default();
        assert!(spares.take().is_none());
        let mut first = Vec::with_capacity(16);
        first.extend([1, 2, 3]);
        let at = first.as_ptr();
        spares.give(first);
        let again = spares.take().expect("kept");
        assert!(again.is_empty());
        assert_eq!(again.as_ptr(), at, "the same allocation");
        // Too large: let go.
        spares.give(Vec::with_capacity(Spares::<Vec<u32>>::MAX_ITEMS + 1));
        assert!(spares.take().is_none());
        for _ in 0..10 {
            spares.give(Vec::with_capacity(8));
        }
        let mut count = 0;
        while spares.take().is_some() {
            count += 1;
        }
        assert_eq!(count, Spares::<Vec<u32>>::KEPT);
    }
}
