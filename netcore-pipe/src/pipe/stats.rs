//! Counters of a pipe, readable at any time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A snapshot of a pipe's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PipeStats {
    /// Bytes written to the transport.
    pub bytes_written: u64,
    /// Bytes read from the transport.
    pub bytes_read: u64,
    /// Frames written.
    pub frames_sent: u64,
    /// Frames decoded.
    pub frames_received: u64,
    /// Outgoing messages completely handed to the transport.
    pub messages_sent: u64,
    /// Incoming messages completed.
    pub messages_received: u64,
    /// Messages cancelled by either side.
    pub cancels: u64,
    /// Times the resync decoder lost and found the frame boundary again.
    pub resyncs: u64,
    /// Bytes skipped or discarded as damaged by the resync decoder.
    pub damaged_bytes: u64,
    /// Smoothed round-trip time, once measured.
    pub rtt: Option<Duration>,
}

/// The live counters, shared by the pipe's tasks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) bytes_written: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) frames_sent: AtomicU64,
    pub(crate) frames_received: AtomicU64,
    pub(crate) messages_sent: AtomicU64,
    pub(crate) messages_received: AtomicU64,
    pub(crate) cancels: AtomicU64,
    pub(crate) resyncs: AtomicU64,
    pub(crate) damaged_bytes: AtomicU64,
    /// Round-trip time in nanoseconds; 0 until measured.
    pub(crate) rtt_nanos: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> PipeStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let rtt = get(&self.rtt_nanos);
        PipeStats {
            bytes_written: get(&self.bytes_written),
            bytes_read: get(&self.bytes_read),
            frames_sent: get(&self.frames_sent),
            frames_received: get(&self.frames_received),
            messages_sent: get(&self.messages_sent),
            messages_received: get(&self.messages_received),
            cancels: get(&self.cancels),
            resyncs: get(&self.resyncs),
            damaged_bytes: get(&self.damaged_bytes),
            rtt: (rtt > 0).then(|| Duration::from_nanos(rtt)),
        }
    }
}
