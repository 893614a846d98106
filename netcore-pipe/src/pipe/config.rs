//! Settings of the async [`Pipe`](super::Pipe).

use std::path::PathBuf;
use std::time::Duration;

use crate::core::CoreConfig;
use crate::core::py013::Py013Config;

/// Which wire format the pipe speaks, chosen when it is built.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum WireFormat {
    /// Netcore's own LSO v2: handshake, CRC32C, flow control, priorities on
    /// the wire (`PipeConfig::core` applies).
    #[default]
    Lso2,
    /// The format of the Python framework netcore 0.1.3, to talk to existing
    /// Python peers (see [`crate::core::py013`]): no handshake, no integrity
    /// checks, no flow control; headers are the mission's info keys with
    /// JSON text values. Of `PipeConfig::core`, only `chunk_size` is used
    /// (the size file bodies are read in).
    Py013(Py013Config),
}

/// How incoming messages reach the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReceiveMode {
    /// Whole messages, in the order they complete, from
    /// [`Pipe::recv`](super::Pipe::recv). Bodies are collected in the
    /// background, in memory up to the spill threshold and in a temporary file
    /// beyond it.
    #[default]
    Complete,
    /// Each message as soon as it is opened, its body a stream, from
    /// [`Pipe::accept`](super::Pipe::accept). Flow-control credit goes back as
    /// the application reads, so a slow reader slows the sender.
    Streaming,
}

/// Settings of a [`Pipe`](super::Pipe).
///
/// Start from a preset ([`Default`], [`PipeConfig::lossy_link`],
/// [`PipeConfig::py013`]) and change what you need with the `with_*`
/// setters, one per field (new fields may come, so the struct cannot be
/// built literally outside this crate):
///
/// ```
/// use netcore_pipe::{PipeConfig, ReceiveMode};
/// let config = PipeConfig::default().with_receive(ReceiveMode::Streaming);
/// assert_eq!(config.receive, ReceiveMode::Streaming);
/// assert_eq!(config.core.chunk_size, 64 * 1024);
/// ```
#[derive(Debug, Clone, getset::WithSetters)]
#[getset(set_with = "pub")]
#[non_exhaustive]
pub struct PipeConfig {
    /// The wire format ([`WireFormat::Lso2`] unless talking to Python
    /// netcore 0.1.3 peers).
    pub wire: WireFormat,
    /// The protocol state machine's settings (limits, chunk size, windows,
    /// keepalive, decode mode).
    pub core: CoreConfig,
    /// How incoming messages are delivered.
    pub receive: ReceiveMode,
    /// In [`ReceiveMode::Complete`], bodies larger than this go to a
    /// temporary file instead of memory.
    pub spill_threshold: u64,
    /// Where spill files are created (default: the system temporary directory).
    pub spill_dir: Option<PathBuf>,
    /// In [`ReceiveMode::Complete`], most body bytes held in memory for
    /// messages the application has not taken yet; when it is full, collection
    /// (and so the sender) waits.
    pub receive_buffer: u64,
    /// Most bytes handed to the transport in one write. Small values keep a
    /// newly queued small message close to the head of the line.
    pub write_batch: usize,
    /// Size of each read from the transport.
    pub read_size: usize,
    /// How long a graceful close waits for messages in flight before giving up.
    pub close_grace: Duration,
    /// Most time one write batch (at most `write_batch` bytes) may take to be
    /// handed to the transport. Past it the peer is taken to have stopped
    /// reading: the connection ends with
    /// [`ConnectionError::WriteStalled`](crate::ConnectionError::WriteStalled)
    /// and whatever was queued for it is freed. `None` waits for ever (a
    /// peer that never reads then holds the connection and its buffers).
    /// On a slow line keep `write_batch / line rate` well under it.
    pub write_timeout: Option<Duration>,
    /// Most incoming messages ready for the application and not yet taken:
    /// opened and waiting for [`Pipe::accept`](super::Pipe::accept), or
    /// collected whole and waiting for [`Pipe::recv`](super::Pipe::recv).
    /// When that many wait, the pipe stops reading from the transport until
    /// one is taken, so a peer that sends messages faster than they are
    /// served is slowed down by the transport itself (TCP backpressure)
    /// instead of growing a queue.
    ///
    /// While reading is paused, no body makes progress either: an
    /// application that streams must keep accepting while it reads bodies
    /// (as an endpoint does), not read one body to its end before taking
    /// the next message when more than this many may be waiting.
    pub accept_backlog: usize,
}

impl Default for PipeConfig {
    fn default() -> Self {
        PipeConfig {
            wire: WireFormat::Lso2,
            core: CoreConfig::default(),
            receive: ReceiveMode::Complete,
            spill_threshold: 16 << 20,
            spill_dir: None,
            receive_buffer: 64 << 20,
            write_batch: 128 << 10,
            read_size: 128 << 10,
            close_grace: Duration::from_secs(10),
            write_timeout: Some(Duration::from_secs(30)),
            accept_backlog: 1024,
        }
    }
}

impl PipeConfig {
    /// Settings for a slow, lossy link (serial, radio): resync decoding,
    /// small chunks, small writes.
    pub fn lossy_link() -> PipeConfig {
        PipeConfig {
            core: CoreConfig::lossy_link(),
            write_batch: 1024,
            read_size: 1024,
            ..PipeConfig::default()
        }
    }

    /// Settings to talk to a peer running the Python framework netcore
    /// 0.1.3 ([`WireFormat::Py013`] with its defaults).
    ///
    /// ```
    /// use netcore_pipe::{PipeConfig, WireFormat};
    /// let config = PipeConfig::py013();
    /// assert!(matches!(config.wire, WireFormat::Py013(_)));
    /// ```
    pub fn py013() -> PipeConfig {
        PipeConfig {
            wire: WireFormat::Py013(Py013Config::default()),
            ..PipeConfig::default()
        }
    }
}
