//! # netcore-endpoint
//!
//! The application layer of Netcore, in the shape Rust users expect from
//! axum: handlers are plain async functions taking extractors, routers nest
//! as blueprints, middleware is tower layers.
//!
//! Both ends of a connection are peers: each runs an [`Endpoint`] with its
//! own routes and calls the other's through its [`Peer`]. A call is a pipe
//! message carrying a route; its reply comes back as another message, so
//! thousands of calls share one connection, big bodies are time-sliced with
//! small ones, and dropping a call's future cancels it at the peer.
//!
//! | module | what it holds |
//! |---|---|
//! | [`guide`] | guides with runnable examples: [`guide::streaming`] (uploads, downloads, duplex calls) |
//! | [`router`] | [`Router`]: routes, [`nest`](Router::nest) for blueprints, fallback, [`layer`](Router::layer), hooks, [`Routes`] |
//! | `handler`, `extract` | the [`Handler`] trait for async functions, [`FromRequest`] extractors: [`Bytes`](bytes::Bytes), [`String`], [`Json`], [`RequestMeta`], [`State`], [`Peer`], and [`Streamed`] for bodies read as they arrive |
//! | `reply` | [`Reply`] (a body in memory, or [streamed](Reply::Stream): a file or chunks of any size), [`ReplyError`], [`ReplyCode`], [`IntoReply`] |
//! | `peer` | [`Peer`]: [`call`](Peer::call), [`call_streamed`](Peer::call_streamed), [`call_json`](Peer::call_json), [`notify`](Peer::notify) |
//! | `streamed` | [`StreamedResponse`]: a reply read as it arrives, or [saved](StreamedResponse::save) to a file |
//! | `context` | [`RequestContext`]: the request the current task serves (route, ids, headers, peer, deadline), task-local — the Python `request` global; what makes deadlines travel |
//! | `error` | why a call failed: [`CallError`] and who is at [`Fault`]; the typed causes [`RequestError`] and [`DecodeReplyError`] |
//! | `builder` | [`EndpointBuilder`] (from [`Endpoint::builder`]): config, routes, event listeners and scheduled tasks registered before anything runs, then `start` over any transport or ready pipe; [`StartError`] |
//! | `endpoint` | [`Endpoint`], [`EndpointConfig`] and its presets (`lossy_link`, `py013`): one connection and its lifecycle |
//! | `inbound` | the reader of a connection: replies complete their calls there, requests go on to `serving` |
//! | `serving` | the request side: handler slots, one task per request, deadlines, cancels, the reply sent back |
//! | `server` | [`Server`]: an accept loop over any [`Listener`] (`netcore-transports`' TCP, Unix and QUIC listeners keep their tuning), one endpoint per connection, peer list, broadcast, connection limit, graceful shutdown |
//! | [`events`] | lifecycle and user events: `on`, `once`, `off`, async listeners |
//! | [`scheduler`] | `after` / `every` tasks with cancellable handles |
//! | [`cache`] | a typed TTL cache with a size bound, on moka |
//! | `typed` | typed routes: the [`Route`] trait and its derive, the [`service`] macro, [`Router::typed`], [`Peer::call_typed`], schema fingerprints in the [`SCHEMA`] header; routes whose bodies stream ([`StreamSide`]: [`Router::typed_stream`], [`Peer::call_typed_upload`], [`Peer::call_typed_download`], [`Peer::call_typed_duplex`]) |
//! | `dialect` | how calls, replies, notifications and cancels travel as pipe messages: one implementation per wire dialect (LSO v2's headers, Python netcore 0.1.3's info keys), picked once per connection from the pipe's wire format |
//! | [`py013`] | talking to Python netcore 0.1.3 peers: how calls map onto its format, what it cannot do |
//!
//! ## How data flows
//!
//! ```text
//!   Peer::call(route, body)                                  handler(extractors) -> reply
//!        │ dialect.request(): headers                               ▲            │
//!        ▼                                                          │            │ dialect.reply()
//!   Pipe::send ════════════════ one pipe, both ways ═══════════▶ Pipe::accept    │
//!        ▲                                                          │            ▼
//!        │                              inbound reader: dialect.classify(headers)
//!   pending call ◀── Reply ─────────────┤ Call / Notify ──▶ serving (handler slots,
//!   (completed,                          │                    deadline, cancel)
//!    or failed with                      ├ Cancel ──▶ abort that handler
//!    the pipe's end)                     └ Ignored (logged)
//! ```
//!
//! The pipe delivers each incoming message as it opens;
//! the reader classifies it by its headers, in the connection's dialect
//! (`nc-kind`, `nc-call`, … or Python's info keys): a reply
//! completes the [`Peer::call`] waiting for it, a call or notification goes
//! to the routes (refused at once when this side serves none), a cancel
//! aborts a running handler. A handler's answer goes back as a reply
//! message.
//!
//! ## Bounds per connection
//!
//! What a peer can make an endpoint hold, and for how long
//! ([`EndpointConfig`], [`ServerConfig`]):
//!
//! | what | bound | when it is reached |
//! |---|---|---|
//! | handlers running | [`max_concurrent_handlers`](EndpointConfig::max_concurrent_handlers) (256) | requests wait in the queue |
//! | requests waiting for a slot | [`max_queued_requests`](EndpointConfig::max_queued_requests) (256) | the reader accepts nothing more from the pipe: the pipe, then the transport, push back on the peer; nothing is refused or lost |
//! | requests held by all of a server's connections | each connection's [`own_request_places`](ServerConfig::own_request_places) (8), and past them one of the server's [`shared_request_places`](ServerConfig::shared_request_places) (4096) each | as above, for the connection that needs one: it waits its turn (first come, first served) while the others keep their own places |
//! | request bodies held whole (every route but those taking [`Streamed`]) | [`max_buffered_request_bytes`](EndpointConfig::max_buffered_request_bytes) (64 MiB), from before the body is read until its reply is sent | a body of announced length waits unread for its whole room (flow control holds its sender; its deadline, cancel or the connection's end end the wait); one larger than the budget is refused at once with [`TOO_LARGE`](ReplyCode::TOO_LARGE) and cancelled at its sender, the connection goes on; one of unannounced length grows its room as it arrives, refused with `TOO_LARGE` past the budget, or with [`OVERLOADED`](ReplyCode::OVERLOADED) if it needs room while another such body already waits for some |
//! | a reply's send | [`reply_timeout`](EndpointConfig::reply_timeout) (30 s) and the call's deadline; for a [streamed reply](Reply::Stream), the deadline until its first byte, then `reply_timeout` without progress | the reply is cancelled, its slot freed, a WARN log and a `MessageCancelled` event say so |
//! | a call's deadline (`nc-deadline-ms`) | counted from the arrival of the request's OPEN (time unread in the pipe's backlog counts) | covers the wait for a slot, the body, the handler and the reply's send: the caller gets `TIMEOUT`, or nothing once it has given up |
//! | connections waiting for HELLO | [`max_pending_handshakes`](ServerConfig::max_pending_handshakes) (256), [`handshake_timeout`](ServerConfig::handshake_timeout) (10 s) | refused at accept; dropped at the timeout; they run no endpoint and do not count as connections |
//! | live connections | [`max_connections`](ServerConfig::max_connections) (1024) | refused at accept, or at HELLO |
//! | connections per peer address | [`max_connections_per_address`](ServerConfig::max_connections_per_address) (none) | refused at accept |
//!
//! No task is spawned for a request before it has a place (a slot or a
//! queue place), so a flood of calls costs at most
//! `max_concurrent_handlers + max_queued_requests` tasks per connection,
//! and under a server, `connections × own_request_places +
//! shared_request_places` for all of them.
//!
//! A body takes its room in the budget only once its request has a handler
//! slot, and keeps it until its reply is sent: bodies waiting for room
//! hold nothing, and only one body of unannounced length at a time waits
//! while holding part of its room (it goes first), so no two requests wait
//! for each other's bytes. Each refused body is answered before it is
//! cancelled, so the caller gets the code and the limit, not a bare cancel.
//!
//! Replies to this side's own calls and the peer's cancels come through the
//! same pipe as its requests, in the order the peer sent them: while the
//! reader waits for a place for one request, what the peer sent after it
//! waits too. Replies flow as long as a place is free. Routes whose
//! handlers call back the peer that called them — both sides at once,
//! mutually recursive calls — can therefore fill both sides' places with
//! handlers waiting for replies that neither reader takes; call timeouts
//! (on by default, 30 s) and deadlines then end the wait. Give such routes
//! a queue longer than the calls in flight between the two.
//!
//! ## Deadlines travel
//!
//! A call says how long its caller will wait (`nc-deadline-ms`, a relative
//! duration, so the peers' clocks need not agree). The serving side counts
//! it from the arrival of the request's OPEN, aborts the handler when it
//! passes and answers [`TIMEOUT`](ReplyCode::TIMEOUT). While a request is
//! served, its [`RequestContext`] is the current task's: every
//! [`Peer::call`] made from its hooks, layers or handler — to the caller or
//! to any other peer — waits at most for what is left of that deadline
//! (and tells its peer so), or for the call's own timeout if shorter; a
//! call made once it has passed fails at once with
//! [`CallError::Timeout`] and sends nothing.
//! [`CallOptions::detached`] frees a call from it. Aborting the handler
//! drops the calls it waits on, which cancels them at their peers: the
//! whole chain stops. Every deadline error is answered with
//! [`TIMEOUT`](ReplyCode::TIMEOUT): the endpoint's, a tower
//! `TimeoutLayer`'s, and a handler's call timing out forwarded with `?`
//! (`From<CallError> for ReplyError`).
//!
//! ```
//! use netcore_endpoint::{Endpoint, Peer, ReplyError, RequestContext, State};
//! use netcore_pipe::transport::memory_pair;
//!
//! // Asks the peer that called it; the call has what is left of the
//! // caller's deadline, not its 30 s default.
//! async fn relay(State(()): State<()>, caller: Peer) -> Result<String, ReplyError> {
//!     let left = RequestContext::current().and_then(|c| c.remaining());
//!     assert!(left.is_some_and(|left| left.as_secs() < 2));
//!     let name = caller.call("/name", "").await?;
//!     Ok(String::from_utf8_lossy(&name.body).into_owned())
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (a, b) = memory_pair(64 * 1024);
//! let _server = Endpoint::builder().route("/relay", relay).start(b)?;
//! let client = Endpoint::builder().route("/name", || async { "client" }).start(a)?;
//! let options = netcore_endpoint::CallOptions::default()
//!     .with_timeout(Some(std::time::Duration::from_secs(2)));
//! let reply = client.peer().call_with("/relay", "", options).await?;
//! assert_eq!(reply.body, "client");
//! # Ok(())
//! # }
//! ```
//!
//! ## Streams both ways
//!
//! Any body can stream, in either direction, so a call of any size costs
//! only the flow-control windows (the [streaming guide](guide::streaming)
//! walks through each shape):
//!
//! | direction | sender | receiver |
//! |---|---|---|
//! | upload (client-streaming) | [`Peer::call`] with a [`Body::stream`](netcore_pipe::Body::stream) or [`Body::file`](netcore_pipe::Body::file) | a handler taking [`Streamed`] |
//! | download (server-streaming) | a handler returning a [`Body`](netcore_pipe::Body) (a file or a stream) or [`Reply::Stream`] | [`Peer::call_streamed`]: a [`StreamedResponse`] to read, or to [`save`](StreamedResponse::save) to a file |
//! | duplex | both of the above at once: a `Streamed` handler may answer with a stream made from its request's, each body under its own flow control | |
//! | typed | `#[route(..., stream = request\|response\|both)]`: see [`StreamSide`]; a [`service`] method taking [`Streamed`] or returning `Result<Body, E>` | the generated client streams the same way |
//!
//! Dropping a [`StreamedResponse`] stops both bodies (the reply is
//! cancelled at the peer, the request here); a caller that cancels stops a
//! handler's stream there. A deadline bounds a call until its reply's head;
//! a streamed reply then goes on as long as it makes progress (no byte for
//! [`reply_timeout`](EndpointConfig::reply_timeout) gives it up).
//!
//! ## Observability
//!
//! Each call runs in a DEBUG `call` span (`route`, `peer`, `call.id`,
//! `msg.priority`, `msg.size`) and each request served in a DEBUG `request`
//! span (`route`, `peer`, `msg.id`, `msg.size`), so the pipe's per-message
//! events inside them (see netcore-pipe's Observability) carry the route
//! and the peer. A server logs peers connecting and leaving at INFO, and
//! connections refused or dropped (a full server, a failed handshake) at
//! WARN. With the `metrics` feature the endpoint also counts, through the
//! [`metrics`](https://docs.rs/metrics) facade (beside every pipe's figures):
//!
//! | metric | kind | what |
//! |---|---|---|
//! | `netcore_calls_total{outcome}` | counter | calls made; `outcome` is `ok`, `remote_error`, `timeout`, `connection` or `local` |
//! | `netcore_call_duration_seconds{outcome}` | histogram | from the call to its reply or failure |
//! | `netcore_requests_total{outcome}` | counter | requests served; `outcome` is `ok` or `error` (an error reply, a panic, a refusal) |
//!
//! Endpoints and servers report their lifecycle to an [`Events`] hub; each
//! has a [`Scheduler`] whose tasks stop with it; the [`Cache`] is yours to
//! share through the router state.
//!
//! ```
//! use netcore_endpoint::{Endpoint, Json, Router};
//! use netcore_pipe::transport::memory_pair;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Add { a: i64, b: i64 }
//!
//! async fn add(Json(add): Json<Add>) -> Json<i64> { Json(add.a + add.b) }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let math = Router::new().route("/add", add);
//! let (a, b) = memory_pair(64 * 1024);
//! let _server = Endpoint::builder().nest("/math", math).start(b)?;
//! let client = Endpoint::builder().start(a)?; // a client: no routes
//! let sum: i64 = client.peer().call_json("/math/add", &Add { a: 2, b: 3 }).await?;
//! assert_eq!(sum, 5);
//! # Ok(())
//! # }
//! ```

// The derive macros name this crate by its path: let them work in here too.
extern crate self as netcore_endpoint;

mod admission;
mod body_budget;
mod builder;
pub mod cache;
mod collect;
mod context;
mod dialect;
mod endpoint;
mod error;
pub mod events;
mod extract;
#[doc(hidden)]
pub mod fuzzing;
pub mod guide;
mod handler;
mod inbound;
#[cfg(feature = "metrics")]
mod metrics;
mod peer;
mod peer_id;
mod priority;
pub mod py013;
mod reply;
mod request;
pub mod router;
pub mod scheduler;
mod server;
mod serving;
mod streamed;
mod typed;
mod workers;

pub use builder::{EndpointBuilder, StartError};
pub use cache::{Cache, CacheBuilder};
pub use context::RequestContext;
pub use dialect::{CONTENT_TYPE, JSON, RequestError};
pub use endpoint::{Endpoint, EndpointConfig};
pub use error::{CallError, DecodeReplyError};
pub use events::{
    Delivery, DeliveryReport, Events, Lifecycle, LifecycleEvent, LifecycleKind, ListenerId, Typed,
};
pub use extract::{FromRequest, State, Streamed};
pub use handler::Handler;
/// Derives [`Route`](trait@Route); see the `netcore-macros` crate docs.
pub use netcore_macros::Route;
/// A trait of async methods as a service of typed routes; see the
/// `netcore-macros` crate docs.
pub use netcore_macros::service;
pub use netcore_pipe::Fault;
/// Where a [`Server`] gets its connections (defined in `netcore-pipe`).
pub use netcore_pipe::Listener;
/// Message headers: extra headers of a call or reply (a reply under another
/// route, to Python peers).
pub use netcore_pipe::protocol::Headers;
pub use peer::{CallOptions, Peer, Response};
pub use peer_id::PeerId;
pub use priority::SMALL_BODY;
pub use reply::{IntoReply, Json, Reply, ReplyCode, ReplyError};
pub use request::{Request, RequestMeta};
pub use router::{RouteService, Router, RouterError, Routes};
pub use scheduler::{MissedTickBehavior, Scheduler, TaskHandle};
pub use server::{Server, ServerConfig};
pub use streamed::{SaveError, StreamedResponse};
#[doc(hidden)]
pub use typed::__private;
pub use typed::{ARGS, Route, SCHEMA, StreamSide, TypedHandler, TypedStreamHandler};
