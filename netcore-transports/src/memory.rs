//! In memory: two connected ends inside one process, for tests and for
//! wiring two parts of a program together.
//!
//! The transport itself is
//! [`netcore_pipe::transport::memory_pair`], re-exported here as [`pair`] so
//! every medium is reachable from this crate; [`pipes`] goes one step further
//! and starts a [`Pipe`] on each end.
//!
//! ```
//! use netcore_transports::{memory, pipe::{Message, PipeConfig}};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (left, right) = memory::pipes(&PipeConfig::default());
//! left.send(Message::new("ping"))?.await?;
//! assert_eq!(right.recv().await?.body.to_bytes().await?, "ping");
//! # Ok(())
//! # }
//! ```

use netcore_pipe::{Pipe, PipeConfig};

#[doc(inline)]
pub use netcore_pipe::transport::{MemoryTransport, memory_pair as pair};

/// Bytes each direction of [`pipes`] buffers: like a socket's kernel buffer,
/// a writer waits while its direction is full.
pub const DEFAULT_BUFFER: usize = 256 << 10;

/// Two [`Pipe`]s with `config`, connected in memory (each direction
/// buffering [`DEFAULT_BUFFER`] bytes). Must be called inside a tokio
/// runtime.
pub fn pipes(config: &PipeConfig) -> (Pipe, Pipe) {
    let (a, b) = pair(DEFAULT_BUFFER);
    (Pipe::new(a, config.clone()), Pipe::new(b, config.clone()))
}
