//! The writing half of the blocking adapter and its thread.

use std::io::{self, IoSlice};
use std::thread;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::{mpsc, oneshot};

use super::{CHUNK, DEPTH, Failure};
use crate::transport::TransportWrite;

/// Name of the thread that runs the write function.
const THREAD_NAME: &str = "netcore-blocking-write";

/// What the async writer asks of its thread, in order.
#[derive(Debug)]
enum Command {
    /// Pass these bytes to the write function.
    Write(Bytes),
    /// Answer once every earlier `Write` has been done.
    Flush(oneshot::Sender<()>),
    /// Drop the write function and end, then answer.
    Close(oneshot::Sender<()>),
}

/// The writing half of a [`BlockingTransport`](super::BlockingTransport):
/// queues bytes for its thread. See [`blocking`](super::blocking) for when
/// errors are reported.
#[derive(Debug)]
pub struct BlockingWriter {
    /// `None` once closed.
    commands: Option<mpsc::Sender<Command>>,
    /// Where the thread reports the error that ended it; `None` once taken.
    thread_error: Option<oneshot::Receiver<io::Error>>,
    /// The failure already reported, reported again by every later call.
    failed: Option<Failure>,
}

impl BlockingWriter {
    /// Starts the write thread running `write`.
    pub(super) fn spawn<W>(write: W) -> Self
    where
        W: FnMut(&[u8]) -> io::Result<()> + Send + 'static,
    {
        let (commands, queue) = mpsc::channel(DEPTH);
        let (report, thread_error) = oneshot::channel();
        let spawned = thread::Builder::new()
            .name(THREAD_NAME.to_owned())
            .spawn(move || write_loop(write, queue, report));
        let failed = match spawned {
            Ok(_detached) => None,
            Err(error) => {
                tracing::warn!(%error, "cannot start the {THREAD_NAME} thread");
                Some(Failure::spawn(THREAD_NAME, &error))
            }
        };
        Self {
            commands: Some(commands),
            thread_error: Some(thread_error),
            failed,
        }
    }

    /// Fails if a failure is known (reported before, or reported by the
    /// thread since) or the writer is closed; else returns the command queue.
    fn ready(&mut self) -> io::Result<&mpsc::Sender<Command>> {
        if let Some(failure) = &self.failed {
            return Err(failure.to_error());
        }
        if let Some(report) = &mut self.thread_error
            && let Ok(error) = report.try_recv()
        {
            self.thread_error = None;
            return Err(self.remember(error));
        }
        self.commands
            .as_ref()
            .ok_or_else(|| io::Error::new(io::ErrorKind::BrokenPipe, "blocking writer is closed"))
    }

    /// Remembers `error` for later calls and returns it.
    fn remember(&mut self, error: io::Error) -> io::Error {
        self.failed = Some(Failure::of(&error));
        error
    }

    /// The error that ended the thread, once it is known to have ended.
    async fn thread_ended(&mut self) -> io::Error {
        if let Some(failure) = &self.failed {
            return failure.to_error();
        }
        let error = match self.thread_error.take() {
            Some(report) => report.await.ok(),
            None => None,
        };
        let error = error.unwrap_or_else(|| {
            io::Error::other(format!(
                "the {THREAD_NAME} thread ended unexpectedly (did the write function panic?)"
            ))
        });
        self.remember(error)
    }

    /// Queues one command, waiting for room.
    async fn send(&mut self, command: Command) -> io::Result<()> {
        let sent = self.ready()?.send(command).await;
        match sent {
            Ok(()) => Ok(()),
            Err(_) => Err(self.thread_ended().await),
        }
    }

    /// Queues one command that the thread answers, and waits for the answer.
    async fn round_trip(
        &mut self,
        command: impl FnOnce(oneshot::Sender<()>) -> Command,
    ) -> io::Result<()> {
        let (answer, answered) = oneshot::channel();
        self.send(command(answer)).await?;
        match answered.await {
            Ok(()) => Ok(()),
            Err(_) => Err(self.thread_ended().await),
        }
    }
}

impl TransportWrite for BlockingWriter {
    async fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        self.write_vectored(&[IoSlice::new(buf)]).await
    }

    /// Copies the slices into chunks of up to 64 KiB, so small slices (a
    /// header and its payload) reach the write function in one call.
    async fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<()> {
        self.ready()?;
        let total: usize = bufs.iter().map(|buf| buf.len()).sum();
        let mut pending = BytesMut::with_capacity(total.min(CHUNK));
        for buf in bufs {
            let mut rest: &[u8] = buf;
            while !rest.is_empty() {
                let take = rest.len().min(CHUNK - pending.len());
                pending.put_slice(&rest[..take]);
                rest = &rest[take..];
                if pending.len() == CHUNK {
                    let chunk = pending.split().freeze();
                    self.send(Command::Write(chunk)).await?;
                }
            }
        }
        if !pending.is_empty() {
            self.send(Command::Write(pending.freeze())).await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> io::Result<()> {
        self.round_trip(Command::Flush).await
    }

    async fn close(&mut self) -> io::Result<()> {
        if self.commands.is_none() && self.failed.is_none() {
            return Ok(());
        }
        self.round_trip(Command::Close).await?;
        self.commands = None;
        Ok(())
    }
}

/// The write thread: runs commands in order until closed, dropped, or the
/// write function fails.
fn write_loop<W>(
    mut write: W,
    mut queue: mpsc::Receiver<Command>,
    report: oneshot::Sender<io::Error>,
) where
    W: FnMut(&[u8]) -> io::Result<()>,
{
    tracing::debug!("{THREAD_NAME} thread started");
    let close_answer = loop {
        match queue.blocking_recv() {
            Some(Command::Write(chunk)) => {
                if let Err(error) = write(&chunk) {
                    tracing::debug!(%error, "{THREAD_NAME}: write function failed, thread ends");
                    // The writer may be gone; then nobody needs the error.
                    let _ = report.send(error);
                    return;
                }
            }
            Some(Command::Flush(answer)) => {
                let _ = answer.send(());
            }
            Some(Command::Close(answer)) => break Some(answer),
            None => break None,
        }
    };
    drop(write);
    drop(queue);
    tracing::debug!("{THREAD_NAME}: write function dropped, thread ends");
    if let Some(answer) = close_answer {
        let _ = answer.send(());
    }
}
