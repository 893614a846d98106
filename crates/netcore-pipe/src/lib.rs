//! # netcore-pipe
//!
//! The `Transport` trait (the one thing a user implements to plug in a new
//! medium) and the time-sliced `Pipe` that carries many concurrent messages over
//! it: chunking, priorities, reassembly, flow control, cancellation and
//! spill-to-disk.
//!
//! **Status:** a placeholder. The crate is filled by the "netcore-pipe" issue;
//! today it only re-exports the wire format it will be built on.

pub use netcore_protocol as protocol;
