//! State shared by the pipe's handles and its driver task.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::{Notify, mpsc, watch};

use super::command::Command;
use super::stats::Counters;
use crate::error::ConnectionError;

/// How the connection ended.
#[derive(Debug)]
struct Ending {
    /// Why, if not gracefully.
    error: Option<ConnectionError>,
    /// A graceful end the peer started.
    by_peer: bool,
}

/// What every handle needs: a way to reach the driver, the counters and, once
/// the pipe is over, why.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) counters: Counters,
    /// Set once, when the connection ends.
    ended: OnceLock<Ending>,
    ended_tx: watch::Sender<bool>,
    /// Set once the peer's HELLO arrived.
    hello_tx: watch::Sender<bool>,
    /// Incoming messages delivered and not yet taken by the application
    /// (see `PipeConfig::accept_backlog`).
    backlog: AtomicUsize,
    /// Wakes the driver when the application takes one.
    backlog_room: Notify,
}

impl Shared {
    pub(crate) fn new(commands: mpsc::UnboundedSender<Command>) -> Arc<Shared> {
        Arc::new(Shared {
            commands,
            counters: Counters::default(),
            ended: OnceLock::new(),
            ended_tx: watch::channel(false).0,
            hello_tx: watch::channel(false).0,
            backlog: AtomicUsize::new(0),
            backlog_room: Notify::new(),
        })
    }

    /// Records how the connection ended (first call wins). Waiters are woken
    /// by [`Shared::wake_ended`], once the transport is closed too.
    pub(crate) fn end(&self, error: Option<ConnectionError>, by_peer: bool) {
        let _ = self.ended.set(Ending { error, by_peer });
    }

    /// Wakes everything waiting for the end: the last frames are written and
    /// the transport is closed.
    pub(crate) fn wake_ended(&self) {
        self.ended_tx.send_replace(true);
    }

    /// Whether the connection has ended.
    pub(crate) fn is_ended(&self) -> bool {
        self.ended.get().is_some()
    }

    /// The error to report for something cut short by the end of the pipe:
    /// why it ended, or who closed it.
    pub(crate) fn end_error(&self) -> ConnectionError {
        match self.ended.get() {
            Some(Ending {
                error: Some(error), ..
            }) => error.clone(),
            Some(Ending { by_peer: true, .. }) => ConnectionError::PeerClosed,
            _ => ConnectionError::Closed,
        }
    }

    /// How the connection ended, once it has: `Some(None)` gracefully.
    pub(crate) fn outcome(&self) -> Option<Option<ConnectionError>> {
        self.ended.get().map(|ending| ending.error.clone())
    }

    /// The peer's HELLO arrived.
    pub(crate) fn said_hello(&self) {
        self.hello_tx.send_replace(true);
    }

    /// Waits for the peer's HELLO; `false` if the connection ended first.
    pub(crate) async fn wait_hello(&self) -> bool {
        let mut hello = self.hello_tx.subscribe();
        let mut ended = self.ended_tx.subscribe();
        tokio::select! {
            result = hello.wait_for(|said| *said) => result.is_ok(),
            _ = ended.wait_for(|ended| *ended) => *self.hello_tx.borrow(),
        }
    }

    /// Waits until the connection has ended and its transport is closed.
    pub(crate) async fn wait_ended(&self) {
        let mut rx = self.ended_tx.subscribe();
        // The sender lives in `self`, so this only ends when the flag is set.
        let _ = rx.wait_for(|ended| *ended).await;
    }

    /// An incoming message was delivered towards the application.
    pub(crate) fn delivered(&self) {
        self.backlog.fetch_add(1, Ordering::AcqRel);
    }

    /// The application took a delivered message (or its failure).
    pub(crate) fn taken(&self) {
        let _ = self
            .backlog
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        self.backlog_room.notify_one();
    }

    /// Delivered messages not yet taken.
    pub(crate) fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Acquire)
    }

    /// Resolves once the application took a message since the last call.
    pub(crate) async fn backlog_room(&self) {
        self.backlog_room.notified().await;
    }

    /// Sends a command to the driver; false if the driver is gone.
    pub(crate) fn command(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }
}
