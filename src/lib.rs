//! # Netcore
//!
//! Custom-protocol communication over any byte link. Give Netcore a way to send
//! and receive bytes — a serial port, a TCP socket, a QUIC stream, a radio — and
//! it does the rest: framing, integrity checks, many concurrent messages over
//! that one link, request/response routing and an application layer.
//!
//! This facade re-exports the member crates, each behind a cargo feature:
//!
//! | feature | module | crate |
//! |---|---|---|
//! | `protocol` (default) | [`protocol`] | `netcore-protocol`: the LSO v2 wire format |
//! | `pipe` | `pipe` | `netcore-pipe`: the `Transport` trait and the time-sliced `Pipe` |
//! | `endpoint` | `endpoint` | `netcore-endpoint`: routes, calls, events, scheduler, cache, server |
//! | `macros` | `macros` | `netcore-macros`: `#[derive(Route)]` |
//! | `transports` | `transports` | `netcore-transports`: TCP, Unix, serial, QUIC |
//!
//! `full` turns them all on.

#[cfg(feature = "protocol")]
#[doc(inline)]
pub use netcore_protocol as protocol;

#[cfg(feature = "pipe")]
#[doc(inline)]
pub use netcore_pipe as pipe;

#[cfg(feature = "endpoint")]
#[doc(inline)]
pub use netcore_endpoint as endpoint;

#[cfg(feature = "macros")]
#[doc(inline)]
pub use netcore_macros as macros;

#[cfg(feature = "transports")]
#[doc(inline)]
pub use netcore_transports as transports;
