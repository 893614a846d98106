//! A reply received as it arrives: [`StreamedResponse`], what
//! [`Peer::call_streamed`](crate::Peer::call_streamed) returns.
//!
//! The reader hands the reply's head (headers, announced length) and its
//! live body stream to the waiting call as soon as the reply opens; the
//! body's flow-control credit goes back as the caller reads, so the
//! caller's pace is the sender's. Dropping the response before the end
//! cancels the reply at the peer (the pipe tells it) and a request body
//! still being sent from here.

use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use netcore_pipe::protocol::Headers;
use netcore_pipe::{BodyStream, SendHandle};
use tokio::io::AsyncWriteExt;

use crate::error::CallError;

/// The head of a reply, handed over by the reader.
pub(crate) struct ReplyHead {
    pub(crate) headers: Headers,
    pub(crate) total_len: Option<u64>,
    pub(crate) body: BodyStream,
}

/// A successful reply whose body arrives as a stream of chunks
/// ([`Peer::call_streamed`](crate::Peer::call_streamed)).
///
/// It is a [`Stream`] of `Result<Bytes, CallError>`: read it chunk by
/// chunk, [`save`](Self::save) it to a file, or collect it with
/// [`bytes`](Self::bytes). An error reply never becomes one: the call
/// itself fails with [`CallError::Remote`].
#[derive(Debug)]
pub struct StreamedResponse {
    headers: Headers,
    total_len: Option<u64>,
    body: BodyStream,
    /// The request, if it may still be being sent (a duplex call).
    request: Option<SendHandle>,
}

impl StreamedResponse {
    pub(crate) fn new(head: ReplyHead, request: Option<SendHandle>) -> StreamedResponse {
        StreamedResponse {
            headers: head.headers,
            total_len: head.total_len,
            body: head.body,
            request,
        }
    }

    /// The reply's headers.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The body's length, if the peer announced it (a file or bytes; not a
    /// stream of unknown length).
    pub fn len(&self) -> Option<u64> {
        self.total_len
    }

    /// Whether the peer announced an empty body.
    pub fn is_empty(&self) -> bool {
        self.total_len == Some(0)
    }

    /// Reads the whole body into memory (for replies known to be small;
    /// [`save`](Self::save) a large one).
    pub async fn bytes(mut self) -> Result<Bytes, CallError> {
        if let Some(whole) = self.body.try_whole() {
            return Ok(whole);
        }
        let capacity = self
            .total_len
            .map_or(64 << 10, |len| len.min(1 << 20) as usize);
        let mut out = BytesMut::with_capacity(capacity);
        while let Some(chunk) = self.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out.freeze())
    }

    /// Writes the body to a file at `path` (created or truncated) as it
    /// arrives, in large writes, and returns its length: a reply of any size
    /// with only the flow-control window in memory. A reply that fails
    /// midway leaves the bytes that came; the error says why.
    pub async fn save(mut self, path: impl AsRef<Path>) -> Result<u64, SaveError> {
        let file = tokio::fs::File::create(path.as_ref())
            .await
            .map_err(SaveError::File)?;
        let mut file = tokio::io::BufWriter::with_capacity(1 << 20, file);
        let mut total = 0u64;
        while let Some(chunk) = self.next().await {
            let chunk = chunk.map_err(SaveError::Call)?;
            file.write_all(&chunk).await.map_err(SaveError::File)?;
            total += chunk.len() as u64;
        }
        file.flush().await.map_err(SaveError::File)?;
        Ok(total)
    }
}

impl Stream for StreamedResponse {
    type Item = Result<Bytes, CallError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.body
            .poll_next_unpin(cx)
            .map(|chunk| chunk.map(|chunk| chunk.map_err(CallError::from)))
    }
}

/// Dropping the response stops the call both ways: the reply's body (the
/// [`BodyStream`]'s own drop cancels it at the peer, if unfinished) and
/// the request, if it is still being sent.
impl Drop for StreamedResponse {
    fn drop(&mut self) {
        if let Some(request) = self.request.as_mut()
            && !request.is_finished()
        {
            request.cancel();
        }
    }
}

/// Why [`StreamedResponse::save`] stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SaveError {
    /// The reply's body failed (the connection ended, the peer cancelled
    /// it, a damaged chunk).
    #[error("the reply could not be received: {0}")]
    Call(#[source] CallError),
    /// The file could not be created or written.
    #[error("the reply could not be written to its file: {0}")]
    File(#[source] std::io::Error),
}
