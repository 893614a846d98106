//! The writing half of a [`DelayLine`](super::DelayLine), where bytes are
//! timestamped and put on the line.

use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::Instant;

use super::DelayConfig;
use super::line::{Command, Failure, Segment, deliver};
use crate::transport::TransportWrite;

/// The writing half of a [`DelayLine`](super::DelayLine): cuts what is
/// written into segments, stamps each with the time it arrives, and leaves
/// it to a task that writes it to the wrapped writer then.
///
/// - [`write`](TransportWrite::write) returns once the bytes are on the
///   line; it waits while the line holds [`buffer`](DelayConfig::buffer)
///   bytes not yet delivered.
/// - [`flush`](TransportWrite::flush) returns at once, as a socket's does:
///   the wrapped writer is flushed after the bytes written so far have
///   arrived. [`delivered`](DelayLineWriter::delivered) waits for that.
/// - [`close`](TransportWrite::close) waits until everything has arrived,
///   then closes the wrapped writer.
/// - An error of the wrapped writer fails the next `write`, `flush`,
///   `close` or `delivered`, and every one after.
/// - Dropped, it lets the bytes on the line arrive, then flushes and drops
///   the wrapped writer.
///
/// The task is spawned with [`tokio::spawn`] on first use, so the writer
/// must be used within a tokio runtime with the `time` driver (`tokio::spawn`
/// panics outside one), and it
/// keeps time with [`tokio::time`]: on a paused clock, the delays pass in
/// virtual time.
#[derive(Debug)]
pub struct DelayLineWriter<W> {
    state: State<W>,
    config: DelayConfig,
    /// Bytes the line may still take: `buffer` minus those on it.
    room: Arc<Semaphore>,
    failure: Arc<Failure>,
    /// When the bottleneck has sent everything queued so far.
    link_free_at: Option<Instant>,
}

#[derive(Debug)]
enum State<W> {
    /// Nothing written yet: the task is not running.
    Idle(W),
    /// The task runs; commands go to it.
    Running(mpsc::UnboundedSender<Command>),
    /// Closed, or between states.
    Closed,
}

impl<W: TransportWrite> DelayLineWriter<W> {
    pub(super) fn new(inner: W, config: DelayConfig) -> Self {
        Self {
            state: State::Idle(inner),
            config,
            room: Arc::new(Semaphore::new(config.buffer)),
            failure: Arc::new(Failure::default()),
            link_free_at: None,
        }
    }

    /// The path modelled.
    pub fn config(&self) -> &DelayConfig {
        &self.config
    }

    /// Bytes on the line: written, not yet delivered to the wrapped writer.
    pub fn in_flight(&self) -> usize {
        self.config
            .buffer
            .saturating_sub(self.room.available_permits())
    }

    /// Waits until every byte written so far has arrived and the wrapped
    /// writer has been flushed: what [`flush`](TransportWrite::flush) would
    /// mean on a local buffer. Fails if the wrapped writer has failed.
    pub async fn delivered(&mut self) -> io::Result<()> {
        let (done, arrived) = oneshot::channel();
        self.command(Command::Flush { done: Some(done) })?;
        arrived.await.map_err(|_| self.failure.error())
    }

    /// Fails if the wrapped writer has failed or the writer is closed.
    fn check(&self) -> io::Result<()> {
        if let Some(error) = self.failure.get() {
            return Err(error);
        }
        if matches!(self.state, State::Closed) {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "delay line writer is closed",
            ));
        }
        Ok(())
    }

    /// Hands `command` to the line, starting its task if need be.
    fn command(&mut self, command: Command) -> io::Result<()> {
        self.check()?;
        self.state = match std::mem::replace(&mut self.state, State::Closed) {
            State::Idle(inner) => {
                let (commands, line) = mpsc::unbounded_channel();
                tokio::spawn(deliver(
                    inner,
                    line,
                    Arc::clone(&self.room),
                    Arc::clone(&self.failure),
                ));
                State::Running(commands)
            }
            started => started,
        };
        match &self.state {
            State::Running(commands) => commands.send(command).map_err(|_| self.failure.error()),
            State::Idle(_) | State::Closed => Err(self.failure.error()),
        }
    }

    /// Puts one segment on the line once there is room for it.
    async fn put(&mut self, bytes: BytesMut) -> io::Result<()> {
        let len = bytes.len();
        // At most `segment_len() <= buffer <= u32::MAX` bytes (validated).
        let permits = u32::try_from(len).map_err(|_| io::Error::other("segment too long"))?;
        let room = Arc::clone(&self.room)
            .acquire_many_owned(permits)
            .await
            .map_err(|_| self.failure.error())?;
        let now = Instant::now();
        let depart = match self.config.rate {
            Some(rate) => {
                let start = self.link_free_at.map_or(now, |free| free.max(now));
                let depart = start + serialisation_time(len, rate);
                self.link_free_at = Some(depart);
                depart
            }
            None => now,
        };
        self.command(Command::Segment(Segment {
            bytes: bytes.freeze(),
            arrive: depart + self.config.delay,
            _room: room,
        }))
    }
}

/// How long `len` bytes take to send at `rate` bytes per second (rounded
/// down to the nanosecond).
fn serialisation_time(len: usize, rate: u64) -> Duration {
    let nanos = (len as u128 * 1_000_000_000) / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl<W: TransportWrite> TransportWrite for DelayLineWriter<W> {
    async fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write_vectored(&[IoSlice::new(buf)]).await
    }

    /// Gathers the slices into segments of at most
    /// [`max_segment`](DelayConfig::max_segment) bytes.
    async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<()> {
        self.check()?;
        let mut left: usize = bufs.iter().map(|buf| buf.len()).sum();
        let segment_len = self.config.segment_len();
        let mut slices = bufs.iter().map(|buf| &**buf);
        let mut current: &[u8] = &[];
        while left > 0 {
            let mut segment = BytesMut::with_capacity(segment_len.min(left));
            while segment.len() < segment_len {
                if current.is_empty() {
                    match slices.next() {
                        Some(slice) => current = slice,
                        None => break,
                    }
                }
                let take = current.len().min(segment_len - segment.len());
                let (now, later) = current.split_at(take);
                segment.extend_from_slice(now);
                current = later;
            }
            left -= segment.len();
            self.put(segment).await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.check()?;
        match self.state {
            // Nothing written: nothing to flush.
            State::Idle(_) => Ok(()),
            _ => self.command(Command::Flush { done: None }),
        }
    }

    async fn close(&mut self) -> io::Result<()> {
        self.check()?;
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Idle(mut inner) => inner.close().await,
            State::Running(commands) => {
                let (done, closed) = oneshot::channel();
                commands
                    .send(Command::Close { done })
                    .map_err(|_| self.failure.error())?;
                closed.await.map_err(|_| self.failure.error())
            }
            State::Closed => Ok(()),
        }
    }
}
