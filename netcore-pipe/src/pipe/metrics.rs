//! The pipe's figures through the [`metrics`] facade (feature `metrics`):
//! whatever recorder the application installs (Prometheus, StatsD, a test
//! recorder) receives them, with no code of ours.
//!
//! Each driver owns one [`MetricsExport`]. After a turn of its loop it hands
//! over the pipe's [`PipeStats`]; at most every [`EXPORT_EVERY`] (and once
//! more when the pipe ends) the export adds what grew since the last time to
//! the process-wide counters and moves the gauges by what changed. Figures are
//! summed over every pipe in the process and carry no per-connection label,
//! so 10 000 connections cost 10 000 small structs, not 10 000 time series.
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `netcore_pipes_open` | gauge | pipes whose driver runs |
//! | `netcore_pipe_bytes_total{direction="sent"\|"received"}` | counter | bytes written to / read from transports |
//! | `netcore_pipe_frames_total{direction}` | counter | frames sent / received |
//! | `netcore_pipe_messages_total{direction}` | counter | messages sent / received whole |
//! | `netcore_pipe_messages_in_flight{direction="outgoing"\|"incoming"}` | gauge | messages started and not yet finished |
//! | `netcore_pipe_cancels_total` | counter | messages cancelled, by either side |
//! | `netcore_pipe_resyncs_total` | counter | times a decoder skipped damaged bytes to the next frame |
//! | `netcore_pipe_damaged_bytes_total` | counter | bytes skipped that way |
//! | `netcore_pipe_rtt_seconds` | histogram | each pipe's smoothed round trip, once per export |

use std::time::{Duration, Instant};

use metrics::{counter, gauge, histogram};

use super::stats::PipeStats;

/// How often a pipe's figures go to the recorder at most.
pub(crate) const EXPORT_EVERY: Duration = Duration::from_millis(250);

/// One pipe's share of the process-wide figures.
pub(crate) struct MetricsExport {
    exported: PipeStats,
    last: Option<Instant>,
    /// Whether `finish` ran (else dropping takes the pipe's gauges back).
    finished: bool,
}

impl MetricsExport {
    /// A pipe starts: one more open.
    pub(crate) fn new() -> MetricsExport {
        gauge!("netcore_pipes_open").increment(1.0);
        MetricsExport {
            exported: PipeStats::default(),
            last: None,
            finished: false,
        }
    }

    /// Exports `now` if [`EXPORT_EVERY`] has passed since the last export.
    pub(crate) fn maybe_export(&mut self, now: impl FnOnce() -> PipeStats) {
        let at = Instant::now();
        if self
            .last
            .is_some_and(|last| at.duration_since(last) < EXPORT_EVERY)
        {
            return;
        }
        self.last = Some(at);
        self.export(&now());
    }

    /// Adds what grew since the last export and moves the gauges.
    pub(crate) fn export(&mut self, now: &PipeStats) {
        let before = &self.exported;
        let grew = |after: u64, before: u64| after.saturating_sub(before);
        for (direction, after, before) in [
            ("sent", now.bytes_written, before.bytes_written),
            ("received", now.bytes_read, before.bytes_read),
        ] {
            counter!("netcore_pipe_bytes_total", "direction" => direction)
                .increment(grew(after, before));
        }
        for (direction, after, before) in [
            ("sent", now.frames_sent, before.frames_sent),
            ("received", now.frames_received, before.frames_received),
        ] {
            counter!("netcore_pipe_frames_total", "direction" => direction)
                .increment(grew(after, before));
        }
        for (direction, after, before) in [
            ("sent", now.messages_sent, before.messages_sent),
            ("received", now.messages_received, before.messages_received),
        ] {
            counter!("netcore_pipe_messages_total", "direction" => direction)
                .increment(grew(after, before));
        }
        counter!("netcore_pipe_cancels_total").increment(grew(now.cancels, before.cancels));
        counter!("netcore_pipe_resyncs_total").increment(grew(now.resyncs, before.resyncs));
        counter!("netcore_pipe_damaged_bytes_total")
            .increment(grew(now.damaged_bytes, before.damaged_bytes));
        for (direction, after, before) in [
            (
                "outgoing",
                now.outgoing_in_flight,
                before.outgoing_in_flight,
            ),
            (
                "incoming",
                now.incoming_in_flight,
                before.incoming_in_flight,
            ),
        ] {
            if after != before {
                gauge!("netcore_pipe_messages_in_flight", "direction" => direction)
                    .increment(after as f64 - before as f64);
            }
        }
        if let Some(rtt) = now.rtt {
            histogram!("netcore_pipe_rtt_seconds").record(rtt.as_secs_f64());
        }
        self.exported = *now;
    }

    /// The pipe ended: its last figures, and its gauges taken back.
    pub(crate) fn finish(&mut self, now: &PipeStats) {
        if self.finished {
            return;
        }
        self.export(now);
        self.close_gauges();
    }

    fn close_gauges(&mut self) {
        let mut ended = self.exported;
        ended.outgoing_in_flight = 0;
        ended.incoming_in_flight = 0;
        ended.rtt = None;
        self.export(&ended);
        gauge!("netcore_pipes_open").decrement(1.0);
        self.finished = true;
    }
}

impl Drop for MetricsExport {
    /// A driver stopped without finishing (its runtime shut down): its
    /// gauges are taken back all the same.
    fn drop(&mut self) {
        if !self.finished {
            self.close_gauges();
        }
    }
}
