//! Typed routes: a request type that knows its path, its response type and
//! its schema fingerprint ([`Route`], usually derived with
//! [`#[derive(Route)]`](macro@crate::Route)), served with
//! [`Router::typed`] and called with [`Peer::call_typed`].
//!
//! The typed client sends the route's fingerprint in the `nc-schema` header
//! (16 hex digits); the typed handler answers a different fingerprint with
//! [`ReplyCode::SCHEMA_MISMATCH`] before decoding anything. A call without
//! the header (an untyped [`Peer::call_json`], a Python peer) is decoded as
//! plain JSON and served as usual.

use std::future::Future;

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::dialect::{self, RequestError, set_static_header};
use crate::error::CallError;
use crate::extract::{FromRequest, State};
use crate::peer::{CallOptions, Peer};
use crate::reply::{IntoReply, Json, Reply, ReplyCode, ReplyError};
use crate::request::Request;
use crate::router::Router;
use crate::streamed::StreamedResponse;
use netcore_pipe::Body;

/// The request header carrying a typed call's schema fingerprint.
pub const SCHEMA: &str = "nc-schema";

/// The request header carrying a typed call's route value (JSON) when its
/// body is a stream ([`StreamSide::Request`], [`StreamSide::Both`]).
pub const ARGS: &str = "nc-args";

/// Which bodies of a typed route stream, as its
/// `#[route(..., stream = request|response|both)]` says.
///
/// | side | request | response | served with | called with |
/// |---|---|---|---|---|
/// | [`None`](StreamSide::None) | the route value, JSON | `R::Response`, JSON | [`Router::typed`] | [`Peer::call_typed`] |
/// | [`Request`](StreamSide::Request) | a stream; the route value in the [`ARGS`] header | `R::Response`, JSON | [`Router::typed`] (take [`Streamed`](crate::Streamed)) | [`Peer::call_typed_upload`] |
/// | [`Response`](StreamSide::Response) | the route value, JSON | a stream | [`Router::typed_stream`] | [`Peer::call_typed_download`] |
/// | [`Both`](StreamSide::Both) | a stream; the route value in [`ARGS`] | a stream | [`Router::typed_stream`] (take `Streamed`) | [`Peer::call_typed_duplex`] |
///
/// Using the wrong one of these fails the build: a `const` assertion
/// names the route's side (reported by `cargo build` and `cargo test`,
/// which compile the code, not by `cargo check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamSide {
    /// Both bodies are JSON, whole in memory.
    None,
    /// The request body streams (an upload); the reply is JSON.
    Request,
    /// The reply streams (a download); the request is JSON.
    Response,
    /// Both stream at once (a duplex call).
    Both,
}

impl StreamSide {
    /// Whether the request body streams.
    pub const fn request(self) -> bool {
        matches!(self, StreamSide::Request | StreamSide::Both)
    }

    /// Whether the reply streams.
    pub const fn response(self) -> bool {
        matches!(self, StreamSide::Response | StreamSide::Both)
    }
}

/// A typed route: a serde request type that knows its path, the type it is
/// answered with and a fingerprint of its schema. Derive it with
/// [`#[derive(Route)]`](macro@crate::Route), which computes the fingerprint
/// from the path and the types' shapes (see the `netcore-macros` docs for
/// what it covers).
///
/// ```
/// use netcore_endpoint::{Endpoint, EndpointConfig, ReplyError, Route, Router};
/// use netcore_pipe::transport::memory_pair;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, Route)]
/// #[route(path = "/math/add", response = i64)]
/// struct Add { a: i64, b: i64 }
///
/// async fn add(add: Add) -> Result<i64, ReplyError> { Ok(add.a + add.b) }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let routes = Router::new().typed(add).build()?;
/// let (a, b) = memory_pair(64 * 1024);
/// let _server = Endpoint::new(b, routes, EndpointConfig::default());
/// let client = Endpoint::builder().start(a)?; // a client: no routes
/// let sum = client.peer().call_typed(&Add { a: 2, b: 3 }).await?;
/// assert_eq!(sum, 5);
/// # Ok(())
/// # }
/// ```
///
/// Implementing it by hand is possible (pick any fingerprint, and change it
/// whenever the schema changes), but the derive keeps it honest.
pub trait Route: Serialize + DeserializeOwned + Send + 'static {
    /// The route's full path, as the client calls it. [`Router::typed`]
    /// registers the handler at exactly this path: nesting the router in a
    /// blueprint does not prefix it (its middleware and hooks still wrap it).
    const PATH: &'static str;
    /// What the handler answers with (`()` for a route whose reply
    /// streams).
    type Response: Serialize + DeserializeOwned + Send + 'static;
    /// A stable hash of the path and the shapes of the request and response
    /// types.
    const FINGERPRINT: u64;
    /// Which of its bodies stream ([`StreamSide::None`] unless the derive's
    /// `stream = …` says otherwise).
    const STREAM: StreamSide = StreamSide::None;
}

/// The `nc-schema` header's value for a fingerprint.
fn fingerprint_text(fingerprint: u64) -> String {
    format!("{fingerprint:016x}")
}

/// Checks the caller's fingerprint, if it sent one.
fn check_schema<R: Route>(request: &Request) -> Result<(), ReplyError> {
    let Some(theirs) = request.headers.get_str(SCHEMA) else {
        return Ok(());
    };
    let ours = fingerprint_text(R::FINGERPRINT);
    if theirs.eq_ignore_ascii_case(&ours) {
        return Ok(());
    }
    Err(ReplyError::new(
        ReplyCode::SCHEMA_MISMATCH,
        format!(
            "schema mismatch on route {}: the caller's route type has fingerprint {theirs}, \
             this peer's has {ours}; the two sides were built with different versions of the \
             request or response type",
            R::PATH
        ),
    ))
}

/// An async function usable with [`Router::typed`]: its first argument is
/// the route type `R`, then up to seven [`FromRequest`] extractors, and it
/// returns `Result<R::Response, E>` with `E` convertible into a
/// [`ReplyError`]; the `Ok` value goes back as JSON.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a typed handler",
    label = "not an async fn(RouteType, extractors…) -> Result<Response, E>",
    note = "a typed handler is an async fn whose first argument is a type that derives `Route`, \
            followed by up to seven extractors (`State<_>`, `RequestMeta`, `Peer`, …)",
    note = "it must return `Result<T, E>` where `T` is exactly the `response = ...` type of the \
            route's #[route(...)] attribute and `E` converts into `ReplyError`"
)]
pub trait TypedHandler<R: Route, T, S>: Clone + Send + Sync + Sized + 'static {
    /// Runs the handler on a decoded request.
    fn call(self, route: R, request: Request, state: S) -> BoxFuture<'static, Reply>;
}

/// Implements a typed handler trait for async functions of the route type
/// and up to seven extractors, returning `Result<$ok, E>`; `$reply` turns
/// the `Ok` value into the reply.
macro_rules! impl_typed_handler {
    ($trait:ident, $ok:ty, $reply:expr; $($arg:ident),*) => {
        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, R, E, S, $($arg,)*> $trait<R, ($($arg,)*), S> for F
        where
            R: Route,
            F: FnOnce(R, $($arg,)*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Result<$ok, E>> + Send + 'static,
            E: Into<ReplyError>,
            S: Send + Sync + 'static,
            $($arg: FromRequest<S> + Send + 'static,)*
        {
            fn call(self, route: R, request: Request, state: S) -> BoxFuture<'static, Reply> {
                $(
                    let $arg = match $arg::from_request(&request, &state) {
                        Ok(value) => value,
                        Err(error) => return Box::pin(std::future::ready(Reply::Err(error))),
                    };
                )*
                let future = self(route, $($arg,)*);
                Box::pin(async move {
                    match future.await {
                        Ok(value) => ($reply)(value),
                        Err(error) => Reply::Err(error.into()),
                    }
                })
            }
        }
    };
}

/// Both typed handler traits, for each number of extractors.
macro_rules! impl_typed_handlers {
    ($($arg:ident),*) => {
        impl_typed_handler!(TypedHandler, R::Response, |response| Json(response).into_reply(); $($arg),*);
        impl_typed_handler!(TypedStreamHandler, Body, |body: Body| body.into_reply(); $($arg),*);
    };
}

/// An async function usable with [`Router::typed_stream`]: like a
/// [`TypedHandler`], but for a route whose reply streams, it returns
/// `Result<Body, E>`: the body (a file or a stream) is sent as it is read.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a typed streaming handler",
    label = "not an async fn(RouteType, extractors…) -> Result<Body, E>",
    note = "a typed streaming handler is an async fn whose first argument is a type that derives `Route` \
            with stream = response or stream = both, followed by up to seven extractors",
    note = "it must return `Result<Body, E>` (`netcore_pipe::Body`) where `E` converts into `ReplyError`"
)]
pub trait TypedStreamHandler<R: Route, T, S>: Clone + Send + Sync + Sized + 'static {
    /// Runs the handler on a decoded request.
    fn call(self, route: R, request: Request, state: S) -> BoxFuture<'static, Reply>;
}

impl_typed_handlers!();
impl_typed_handlers!(A1);
impl_typed_handlers!(A1, A2);
impl_typed_handlers!(A1, A2, A3);
impl_typed_handlers!(A1, A2, A3, A4);
impl_typed_handlers!(A1, A2, A3, A4, A5);
impl_typed_handlers!(A1, A2, A3, A4, A5, A6);
impl_typed_handlers!(A1, A2, A3, A4, A5, A6, A7);

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// Registers a typed handler at `R::PATH`: the schema fingerprint is
    /// checked (when the caller sent one), the body is decoded as `R` (JSON),
    /// the extractors run, and the handler's `Ok` value is sent back as JSON.
    ///
    /// ```
    /// use netcore_endpoint::{ReplyError, Route, Router, State};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize, Route)]
    /// #[route(path = "/greet", response = String)]
    /// struct Greet { name: String }
    ///
    /// async fn greet(greet: Greet, State(prefix): State<&'static str>) -> Result<String, ReplyError> {
    ///     Ok(format!("{prefix}, {}", greet.name))
    /// }
    /// let routes = Router::with_state("hello").typed(greet).build().expect("routes");
    /// assert!(routes.contains("/greet"));
    /// ```
    ///
    /// A route whose request streams (`stream = request`) is decoded from
    /// its [`ARGS`] header, and its handler takes the body with
    /// [`Streamed`](crate::Streamed). A route whose reply streams is served
    /// with [`typed_stream`](Router::typed_stream) instead.
    pub fn typed<R, H, T>(self, handler: H) -> Self
    where
        R: Route,
        H: TypedHandler<R, T, S>,
        T: 'static,
    {
        const {
            assert!(
                !R::STREAM.response(),
                "this route's reply streams (stream = response|both): serve it with Router::typed_stream"
            )
        };
        self.typed_route::<R>(move |route, request, state| {
            handler.clone().call(route, request, state)
        })
    }

    /// Registers a typed handler whose reply streams (a route with
    /// `stream = response` or `stream = both`): like
    /// [`typed`](Router::typed), but the handler answers with a
    /// [`Body`] — a file or a stream, sent as it is
    /// read — or a [`ReplyError`].
    ///
    /// ```
    /// use netcore_endpoint::{ReplyError, Route, Router};
    /// use netcore_pipe::Body;
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize, Route)]
    /// #[route(path = "/logs/tail", stream = response)]
    /// struct Tail { lines: u32 }
    ///
    /// async fn tail(tail: Tail) -> Result<Body, ReplyError> {
    ///     let lines = (0..tail.lines).map(|n| Ok(bytes::Bytes::from(format!("line {n}\n"))));
    ///     Ok(Body::stream(futures::stream::iter(lines.collect::<Vec<_>>())))
    /// }
    /// let routes = Router::new().typed_stream(tail).build().expect("routes");
    /// assert!(routes.contains("/logs/tail"));
    /// ```
    pub fn typed_stream<R, H, T>(self, handler: H) -> Self
    where
        R: Route,
        H: TypedStreamHandler<R, T, S>,
        T: 'static,
    {
        const {
            assert!(
                R::STREAM.response(),
                "this route's reply is JSON (no stream = response|both): serve it with Router::typed"
            )
        };
        self.typed_route::<R>(move |route, request, state| {
            handler.clone().call(route, request, state)
        })
    }

    /// Registers a typed route at its path: the request decoded as `R`
    /// (refused if it is not one), then handed to `call`.
    fn typed_route<R: Route>(
        self,
        call: impl Fn(R, Request, S) -> BoxFuture<'static, Reply> + Clone + Send + Sync + 'static,
    ) -> Self {
        let wrapper = move |request: Request, State(state): State<S>| {
            let call = call.clone();
            async move {
                match decode::<R>(&request) {
                    Ok(route) => call(route, request, state).await,
                    Err(error) => Reply::Err(error),
                }
            }
        };
        let router = self.route(R::PATH, wrapper).absolute(R::PATH);
        if R::STREAM.request() {
            router.streaming_body(R::PATH)
        } else {
            router
        }
    }
}

/// The route value of a typed request: its schema checked, then decoded
/// from the body, or from the [`ARGS`] header when the body streams.
fn decode<R: Route>(request: &Request) -> Result<R, ReplyError> {
    check_schema::<R>(request)?;
    if R::STREAM.request() {
        let Some(args) = request.headers.get(ARGS) else {
            return Err(ReplyError::bad_request(format!(
                "route {} streams its body: its arguments go as JSON in the {ARGS} header, which is missing",
                R::PATH
            )));
        };
        serde_json::from_slice(args).map_err(|error| {
            ReplyError::bad_request(format!(
                "invalid JSON in the {ARGS} header for route {}: {error}",
                R::PATH
            ))
        })
    } else {
        serde_json::from_slice(&request.body).map_err(|error| {
            ReplyError::bad_request(format!("invalid JSON body for route {}: {error}", R::PATH))
        })
    }
}

impl Peer {
    /// Calls the typed route `R` and decodes its typed response. The request
    /// goes as JSON with the route's schema fingerprint; a peer built with a
    /// different shape of `R` answers with
    /// [`ReplyCode::SCHEMA_MISMATCH`] (a [`CallError::Remote`]).
    pub async fn call_typed<R: Route>(&self, request: &R) -> Result<R::Response, CallError> {
        self.call_typed_with(request, CallOptions::default()).await
    }

    /// [`call_typed`](Peer::call_typed) with per-call options (timeout,
    /// extra headers, priority).
    pub async fn call_typed_with<R: Route>(
        &self,
        request: &R,
        options: CallOptions,
    ) -> Result<R::Response, CallError> {
        const {
            assert!(
                matches!(R::STREAM, StreamSide::None),
                "this route streams a body: call it with call_typed_upload, call_typed_download or call_typed_duplex"
            )
        };
        let (body, options) = typed_request(request, None, options)?;
        self.call_with(R::PATH, body, options).await?.json()
    }

    /// Calls the typed route `R` whose request streams
    /// (`stream = request`): the route value goes as JSON in the [`ARGS`]
    /// header, `body` (a file, a stream, or bytes) as the request body; the
    /// reply is `R::Response`.
    pub async fn call_typed_upload<R: Route>(
        &self,
        request: &R,
        body: impl Into<Body>,
        options: CallOptions,
    ) -> Result<R::Response, CallError> {
        const {
            assert!(
                matches!(R::STREAM, StreamSide::Request),
                "call_typed_upload is for routes with stream = request"
            )
        };
        let (body, options) = typed_request(request, Some(body.into()), options)?;
        self.call_with(R::PATH, body, options).await?.json()
    }

    /// Calls the typed route `R` whose reply streams
    /// (`stream = response`): the reply as a [`StreamedResponse`].
    pub async fn call_typed_download<R: Route>(
        &self,
        request: &R,
        options: CallOptions,
    ) -> Result<StreamedResponse, CallError> {
        const {
            assert!(
                matches!(R::STREAM, StreamSide::Response),
                "call_typed_download is for routes with stream = response"
            )
        };
        let (body, options) = typed_request(request, None, options)?;
        self.call_streamed(R::PATH, body, options).await
    }

    /// Calls the typed route `R` whose request and reply both stream
    /// (`stream = both`): `body` goes up while the reply comes down.
    pub async fn call_typed_duplex<R: Route>(
        &self,
        request: &R,
        body: impl Into<Body>,
        options: CallOptions,
    ) -> Result<StreamedResponse, CallError> {
        const {
            assert!(
                matches!(R::STREAM, StreamSide::Both),
                "call_typed_duplex is for routes with stream = both"
            )
        };
        let (body, options) = typed_request(request, Some(body.into()), options)?;
        self.call_streamed(R::PATH, body, options).await
    }
}

/// The body and headers of a typed request: the route value as the JSON
/// body, or, with an `upload`, in the [`ARGS`] header beside it; the
/// schema fingerprint in [`SCHEMA`].
fn typed_request<R: Route>(
    request: &R,
    upload: Option<Body>,
    mut options: CallOptions,
) -> Result<(Body, CallOptions), CallError> {
    let json = serde_json::to_vec(request)
        .map_err(|error| CallError::Request(RequestError::from(error)))?;
    let body = match upload {
        Some(upload) => {
            set_static_header(&mut options.headers, ARGS, json).map_err(CallError::Request)?;
            upload
        }
        None => {
            set_static_header(&mut options.headers, dialect::CONTENT_TYPE, dialect::JSON)
                .map_err(CallError::Request)?;
            Body::from(json)
        }
    };
    set_static_header(
        &mut options.headers,
        SCHEMA,
        fingerprint_text(R::FINGERPRINT),
    )
    .map_err(CallError::Request)?;
    Ok((body, options))
}

/// What the macros' generated code needs, under a path that does not depend
/// on the user's own dependencies. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use netcore_pipe::Body;
    pub use serde;
}
