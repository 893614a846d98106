//! The async [`Pipe`]: a thin driver around a sans-IO [`Core`] (LSO v2's
//! [`Connection`](crate::core::Connection) unless told otherwise).
//!
//! Three tasks serve a pipe: a reader (`io.rs`: reads and decodes, so CRC
//! checks run beside the rest), a writer (`io.rs`: gathered writes,
//! completing send handles) and the driver (`driver.rs`) that owns the core;
//! body feeders (`feed.rs`) read file and stream bodies ahead. Handles talk
//! to the driver through a command channel, so `send` returns at once.

mod command;
mod config;
mod driver;
mod feed;
mod incoming;
mod into_pipe;
mod io;
#[cfg(feature = "metrics")]
mod metrics;
mod opening;
mod outgoing;
mod shared;
mod sink;
mod spares;
mod stats;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::{Mutex, Notify, mpsc};

pub use config::{PipeConfig, ReceiveMode, WireFormat};
pub use incoming::{BodyStream, Incoming, Received, ReceivedBody, SpilledFile};
pub use into_pipe::IntoPipe;
pub use outgoing::{Body, ChunkStream, Message, SendHandle};
pub use stats::PipeStats;

use crate::core::{Connection, Core};
use crate::error::{ConnectionError, ReceiveError, SendError};
use crate::transport::Transport;
use command::Command;
use driver::{Delivery, Driver};
use incoming::Collect;
use shared::Shared;

/// Many concurrent messages over one transport.
///
/// Build it over any [`Transport`] inside a tokio runtime; it spawns its
/// tasks at once and says HELLO. [`Pipe::send`] returns a [`SendHandle`]
/// immediately; messages are cut into chunks and time-sliced — strict priority
/// tiers, deficit round robin inside a tier — so a small message never waits
/// behind a big one. Incoming messages arrive whole from [`Pipe::recv`]
/// (bodies over the spill threshold in a temporary file) or, in
/// [`ReceiveMode::Streaming`], as soon as they open from [`Pipe::accept`].
///
/// When the transport fails or the peer goes away, every pending send,
/// receive and body stream ends with an error that says why. Dropping the
/// pipe closes it gracefully.
///
/// ```
/// use netcore_pipe::{Message, Pipe, PipeConfig, transport::memory_pair};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (a, b) = memory_pair(64 * 1024);
/// let left = Pipe::new(a, PipeConfig::default());
/// let right = Pipe::new(b, PipeConfig::default());
///
/// left.send(Message::new("hello").header("route", "/greet")?)?.await?;
/// let message = right.recv().await?;
/// assert_eq!(message.headers.get_str("route"), Some("/greet"));
/// assert_eq!(message.body.to_bytes().await?, "hello");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Pipe {
    shared: Arc<Shared>,
    next_id: AtomicU64,
    accepted: Mutex<mpsc::UnboundedReceiver<Incoming>>,
    completed: Mutex<mpsc::UnboundedReceiver<Result<Received, ReceiveError>>>,
    mode: ReceiveMode,
    /// Built in complete mode: the sender the first [`Pipe::accept`] hands
    /// the driver to switch delivery to streaming.
    to_streaming: std::sync::Mutex<Option<mpsc::UnboundedSender<Incoming>>>,
    /// Whether [`Pipe::accept`] switched a complete-mode pipe to streaming.
    switched: AtomicBool,
    /// After the switch: whether every message collected before it was
    /// handed out.
    collected_drained: AtomicBool,
    wire: WireFormat,
}

impl Pipe {
    /// Starts a pipe over `transport` speaking `config.wire`. Must be called
    /// inside a tokio runtime.
    pub fn new<T: Transport>(transport: T, config: PipeConfig) -> Pipe {
        // The one place a wire format is chosen; everything below the pipe
        // is generic over its core.
        match &config.wire {
            WireFormat::Py013(py) => {
                let core = crate::core::py013::Connection::new(py.clone());
                Pipe::with_core(transport, config, core)
            }
            WireFormat::Lso2 => {
                let now = tokio::time::Instant::now().into_std();
                let core = Connection::new(config.core.clone(), now);
                Pipe::with_core(transport, config, core)
            }
        }
    }

    /// Starts a pipe over `transport` driving `core`, the connection state
    /// machine of any wire format (see [`Core`]). The core has its own
    /// settings: of `config.core` only `chunk_size` is used (the size file
    /// bodies are read in), and `config.wire` is only what
    /// [`wire_format`](Pipe::wire_format) reports (endpoints pick their call
    /// conventions from it). Must be called inside a tokio runtime.
    pub fn with_core<T: Transport, C: Core>(transport: T, mut config: PipeConfig, core: C) -> Pipe {
        config.receive_buffer = config.receive_buffer.clamp(1, u64::from(u32::MAX));
        config.spill_threshold = config.spill_threshold.min(config.receive_buffer);
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let shared = Shared::new(commands_tx);
        let (reader, writer) = transport.split();
        let (reads_tx, reads) = mpsc::channel(4);
        let decoder = core.decoder();
        let spare_items = Arc::new(spares::Spares::default());
        let spare_batches = Arc::new(spares::Spares::default());
        let reader_task = tokio::spawn(io::read_loop(
            reader,
            decoder,
            config.read_size.max(64),
            reads_tx,
            shared.clone(),
            spare_items.clone(),
        ));
        let (writer_tx, batches) = mpsc::channel(1);
        let writer_task = tokio::spawn(io::write_loop(
            writer,
            batches,
            config.write_timeout,
            shared.clone(),
            spare_batches.clone(),
        ));
        let (accepted_tx, accepted) = mpsc::unbounded_channel();
        let (completed_tx, completed) = mpsc::unbounded_channel();
        let mut to_streaming = None;
        let delivery = match config.receive {
            ReceiveMode::Streaming => Delivery::Streaming(accepted_tx),
            ReceiveMode::Complete => {
                to_streaming = Some(accepted_tx);
                Delivery::Complete {
                    collect: Collect::new(&config),
                    done: completed_tx,
                }
            }
        };
        let mode = config.receive;
        let wire = config.wire.clone();
        let driver = Driver {
            core,
            config,
            shared: shared.clone(),
            commands,
            reads,
            writer: Some(writer_tx),
            writer_task,
            reader_task,
            delivery: Some(delivery),
            outgoing: HashMap::new(),
            incoming: HashMap::new(),
            feeders: HashMap::new(),
            feed_notify: Arc::new(Notify::new()),
            batch: io::Batch::default(),
            spare_batches,
            spare_items,
            close_deadline: None,
            write_failure: None,
            reads_open: true,
            #[cfg(feature = "metrics")]
            metrics: metrics::MetricsExport::new(),
        };
        tokio::spawn(driver.run());
        Pipe {
            shared,
            next_id: AtomicU64::new(1),
            accepted: Mutex::new(accepted),
            completed: Mutex::new(completed),
            mode,
            to_streaming: std::sync::Mutex::new(to_streaming),
            switched: AtomicBool::new(false),
            collected_drained: AtomicBool::new(false),
            wire,
        }
    }

    /// The wire format this pipe speaks (fixed when it was built).
    pub fn wire_format(&self) -> &WireFormat {
        &self.wire
    }

    /// How incoming messages are delivered: as the pipe was built, or
    /// [`ReceiveMode::Streaming`] once [`Pipe::accept`] switched it.
    pub fn receive_mode(&self) -> ReceiveMode {
        if self.switched.load(Ordering::Acquire) {
            ReceiveMode::Streaming
        } else {
            self.mode
        }
    }

    /// Starts sending `message` and returns at once.
    ///
    /// # Errors
    ///
    /// Fails only if the connection is already over
    /// ([`SendError::Connection`] says how it ended); everything else (the
    /// peer refusing, the link dying) is reported by the handle.
    pub fn send(&self, message: Message) -> Result<SendHandle, SendError> {
        if self.shared.is_ended() {
            return Err(self.shared.end_error().into());
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (handle, entry) = SendHandle::new(id, message.body.len(), self.shared.clone());
        let sent = self.shared.command(Command::Send {
            id,
            priority: message.priority,
            headers: message.headers,
            body: message.body,
            entry,
            span: tracing::Span::current(),
        });
        if !sent {
            return Err(self.shared.end_error().into());
        }
        Ok(handle)
    }

    /// The next complete incoming message, in the order messages complete
    /// ([`ReceiveMode::Complete`]).
    ///
    /// # Errors
    ///
    /// [`ReceiveError::WrongReceiveMode`] on a streaming pipe (or one that
    /// [`accept`](Pipe::accept) switched to streaming); otherwise why the
    /// connection ended, once it has and every message is taken.
    pub async fn recv(&self) -> Result<Received, ReceiveError> {
        let wrong_mode = || {
            ReceiveError::WrongReceiveMode(if self.mode == ReceiveMode::Complete {
                "recv needs ReceiveMode::Complete, and accept switched this pipe to streaming"
            } else {
                "recv needs ReceiveMode::Complete: this pipe streams (use accept)"
            })
        };
        if self.receive_mode() != ReceiveMode::Complete {
            return Err(wrong_mode());
        }
        match self.completed.lock().await.recv().await {
            Some(result) => {
                self.shared.taken();
                result
            }
            // The collectors' channel also ends when accept switched the
            // pipe while this recv waited.
            None if self.receive_mode() != ReceiveMode::Complete => Err(wrong_mode()),
            None => Err(self.shared.end_error().into()),
        }
    }

    /// The next incoming message as soon as it is opened, its body a stream
    /// whose reading paces the sender.
    ///
    /// Works on a pipe built in either mode. On one built in
    /// [`ReceiveMode::Complete`] (what the `netcore-transports` helpers
    /// return), the first call switches it to streaming for good: messages
    /// that had already been collected come first, whole (their bodies
    /// stream from memory or their spill file), then each new one as it
    /// opens; [`recv`](Pipe::recv) no longer applies. This is how an endpoint
    /// takes over any ready pipe.
    ///
    /// # Errors
    ///
    /// [`ReceiveError::Connection`]: why the connection ended, once it has
    /// and every message is taken.
    pub async fn accept(&self) -> Result<Incoming, ReceiveError> {
        if self.mode == ReceiveMode::Complete {
            self.switch_to_streaming();
            if !self.collected_drained.load(Ordering::Acquire) {
                return self.accept_after_switch().await;
            }
        }
        match self.accepted.lock().await.recv().await {
            Some(incoming) => {
                self.shared.taken();
                Ok(incoming)
            }
            None => Err(self.shared.end_error().into()),
        }
    }

    /// Hands the driver the streaming sender, once.
    fn switch_to_streaming(&self) {
        let sender = self
            .to_streaming
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(sender) = sender {
            self.switched.store(true, Ordering::Release);
            self.shared.command(Command::Stream(sender));
        }
    }

    /// `accept` while messages collected before the switch may still come.
    /// They are all handed out before the end is reported: a message that
    /// was whole when the link closed is never lost.
    async fn accept_after_switch(&self) -> Result<Incoming, ReceiveError> {
        let mut accepted = self.accepted.lock().await;
        let mut completed = self.completed.lock().await;
        let mut accepted_closed = false;
        while !self.collected_drained.load(Ordering::Acquire) {
            tokio::select! {
                biased;
                collected = completed.recv() => match collected {
                    Some(Ok(received)) => {
                        self.shared.taken();
                        return Ok(Incoming::from(received));
                    }
                    Some(Err(error)) => {
                        self.shared.taken();
                        tracing::warn!(%error, "a message collected before the switch to streaming failed");
                    }
                    // Every collector is done: only new messages remain.
                    None => self.collected_drained.store(true, Ordering::Release),
                },
                incoming = accepted.recv(), if !accepted_closed => match incoming {
                    Some(incoming) => {
                        self.shared.taken();
                        return Ok(incoming);
                    }
                    // The connection is over; collectors may still finish.
                    None => accepted_closed = true,
                },
            }
        }
        match accepted.recv().await {
            Some(incoming) => {
                self.shared.taken();
                Ok(incoming)
            }
            None => Err(self.shared.end_error().into()),
        }
    }

    /// Closes gracefully: no new messages, those in flight both ways finish
    /// (within `close_grace`), then the transport is closed. Returns how the
    /// connection ended.
    pub async fn close(&self) -> Result<(), ConnectionError> {
        self.shared.command(Command::Close);
        self.closed().await
    }

    /// Waits until the peer's HELLO has arrived: the link works both ways and
    /// the peer speaks the protocol. Fails with why if the connection ends
    /// first (a TLS refusal that only shows once data flows, a wrong peer…).
    /// Sending does not need it: messages queue until then.
    pub async fn ready(&self) -> Result<(), ConnectionError> {
        if self.shared.wait_hello().await {
            Ok(())
        } else {
            Err(self.shared.end_error())
        }
    }

    /// Starts a graceful close (as [`Pipe::close`]) without waiting for it.
    pub fn start_close(&self) {
        self.shared.command(Command::Close);
    }

    /// Ends the connection at once, without waiting for anything in flight:
    /// the peer gets a GOAWAY if it can take one, every pending send and
    /// receive fails with [`ConnectionError::Closed`], the transport is
    /// closed. For a peer not worth a graceful close (one that never said
    /// HELLO, say); [`closed`](Pipe::closed) tells when it is done.
    pub fn abort(&self) {
        self.shared.command(Command::Abort);
    }

    /// Waits until the connection has ended; `Ok` after a graceful close.
    pub async fn closed(&self) -> Result<(), ConnectionError> {
        self.shared.wait_ended().await;
        match self.shared.outcome() {
            Some(Some(error)) => Err(error),
            _ => Ok(()),
        }
    }

    /// Whether the connection has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.is_ended()
    }

    /// The counters so far.
    pub fn stats(&self) -> PipeStats {
        self.shared.counters.snapshot()
    }
}

impl Drop for Pipe {
    fn drop(&mut self) {
        self.shared.command(Command::Close);
    }
}
