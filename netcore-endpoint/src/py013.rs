//! Talking to peers running the Python framework **netcore 0.1.3**.
//!
//! Build the endpoint (or server) over a pipe in Python-compatible mode and
//! everything else stays the same — routes, handlers, calls:
//!
//! ```
//! use netcore_endpoint::{Endpoint, EndpointConfig, Router};
//! use netcore_pipe::transport::memory_pair;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = EndpointConfig::py013();
//! let (a, b) = memory_pair(64 * 1024);
//! let routes = Router::new().route("echo", |body: bytes::Bytes| async move { body }).build()?;
//! let _server = Endpoint::new(b, routes, config.clone());
//! let client = Endpoint::builder().config(config).start(a)?;
//! assert_eq!(client.peer().call("echo", "hi").await?.body, "hi");
//! # Ok(())
//! # }
//! ```
//!
//! ## How calls map onto the Python format
//!
//! - A call is a mission whose info is `{"route": <route>, "message_id":
//!   <8 characters>}`, as Python's `Endpoint.send` writes it. The message id
//!   is the call id written in base 62 with Python's alphabet
//!   ([`message_id`]), so replies map back to calls without a table; each
//!   connection numbers its calls from a random point, so two Rust peers
//!   calling each other do not mistake a request for a reply.
//! - A reply is `{"route": <route>, "is_response": true, "message_id":
//!   <the request's id>}`; its route is the request's unless the handler's
//!   reply sets a `route` header (Python's `Response(route, data)` may name
//!   any route).
//! - Incoming messages are matched by `message_id` only: one that answers a
//!   call waiting here is its reply, whatever else it says. A reply to no
//!   waiting call is **dropped** (Python would route it as a request, and
//!   two endpoints can then bounce replies forever,
//!   `docs/python-013-wire-format.md` §6.3).
//! - Bodies travel as they are: JSON calls send JSON text, raw calls bytes.
//! - Other headers become extra info keys with string values (Python puts
//!   them in `Request.headers`); incoming info keys become headers, strings
//!   without their quotes and other values as JSON text (`is_response` is
//!   `true`). `content-type` is not sent.
//!
//! ## What a Python peer cannot do, and what that means here
//!
//! - **No error replies.** A Python handler that fails, or an unknown
//!   route, sends nothing. Every call therefore has a timeout: the
//!   endpoint's `default_timeout`, or [`DEFAULT_CALL_TIMEOUT`] if that is
//!   `None`. Errors of Rust handlers are not sent to Python callers either
//!   (they are logged at debug level); the caller times out.
//! - **A body over [`max_buffered_request_bytes`](crate::EndpointConfig::max_buffered_request_bytes)**
//!   (on a route that takes it whole) is dropped as it arrives, without
//!   being held (the format cannot tell a sender to stop); with no error
//!   replies, the `TOO_LARGE` refusal is only logged here (debug level) and
//!   the Python caller times out. The connection goes on.
//! - **No call cancellation.** Dropping a call future cancels its request
//!   mission if it is still being sent (a cancel packet, and the Python peer
//!   drops the partial message), but a handler already running at the
//!   Python peer runs on.
//! - **No deadlines** travel with calls; Rust handlers serving Python
//!   callers run until they finish. Their [`RequestContext`](crate::RequestContext)
//!   has no deadline, and a Rust handler's calls to a Python peer wait for
//!   their own timeout (capped by the deadline of the request it serves,
//!   if that came from an LSO peer), which the Python peer is not told.
//! - **Streamed replies need a length.** A Python 0.1.3 receiver needs a
//!   body's length in its head: a handler may answer a Python caller with
//!   a file ([`Body::file`](netcore_pipe::Body::file)) or bytes, and
//!   [`Peer::call_streamed`](crate::Peer::call_streamed) reads a Python
//!   peer's reply as it arrives; but a stream of unknown length
//!   ([`Body::stream`](netcore_pipe::Body::stream)) cannot be sent to it
//!   (the pipe refuses it, naming the reason, and the Python caller is left
//!   to its own timeout, as for any error reply).
//! - **Heads of at most 4096 bytes**: route, ids and headers together must
//!   fit, or the call fails at once with a local error naming the size.
//! - **An empty body** is sent as a head alone, as Python does; a Python
//!   receiver never completes it (`docs/python-013-wire-format.md` §9.3), so
//!   such a call times out, and an empty reply from a Rust handler leaves the
//!   Python caller waiting (it is logged as a warning). A Rust receiver
//!   delivers it as an empty message.

// The dialect itself is `crate::dialect::py013`; these are the parts users
// call.
pub use crate::dialect::py013::{DEFAULT_CALL_TIMEOUT, call_id, message_id};
