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
    /// background within two budgets:
    /// [`receive_buffer`](PipeConfig::receive_buffer) for bodies in memory and
    /// [`spill_budget`](PipeConfig::spill_budget) for bodies in temporary
    /// files. A body up to [`spill_threshold`](PipeConfig::spill_threshold)
    /// goes to memory, or to a file when the receive buffer is full and the
    /// spill budget has room; a longer body goes to a file. A body of
    /// announced length reserves its whole length before its first byte is
    /// read.
    ///
    /// A message holds its share of a budget from when its collection starts
    /// until the application drops the [`Received`](super::Received) (or
    /// the [`SpilledFile`](super::SpilledFile) it moved out of it).
    ///
    /// **When the application does not read** (does not call `recv`, or
    /// keeps what it received), the budgets fill up. Then each further
    /// message waits before its collection starts: nothing of its body is
    /// read, so no flow-control credit goes back and its sender stops after
    /// the message's window (its send does not complete). Collection resumes,
    /// oldest message first, as soon as the application drops received
    /// messages. Memory used stays within `receive_buffer` plus the
    /// connection's flow-control window, disk within `spill_budget`; nothing
    /// is dropped and the connection stays up. A message that could never
    /// fit — longer than `spill_budget`, or than `receive_buffer` with
    /// spilling off — fails alone with
    /// [`ReceiveError::TooLarge`](crate::ReceiveError::TooLarge) (its sender
    /// sees it cancelled).
    ///
    /// A waiting message keeps what its sender sent within its window, and
    /// that counts against the connection's window: while more than
    /// `core.connection_window / core.message_window` messages wait,
    /// messages already being collected get no more data either, and if
    /// those are what holds the budgets, receiving stalls. Size the budgets
    /// for the messages in flight at once (or lower the peer's
    /// `max_concurrent_messages`), or read in [`ReceiveMode::Streaming`].
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
    /// temporary file instead of memory (default 16 MiB; at most
    /// `receive_buffer`); smaller ones too while the receive buffer is full
    /// and the spill budget is not. A body of unknown length reserves this much of the
    /// receive buffer while it is collected in memory, and moves to a file
    /// if it grows past it. Unused when `spill_budget` is 0.
    pub spill_threshold: u64,
    /// Where spill files are created (default: the system temporary
    /// directory, which must exist). Each process spills into its own
    /// directory under it, `netcore-spill-<pid>-<random>`, removed with its
    /// last file; a process that creates one removes those left by processes
    /// that died (killed, aborted) without removing theirs.
    pub spill_dir: Option<PathBuf>,
    /// In [`ReceiveMode::Complete`], most body bytes held in memory for
    /// messages being collected or received and not yet dropped by the
    /// application (default 64 MiB). When it is full, collection (and so
    /// the sender) waits; see [`ReceiveMode::Complete`].
    pub receive_buffer: u64,
    /// In [`ReceiveMode::Complete`], most bytes in spill files for messages
    /// being collected or received and not yet dropped by the application
    /// (default 1 GiB). When it is full, collection (and so the sender)
    /// waits; a body longer than all of it fails with
    /// [`ReceiveError::TooLarge`](crate::ReceiveError::TooLarge). 0 turns
    /// spilling off: bodies up to `receive_buffer` are collected in memory,
    /// longer ones fail.
    pub spill_budget: u64,
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
            spill_budget: 1 << 30,
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
