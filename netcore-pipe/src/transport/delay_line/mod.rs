//! `DelayLine`: a transport wrapper that delays the bytes it sends as a long
//! or slow network path does, for tests and benchmarks. Compiled only with
//! the `test-util` feature.

mod config;
mod line;
mod writer;

pub use config::DelayConfig;
pub use writer::DelayLineWriter;

use super::{MemoryTransport, Transport, memory_pair};

/// A [`Transport`] wrapper that models a network path, **for tests**: each
/// byte written arrives at the peer a one-way [`delay`](DelayConfig::delay)
/// later, behind an optional bottleneck [`rate`](DelayConfig::rate), with at
/// most [`buffer`](DelayConfig::buffer) bytes on the line.
///
/// Available with the cargo feature `test-util` only (off by default).
///
/// The path is modelled in the direction this side *writes* (see
/// [`DelayLineWriter`] for what `write`, `flush` and `close` do); what this
/// side reads is passed through unchanged, so wrap both ends of a link, as
/// [`DelayLine::pair`] does, for a round trip of twice the delay. Writes are
/// cut into segments; a segment of `len` bytes written at `now`
///
/// - leaves when the bottleneck is free: `depart = max(now, link_free_at) +
///   len / rate` (`depart = now` without a rate),
/// - and arrives `delay` later, in order, when a task writes it to the
///   wrapped writer.
///
/// A write waits while the line holds `buffer` bytes not yet delivered, so a
/// peer that stops reading stops the writer too (once the wrapped link's own
/// buffer is full as well), as on a real path.
///
/// Time is [`tokio::time`]'s: on a paused clock
/// (`#[tokio::test(start_paused = true)]`) a test of a 56 ms round trip runs
/// at once, and the delays it measures are the model's, exactly.
///
/// # Example
///
/// Two ends of a [`memory_pair`], each 28 ms from the other:
///
/// ```
/// use std::time::Duration;
/// use netcore_pipe::transport::{DelayConfig, DelayLine, Transport, TransportRead, TransportWrite};
/// use tokio::time::Instant;
///
/// # tokio::runtime::Builder::new_current_thread()
/// #     .enable_time()
/// #     .start_paused(true)
/// #     .build()?
/// #     .block_on(async {
/// let (a, b) = DelayLine::pair(DelayConfig::new(Duration::from_millis(28)));
/// let (mut a_reader, mut a_writer) = a.split();
/// let (mut b_reader, mut b_writer) = b.split();
///
/// let start = Instant::now();
/// a_writer.write(b"ping").await?;
/// let mut buf = [0u8; 4];
/// assert_eq!(b_reader.read(&mut buf).await?, 4);
/// b_writer.write(&buf).await?;
/// assert_eq!(a_reader.read(&mut buf).await?, 4);
/// assert_eq!(&buf, b"ping");
/// assert!(start.elapsed() >= Duration::from_millis(56));
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// (The clock here is paused, as in a test with `start_paused = true`.)
#[derive(Debug)]
pub struct DelayLine<T> {
    inner: T,
    config: DelayConfig,
}

impl<T: Transport> DelayLine<T> {
    /// Wraps `inner`, delaying what it sends as `config` says.
    ///
    /// # Panics
    ///
    /// Panics if `config.delay` is over [`DelayConfig::MAX_DELAY`],
    /// `config.rate` is `Some(0)`, `config.buffer` is 0 or over `u32::MAX`,
    /// or `config.max_segment` is 0.
    pub fn new(inner: T, config: DelayConfig) -> Self {
        config.validate();
        Self { inner, config }
    }

    /// The path modelled.
    pub fn config(&self) -> &DelayConfig {
        &self.config
    }
}

impl DelayLine<MemoryTransport> {
    /// Bytes each direction of [`DelayLine::pair`]'s memory link holds: the
    /// receiving side's socket buffer, in effect.
    pub const PAIR_MEMORY_BUFFER: usize = 256 << 10;

    /// Two connected in-memory ends ([`memory_pair`] with
    /// [`PAIR_MEMORY_BUFFER`](Self::PAIR_MEMORY_BUFFER)), each wrapped with
    /// `config`: the path is the same both ways, and a round trip takes
    /// twice `config.delay`.
    ///
    /// # Panics
    ///
    /// As [`DelayLine::new`].
    pub fn pair(config: DelayConfig) -> (Self, Self) {
        let (a, b) = memory_pair(Self::PAIR_MEMORY_BUFFER);
        (Self::new(a, config), Self::new(b, config))
    }
}

impl<T: Transport> Transport for DelayLine<T> {
    type Reader = T::Reader;
    type Writer = DelayLineWriter<T::Writer>;

    fn split(self) -> (Self::Reader, Self::Writer) {
        let (reader, writer) = self.inner.split();
        (reader, DelayLineWriter::new(writer, self.config))
    }
}
