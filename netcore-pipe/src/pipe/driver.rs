//! The driver task: owns the sans-IO [`Connection`], feeds it what the I/O
//! tasks and handles report, and hands its output back out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use super::command::Command;
use super::config::PipeConfig;
use super::feed::Feed;
use super::incoming::{Collect, Incoming, Piece, Received};
use super::io::{Batch, Progress, ReadEvent};
use super::opening::Opening;
use super::outgoing::OutgoingEntry;
use super::sink::BodySink;
use super::spares::Spares;

use super::shared::Shared;
use super::stats::Counters;
use crate::core::{Core, CoreDecoder, Event};
use crate::error::{ConnectionError, ReceiveError, SendError};

/// Where accepted or completed messages go.
pub(crate) enum Delivery {
    Streaming(mpsc::UnboundedSender<Incoming>),
    Complete {
        collect: Collect,
        done: mpsc::UnboundedSender<Result<Received, ReceiveError>>,
    },
}

/// The driver of one pipe, generic over the wire format's [`Core`]: it
/// never asks which format it runs.
pub(crate) struct Driver<C: Core> {
    pub(crate) core: C,
    pub(crate) config: PipeConfig,
    pub(crate) shared: Arc<Shared>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) reads: mpsc::Receiver<ReadEvent<CoreItem<C>>>,
    pub(crate) writer: Option<mpsc::Sender<Batch>>,
    pub(crate) writer_task: JoinHandle<Result<(), ConnectionError>>,
    pub(crate) reader_task: JoinHandle<()>,
    pub(crate) delivery: Option<Delivery>,
    pub(crate) outgoing: HashMap<u64, OutgoingEntry>,
    pub(crate) incoming: HashMap<u64, BodySink>,
    pub(crate) feeders: HashMap<u64, mpsc::Receiver<Feed>>,
    pub(crate) feed_notify: Arc<Notify>,
    pub(crate) batch: Batch,
    /// Batches the write task emptied, and read buffers for the read task
    /// (see `Spares`).
    pub(crate) spare_batches: Arc<Spares<Batch>>,
    pub(crate) spare_items: Arc<Spares<Vec<CoreItem<C>>>>,
    pub(crate) close_deadline: Option<tokio::time::Instant>,
    /// A write that failed because the peer went away, and until when the
    /// reader may still say how it left (see `WRITE_FAILURE_GRACE`).
    pub(crate) write_failure: Option<(ConnectionError, tokio::time::Instant)>,
    pub(crate) reads_open: bool,
    /// This pipe's share of the `metrics` figures.
    #[cfg(feature = "metrics")]
    pub(crate) metrics: super::metrics::MetricsExport,
}

fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// What `C`'s decoder hands its core.
pub(crate) type CoreItem<C> = <<C as Core>::Decoder as CoreDecoder>::Item;

impl<C: Core> Driver<C> {
    pub(crate) async fn run(mut self) {
        let mut commands_open = true;
        let mut writer_done = false;
        loop {
            // Take whatever is already waiting, from every source, before
            // writing more: a busy link must not starve commands or reads.
            while let Ok(command) = self.commands.try_recv() {
                self.on_command(command);
            }
            for _ in 0..16 {
                if !self.wants_input() {
                    break;
                }
                match self.reads.try_recv() {
                    Ok(event) => self.on_read(Some(event)),
                    Err(_) => break,
                }
                // Delivered now, so the next `wants_input` counts them
                // against the accept backlog.
                self.dispatch_events();
            }
            self.pump_feeders();
            self.dispatch_events();
            self.fill_batch();
            self.shared.counters.set_flow(&self.core.flow());
            self.shared
                .counters
                .set_in_flight(self.outgoing.len(), self.incoming.len());
            #[cfg(feature = "metrics")]
            self.metrics
                .maybe_export(|| self.shared.counters.snapshot());
            if self.core.is_closed() && self.batch.is_empty() {
                break;
            }
            let backlog_full = !self.backlog_has_room();
            let timer = self.next_timer();
            let writer = self.writer.clone().filter(|_| !self.batch.is_empty());
            let wake = tokio::select! {
                biased;
                result = &mut self.writer_task, if !writer_done => Wake::Writer(result),
                read = self.reads.recv(), if self.reads_open && self.wants_input() => Wake::Read(read),
                command = self.commands.recv(), if commands_open => Wake::Command(command),
                permit = reserve(writer), if !self.batch.is_empty() => Wake::Writable(permit),
                () = self.feed_notify.notified() => Wake::Fed,
                () = self.shared.backlog_room(), if backlog_full => Wake::Fed,
                () = sleep_until(timer), if timer.is_some() => Wake::Timer,
            };
            match wake {
                Wake::Writer(result) => {
                    writer_done = true;
                    let error = match result {
                        Ok(Err(error)) => error,
                        Ok(Ok(())) => ConnectionError::Closed,
                        Err(join) => ConnectionError::transport(std::io::Error::other(join)),
                    };
                    self.writer = None;
                    if self.reads_open && is_peer_gone(&error) {
                        // The peer went away: how it left (end of stream,
                        // cut mid-frame) is the reader's to tell, and it
                        // will shortly; only if it does not is this the
                        // error.
                        let grace = tokio::time::Instant::now() + WRITE_FAILURE_GRACE;
                        self.write_failure = Some((error, grace));
                    } else {
                        self.core.handle_transport_error(error);
                    }
                }
                Wake::Read(read) => self.on_read(read),
                Wake::Writable(Some(permit)) => {
                    let next = self.spare_batches.take().unwrap_or_default();
                    permit.send(std::mem::replace(&mut self.batch, next));
                }
                Wake::Writable(None) => {
                    // The write task is gone; its result says why.
                    self.batch = Batch::default();
                }
                Wake::Command(Some(command)) => self.on_command(command),
                Wake::Command(None) => {
                    commands_open = false;
                    self.start_close();
                }
                Wake::Fed => {}
                Wake::Timer => self.on_timer(),
            }
        }
        self.finish(writer_done).await;
    }

    /// Whether to take input now: the core wants it, and the application
    /// has not left `accept_backlog` delivered messages untaken (else the
    /// transport pushes back on the peer).
    fn wants_input(&self) -> bool {
        self.core.wants_input() && self.backlog_has_room()
    }

    fn backlog_has_room(&self) -> bool {
        self.shared.backlog() < self.config.accept_backlog.max(1)
    }

    fn on_read(&mut self, read: Option<ReadEvent<CoreItem<C>>>) {
        match read {
            Some(ReadEvent::Items(mut items)) => {
                let now = now();
                let frames = items
                    .iter()
                    .filter(|item| C::Decoder::is_frame(item))
                    .count();
                tracing::trace!(frames, "frames read");
                Counters::add(&self.shared.counters.frames_received, frames as u64);
                for item in items.drain(..) {
                    self.core.handle_item(item, now);
                }
                self.spare_items.give(items);
            }
            Some(ReadEvent::Failed(error)) => {
                self.reads_open = false;
                self.core.handle_transport_error(error);
            }
            Some(ReadEvent::Malformed(error)) => {
                self.reads_open = false;
                self.core.abort(error);
            }
            Some(ReadEvent::Eof) | None => {
                self.reads_open = false;
                self.core.handle_eof(now());
            }
        }
    }

    fn next_timer(&self) -> Option<tokio::time::Instant> {
        let core = self.core.poll_timeout().map(tokio::time::Instant::from_std);
        let write_failure = self.write_failure.as_ref().map(|(_, at)| *at);
        [core, self.close_deadline, write_failure]
            .into_iter()
            .flatten()
            .min()
    }

    fn on_timer(&mut self) {
        let now = tokio::time::Instant::now();
        if self
            .write_failure
            .as_ref()
            .is_some_and(|(_, at)| now >= *at)
            && let Some((error, _)) = self.write_failure.take()
        {
            self.core.handle_transport_error(error);
        }
        if self.close_deadline.is_some_and(|deadline| now >= deadline) {
            self.close_deadline = None;
            tracing::warn!("graceful close timed out; aborting");
            self.core.abort(ConnectionError::Closed);
        }
        self.core.handle_timeout(now.into_std());
    }

    fn start_close(&mut self) {
        if self.close_deadline.is_none() {
            self.close_deadline = Some(tokio::time::Instant::now() + self.config.close_grace);
        }
        self.core.close();
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Send {
                id,
                priority,
                headers,
                body,
                entry,
                span: sender,
            } => {
                let span = tracing::debug_span!(
                    parent: &sender,
                    "send",
                    msg.id = id,
                    msg.priority = ?priority
                );
                let _enter = span.enter();
                match self.core.open_with_id(id, priority, headers, body.len()) {
                    Ok(()) => {
                        tracing::debug!(msg.size = ?body.len(), "message queued");
                        self.outgoing.insert(id, entry);
                        self.start_body(id, body);
                    }
                    Err(error) => {
                        let _ = entry.done.send(Err(error));
                    }
                }
            }
            Command::CancelOutgoing(id) => {
                self.feeders.remove(&id);
                if self.core.cancel_outgoing(id) {
                    tracing::debug!(msg.id = id, "outgoing message cancelled");
                    Counters::add(&self.shared.counters.cancels, 1);
                    if let Some(entry) = self.outgoing.remove(&id) {
                        let _ = entry.done.send(Err(SendError::Cancelled));
                    }
                }
            }
            Command::Consumed(id, n) => self.core.consumed(id, n, now()),
            Command::Want(id) => {
                if let Some(sink) = self.incoming.get_mut(&id) {
                    sink.want();
                }
            }
            Command::DropIncoming(id) => {
                self.incoming.remove(&id);
                if self.core.cancel_incoming(id, now()) {
                    tracing::debug!(msg.id = id, "incoming message dropped by the application");
                }
            }
            Command::Stream(accepted) => {
                // Once the connection is over, nothing more is delivered.
                if self.delivery.is_some() {
                    tracing::debug!("incoming messages now delivered as they open");
                    self.delivery = Some(Delivery::Streaming(accepted));
                }
            }
            Command::Close => self.start_close(),
            Command::Abort => self.core.abort(ConnectionError::Closed),
        }
    }

    /// Fills the next write batch from the core, up to `write_batch` bytes.
    fn fill_batch(&mut self) {
        if self.writer.is_none() {
            // Nothing can be written; keep the core's queue from growing.
            while self.core.poll_transmit(now()).is_some() {}
            return;
        }
        let now = now();
        while self.batch.bytes < self.config.write_batch {
            let Some(transmit) = self.core.poll_transmit(now) else {
                break;
            };
            tracing::trace!(
                msg.id = transmit.message_id,
                bytes = transmit.frame.len(),
                body = transmit.body_len,
                last = transmit.last,
                "frame queued for writing"
            );
            if let Some(id) = transmit.message_id {
                let done = if transmit.last {
                    self.batch.messages_done += 1;
                    self.outgoing
                        .remove(&id)
                        .map(|entry| (entry.progress, Some(entry.done)))
                } else {
                    self.outgoing
                        .get(&id)
                        .map(|entry| (entry.progress.clone(), None))
                };
                if let Some((counter, done)) = done {
                    self.batch.progress.push(Progress {
                        counter,
                        body_len: transmit.body_len as u64,
                        done,
                    });
                }
            }
            self.batch.bytes += transmit.frame.len();
            self.batch.frames.push(transmit.frame);
        }
    }

    fn dispatch_events(&mut self) {
        // A message opened in this pass, held until the pass shows whether
        // its whole body came with it (see `Opening`).
        let mut opening: Option<Opening> = None;
        while let Some(event) = self.core.poll_event() {
            let event = match (opening.take(), event) {
                (Some(mut open), Event::IncomingData { id, bytes }) if id == open.id => {
                    match open.data(bytes) {
                        Ok(()) => {
                            opening = Some(open);
                            continue;
                        }
                        Err(bytes) => {
                            self.open_live(open);
                            Event::IncomingData { id, bytes }
                        }
                    }
                }
                (Some(open), Event::IncomingFinished { id }) if id == open.id => {
                    tracing::debug!(msg.id = id, "incoming message complete");
                    Counters::add(&self.shared.counters.messages_received, 1);
                    let incoming = open.into_whole(self.shared.clone());
                    self.deliver(incoming);
                    continue;
                }
                (Some(open), event) => {
                    self.open_live(open);
                    event
                }
                (None, event) => event,
            };
            match event {
                Event::Connected { agent } => {
                    tracing::info!(agent, "connection open: peer known");
                    self.shared.said_hello();
                }
                Event::IncomingOpened {
                    id,
                    priority,
                    headers,
                    total_len,
                } => {
                    tracing::debug!(msg.id = id, ?total_len, "incoming message opened");
                    opening = Some(Opening::new(
                        id,
                        priority,
                        headers,
                        total_len,
                        tokio::time::Instant::now(),
                    ));
                }
                Event::IncomingData { id, bytes } => {
                    if let Some(sink) = self.incoming.get_mut(&id) {
                        sink.data(bytes);
                    }
                }
                Event::IncomingFinished { id } => {
                    tracing::debug!(msg.id = id, "incoming message complete");
                    Counters::add(&self.shared.counters.messages_received, 1);
                    if let Some(sink) = self.incoming.remove(&id) {
                        sink.finish(Piece::End);
                    }
                }
                Event::IncomingFailed { id, error } => {
                    tracing::debug!(msg.id = id, %error, "incoming message failed");
                    if matches!(error, ReceiveError::CancelledByPeer { .. }) {
                        Counters::add(&self.shared.counters.cancels, 1);
                    }
                    if let Some(sink) = self.incoming.remove(&id) {
                        sink.finish(Piece::Failed(error));
                    }
                }
                Event::OutgoingFramed { .. } => {}
                Event::OutgoingFailed { id, error } => {
                    tracing::debug!(msg.id = id, %error, "outgoing message failed");
                    if matches!(error, SendError::CancelledByPeer { .. }) {
                        Counters::add(&self.shared.counters.cancels, 1);
                    }
                    self.feeders.remove(&id);
                    if let Some(entry) = self.outgoing.remove(&id) {
                        let _ = entry.done.send(Err(error));
                    }
                }
                Event::PeerGoingAway { code, reason } => {
                    tracing::info!(%code, reason, "peer is going away");
                }
                Event::Rtt(_) => {
                    if let Some(rtt) = self.core.rtt() {
                        let nanos = u64::try_from(rtt.as_nanos()).unwrap_or(u64::MAX).max(1);
                        self.shared
                            .counters
                            .rtt_nanos
                            .store(nanos, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                Event::Closed { error, by_peer } => {
                    match &error {
                        None => tracing::info!("connection closed"),
                        Some(error) => tracing::info!(%error, "connection ended"),
                    }
                    self.shared.end(error, by_peer);
                    // No more messages will come.
                    self.delivery = None;
                }
            }
        }
        if let Some(open) = opening {
            self.open_live(open);
        }
    }

    /// Hands over a message whose body goes on past this pass: a live
    /// stream, fed through a sink from here on.
    fn open_live(&mut self, open: Opening) {
        let (incoming, sink) = open.into_live(self.shared.clone());
        self.incoming.insert(incoming.id, sink);
        self.deliver(incoming);
    }

    /// Hands an incoming message towards the application. It counts
    /// against `accept_backlog` from the moment the application could take
    /// it: at once when streaming; once collected whole otherwise (a body
    /// still being collected needs the reads to go on).
    fn deliver(&mut self, incoming: Incoming) {
        match &self.delivery {
            Some(Delivery::Streaming(tx)) => {
                self.shared.delivered();
                let _ = tx.send(incoming);
            }
            Some(Delivery::Complete { collect, done }) => {
                let collect = collect.clone();
                let done = done.clone();
                let shared = self.shared.clone();
                tokio::spawn(async move {
                    let result = collect.run(incoming).await;
                    shared.delivered();
                    let _ = done.send(result);
                });
            }
            None => {}
        }
    }

    /// The connection is over: flush what is queued, close the write side,
    /// stop reading.
    async fn finish(mut self, writer_done: bool) {
        let writer = self.writer.take();
        if let (Some(writer), false) = (writer, writer_done) {
            let grace = self.config.close_grace;
            if !self.batch.is_empty() {
                // A writer stuck on a peer that reads nothing must not hold
                // the end (and this connection's buffers) for ever.
                let last = std::mem::take(&mut self.batch);
                let _ = tokio::time::timeout(grace, writer.send(last)).await;
            }
            drop(writer);
            if tokio::time::timeout(grace, &mut self.writer_task)
                .await
                .is_err()
            {
                self.writer_task.abort();
            }
        }
        self.reader_task.abort();
        for (_, entry) in self.outgoing.drain() {
            let _ = entry.done.send(Err(self.shared.end_error().into()));
        }
        for (_, sink) in self.incoming.drain() {
            sink.finish(Piece::Failed(self.shared.end_error().into()));
        }
        if !self.shared.is_ended() {
            self.shared.end(Some(ConnectionError::Closed), false);
        }
        #[cfg(feature = "metrics")]
        {
            self.shared
                .counters
                .set_in_flight(self.outgoing.len(), self.incoming.len());
            self.metrics.finish(&self.shared.counters.snapshot());
        }
        // Only now: the final frames (GOAWAY) are written and the transport
        // closed, so a program may exit as soon as `closed()` returns.
        self.shared.wake_ended();
    }
}

/// How long a write failure that says the peer went away (broken pipe,
/// reset) waits for the reader's verdict before it becomes the connection's
/// error: the reader tells more (a graceful end, a frame cut short).
const WRITE_FAILURE_GRACE: std::time::Duration = std::time::Duration::from_millis(250);

/// Whether a write failed because the peer is gone.
fn is_peer_gone(error: &ConnectionError) -> bool {
    matches!(error, ConnectionError::Transport(io) if matches!(
        io.kind(),
        std::io::ErrorKind::BrokenPipe
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
    ))
}

/// Why the driver woke up.
enum Wake<I> {
    Writer(Result<Result<(), ConnectionError>, tokio::task::JoinError>),
    Read(Option<ReadEvent<I>>),
    Writable(Option<mpsc::OwnedPermit<Batch>>),
    Command(Option<Command>),
    Fed,
    Timer,
}

async fn reserve(writer: Option<mpsc::Sender<Batch>>) -> Option<mpsc::OwnedPermit<Batch>> {
    match writer {
        Some(writer) => writer.reserve_owned().await.ok(),
        None => None,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
