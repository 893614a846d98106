//! # netcore-transports
//!
//! Ready-made transports for the Netcore [`Pipe`](netcore_pipe::Pipe), each
//! behind its own cargo feature so a user compiles only what they use.
//!
//! **Status:** being built (see the "netcore-transports" issue).

#[cfg(feature = "tcp")]
pub mod tcp;

#[cfg(all(feature = "unix", unix))]
pub mod unix;

#[cfg(feature = "serial")]
pub mod serial;

#[cfg(feature = "quic")]
pub mod quic;
