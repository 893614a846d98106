//! Transports: the byte links a Pipe runs over.
//!
//! A [`Transport`] is the one thing to provide to run Netcore over a new
//! medium: a way to read bytes and a way to write bytes, async. It is split
//! into a [`TransportRead`] half and a [`TransportWrite`] half:
//!
//! ```text
//! Transport ──split()──▶ (Reader: TransportRead,  Writer: TransportWrite)
//!                          read(&mut buf) -> n      write(&buf), write_vectored(&[IoSlice]),
//!                          (0 = end of stream)      flush(), close()
//! ```
//!
//! ## Why two halves
//!
//! Reading and writing must proceed **concurrently**. If one task alternated
//! between them, two peers each writing a large message to the other would
//! deadlock: each blocks in `write` once the kernel buffers between them are
//! full, and neither gets back to `read`, which is what would empty the
//! other's buffer. With two halves, the Pipe runs a reader that always drains
//! the link while a writer pushes frames, so a full buffer only ever makes a
//! writer *wait*, never the whole connection stop. (It also lets each half
//! live in its own task, without a lock around the link.)
//!
//! ## What is a transport
//!
//! | you have | you get a `Transport` with |
//! |---|---|
//! | any tokio `AsyncRead + AsyncWrite` (TCP, Unix socket, async serial port, …) | nothing to do: blanket implementation via [`tokio::io::split`] |
//! | an async "receive a chunk" and an async "send a chunk" | [`from_fns`] |
//! | two *blocking* functions (a device driver, FFI) | [`blocking`], which runs each on its own thread |
//! | a test that needs two connected ends | [`memory_pair`] |
//! | a test of damaged or failing links | [`Faulty`] around any of the above (feature `test-util`) |
//! | a test over a distant or slow link (one-way delay, bottleneck rate, bounded queue) | [`DelayLine`] around any of the above (feature `test-util`) |
//!
//! Implementing the traits by hand is also short: see [`Transport`].
//!
//! ## A complete custom transport
//!
//! Here a made-up "radio" moves packets of at most 32 bytes through an
//! unreliable-looking API of two async functions; [`from_fns`] turns it into
//! a transport. One task sends a kilobyte through it while another reads it
//! back: the reader reassembles the byte stream whatever the packet sizes.
//!
//! ```
//! use std::io;
//! use std::sync::Arc;
//!
//! use bytes::Bytes;
//! use netcore_pipe::transport::{from_fns, Transport, TransportRead, TransportWrite};
//! use tokio::sync::{mpsc, Mutex};
//!
//! /// The radio driver's sending side: packets of at most 32 bytes.
//! struct RadioTx(mpsc::Sender<Bytes>);
//! /// The radio driver's receiving side: packets in order.
//! struct RadioRx(Mutex<mpsc::Receiver<Bytes>>);
//!
//! impl RadioTx {
//!     async fn send_packet(&self, packet: Bytes) -> io::Result<()> {
//!         assert!(packet.len() <= 32);
//!         self.0.send(packet).await.map_err(|_| io::ErrorKind::NotConnected.into())
//!     }
//! }
//!
//! impl RadioRx {
//!     /// The next packet; the empty packet once the other radio is gone.
//!     async fn recv_packet(&self) -> io::Result<Bytes> {
//!         Ok(self.0.lock().await.recv().await.unwrap_or_default())
//!     }
//! }
//!
//! /// A transport over a radio: each chunk written is cut into packets.
//! fn radio_transport(tx: RadioTx, rx: RadioRx) -> impl Transport {
//!     let (tx, rx) = (Arc::new(tx), Arc::new(rx));
//!     from_fns(
//!         move || {
//!             let rx = Arc::clone(&rx);
//!             async move { rx.recv_packet().await }
//!         },
//!         move |mut chunk: Bytes| {
//!             let tx = Arc::clone(&tx);
//!             async move {
//!                 while !chunk.is_empty() {
//!                     let packet = chunk.split_to(chunk.len().min(32));
//!                     tx.send_packet(packet).await?;
//!                 }
//!                 Ok(())
//!             }
//!         },
//!     )
//! }
//!
//! # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
//! let (a_out, b_in) = mpsc::channel(4);
//! let (b_out, a_in) = mpsc::channel(4);
//! let a = radio_transport(RadioTx(a_out), RadioRx(Mutex::new(a_in)));
//! let b = radio_transport(RadioTx(b_out), RadioRx(Mutex::new(b_in)));
//!
//! let message: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
//! let (_a_reader, mut a_writer) = a.split();
//! let (mut b_reader, _b_writer) = b.split();
//!
//! let to_send = message.clone();
//! let sending = tokio::spawn(async move {
//!     a_writer.write(&to_send).await?;
//!     a_writer.close().await // drops `RadioTx`: b reads end of stream
//! });
//!
//! let mut received = Vec::new();
//! let mut buf = [0u8; 100];
//! loop {
//!     match b_reader.read(&mut buf).await? {
//!         0 => break,
//!         n => received.extend_from_slice(&buf[..n]),
//!     }
//! }
//! sending.await.expect("sender task")?;
//! assert_eq!(received, message);
//! # Ok::<(), io::Error>(())
//! # })?;
//! # Ok::<(), io::Error>(())
//! ```
//!
//! ## Test utilities
//!
//! With the cargo feature **`test-util`** (off by default, as tokio's), this
//! module also holds the seeded [`Faulty`] wrapper and its parts
//! (`FaultConfig`, `FaultStats`, `FaultyReader`, `FaultyWriter`): a transport
//! that drops, flips, inserts or cuts bytes on purpose, reproducibly, to test
//! how a Pipe copes with a noisy or failing link; and the [`DelayLine`]
//! wrapper and its parts (`DelayConfig`, `DelayLineWriter`): a transport that
//! delays what it sends as a long or slow network path does, in tokio's time,
//! so tests of latency and flow control run on a paused clock. They are for
//! tests and demos, not for production links: enable the feature from
//! `[dev-dependencies]`:
//!
//! ```toml
//! [dev-dependencies]
//! netcore-pipe = { version = "0.1", features = ["test-util"] }
//! ```
//!
//! ## Naming
//!
//! `TransportRead::read` and `TransportWrite::write` share their names with
//! methods of tokio's `AsyncReadExt` / `AsyncWriteExt`. On a tokio type with
//! both traits in scope, call them as `TransportRead::read(&mut io, buf)`.
//!
#![cfg_attr(feature = "test-util", doc = "[`Faulty`]: Faulty")]
#![cfg_attr(
    not(feature = "test-util"),
    doc = "[`Faulty`]: crate::transport#test-utilities"
)]
#![cfg_attr(feature = "test-util", doc = "[`DelayLine`]: DelayLine")]
#![cfg_attr(
    not(feature = "test-util"),
    doc = "[`DelayLine`]: crate::transport#test-utilities"
)]

mod blocking;
#[cfg(feature = "test-util")]
mod delay_line;
#[cfg(feature = "test-util")]
mod faulty;
mod fns;
mod leftover;
mod memory;
mod tokio_io;
mod traits;

pub use blocking::{BlockingReader, BlockingTransport, BlockingWriter, blocking};
#[cfg(feature = "test-util")]
pub use delay_line::{DelayConfig, DelayLine, DelayLineWriter};
#[cfg(feature = "test-util")]
pub use faulty::{FaultConfig, FaultStats, Faulty, FaultyReader, FaultyWriter};
pub use fns::{FnReader, FnTransport, FnWriter, from_fns};
pub use memory::{MemoryTransport, memory_pair};
pub use traits::{Transport, TransportRead, TransportWrite};
