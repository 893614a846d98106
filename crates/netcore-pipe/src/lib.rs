//! # netcore-pipe
//!
//! The `Transport` trait (the one thing a user implements to plug in a new
//! medium) and the time-sliced `Pipe` that carries many concurrent messages over
//! it: chunking, priorities, reassembly, flow control, cancellation and
//! spill-to-disk.
//!
//! | module | what it holds |
//! |---|---|
//! | [`transport`] | the [`Transport`](transport::Transport) trait, adapters (tokio I/O, closures, blocking functions), an in-memory pair and the `Faulty` test wrapper |
//!
//! **Status:** in progress — the transports are here; the sans-IO connection
//! core and the async `Pipe` driver are being built (see the "netcore-pipe" issue).

pub mod core;
mod error;
pub mod transport;

pub use error::PipeError;

pub use netcore_protocol as protocol;
