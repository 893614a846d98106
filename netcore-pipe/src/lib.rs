//! # netcore-pipe
//!
//! Many concurrent messages over one byte link, none blocking another.
//!
//! Give a [`Pipe`] anything that moves bytes — a [`Transport`]: any tokio
//! `AsyncRead + AsyncWrite`, two async closures, two blocking functions, or
//! your own type — and it carries messages over it: each cut into chunks,
//! scheduled by strict priority tiers and deficit round robin by bytes inside
//! a tier (so a small message overtakes a big one within about one chunk),
//! flow-controlled per message and per connection with windows that grow
//! towards the bandwidth-delay product, cancellable from either side, and
//! reassembled on the other side into whole messages (large bodies spilled to
//! a temporary file; memory and disk each within a budget that, when full,
//! stops the sender: see [`ReceiveMode::Complete`]) or streamed bodies.
//!
//! ## Where things are
//!
//! | module | what it holds |
//! |---|---|
//! | [`transport`] | the [`Transport`] trait and its halves, adapters (tokio I/O, closures, blocking functions), an in-memory pair, and with the `test-util` feature the seeded `Faulty` link and the `DelayLine` path model for tests |
//! | [`core`] | the sans-IO connection cores behind one trait, [`core::Core`]: [`core::Connection`] (LSO v2) and [`core::py013::Connection`] (Python netcore 0.1.3), fed decoded units and time, asked for bytes to write and events; [`core::ConnectionState`], their lifecycle |
//! | `pipe` (re-exported here) | the async [`Pipe`] driver: [`Message`], [`Body`], [`SendHandle`], [`Incoming`], [`BodyStream`], [`Received`]; [`IntoPipe`], what a pipe is made from (any transport) or already is |
//! | `listener` (re-exported here) | [`Listener`], a source of incoming connections for servers, with tokio's TCP and Unix listeners |
//! | `error` (re-exported here) | one error per operation, each with its [`Fault`]: [`ConnectionError`] (handshake, the connection's end), [`SendError`] (a send and its handle), [`ReceiveError`] (`recv`, `accept`, a body); a send or receive cut short by the connection's end wraps its [`ConnectionError`] |
//!
//! ## How data flows
//!
//! ```text
//!  Pipe::send ─▶ command ─┐                                  ┌─▶ Pipe::recv / accept
//!  (SendHandle)           │        the driver task            │   (Received / Incoming
//!  body feeder task ─▶ chunks ─▶  ┌──────────────────┐  ──────┘    + BodyStream)
//!   (files, streams)              │  C: core::Core   │ events
//!                                 │ (sans-IO, owns   │
//!  read task:                     │  all the state)  │ poll_transmit
//!  Transport ─▶ CoreDecoder ────▶ │                  │ ───▶ batch ─▶ write task ─▶ Transport
//!   (CRC checks here)  items      └──────────────────┘        (gathered writes; completes
//!                                                               SendHandles as bytes go)
//! ```
//!
//! Three tasks serve a pipe and never wait on one another, so two peers
//! sending to each other cannot deadlock on full kernel buffers. Each time
//! the driver wakes it takes every command and decoded unit waiting (units
//! only while the core [wants input](core::Core::wants_input)), tops up body
//! feeders to the core's [read-ahead](core::Core::read_ahead), hands the
//! core's events out, then fills the next write batch; it sleeps until I/O,
//! a command or the core's [timeout](core::Core::poll_timeout). The driver is
//! generic over the core: it never asks which wire format it runs.
//!
//! The short path: a [`Body::Bytes`] goes straight into the core (no feeder
//! task), and a message whose whole body arrives in the pass that opens it
//! — one frame, as most calls, replies and notifications are — is handed
//! over with its body already whole: no body channel, no per-message state
//! left in the driver. [`BodyStream::try_whole`] takes such a body at once.
//! The buffers the tasks pass one another (decoded items, write batches)
//! go back to the task that fills them rather than being freed on another
//! thread.
//!
//! ## Bounds: what a peer can make a pipe hold, and for how long
//!
//! Every byte a peer can make a pipe hold is bounded, and every wait ends
//! (defaults in parentheses; each is a field of [`PipeConfig`] or
//! [`core::CoreConfig`]):
//!
//! | what | bound | past it |
//! |---|---|---|
//! | body bytes in flight to us | per message `message_window` (512 KiB), per connection `connection_window` (4 MiB), growing towards the bandwidth-delay product (see below) to `max_window` (128 MiB) and `max_connection_window` (256 MiB); a connection's window above `min_connection_window` (256 KiB) — the rest of its initial window and all growth — taken from a [`core::WindowBudget`] shared by clones of one config (512 MiB), so a connection that finds it spent starts at that floor | the peer breaks flow control: GOAWAY `FLOW_CONTROL` |
//! | header bytes of open incoming messages | `header_budget` (64 KiB) of the connection's own, then a [`core::HeaderBudget`] shared by clones of one config (16 MiB) | that OPEN is refused (CANCEL `REFUSED`), the connection goes on |
//! | one message's size | `limits.max_message_size` (4 GiB) | that message fails at the sender (or, if sent anyway, at the receiver: [`ReceiveError::TooLarge`]) |
//! | messages ready and not taken by the application | `accept_backlog` (1024) | the pipe stops reading: the transport pushes back |
//! | collected bodies ([`ReceiveMode::Complete`]) | `receive_buffer` (64 MiB) in memory, `spill_budget` (1 GiB) on disk | collection waits; a body larger than a budget fails alone |
//! | control frames owed (PONG, CREDIT) | one PONG, one CREDIT per window | coalesced, never queued per frame |
//! | small body chunks | copied into one buffer per message | a 1-byte frame costs a byte, not a read buffer |
//! | the read buffer | 8 KiB to `read_size` (128 KiB) as reads need | let go when the link is quiet |
//! | the peer's HELLO | `handshake_timeout` (10 s) | [`ConnectionError::HandshakeTimeout`] |
//! | a PING unanswered (blackholed link) | `keepalive_timeout` (25 s) | [`ConnectionError::KeepaliveTimeout`] |
//! | no message frame either way | `idle_timeout` (300 s) | [`ConnectionError::IdleTimeout`] |
//! | a write batch not taken by the link (the peer stopped reading) | `write_timeout` (30 s) | [`ConnectionError::WriteStalled`]; what was queued is freed |
//! | a graceful close | `close_grace` (10 s) | aborted |
//!
//! Spill files live in a per-process directory that a later process
//! removes if its owner died (see `docs/receiving.md`).
//!
//! ## Flow control on long paths
//!
//! A transfer is only as fast as the credit its receiver grants: a window
//! of `W` bytes over a round trip of `RTT` carries at most `W / RTT`. The
//! receiver therefore measures the round trip (a PING as soon as the peer's
//! HELLO arrives, then keepalive), grants credit every quarter window, and
//! grows a window each round trip in which at least half of it was
//! delivered: to twice the burst rate × the round trip (a window too small
//! makes the sender send bursts at the path's own rate), or at least
//! twofold. A transfer limited by its window reaches about twice the
//! bandwidth-delay product within one or two round trips; one limited by
//! the path settles at 2–3 × it (a connection window opened further by
//! bursts shrinks back, so bulk does not queue in the path ahead of new
//! messages); one limited by a slow reader does not grow (and a reader that
//! stops still stops the sender). A connection window that saw no data for
//! a keepalive interval shrinks back. Senders keep the last bit of the
//! connection credit (an eighth of the peer's initial window, at most two
//! chunks) for messages of [`Priority::HIGH`](protocol::Priority::HIGH) and
//! above (for two round trips at most, in case the receiver waits for a
//! whole window before it grants more), so a small urgent one does not wait
//! behind bulk for CREDIT. The rule
//! and its limits are in `docs/wire-format.md` §2.6; through a 56 ms round
//! trip at 100 MB/s (the `DelayLine` model, `tests/long_fat_path.rs`) a
//! 64 MiB transfer reaches the line rate within a few round trips, where the
//! fixed initial window allowed 9.4 MB/s. [`PipeStats::flow`] shows the
//! windows, the credit and the unread bytes, [`PipeStats::rtt`] the round
//! trip: what limits a slow transfer is visible from the API.
//!
//! ## Observability
//!
//! Logs and spans go through [`tracing`], at levels a production filter can
//! use: INFO for the connection's life (open with the peer's agent, the
//! peer going away, closed or ended and why), WARN for what a peer did wrong
//! or the link did to us (damage skipped by a resync, an abort for a
//! protocol violation, control frames dropped), DEBUG per message (queued,
//! opened, complete, cancelled, failed; each send in a `send` span) and
//! TRACE per frame (each frame read — "packet read" in the Python dialect —
//! with its kind, message and length, each frame queued for writing, and
//! each batch of frames written). Field names are dotted and
//! never one of tracing's own (`message` is reserved): `msg.id`,
//! `msg.priority`, `msg.size`, `code`, `reason`, `error`.
//!
//! [`Pipe::stats`] reads one pipe's figures ([`PipeStats`]). With the
//! `metrics` feature the same figures, summed over every pipe in the
//! process, go to the [`metrics`](https://docs.rs/metrics) facade — at most
//! every 250 ms per pipe, and once more when it ends — so whatever recorder
//! the application installs (Prometheus, StatsD, …) exports them with no
//! code of ours. No label names a connection, so 10 000 pipes are still a
//! dozen time series:
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `netcore_pipes_open` | gauge | pipes whose driver runs |
//! | `netcore_pipe_bytes_total{direction="sent"\|"received"}` | counter | bytes written to / read from transports |
//! | `netcore_pipe_frames_total{direction}` | counter | frames sent / received |
//! | `netcore_pipe_messages_total{direction}` | counter | messages sent / received whole |
//! | `netcore_pipe_messages_in_flight{direction="outgoing"\|"incoming"}` | gauge | messages started and not yet finished |
//! | `netcore_pipe_cancels_total` | counter | messages cancelled, by either side |
//! | `netcore_pipe_resyncs_total` | counter | times a decoder skipped damaged bytes to the next frame |
//! | `netcore_pipe_damaged_bytes_total` | counter | bytes skipped that way |
//! | `netcore_pipe_rtt_seconds` | histogram | each pipe's smoothed round trip, once per export |
//!
//! ## Cargo features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `metrics` | off | the pipes' figures through the `metrics` facade (see [Observability](#observability)) |
//! | `test-util` | off | test utilities: the seeded [`transport::Faulty`](transport#test-utilities) wrapper (with `FaultConfig`, `FaultStats`, `FaultyReader`, `FaultyWriter`) that damages or cuts a link on purpose, and [`transport::DelayLine`](transport#test-utilities) (with `DelayConfig`, `DelayLineWriter`) that delays it as a network path with a delay, a rate and a bounded queue does, in tokio time; enable it from `[dev-dependencies]` |
//!
//! The wire format is `netcore-protocol` (re-exported as [`protocol`]): LSO
//! v2 by default, or the Python netcore 0.1.3 format with
//! [`PipeConfig::py013`] ([`WireFormat`]).
//!
//! ```
//! use netcore_pipe::{Message, Pipe, PipeConfig, protocol::Priority, transport::memory_pair};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (a, b) = memory_pair(64 * 1024);
//! let (left, right) = (Pipe::new(a, PipeConfig::default()), Pipe::new(b, PipeConfig::default()));
//! let bulk = left.send(Message::new(vec![0u8; 8 << 20]).priority(Priority::LOW))?;
//! let call = left.send(Message::new("urgent").priority(Priority::HIGH))?;
//! // The urgent message completes first although it was queued second.
//! assert_eq!(right.recv().await?.body.to_bytes().await?, "urgent");
//! assert_eq!(right.recv().await?.body.len(), 8 << 20);
//! bulk.await?;
//! call.await?;
//! # Ok(())
//! # }
//! ```

pub mod core;
mod error;
mod listener;
mod pipe;
pub mod transport;

pub use error::{ConnectionError, Fault, FlowScope, ReceiveError, SendError};
pub use listener::Listener;
pub use pipe::{
    Body, BodyStream, ChunkStream, Incoming, IntoPipe, Message, Pipe, PipeConfig, PipeStats,
    ReceiveMode, Received, ReceivedBody, SendHandle, SpilledFile, WireFormat,
};
pub use transport::{Transport, TransportRead, TransportWrite};

pub use netcore_protocol as protocol;
