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
//! `full` turns them all on; `unix`, `serial` and `quic` add those media
//! to `transports`. `metrics` (not in `full`) exports call, request and
//! pipe figures through the `metrics` facade crate (see "Observability" in
//! `netcore::endpoint` and `netcore::pipe`).
//!
//! ## Depending on `netcore` alone
//!
//! Everything a program names is reachable from here: the crates' modules
//! above, the common names in [`prelude`], the derive and attribute macros
//! ([`Route`], [`service`], which find the endpoint crate through this
//! facade by themselves), and the `serde` and `serde_json` versions the
//! endpoint speaks ([`serde`], [`serde_json`]; with only `netcore` in your
//! `Cargo.toml`, add `#[serde(crate = "netcore::serde")]` beside
//! `#[derive(netcore::serde::Serialize)]`).
//!
//! ## A server and a client over TCP
//!
//! ```
//! # #[cfg(feature = "transports")]
//! # mod example {
//! use netcore::prelude::*;
//!
//! async fn hello(name: String) -> String {
//!     format!("hello, {name}")
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # pub async fn main() -> Result<(), netcore::BoxError> {
//! // The server: routes, then a listener whose connections are tuned for a pipe.
//! let listener = tcp::Listener::bind("127.0.0.1:0", TcpOptions::default()).await?;
//! let address = listener.local_addr();
//! let server = Server::new(Router::new().route("/hello", hello).build()?, ServerConfig::default());
//! server.spawn(listener);
//!
//! // The client: a tuned connection, an endpoint over it, a call.
//! let client = Endpoint::builder().start(tcp::connect(address, &TcpOptions::default()).await?)?;
//! let reply = client.peer().call("/hello", "ada").await?;
//! assert_eq!(reply.body, "hello, ada");
//! # client.close().await?;
//! # server.shutdown(std::time::Duration::from_secs(1)).await;
//! # Ok(())
//! # }
//! # }
//! # #[cfg(feature = "transports")]
//! # fn main() -> Result<(), netcore::BoxError> { example::main() }
//! # #[cfg(not(feature = "transports"))]
//! # fn main() {}
//! ```
//!
//! ## The Python paper's examples, line for line
//!
//! `examples/serial_quickstart.rs` and `examples/blueprint_cache_scheduler.rs`
//! are the two examples of the Python framework's paper. Counted as the
//! code lines (neither blank nor comment) of the paper's snippet against
//! those between the `paper:begin` and `paper:end` markers of the Rust
//! example (a test, `tests/paper_examples.rs`, keeps these figures true):
//!
//! | example | Python | Rust | ratio |
//! |---|---|---|---|
//! | serial quick start (`serial_quickstart`) | 9 | 10 | 1.11 |
//! | blueprint, cache, event, scheduler (`blueprint_cache_scheduler`) | 19 | 24 | 1.26 |
//!
//! The Rust versions also check their types at compile time, integrity-check
//! every byte (CRC32C) and resynchronise after damage on the serial line.

/// A boxed error, for `main` and examples: every Netcore error converts
/// into it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

// The README's code blocks are doctests: the quick start a newcomer copies
// compiles and runs in CI.
#[cfg(all(doctest, feature = "full"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

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

/// Derives a typed route for a serde type (see `netcore-macros`).
#[cfg(feature = "endpoint")]
pub use netcore_endpoint::Route;
/// A trait of async methods as a service of typed routes (see `netcore-macros`).
#[cfg(feature = "endpoint")]
pub use netcore_endpoint::service;

/// The serde the endpoint's JSON bodies and typed routes use.
#[cfg(feature = "endpoint")]
pub use serde;
/// The serde_json the endpoint's JSON bodies use (`json!` included).
#[cfg(feature = "endpoint")]
pub use serde_json;

/// The names most programs use, in one import: `use netcore::prelude::*;`.
pub mod prelude {
    #[cfg(feature = "endpoint")]
    pub use netcore_endpoint::{
        Cache, CallError, CallOptions, Endpoint, EndpointBuilder, EndpointConfig, Events, Headers,
        Json, LifecycleEvent, LifecycleKind, Peer, PeerId, Reply, ReplyCode, ReplyError,
        RequestContext, RequestMeta, Response, Route, Router, RouterError, Routes, Scheduler,
        Server, ServerConfig, StartError, State, Streamed, StreamedResponse, service,
    };
    #[cfg(feature = "pipe")]
    pub use netcore_pipe::{Body, IntoPipe, Listener, Message, Pipe, PipeConfig, Transport};
    #[cfg(feature = "serial")]
    pub use netcore_transports::serial::{self, SerialOptions};
    #[cfg(feature = "transports")]
    pub use netcore_transports::tcp::{self, TcpOptions};
    #[cfg(feature = "unix")]
    pub use netcore_transports::unix;
}
