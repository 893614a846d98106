//! The path a [`DelayLine`](super::DelayLine) models.

use std::time::Duration;

/// The network path a [`DelayLine`](super::DelayLine) models in the direction
/// its writer sends: a one-way `delay`, an optional bottleneck `rate`, and a
/// bounded `buffer` of bytes on the line.
///
/// Start from [`DelayConfig::new`] (or [`Default`], no delay) and change
/// fields with the `with_<field>` setters:
///
/// ```
/// use std::time::Duration;
/// use netcore_pipe::transport::DelayConfig;
///
/// let config = DelayConfig::new(Duration::from_millis(28))
///     .with_rate(Some(10_000_000))
///     .with_buffer(1 << 20);
/// assert_eq!(config.delay, Duration::from_millis(28));
/// assert_eq!(config.rate, Some(10_000_000));
/// assert_eq!(DelayConfig::default().buffer, 4 << 20);
/// assert_eq!(DelayConfig::default().rate, None);
/// ```
///
/// # Limits of the model
///
/// The buffer holds every byte not yet delivered, those still queued for the
/// bottleneck *and* those propagating, so the line carries at most
/// `buffer / delay` bytes per second whatever the rate: to model a path of
/// rate `r`, give it a buffer of at least `r × delay` (its bandwidth-delay
/// product) plus the queue the bottleneck should have. The defaults (4 MiB)
/// carry up to 150 MB/s at 28 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, getset::WithSetters)]
#[getset(set_with = "pub")]
#[non_exhaustive]
pub struct DelayConfig {
    /// One-way propagation delay: a byte written arrives at the peer this
    /// long after it leaves the bottleneck (right away without a `rate`).
    pub delay: Duration,
    /// Bottleneck rate in bytes per second; `None` (the default) does not
    /// limit it. Each segment leaves when the link is free and takes
    /// `len / rate` to send: `depart = max(now, link_free_at) + len / rate`.
    pub rate: Option<u64>,
    /// Most bytes on the line, written but not yet delivered to the wrapped
    /// writer (default 4 MiB). A write waits while the line is full, so a
    /// peer that stops reading stops the writer, as on a real path.
    pub buffer: usize,
    /// Writes are cut into segments of at most this many bytes (default
    /// 64 KiB), each timed and delivered on its own, as packets are: with a
    /// `rate`, the first bytes of a large write arrive before the last.
    pub max_segment: usize,
}

impl DelayConfig {
    /// The longest `delay` accepted.
    pub const MAX_DELAY: Duration = Duration::from_secs(24 * 60 * 60);

    /// A path with one-way `delay`, no rate limit, a 4 MiB buffer and
    /// 64 KiB segments.
    pub const fn new(delay: Duration) -> Self {
        Self {
            delay,
            rate: None,
            buffer: 4 << 20,
            max_segment: 64 << 10,
        }
    }

    /// The size of the segments writes are cut into: `max_segment`, but
    /// never more than the buffer holds.
    pub(super) fn segment_len(&self) -> usize {
        self.max_segment.min(self.buffer)
    }

    /// Panics if a field is out of range (fields can be set directly).
    pub(super) fn validate(&self) {
        assert!(
            self.delay <= Self::MAX_DELAY,
            "DelayConfig::delay must be at most {:?}, got {:?}",
            Self::MAX_DELAY,
            self.delay
        );
        assert!(self.rate != Some(0), "DelayConfig::rate must not be zero");
        assert!(
            (1..=u32::MAX as usize).contains(&self.buffer),
            "DelayConfig::buffer must be within 1..=u32::MAX, got {}",
            self.buffer
        );
        assert!(
            self.max_segment > 0,
            "DelayConfig::max_segment must not be zero"
        );
    }
}

impl Default for DelayConfig {
    /// [`DelayConfig::new`] with no delay.
    fn default() -> Self {
        Self::new(Duration::ZERO)
    }
}
