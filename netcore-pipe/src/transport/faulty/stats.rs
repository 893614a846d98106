//! Counters of the faults a [`Faulty`](super::Faulty) link injected.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A live view of what a [`Faulty`](super::Faulty) link has done so far.
///
/// Cheap to clone; every clone reads the same counters, which the link's
/// writer updates as it goes. Get one with [`Faulty::stats`](super::Faulty::stats)
/// before splitting the link.
#[derive(Debug, Clone, Default)]
pub struct FaultStats {
    counters: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    dropped: AtomicU64,
    flipped: AtomicU64,
    inserted: AtomicU64,
    delivered: AtomicU64,
}

impl FaultStats {
    /// Bytes lost.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Bytes delivered with one bit flipped.
    pub fn flipped(&self) -> u64 {
        self.counters.flipped.load(Ordering::Relaxed)
    }

    /// Random bytes inserted.
    pub fn inserted(&self) -> u64 {
        self.counters.inserted.load(Ordering::Relaxed)
    }

    /// All faults: dropped + flipped + inserted.
    pub fn faults(&self) -> u64 {
        self.dropped() + self.flipped() + self.inserted()
    }

    /// Bytes handed to the wrapped writer, damage included.
    pub fn delivered(&self) -> u64 {
        self.counters.delivered.load(Ordering::Relaxed)
    }

    /// Adds the faults of one write.
    pub(super) fn add_faults(&self, dropped: u64, flipped: u64, inserted: u64) {
        self.counters.dropped.fetch_add(dropped, Ordering::Relaxed);
        self.counters.flipped.fetch_add(flipped, Ordering::Relaxed);
        self.counters
            .inserted
            .fetch_add(inserted, Ordering::Relaxed);
    }

    /// Adds bytes handed to the wrapped writer.
    pub(super) fn add_delivered(&self, bytes: u64) {
        self.counters.delivered.fetch_add(bytes, Ordering::Relaxed);
    }
}
