//! Counters of a pipe, readable at any time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::core::FlowStats;

/// A snapshot of a pipe's counters.
///
/// ```
/// # async fn show(pipe: &netcore_pipe::Pipe) {
/// let stats = pipe.stats();
/// // Why is a transfer slow? The round trip, the windows, what waits.
/// println!(
///     "rtt {:?}, receive window {:?}, credit the peer has {:?}, unread {:?} B",
///     stats.rtt, stats.flow.recv_window, stats.flow.recv_credit, stats.flow.recv_buffered,
/// );
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
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
    /// Outgoing messages on their way now: queued or partly sent (as of
    /// the driver's latest turn).
    pub outgoing_in_flight: u64,
    /// Incoming messages on their way now: opened by the peer and not yet
    /// complete (as of the driver's latest turn).
    pub incoming_in_flight: u64,
    /// Times the resync decoder lost and found the frame boundary again.
    pub resyncs: u64,
    /// Bytes skipped or discarded as damaged by the resync decoder.
    pub damaged_bytes: u64,
    /// Smoothed round-trip time, once measured.
    pub rtt: Option<Duration>,
    /// Flow control right now: windows each way, credit, unread bytes (as
    /// of the driver's latest turn).
    pub flow: FlowStats,
}

/// The live counters, shared by the pipe's tasks.
#[derive(Debug)]
pub(crate) struct Counters {
    pub(crate) bytes_written: AtomicU64,
    pub(crate) bytes_read: AtomicU64,
    pub(crate) frames_sent: AtomicU64,
    pub(crate) frames_received: AtomicU64,
    pub(crate) messages_sent: AtomicU64,
    pub(crate) messages_received: AtomicU64,
    pub(crate) cancels: AtomicU64,
    outgoing_in_flight: AtomicU64,
    incoming_in_flight: AtomicU64,
    pub(crate) resyncs: AtomicU64,
    pub(crate) damaged_bytes: AtomicU64,
    /// Round-trip time in nanoseconds; 0 until measured.
    pub(crate) rtt_nanos: AtomicU64,
    /// [`FlowStats`] fields; `NONE` for `None`.
    send_credit: AtomicU64,
    recv_window: AtomicU64,
    recv_message_window: AtomicU64,
    recv_credit: AtomicU64,
    recv_buffered: AtomicU64,
}

/// How an absent figure is stored.
const NONE: u64 = u64::MAX;

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Records the core's latest flow-control figures.
    pub(crate) fn set_flow(&self, flow: &FlowStats) {
        let set = |counter: &AtomicU64, value: Option<u64>| {
            counter.store(value.unwrap_or(NONE), Ordering::Relaxed);
        };
        set(&self.send_credit, flow.send_credit);
        set(&self.recv_window, flow.recv_window);
        set(&self.recv_message_window, Some(flow.recv_message_window));
        set(&self.recv_credit, flow.recv_credit);
        set(&self.recv_buffered, flow.recv_buffered);
    }

    /// Records how many messages are on their way each way.
    pub(crate) fn set_in_flight(&self, outgoing: usize, incoming: usize) {
        let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
        self.outgoing_in_flight
            .store(as_u64(outgoing), Ordering::Relaxed);
        self.incoming_in_flight
            .store(as_u64(incoming), Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> PipeStats {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let optional = |counter: &AtomicU64| Some(get(counter)).filter(|value| *value != NONE);
        let rtt = get(&self.rtt_nanos);
        PipeStats {
            bytes_written: get(&self.bytes_written),
            bytes_read: get(&self.bytes_read),
            frames_sent: get(&self.frames_sent),
            frames_received: get(&self.frames_received),
            messages_sent: get(&self.messages_sent),
            messages_received: get(&self.messages_received),
            cancels: get(&self.cancels),
            outgoing_in_flight: get(&self.outgoing_in_flight),
            incoming_in_flight: get(&self.incoming_in_flight),
            resyncs: get(&self.resyncs),
            damaged_bytes: get(&self.damaged_bytes),
            rtt: (rtt > 0).then(|| Duration::from_nanos(rtt)),
            flow: FlowStats {
                send_credit: optional(&self.send_credit),
                recv_window: optional(&self.recv_window),
                recv_message_window: optional(&self.recv_message_window).unwrap_or(0),
                recv_credit: optional(&self.recv_credit),
                recv_buffered: optional(&self.recv_buffered),
            },
        }
    }
}

impl Default for Counters {
    fn default() -> Self {
        let none = || AtomicU64::new(NONE);
        Counters {
            bytes_written: AtomicU64::default(),
            bytes_read: AtomicU64::default(),
            frames_sent: AtomicU64::default(),
            frames_received: AtomicU64::default(),
            messages_sent: AtomicU64::default(),
            messages_received: AtomicU64::default(),
            cancels: AtomicU64::default(),
            outgoing_in_flight: AtomicU64::default(),
            incoming_in_flight: AtomicU64::default(),
            resyncs: AtomicU64::default(),
            damaged_bytes: AtomicU64::default(),
            rtt_nanos: AtomicU64::default(),
            send_credit: none(),
            recv_window: none(),
            recv_message_window: AtomicU64::default(),
            recv_credit: none(),
            recv_buffered: none(),
        }
    }
}
