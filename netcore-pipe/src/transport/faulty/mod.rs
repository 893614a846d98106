//! `Faulty`: a transport wrapper that damages and cuts the link on purpose,
//! for tests and demos. Compiled only with the `test-util` feature.

mod config;
mod damage;
mod reader;
mod stats;
mod writer;

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

pub use config::FaultConfig;
pub use reader::FaultyReader;
pub use stats::FaultStats;
pub use writer::FaultyWriter;

use super::Transport;
use damage::Damager;

/// A [`Transport`] wrapper that damages the bytes it sends, **for tests and
/// demos**: it shows how the protocol copes with a noisy or failing link
/// (a serial line, a radio) in a reproducible way.
///
/// Available with the cargo feature `test-util` only (off by default).
///
/// Faults are applied to the bytes passing through the *writer*, so the peer
/// reads the damage; what this side reads is passed through unchanged. Each
/// byte is dropped, has a bit flipped, or is followed by a random inserted
/// byte with the probabilities of the [`FaultConfig`]. A seeded generator
/// makes runs reproducible: the same seed and the same bytes written give the
/// same damaged bytes. [`FaultStats`] counts what was done.
///
/// # Cutting the link
///
/// With [`cut_after`](FaultConfig::cut_after)` = Some(n)`, the link carries
/// exactly `n` bytes (counted as delivered, after damage) and is then cut:
///
/// - the write that reaches the `n`-th byte delivers the bytes up to it,
///   closes the wrapped writer (so the peer reads the `n` bytes, then end of
///   stream) and fails with [`io::ErrorKind::ConnectionAborted`]; every later
///   `write`, `flush` and `close` fails the same way;
/// - reads on this side's [`FaultyReader`] fail with `ConnectionAborted` too,
///   including one already waiting when the cut happens.
///
/// The peer's own writes are not affected: nobody reads them any more, so
/// they stall once the link's buffers are full, as when a far end stops
/// reading.
///
/// # Example
///
/// ```
/// use netcore_pipe::transport::{
///     memory_pair, FaultConfig, Faulty, Transport, TransportRead, TransportWrite,
/// };
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let (a, b) = memory_pair(1024);
/// let a = Faulty::new(a, FaultConfig::clean(7).flip_rate(0.5).cut_after(8));
/// let stats = a.stats();
/// let (_a_reader, mut a_writer) = a.split();
/// let (mut b_reader, _b_writer) = b.split();
///
/// let error = a_writer.write(b"0123456789").await.expect_err("the link is cut");
/// assert_eq!(error.kind(), std::io::ErrorKind::ConnectionAborted);
///
/// let mut got = Vec::new();
/// let mut buf = [0u8; 16];
/// loop {
///     match b_reader.read(&mut buf).await? {
///         0 => break, // end of stream after the cut
///         n => got.extend_from_slice(&buf[..n]),
///     }
/// }
/// assert_eq!(got.len(), 8);
/// assert!(stats.flipped() > 0);
/// let damaged = got.iter().zip(b"01234567").filter(|(a, b)| a != b).count();
/// assert_eq!(damaged as u64, stats.flipped());
/// # Ok::<(), std::io::Error>(())
/// # })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct Faulty<T> {
    inner: T,
    config: FaultConfig,
    stats: FaultStats,
}

impl<T: Transport> Faulty<T> {
    /// Wraps `inner`, damaging what it sends as `config` says.
    ///
    /// # Panics
    ///
    /// Panics if a rate of `config` is not within `0.0..=1.0`.
    pub fn new(inner: T, config: FaultConfig) -> Self {
        config.validate();
        Self {
            inner,
            config,
            stats: FaultStats::default(),
        }
    }

    /// The faults configured.
    pub fn config(&self) -> &FaultConfig {
        &self.config
    }

    /// A live handle on the fault counters, still valid after [`split`](Transport::split).
    pub fn stats(&self) -> FaultStats {
        self.stats.clone()
    }
}

impl<T: Transport> Transport for Faulty<T> {
    type Reader = FaultyReader<T::Reader>;
    type Writer = FaultyWriter<T::Writer>;

    fn split(self) -> (Self::Reader, Self::Writer) {
        let (reader, writer) = self.inner.split();
        let cut = Arc::new(Cut::new(self.config.cut_after));
        let damager = Damager::new(&self.config, self.stats.clone());
        (
            FaultyReader::new(reader, Arc::clone(&cut)),
            FaultyWriter::new(writer, &self.config, damager, self.stats, cut),
        )
    }
}

/// Whether the link has been cut, shared by the two halves.
#[derive(Debug)]
struct Cut {
    /// The configured cut point, for error messages.
    after: Option<u64>,
    done: AtomicBool,
    /// Wakes reads waiting when the cut happens.
    notify: Notify,
}

impl Cut {
    fn new(after: Option<u64>) -> Self {
        Self {
            after,
            done: AtomicBool::new(false),
            notify: Notify::new(),
        }
    }

    fn is_done(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }

    /// Cuts the link and wakes waiting reads.
    fn cut(&self) {
        self.done.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// The error every operation reports after the cut.
    fn error(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::ConnectionAborted,
            format!(
                "link cut by Faulty after {} bytes",
                self.after.unwrap_or_default()
            ),
        )
    }
}
