//! # netcore-transports
//!
//! Every medium a Netcore [`Pipe`] runs over, each one line to use, each
//! behind its own cargo feature so a program compiles only what it uses.
//!
//! A [`Pipe`] carries many concurrent messages over any byte link (see
//! [`netcore_pipe`], re-exported as [`pipe`]). This crate opens those links:
//! it connects, listens and accepts, applies the options each medium needs
//! for the pipe to do well (no Nagle delay and a bounded kernel send queue on
//! TCP; resync decoding and small chunks on serial lines), and hands back a
//! ready `Pipe` — or the raw stream, for those who want the transport itself.
//!
//! ## How data flows
//!
//! ```text
//!   address / path / port ──connect / bind+accept──▶ raw stream (TcpStream, UnixStream,
//!                                                    SerialStream, QuicStream, memory)
//!                                   medium options applied │ (Nagle off, send queue bound,
//!                                                          │  baud and parity, TLS, one stream)
//!                                                          ▼
//!                                           Pipe::new(stream, PipeConfig for the medium)
//!                                                          │
//!                                                          ▼
//!                         a ready Pipe (or, through `Listener`, a Server's connections)
//! ```
//!
//! Nothing here frames or schedules: every stream is a `Transport` of
//! `netcore-pipe`, and the pipe does the rest.
//!
//! ## Media
//!
//! | medium | feature | one line | listen / accept | raw transport | pipe defaults |
//! |---|---|---|---|---|---|
//! | TCP | `tcp` (default) | [`tcp::connect`]`(addr, &TcpOptions::default())` | [`tcp::Listener`]`::bind(addr, options)`, `.accept()`, or a `Server`'s [`Listener`](netcore_pipe::Listener) | [`tcp::connect_stream`], [`tcp::Listener::accept_stream`] | [`PipeConfig::default`]: 64 KiB chunks, strict decoding |
//! | Unix socket | `unix` (Unix only) | [`unix::connect`]`(path, &PipeConfig::default())` | [`unix::Listener`]`::bind(path, config)`, `.accept()` | [`unix::connect_stream`], [`unix::Listener::accept_stream`] | [`PipeConfig::default`] |
//! | serial port | `serial` | [`serial::open`]`(&SerialOptions::new("/dev/ttyUSB0"))` | — (a line has two ends, both "open") | [`serial::open_transport`]; [`serial::pair`] (pseudo-terminals, for tests) | [`PipeConfig::lossy_link`]: resync decoding, 512-byte chunks |
//! | QUIC | `quic` | [`quic::connect`]`(addr, server_name, &QuicClientConfig, config)` | [`quic::QuicListener`]`::bind(addr, &QuicServerConfig)`, `.accept()` | [`quic::QuicStream`], [`quic::QuicListener::accept_stream`] | [`PipeConfig::default`] (one QUIC stream per pipe) |
//! | in memory | always | [`memory::pipes`]`(&PipeConfig::default())` | — | [`memory::pair`] | any |
//!
//! The TCP, Unix and serial helpers return this crate's [`Error`], whose
//! message names what was being done and where: the address that refused,
//! the serial port and baud rate that could not be opened. QUIC, with
//! certificates and TLS alerts to report as well, has its own
//! [`quic::QuicError`] in the same spirit. Once a pipe runs, its failures are
//! [`ConnectionError`](netcore_pipe::ConnectionError)s, reported by the pipe's handles.
//!
//! ## Quick start
//!
//! A server and a client over loopback TCP:
//!
//! ```
//! # #[cfg(feature = "tcp")]
//! # mod example {
//! use netcore_transports::pipe::Message;
//! use netcore_transports::tcp::{self, TcpOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let listener = tcp::Listener::bind("127.0.0.1:0", TcpOptions::default()).await?;
//! let address = listener.local_addr();
//! let server = tokio::spawn(async move {
//!     let (pipe, _peer) = listener.accept().await?;
//!     let request = pipe.recv().await?;
//!     let body = request.body.to_bytes().await?;
//!     pipe.send(Message::new(format!("{} bytes received", body.len())))?.await?;
//!     pipe.closed().await?; // until the client closes
//!     Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
//! });
//!
//! let client = tcp::connect(address, &TcpOptions::default()).await?;
//! client.send(Message::new(vec![7u8; 100_000]))?.await?;
//! let reply = client.recv().await?;
//! assert_eq!(reply.body.to_bytes().await?, "100000 bytes received");
//! client.close().await?;
//! server.await?.map_err(|error| error.to_string())?;
//! # Ok(())
//! # }
//! # }
//! # #[cfg(feature = "tcp")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> { example::main() }
//! # #[cfg(not(feature = "tcp"))]
//! # fn main() {}
//! ```
//!
//! ## With an endpoint or a server
//!
//! `netcore-endpoint` takes these as they are: an endpoint starts over any
//! pipe this crate returns (`Endpoint::builder().start(tcp::connect(..).await?)`)
//! or any transport ([`tcp::TcpTransport`], [`serial::open_transport`], a
//! [`quic::QuicStream`]), and a `Server` accepts from [`tcp::Listener`],
//! [`unix::Listener`] and [`quic::QuicListener`], each a
//! [`Listener`](netcore_pipe::Listener) whose connections keep this crate's
//! per-medium tuning (the server's own pipe settings then apply).
//!
//! ## Where things are
//!
//! | module | what it holds |
//! |---|---|
//! | [`tcp`] | [`TcpOptions`](tcp::TcpOptions) (nodelay, keepalive, `TCP_NOTSENT_LOWAT`, connect timeout, pipe settings), `connect`, `Listener`, `configure` for your own sockets, [`TcpTransport`](tcp::TcpTransport) |
//! | [`unix`] | the same shape over Unix domain socket paths |
//! | [`serial`] | [`SerialOptions`](serial::SerialOptions) (path, baud, data bits, parity, stop bits, flow control, pipe settings), `open`, `pair` for tests, tokio-serial's line-setting types |
//! | [`quic`] | QUIC through quinn and rustls: server identities (PEM files or self-signed), trust roots, mutual TLS, ALPN `netcore/2`, its own [`QuicError`](quic::QuicError) |
//! | [`memory`] | the in-memory pair, and two connected pipes in one call |
//! | [`Error`], [`Address`] | what went wrong while setting up a TCP, Unix or serial transport, and where |
//! | [`pipe`] | `netcore-pipe` itself: [`Pipe`], [`PipeConfig`], messages, the [`Transport`](pipe::Transport) trait and its adapters |
//!
//! ## Your own transport
//!
//! Netcore runs over anything that moves bytes in order. To plug in a medium
//! this crate does not have — a USB bulk endpoint, a radio modem, a child
//! process, a message queue — you provide one thing: a
//! [`Transport`](pipe::Transport). It has one method, `split()`, which turns
//! your link into a reading half and a writing half:
//!
//! ```text
//! Transport ──split()──▶ Reader: TransportRead        Writer: TransportWrite
//!                          read(&mut buf) -> n           write(&buf)          (all of it)
//!                          (n = 0: end of stream)        write_vectored(..)   (optional)
//!                                                        flush()              (optional)
//!                                                        close()              (optional)
//! ```
//!
//! The pipe reads on one task and writes on another, so two peers sending
//! large messages to each other never deadlock on full buffers; that is why
//! there are two halves. Pick the shortest way to a `Transport`:
//!
//! 1. **It is a tokio `AsyncRead + AsyncWrite`** (a socket, an async serial
//!    driver, a pipe): it already is a `Transport`. Call
//!    [`Pipe::new`]`(it, config)`.
//! 2. **You have two async functions**, "receive a chunk" and "send a chunk":
//!    [`from_fns`](pipe::transport::from_fns)`(recv, send)`.
//! 3. **You have two blocking functions** (a device driver, an FFI call):
//!    [`blocking`](pipe::transport::blocking)`(read, write)` runs each on
//!    its own thread so it never blocks the async runtime.
//! 4. **You have a separate reader and writer** (a child's stdout and stdin,
//!    two one-way channels): implement `Transport` by hand; `split` just
//!    hands them out, since every tokio reader is a
//!    [`TransportRead`](pipe::TransportRead) and every tokio writer a
//!    [`TransportWrite`](pipe::TransportWrite):
//!
//! ```
//! use netcore_transports::pipe::{Message, Pipe, PipeConfig, Transport};
//! use tokio::io::{ReadHalf, SimplexStream, WriteHalf, simplex};
//!
//! /// A link made of two one-way byte channels, one per direction.
//! struct TwoWay {
//!     incoming: ReadHalf<SimplexStream>,
//!     outgoing: WriteHalf<SimplexStream>,
//! }
//!
//! impl Transport for TwoWay {
//!     type Reader = ReadHalf<SimplexStream>;
//!     type Writer = WriteHalf<SimplexStream>;
//!
//!     fn split(self) -> (Self::Reader, Self::Writer) {
//!         (self.incoming, self.outgoing)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (a_in, b_out) = simplex(64 * 1024);
//! let (b_in, a_out) = simplex(64 * 1024);
//! let a = Pipe::new(TwoWay { incoming: a_in, outgoing: a_out }, PipeConfig::default());
//! let b = Pipe::new(TwoWay { incoming: b_in, outgoing: b_out }, PipeConfig::default());
//!
//! a.send(Message::new("over two one-way channels"))?.await?;
//! assert_eq!(b.recv().await?.body.to_bytes().await?, "over two one-way channels");
//! # Ok(())
//! # }
//! ```
//!
//! When the halves are your own types, implement
//! [`TransportRead`](pipe::TransportRead) and
//! [`TransportWrite`](pipe::TransportWrite) directly (`async fn` in the impl
//! is fine). What the pipe relies on:
//!
//! - **Reads** wait for at least one byte and return how many they placed in
//!   `buf`; `Ok(0)` means the peer is gone for good (end of stream). A read
//!   future may be dropped before it completes: it must then lose no bytes.
//! - **Writes** write *all* the bytes, in order, or fail. `flush` returns once
//!   the bytes have left your buffers; `close` tells the peer no more is
//!   coming (its reader then sees end of stream).
//! - **Errors** from either half end the pipe: it ends with a
//!   [`ConnectionError::Transport`](netcore_pipe::ConnectionError::Transport)
//!   carrying your error, and every pending send and receive fails with it
//!   (wrapped in their own error), so make its message say what failed.
//! - **Never block** in an async method: a blocking driver belongs behind
//!   [`blocking`](pipe::transport::blocking).
//! - **Pick the pipe settings for the medium**: [`PipeConfig::default`] for a
//!   fast reliable stream; [`PipeConfig::lossy_link`] when bytes can be lost
//!   or flipped (a raw UART, a radio), so the decoder resynchronises instead
//!   of failing the whole link, and chunks stay small on a slow line.
//!
//! netcore-pipe's `Faulty` (its `test-util` feature, see
//! [`pipe::transport`](pipe::transport#test-utilities)) wraps any transport
//! to lose, flip or cut bytes on purpose, to test a lossy medium before the
//! hardware exists.
//!
//! The repository's `examples/custom_transport.rs` is a complete custom
//! medium both ways: a child process's stdin and stdout as a hand-written
//! `Transport`, and a simulated UART with a blocking driver API behind
//! `blocking` (`cargo run --example custom_transport --features pipe`).
//!
//! ## QUIC, briefly
//!
//! QUIC brings encryption, authentication and connection migration. The
//! baseline runs the whole pipe over one bidirectional QUIC stream, so
//! Netcore's own scheduling, flow control and cancellation work exactly as
//! over TCP; the price is that a lost packet delays every message on the
//! connection, not only the one it belonged to. Mapping messages onto native
//! QUIC streams would remove that head-of-line blocking but hand scheduling
//! and flow control to QUIC; the [`quic`] module weighs the two (that mode
//! is future work).

#[cfg(feature = "tcp")]
pub mod tcp;

#[cfg(all(feature = "unix", unix))]
pub mod unix;

#[cfg(feature = "serial")]
pub mod serial;

#[cfg(feature = "quic")]
pub mod quic;

pub mod memory;

mod error;

pub use error::{Address, Error};

#[doc(no_inline)]
pub use netcore_pipe::{Pipe, PipeConfig};

/// The `netcore-pipe` crate: [`Pipe`], its messages and settings, and the
/// [`Transport`](netcore_pipe::Transport) trait with its adapters.
pub use netcore_pipe as pipe;
