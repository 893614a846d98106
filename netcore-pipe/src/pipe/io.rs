//! The two I/O tasks: one reads and decodes, one writes. They never wait on
//! each other, so two peers sending large messages to each other cannot
//! deadlock on full kernel buffers.

use std::io::IoSlice;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use tokio::sync::{mpsc, oneshot};

use super::shared::Shared;
use super::spares::{Spare, Spares};
use super::stats::Counters;
use crate::core::{CoreDecoder, WireBytes};
use crate::error::{ConnectionError, Fault, SendError};
use crate::transport::{TransportRead, TransportWrite};

/// What the read task reports.
#[derive(Debug)]
pub(crate) enum ReadEvent<I> {
    /// Items decoded from one read.
    Items(Vec<I>),
    /// The peer closed the link.
    Eof,
    /// Reading from the transport failed.
    Failed(ConnectionError),
    /// The peer's bytes broke the wire format.
    Malformed(ConnectionError),
}

/// Hands `event` to the driver; `false` once the driver is gone. When the
/// driver is not taking input (its core's receive window is full, or it is
/// busy), reading pauses here, and says so.
async fn forward<I>(out: &mpsc::Sender<ReadEvent<I>>, event: ReadEvent<I>) -> bool {
    match out.try_send(event) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Closed(_)) => false,
        Err(mpsc::error::TrySendError::Full(event)) => {
            tracing::trace!("reading paused: the driver takes no input for now");
            let sent = out.send(event).await.is_ok();
            tracing::trace!("reading resumed");
            sent
        }
    }
}

/// Reads, decodes (CRC checks included, on this task's core) and forwards.
pub(crate) async fn read_loop<R: TransportRead, D: CoreDecoder>(
    mut reader: R,
    mut decoder: D,
    read_size: usize,
    out: mpsc::Sender<ReadEvent<D::Item>>,
    shared: Arc<Shared>,
    spares: Arc<Spares<Vec<D::Item>>>,
) {
    let mut size = ReadSize::new(read_size);
    let mut buf = BytesMut::new();
    loop {
        size.make_room(&mut buf);
        // Straight into the decode buffer: no copy, and no zeroing for tokio
        // readers (see `TransportRead::read_buf`).
        let read = reader.read_buf(&mut buf, size.next()).await;
        let n = match read {
            Ok(n) => n,
            Err(error) => {
                let _ = out
                    .send(ReadEvent::Failed(ConnectionError::transport(error)))
                    .await;
                return;
            }
        };

        size.record(n);
        Counters::add(&shared.counters.bytes_read, n as u64);
        // With the time of each event, a timeline of the link's reads.
        tracing::trace!(bytes = n, buffered = buf.len(), "read from the transport");
        let eof = n == 0;
        let mut items = spares.take().unwrap_or_default();
        let failed = loop {
            let item = if eof {
                decoder.decode_eof(&mut buf)
            } else {
                decoder.decode(&mut buf)
            };
            match item {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break None,
                Err(error) => break Some(error),
            }
        };
        detach_if_sparse::<D>(&mut items, n);
        let damage = decoder.damage();
        shared
            .counters
            .resyncs
            .store(damage.resyncs, Ordering::Relaxed);
        shared
            .counters
            .damaged_bytes
            .store(damage.skipped_bytes, Ordering::Relaxed);
        if !items.is_empty() && !forward(&out, ReadEvent::Items(items)).await {
            return;
        }
        let last = match failed {
            // A link cut mid-frame is the transport's failure, not the peer's.
            Some(error) if error.fault() == Fault::Link => Some(ReadEvent::Failed(error)),
            Some(error) => Some(ReadEvent::Malformed(error)),
            None if eof => Some(ReadEvent::Eof),
            None => None,
        };
        if let Some(last) = last {
            let _ = out.send(last).await;
            return;
        }
    }
}

/// Body chunks are handed up as slices of the read buffer, and a slice keeps
/// its whole buffer alive. Where bodies are most of what a read brought
/// (bulk) that is free; where they are not — a chunk among PINGs, damage or
/// other frames — the chunks are copied out, so what a peer makes us hold
/// is never more than twice the body bytes it sent (each read has a buffer
/// of its own; see `ReadSize::make_room`).
fn detach_if_sparse<D: CoreDecoder>(items: &mut [D::Item], read: usize) {
    let body: usize = items.iter().map(D::body_len).sum();
    if body > 0 && body < read / 2 {
        items.iter_mut().for_each(D::detach_body);
    }
}

/// How much the read loop asks for, and keeps room for: small while the
/// link carries small messages or nothing (an idle connection holds a
/// 8 KiB buffer, not `read_size` x 4), doubling up to `read_size` while
/// reads come back full (bulk), halving when they come back small.
#[derive(Debug)]
struct ReadSize {
    max: usize,
    next: usize,
    last: usize,
}

impl ReadSize {
    /// The first read, and the smallest.
    const MIN: usize = 8 << 10;

    fn new(max: usize) -> ReadSize {
        let max = max.max(1);
        ReadSize {
            max,
            next: Self::MIN.min(max),
            last: 0,
        }
    }

    /// At most this many bytes in the next read.
    fn next(&self) -> usize {
        self.next
    }

    /// A read returned `n` bytes.
    fn record(&mut self, n: usize) {
        self.last = n;
        if n >= self.next {
            self.next = (self.next * 2).min(self.max);
        } else if n < self.next / 4 {
            self.next = (self.next / 2).max(Self::MIN.min(self.max));
        }
    }

    /// Room for the next read in `buf`. A buffer left empty after a small
    /// read is let go (frames handed out keep their own bytes), so a quiet
    /// connection does not sit on a bulk-sized block.
    fn make_room(&self, buf: &mut BytesMut) {
        let quiet = self.last < self.next / 2;
        if buf.is_empty() && quiet && buf.capacity() > 2 * self.next {
            *buf = BytesMut::new();
        }
        if buf.capacity() - buf.len() < self.next {
            // One block per read: chunks handed out from it pin no more
            // than that read (see `detach_if_sparse`).
            buf.reserve(self.next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_grow_while_full_and_shrink_when_small() {
        let mut size = ReadSize::new(128 << 10);
        assert_eq!(size.next(), 8 << 10);
        for expected in [16, 32, 64, 128, 128] {
            size.record(size.next());
            assert_eq!(size.next(), expected << 10);
        }
        size.record(100);
        assert_eq!(size.next(), 64 << 10);
        for _ in 0..10 {
            size.record(100);
        }
        assert_eq!(size.next(), 8 << 10);
        assert_eq!(ReadSize::new(1024).next(), 1024, "never above read_size");
    }

    #[test]
    fn chunks_among_other_frames_are_copied_out_of_the_read_buffer() {
        use netcore_protocol::{Data, Decoded, Decoder, Frame};
        let block = bytes::Bytes::from(vec![7u8; 64 << 10]);
        let chunk = |len: usize| {
            Decoded::Frame(Frame::Data(Data {
                message_id: 1,
                offset: 0,
                payload: block.slice(..len),
            }))
        };
        let inside = |items: &[Decoded]| match &items[0] {
            Decoded::Frame(Frame::Data(data)) => {
                block.as_ptr_range().contains(&data.payload.as_ptr())
            }
            _ => false,
        };
        // Bulk: the read was mostly body; handed up as it is.
        let mut bulk = vec![chunk(60 << 10)];
        detach_if_sparse::<Decoder>(&mut bulk, 64 << 10);
        assert!(inside(&bulk));
        // One small chunk among 64 KiB of other frames: copied out.
        let mut sparse = vec![chunk(1 << 10)];
        detach_if_sparse::<Decoder>(&mut sparse, 64 << 10);
        assert!(!inside(&sparse));
    }

    #[test]
    fn a_quiet_connection_lets_its_big_block_go() {
        let mut size = ReadSize::new(128 << 10);
        let mut buf = BytesMut::new();
        for _ in 0..6 {
            size.make_room(&mut buf);
            size.record(size.next());
        }
        size.make_room(&mut buf);
        assert!(buf.capacity() >= 128 << 10, "bulk: {}", buf.capacity());
        for _ in 0..6 {
            size.record(10);
        }
        size.make_room(&mut buf);
        assert!(buf.capacity() <= 16 << 10, "quiet: {}", buf.capacity());
    }
}

/// One outgoing message's share of a batch.
#[derive(Debug)]
pub(crate) struct Progress {
    pub(crate) counter: Arc<AtomicU64>,
    pub(crate) body_len: u64,
    /// Set on the message's last frame.
    pub(crate) done: Option<oneshot::Sender<Result<(), SendError>>>,
}

/// Frames to write in one go.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) frames: Vec<WireBytes>,
    pub(crate) progress: Vec<Progress>,
    pub(crate) bytes: usize,
    pub(crate) messages_done: u64,
}

impl Batch {
    pub(crate) fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

impl Spare for Batch {
    fn empty(&mut self) -> bool {
        self.bytes = 0;
        self.messages_done = 0;
        // Frames go now: they hold body bytes.
        self.frames.empty() & self.progress.empty()
    }
}

/// Why a batch was not written.
enum WriteError {
    Io(std::io::Error),
    /// Not written within the write timeout.
    Stalled(Duration),
}

impl From<std::io::Error> for WriteError {
    fn from(error: std::io::Error) -> WriteError {
        WriteError::Io(error)
    }
}

/// Writes batches in order with gathered writes; completes send handles as
/// their last byte is handed over. Returns when the driver drops its sender
/// (after closing the write side) or a write fails or stalls past
/// `write_timeout`.
pub(crate) async fn write_loop<W: TransportWrite>(
    mut writer: W,
    mut batches: mpsc::Receiver<Batch>,
    write_timeout: Option<Duration>,
    shared: Arc<Shared>,
    spares: Arc<Spares<Batch>>,
) -> Result<(), ConnectionError> {
    while let Some(batch) = batches.recv().await {
        let mut slices: Vec<IoSlice<'_>> = Vec::with_capacity(batch.frames.len() * 3);
        for frame in &batch.frames {
            let mut parts = [IoSlice::new(&[]); 3];
            let filled = bytes::Buf::chunks_vectored(frame, &mut parts);
            slices.extend_from_slice(&parts[..filled]);
        }
        let flush = batches.is_empty();
        let write = async {
            writer.write_vectored(&slices).await?;
            if flush {
                writer.flush().await?;
            }
            Ok(())
        };
        let result = match write_timeout {
            Some(limit) => tokio::time::timeout(limit, write)
                .await
                .unwrap_or(Err(WriteError::Stalled(limit))),
            None => write.await,
        };
        if let Err(error) = result {
            let error = match error {
                WriteError::Io(error) => ConnectionError::transport(error),
                WriteError::Stalled(limit) => {
                    tracing::debug!(
                        ?limit,
                        bytes = batch.bytes,
                        "write stalled: the peer reads nothing"
                    );
                    ConnectionError::WriteStalled(limit)
                }
            };
            // This batch and any already queued will never be written.
            batches.close();
            let queued = std::iter::from_fn(|| batches.try_recv().ok());
            for batch in std::iter::once(batch).chain(queued) {
                for progress in batch.progress {
                    if let Some(done) = progress.done {
                        let _ = done.send(Err(SendError::Connection(error.clone())));
                    }
                }
            }
            return Err(error);
        }
        let counters = &shared.counters;
        tracing::trace!(
            frames = batch.frames.len(),
            bytes = batch.bytes,
            "frames written"
        );
        Counters::add(&counters.bytes_written, batch.bytes as u64);
        Counters::add(&counters.frames_sent, batch.frames.len() as u64);
        Counters::add(&counters.messages_sent, batch.messages_done);
        let mut batch = batch;
        for progress in batch.progress.drain(..) {
            progress
                .counter
                .fetch_add(progress.body_len, Ordering::Relaxed);
            if let Some(done) = progress.done {
                let _ = done.send(Ok(()));
            }
        }
        spares.give(batch);
    }
    writer.close().await.map_err(ConnectionError::transport)
}
