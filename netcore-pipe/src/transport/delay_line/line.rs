//! The line itself: a task that holds timestamped segments until they are
//! due and then writes them, in order, to the wrapped writer.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::time::Instant;

use crate::transport::TransportWrite;

/// What the writer half hands to the line, in the order written.
#[derive(Debug)]
pub(super) enum Command {
    /// Bytes to deliver at `arrive`.
    Segment(Segment),
    /// Flush the wrapped writer once everything before has been delivered,
    /// then signal `done` (if any).
    Flush { done: Option<oneshot::Sender<()>> },
    /// Close the wrapped writer once everything before has been delivered,
    /// then signal `done`. The line ends.
    Close { done: oneshot::Sender<()> },
}

/// Bytes on the line.
#[derive(Debug)]
pub(super) struct Segment {
    pub(super) bytes: Bytes,
    /// When the last byte reaches the far end.
    pub(super) arrive: Instant,
    /// The room the bytes take on the line, given back once delivered.
    pub(super) _room: OwnedSemaphorePermit,
}

/// The first error of the wrapped writer, reported to every later operation.
#[derive(Debug, Default)]
pub(super) struct Failure(Mutex<Option<(io::ErrorKind, String)>>);

impl Failure {
    fn set(&self, error: &io::Error) {
        let mut slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.get_or_insert_with(|| (error.kind(), error.to_string()));
    }

    /// The error, if the wrapped writer has failed.
    pub(super) fn get(&self) -> Option<io::Error> {
        let slot = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        slot.as_ref().map(|(kind, message)| {
            io::Error::new(
                *kind,
                format!("delay line: the wrapped writer failed: {message}"),
            )
        })
    }

    /// The error, or one saying the line stopped if none was recorded (the
    /// runtime is shutting down, or the task panicked).
    pub(super) fn error(&self) -> io::Error {
        self.get().unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "delay line: the delivery task has stopped",
            )
        })
    }
}

/// Delivers the segments of `commands` to `inner` when they are due, until
/// a close, the writer half is dropped (then after delivering the rest), or
/// `inner` fails (then the error is recorded in `failure` and `room` closed,
/// so waiting writes fail too).
pub(super) async fn deliver<W: TransportWrite>(
    mut inner: W,
    mut commands: mpsc::UnboundedReceiver<Command>,
    room: Arc<Semaphore>,
    failure: Arc<Failure>,
) {
    while let Some(command) = commands.recv().await {
        let result = match command {
            Command::Segment(segment) => {
                tokio::time::sleep_until(segment.arrive).await;
                inner.write(&segment.bytes).await
            }
            Command::Flush { done } => inner.flush().await.map(|()| {
                if let Some(done) = done {
                    let _ = done.send(());
                }
            }),
            Command::Close { done } => {
                match inner.close().await {
                    Ok(()) => {
                        let _ = done.send(());
                    }
                    Err(error) => fail(&error, &room, &failure),
                }
                return;
            }
        };
        if let Err(error) = result {
            fail(&error, &room, &failure);
            return;
        }
    }
    // The writer half is gone and everything it wrote is delivered.
    if let Err(error) = inner.flush().await {
        tracing::debug!(%error, "DelayLine: flushing the wrapped writer after the last write failed");
    }
}

fn fail(error: &io::Error, room: &Semaphore, failure: &Failure) {
    tracing::debug!(%error, "DelayLine: the wrapped writer failed");
    failure.set(error);
    room.close();
}
