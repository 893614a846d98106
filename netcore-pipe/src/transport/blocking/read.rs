//! The reading half of the blocking adapter and its thread.

use std::io;
use std::thread;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{CHUNK, DEPTH, Failure};
use crate::transport::TransportRead;
use crate::transport::leftover::Leftover;

/// Name of the thread that runs the read function.
const THREAD_NAME: &str = "netcore-blocking-read";

/// What the read thread sends: a chunk, the empty chunk for end of stream, or
/// the error that ended it.
type Chunk = io::Result<Bytes>;

/// How reading ended, remembered so later reads report it again.
#[derive(Debug)]
enum End {
    /// The read function reported end of stream.
    Eof,
    /// The read function failed, or its thread could not start or died.
    Failed(Failure),
}

/// The reading half of a [`BlockingTransport`](super::BlockingTransport):
/// receives the chunks its thread reads. See [`blocking`](super::blocking).
#[derive(Debug)]
pub struct BlockingReader {
    chunks: mpsc::Receiver<Chunk>,
    leftover: Leftover,
    end: Option<End>,
}

impl BlockingReader {
    /// Starts the read thread running `read`.
    pub(super) fn spawn<R>(read: R) -> Self
    where
        R: FnMut(&mut [u8]) -> io::Result<usize> + Send + 'static,
    {
        let (sender, chunks) = mpsc::channel(DEPTH);
        let spawned = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || read_loop(read, sender));
        let end = match spawned {
            Ok(_detached) => None,
            Err(error) => {
                tracing::warn!(%error, "cannot start the {THREAD_NAME} thread");
                Some(End::Failed(Failure::spawn(THREAD_NAME, &error)))
            }
        };
        Self {
            chunks,
            leftover: Leftover::default(),
            end,
        }
    }
}

impl TransportRead for BlockingReader {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if !self.leftover.is_empty() {
            return Ok(self.leftover.take_into(buf));
        }
        match &self.end {
            Some(End::Eof) => return Ok(0),
            Some(End::Failed(failure)) => return Err(failure.to_error()),
            None => {}
        }
        match self.chunks.recv().await {
            Some(Ok(chunk)) if chunk.is_empty() => {
                self.end = Some(End::Eof);
                Ok(0)
            }
            Some(Ok(chunk)) => Ok(self.leftover.serve(chunk, buf)),
            Some(Err(error)) => {
                self.end = Some(End::Failed(Failure::of(&error)));
                Err(error)
            }
            None => {
                let failure = Failure {
                    kind: io::ErrorKind::Other,
                    message: format!(
                        "the {THREAD_NAME} thread ended unexpectedly (did the read function panic?)"
                    ),
                };
                self.end = Some(End::Failed(failure.clone()));
                Err(failure.to_error())
            }
        }
    }
}

/// The read thread: reads chunks until end of stream, an error, or the async
/// reader going away.
fn read_loop<R>(mut read: R, chunks: mpsc::Sender<Chunk>)
where
    R: FnMut(&mut [u8]) -> io::Result<usize>,
{
    tracing::debug!("{THREAD_NAME} thread started");
    let mut buf = vec![0u8; CHUNK];
    loop {
        if chunks.is_closed() {
            tracing::debug!("{THREAD_NAME}: reader dropped, thread ends");
            return;
        }
        let chunk = match read(&mut buf) {
            Ok(0) => {
                tracing::debug!("{THREAD_NAME}: end of stream");
                // The reader may be gone already; nothing more to do either way.
                let _ = chunks.blocking_send(Ok(Bytes::new()));
                return;
            }
            Ok(n) if n > buf.len() => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "blocking read function claimed {n} bytes read into a {}-byte buffer",
                    buf.len()
                ),
            )),
            Ok(n) => Ok(Bytes::copy_from_slice(&buf[..n])),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::Interrupted | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(error) => Err(error),
        };
        let failed = chunk.is_err();
        if let Err(error) = &chunk {
            tracing::debug!(%error, "{THREAD_NAME}: read function failed");
        }
        if chunks.blocking_send(chunk).is_err() {
            tracing::debug!("{THREAD_NAME}: reader dropped, thread ends");
            return;
        }
        if failed {
            return;
        }
    }
}
