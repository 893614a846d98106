//! Receiving: streamed bodies ([`Incoming`], [`BodyStream`]) and whole
//! messages ([`Received`]) whose large bodies spill to a temporary file.
//!
//! Collecting whole messages within the receive buffer and the spill budget
//! is in `collect`, the budgets in `budget`, spill files in `spill`.

mod budget;
mod collect;
mod spill;

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use netcore_protocol::{Headers, Priority};
use tokio::io::AsyncRead;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::command::Command;
use super::shared::Shared;
use crate::error::ReceiveError;
use budget::Reservation;

pub(crate) use collect::Collect;
pub use spill::SpilledFile;

/// What the driver puts into a body channel.
#[derive(Debug)]
pub(crate) enum Piece {
    Chunk(Bytes),
    End,
    Failed(ReceiveError),
}

/// Yields to the runtime after every few hundred KiB copied, so that
/// collecting a big body never holds a worker thread for milliseconds while
/// small messages wait (the channel's cooperative budget alone would let a
/// task copy megabytes per poll).
#[derive(Debug, Default)]
struct Pacer {
    since_yield: usize,
}

impl Pacer {
    const SLICE: usize = 256 << 10;

    async fn copied(&mut self, bytes: usize) {
        self.since_yield += bytes;
        if self.since_yield >= Self::SLICE {
            self.since_yield = 0;
            tokio::task::yield_now().await;
        }
    }
}

/// A message as soon as the peer opened it; its body arrives as a stream.
#[derive(Debug)]
pub struct Incoming {
    /// The message id (in the peer's numbering).
    pub id: u64,
    /// Its headers.
    pub headers: Headers,
    /// Its priority.
    pub priority: Priority,
    /// Its total length, if the peer announced it.
    pub total_len: Option<u64>,
    /// When this side read its opening frame (on tokio's clock, so a
    /// paused test clock stops it too): where the time a call's caller
    /// waits starts, however long the message then waits to be accepted.
    pub opened_at: Instant,
    /// Its body.
    pub body: BodyStream,
}

impl Incoming {
    /// Reads the whole body into memory.
    pub async fn bytes(self) -> Result<Bytes, ReceiveError> {
        let mut body = self.body;
        if let Some(whole) = body.try_whole() {
            return Ok(whole);
        }
        // The announced length was checked against the message limit: room
        // for it up front saves re-copying a growing buffer.
        // Not more than 1 MiB up front: the announced length is the peer's
        // word, not bytes that arrived; the buffer grows with the data.
        let capacity = self
            .total_len
            .map_or(64 << 10, |len| len.min(1 << 20) as usize);
        let mut out = BytesMut::new();
        let mut single: Option<Bytes> = None;
        let mut pacer = Pacer::default();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            pacer.copied(chunk.len()).await;
            match single.take() {
                // One chunk is handed out as it came: no copy.
                None if out.is_empty() => single = Some(chunk),
                first => {
                    if let Some(first) = first {
                        out.reserve(capacity.max(first.len() + chunk.len()));
                        out.extend_from_slice(&first);
                    }
                    out.extend_from_slice(&chunk);
                }
            }
        }
        Ok(single.unwrap_or_else(|| out.freeze()))
    }
}

/// The body of an [`Incoming`] message: a stream of chunks, in order.
///
/// Flow-control credit goes back to the sender as chunks are taken from the
/// stream, so a reader that stops reading stops the sender. It ends with
/// `None` after the last chunk, or with one `Err` if the message fails.
/// Dropping it before the end cancels the message at the sender.
///
/// A message that was already collected whole before the application asked
/// for it (see [`Pipe::accept`](super::Pipe::accept) on a pipe built in
/// [`ReceiveMode::Complete`](super::ReceiveMode::Complete)) streams from
/// memory or from its spill file; its sender is long done.
#[derive(Debug)]
pub struct BodyStream {
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// Chunks as the driver reassembles them.
    Live {
        id: u64,
        rx: mpsc::UnboundedReceiver<Piece>,
        shared: Arc<Shared>,
        done: bool,
        /// The driver was told this stream waits for data (small chunks
        /// are held back until then; see `BodySink`).
        asked: bool,
        /// Pieces taken from `rx` while waiting for a budget
        /// ([`BodyStream::failure`]), not yet read: no credit went back for
        /// them.
        held: VecDeque<Piece>,
    },
    /// A body that had arrived whole when its message was handed over
    /// (see `Opening`): `None` once read. Its flow-control credit goes back
    /// when it is read, or dropped unread.
    Whole {
        id: u64,
        body: Option<Bytes>,
        shared: Arc<Shared>,
    },
    /// A body collected whole before it was asked for.
    Collected(Collected),
}

/// A collected body being streamed out, with the receive-buffer share it
/// holds until the stream is done.
#[derive(Debug)]
struct Collected {
    body: Option<ReceivedBody>,
    /// The spill file, opened on the first read.
    file: Option<tokio::fs::File>,
    /// Where file reads land (kept across polls that return pending).
    buf: BytesMut,
    /// Its share of the receive buffer (a spill file holds its own share
    /// of the spill budget).
    _budget: Reservation,
}

/// Bytes read from a spill file at a time.
const FILE_CHUNK: usize = 64 << 10;

impl BodyStream {
    pub(crate) fn new(
        id: u64,
        rx: mpsc::UnboundedReceiver<Piece>,
        shared: Arc<Shared>,
    ) -> BodyStream {
        BodyStream {
            source: Source::Live {
                id,
                rx,
                shared,
                done: false,
                asked: false,
                held: VecDeque::new(),
            },
        }
    }

    /// A body that arrived whole before its message was handed over.
    pub(crate) fn whole(id: u64, body: Bytes, shared: Arc<Shared>) -> BodyStream {
        BodyStream {
            source: Source::Whole {
                id,
                body: Some(body),
                shared,
            },
        }
    }

    /// The whole body, at once, if it had all arrived when its message was
    /// handed over — as a message of one frame (most calls, replies and
    /// notifications) has, or one collected in memory before delivery
    /// ([`ReceiveMode::Complete`](crate::ReceiveMode::Complete)); `None` otherwise
    /// (a body still arriving, or spilled to a file), and the stream is
    /// untouched.
    ///
    /// Taking it counts as reading it: its flow-control credit goes back
    /// to the sender, and the stream then ends.
    ///
    /// ```
    /// use futures::StreamExt;
    /// use netcore_pipe::{Message, Pipe, PipeConfig};
    /// use netcore_pipe::transport::memory_pair;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (a, b) = memory_pair(64 * 1024);
    /// let (a, b) = (Pipe::new(a, PipeConfig::default()), Pipe::new(b, PipeConfig::default()));
    /// a.send(Message::new("small"))?.await?;
    /// let mut incoming = b.accept().await?;
    /// assert_eq!(incoming.body.try_whole().as_deref(), Some(&b"small"[..]));
    /// assert!(incoming.body.next().await.is_none());
    /// # Ok(())
    /// # }
    /// ```
    pub fn try_whole(&mut self) -> Option<Bytes> {
        match &mut self.source {
            Source::Whole { id, body, shared } => take_whole(*id, body, shared),
            Source::Collected(collected) => match collected.body.take() {
                Some(ReceivedBody::Memory(bytes)) => Some(bytes),
                other => {
                    collected.body = other;
                    None
                }
            },
            Source::Live { .. } => None,
        }
    }

    /// Waits until the message fails (the peer cancels it, the connection
    /// ends) and returns why; pending forever otherwise. Chunks that arrive
    /// meanwhile are kept unread: no flow-control credit goes back for them,
    /// so the sender stays stopped. For collectors waiting for a budget.
    pub(crate) async fn failure(&mut self) -> ReceiveError {
        std::future::poll_fn(|cx| self.poll_failure(cx)).await
    }

    fn poll_failure(&mut self, cx: &mut Context<'_>) -> Poll<ReceiveError> {
        let Source::Live {
            rx,
            shared,
            done,
            held,
            ..
        } = &mut self.source
        else {
            return Poll::Pending;
        };
        if *done || held.back().is_some_and(|piece| matches!(piece, Piece::End)) {
            return Poll::Pending;
        }
        loop {
            match rx.poll_recv(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Piece::Chunk(bytes))) => held.push_back(Piece::Chunk(bytes)),
                Poll::Ready(Some(Piece::End)) => {
                    held.push_back(Piece::End);
                    return Poll::Pending;
                }
                Poll::Ready(Some(Piece::Failed(error))) => {
                    *done = true;
                    return Poll::Ready(error);
                }
                Poll::Ready(None) => {
                    *done = true;
                    return Poll::Ready(shared.end_error().into());
                }
            }
        }
    }

    /// A stream over a body collected whole.
    fn collected(body: ReceivedBody, budget: Reservation) -> BodyStream {
        BodyStream {
            source: Source::Collected(Collected {
                body: Some(body),
                file: None,
                buf: BytesMut::new(),
                _budget: budget,
            }),
        }
    }
}

/// Takes a whole body out of its source, giving its credit back.
fn take_whole(id: u64, body: &mut Option<Bytes>, shared: &Shared) -> Option<Bytes> {
    let body = body.take()?;
    if !body.is_empty() {
        shared.command(Command::Consumed(id, body.len() as u64));
    }
    Some(body)
}

impl Stream for BodyStream {
    type Item = Result<Bytes, ReceiveError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.source {
            Source::Live {
                id,
                rx,
                shared,
                done,
                asked,
                held,
            } => {
                if *done {
                    return Poll::Ready(None);
                }
                let piece = match held.pop_front() {
                    Some(piece) => Some(piece),
                    None => match rx.poll_recv(cx) {
                        Poll::Pending => {
                            if !*asked {
                                *asked = true;
                                shared.command(Command::Want(*id));
                            }
                            return Poll::Pending;
                        }
                        Poll::Ready(piece) => piece,
                    },
                };
                *asked = false;
                Poll::Ready(match piece {
                    Some(Piece::Chunk(bytes)) => {
                        shared.command(Command::Consumed(*id, bytes.len() as u64));
                        Some(Ok(bytes))
                    }
                    Some(Piece::End) => {
                        *done = true;
                        None
                    }
                    Some(Piece::Failed(error)) => {
                        *done = true;
                        Some(Err(error))
                    }
                    None => {
                        *done = true;
                        Some(Err(shared.end_error().into()))
                    }
                })
            }
            Source::Whole { id, body, shared } => Poll::Ready(
                take_whole(*id, body, shared)
                    .filter(|body| !body.is_empty())
                    .map(Ok),
            ),
            Source::Collected(collected) => collected.poll_next(cx),
        }
    }
}

impl Collected {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, ReceiveError>>> {
        let spill = |e: std::io::Error| ReceiveError::Spill(Arc::new(e));
        match &self.body {
            None => Poll::Ready(None),
            Some(ReceivedBody::Memory(_)) => match self.body.take() {
                Some(ReceivedBody::Memory(bytes)) if !bytes.is_empty() => {
                    Poll::Ready(Some(Ok(bytes)))
                }
                _ => Poll::Ready(None),
            },
            Some(ReceivedBody::File(spilled)) => {
                if self.file.is_none() {
                    // A local temporary file this process wrote: opening it
                    // does not wait on anything remote.
                    match std::fs::File::open(spilled.path()) {
                        Ok(file) => self.file = Some(tokio::fs::File::from_std(file)),
                        Err(error) => {
                            self.body = None;
                            return Poll::Ready(Some(Err(spill(error))));
                        }
                    }
                }
                let Some(file) = self.file.as_mut() else {
                    return Poll::Ready(None);
                };
                self.buf.resize(FILE_CHUNK, 0);
                let mut read = tokio::io::ReadBuf::new(&mut self.buf);
                match Pin::new(file).poll_read(cx, &mut read) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(Err(error)) => {
                        self.body = None;
                        Poll::Ready(Some(Err(spill(error))))
                    }
                    Poll::Ready(Ok(())) => {
                        let n = read.filled().len();
                        if n == 0 {
                            self.body = None;
                            self.file = None;
                            return Poll::Ready(None);
                        }
                        self.buf.truncate(n);
                        Poll::Ready(Some(Ok(self.buf.split().freeze())))
                    }
                }
            }
        }
    }
}

impl Drop for BodyStream {
    fn drop(&mut self) {
        match &self.source {
            Source::Live {
                id, shared, done, ..
            } if !*done => {
                shared.command(Command::DropIncoming(*id));
            }
            // Unread: its credit goes back.
            Source::Whole {
                id,
                body: Some(body),
                shared,
            } if !body.is_empty() => {
                shared.command(Command::DropIncoming(*id));
            }
            _ => {}
        }
    }
}

impl From<Received> for Incoming {
    /// A whole message as an [`Incoming`] one: its body streams from memory
    /// or from its spill file.
    fn from(received: Received) -> Incoming {
        let Received {
            id,
            headers,
            priority,
            opened_at,
            body,
            _memory,
        } = received;
        Incoming {
            id,
            headers,
            priority,
            total_len: Some(body.len()),
            opened_at,
            body: BodyStream::collected(body, _memory),
        }
    }
}

/// A whole incoming message, as [`Pipe::recv`](super::Pipe::recv) returns it.
///
/// Until it is dropped it holds its share of the pipe's receive budgets: a
/// body in memory its length of
/// [`PipeConfig::receive_buffer`](crate::PipeConfig::receive_buffer), a
/// spilled body (its [`SpilledFile`], wherever that is moved) its length of
/// [`PipeConfig::spill_budget`](crate::PipeConfig::spill_budget). Messages
/// received and kept therefore stop the sender once the budgets are full.
#[derive(Debug)]
pub struct Received {
    /// The message id (in the peer's numbering).
    pub id: u64,
    /// Its headers.
    pub headers: Headers,
    /// Its priority.
    pub priority: Priority,
    /// When this side read its opening frame (see [`Incoming::opened_at`]).
    pub opened_at: Instant,
    /// Its body, in memory or in a temporary file.
    pub body: ReceivedBody,
    /// The share of the receive buffer this message holds, released on drop.
    _memory: Reservation,
}

/// The body of a [`Received`] message.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReceivedBody {
    /// Held in memory.
    Memory(Bytes),
    /// Spilled to a temporary file, removed when this is dropped (see
    /// [`PipeConfig::spill_dir`](crate::PipeConfig::spill_dir)).
    File(SpilledFile),
}

impl ReceivedBody {
    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            ReceivedBody::Memory(bytes) => bytes.len() as u64,
            ReceivedBody::File(file) => file.len(),
        }
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole body in memory (reads the file if it spilled).
    pub async fn to_bytes(&self) -> std::io::Result<Bytes> {
        match self {
            ReceivedBody::Memory(bytes) => Ok(bytes.clone()),
            ReceivedBody::File(file) => tokio::fs::read(file.path()).await.map(Bytes::from),
        }
    }
}
