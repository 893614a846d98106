//! Sending: [`Message`], its [`Body`], and the [`SendHandle`] `send` returns.

use std::future::{Future, IntoFuture};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::Stream;
use netcore_protocol::{HeaderError, Headers, Priority};
use tokio::sync::oneshot;

use super::command::Command;
use super::shared::Shared;
use crate::error::SendError;

/// A stream of body chunks of unknown total length.
pub type ChunkStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A message body: bytes in memory, a file streamed from disk (never loaded
/// whole), or a stream of chunks of unknown length.
#[non_exhaustive]
pub enum Body {
    /// Bytes in memory, framed without copying.
    Bytes(Bytes),
    /// A file of known length, read in chunks as the message is sent.
    File {
        /// The open file, positioned at the start of the body.
        file: tokio::fs::File,
        /// How many bytes of it to send.
        len: u64,
    },
    /// Chunks of unknown total length; the message ends when the stream does.
    Stream(ChunkStream),
}

impl Body {
    /// Opens `path` as a file body.
    pub async fn file(path: impl AsRef<std::path::Path>) -> io::Result<Body> {
        let file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        Ok(Body::File { file, len })
    }

    /// A body from a stream of chunks.
    pub fn stream(stream: impl Stream<Item = io::Result<Bytes>> + Send + 'static) -> Body {
        Body::Stream(Box::pin(stream))
    }

    /// The body's length, if known up front.
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::Bytes(bytes) => Some(bytes.len() as u64),
            Body::File { len, .. } => Some(*len),
            Body::Stream(_) => None,
        }
    }

    /// Whether the body is known to be empty.
    pub fn is_empty(&self) -> bool {
        self.len() == Some(0)
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Body::Bytes(bytes) => write!(f, "Body::Bytes({} bytes)", bytes.len()),
            Body::File { len, .. } => write!(f, "Body::File({len} bytes)"),
            Body::Stream(_) => f.write_str("Body::Stream"),
        }
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Body {
        Body::Bytes(bytes)
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Body {
        Body::Bytes(bytes.into())
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Body {
        Body::Bytes(Bytes::from_static(bytes))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Body {
        Body::Bytes(Bytes::from_static(text.as_bytes()))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Body {
        Body::Bytes(text.into())
    }
}

/// A message to send: headers, a priority and a body.
///
/// ```
/// use netcore_pipe::{Message, protocol::Priority};
/// let message = Message::new("hello")
///     .header("route", "/greet")?
///     .priority(Priority::HIGH);
/// assert_eq!(message.headers.get_str("route"), Some("/greet"));
/// # Ok::<(), netcore_pipe::protocol::HeaderError>(())
/// ```
#[derive(Debug)]
pub struct Message {
    /// Key/value headers (route, content type, …).
    pub headers: Headers,
    /// Scheduling priority: higher tiers go strictly first.
    pub priority: Priority,
    /// The body.
    pub body: Body,
}

impl Message {
    /// A message of normal priority with no headers.
    pub fn new(body: impl Into<Body>) -> Message {
        Message {
            headers: Headers::new(),
            priority: Priority::NORMAL,
            body: body.into(),
        }
    }

    /// Sets a header.
    pub fn header(
        mut self,
        name: impl Into<String>,
        value: impl Into<Bytes>,
    ) -> Result<Message, HeaderError> {
        self.headers.insert(name, value)?;
        Ok(self)
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: Priority) -> Message {
        self.priority = priority;
        self
    }
}

/// The driver's side of a send handle.
pub(crate) struct OutgoingEntry {
    pub(crate) progress: Arc<AtomicU64>,
    pub(crate) done: oneshot::Sender<Result<(), SendError>>,
}

/// A message being sent: its id, its progress, its completion and `cancel`.
///
/// Await it (it is [`IntoFuture`]) to learn when the last byte was handed to
/// the transport, or why it never will be. Dropping it does not cancel the
/// message.
#[derive(Debug)]
pub struct SendHandle {
    id: u64,
    total_len: Option<u64>,
    progress: Arc<AtomicU64>,
    done: oneshot::Receiver<Result<(), SendError>>,
    outcome: Option<Result<(), SendError>>,
    shared: Arc<Shared>,
}

impl SendHandle {
    pub(crate) fn new(
        id: u64,
        total_len: Option<u64>,
        shared: Arc<Shared>,
    ) -> (SendHandle, OutgoingEntry) {
        let progress = Arc::new(AtomicU64::new(0));
        let (done_tx, done) = oneshot::channel();
        let handle = SendHandle {
            id,
            total_len,
            progress: progress.clone(),
            done,
            outcome: None,
            shared,
        };
        (
            handle,
            OutgoingEntry {
                progress,
                done: done_tx,
            },
        )
    }

    /// The message id (the peer sees the same id).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Body bytes handed to the transport so far.
    pub fn bytes_sent(&self) -> u64 {
        self.progress.load(Ordering::Relaxed)
    }

    /// The body length, if known.
    pub fn total_len(&self) -> Option<u64> {
        self.total_len
    }

    /// Abandons the message: no more of it is sent and the peer is told.
    /// Awaiting the handle then gives [`SendError::Cancelled`].
    pub fn cancel(&self) {
        self.shared.command(Command::CancelOutgoing(self.id));
    }

    /// Whether the message is over — sent whole, failed or cancelled —
    /// without waiting ([`finished`](Self::finished) then returns at once).
    pub fn is_finished(&mut self) -> bool {
        if self.outcome.is_some() {
            return true;
        }
        match self.done.try_recv() {
            Ok(outcome) => {
                self.outcome = Some(outcome);
                true
            }
            Err(oneshot::error::TryRecvError::Empty) => false,
            Err(oneshot::error::TryRecvError::Closed) => {
                self.outcome = Some(Err(self.shared.end_error().into()));
                true
            }
        }
    }

    /// Waits until the last byte is handed to the transport, or the message
    /// fails. May be called again: it returns the same outcome.
    pub async fn finished(&mut self) -> Result<(), SendError> {
        if let Some(outcome) = &self.outcome {
            return outcome.clone();
        }
        let outcome = match (&mut self.done).await {
            Ok(result) => result,
            Err(_) => Err(self.shared.end_error().into()),
        };
        self.outcome = Some(outcome.clone());
        outcome
    }
}

impl IntoFuture for SendHandle {
    type Output = Result<(), SendError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        let mut handle = self;
        Box::pin(async move { handle.finished().await })
    }
}
