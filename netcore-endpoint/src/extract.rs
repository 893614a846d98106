//! Extractors: what a handler's arguments can be.
//!
//! Every argument of a handler implements [`FromRequest`]: the raw body
//! ([`Bytes`] or [`String`]), a JSON body ([`Json<T>`](crate::Json)), the
//! metadata ([`RequestMeta`]), the router's shared state ([`State<S>`]) or the
//! [`Peer`] that sent it (to call back). An extractor that fails answers the
//! caller with its error; the handler does not run.

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::peer::Peer;
use crate::reply::{Json, ReplyError};
use crate::request::{Request, RequestMeta};

/// Builds a handler argument from the request and the router's state.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a handler argument in a router with state `{S}`",
    label = "not an extractor for this router",
    note = "handler arguments are extractors: `Bytes`, `String`, `Json<T>`, `RequestMeta`, `Peer`, `Streamed`, `State<S>`, or a `#[derive(Route)]` type",
    note = "`State<T>` needs a router made with `Router::with_state(T)` (a plain `Router::new()` has state `()`)"
)]
pub trait FromRequest<S>: Sized {
    /// Whether this extractor takes the body as a stream: the endpoint then
    /// hands the handler the body as it arrives instead of collecting it.
    const STREAMS_BODY: bool = false;

    /// Extracts, or says why not.
    fn from_request(request: &Request, state: &S) -> Result<Self, ReplyError>;
}

/// The router's shared state, cloned for each request.
///
/// ```
/// use netcore_endpoint::{Router, State};
/// #[derive(Clone)]
/// struct App { greeting: &'static str }
/// async fn hello(State(app): State<App>) -> String { app.greeting.to_owned() }
/// let router = Router::with_state(App { greeting: "hi" }).route("/hello", hello);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct State<S>(pub S);

impl<S: Clone> FromRequest<S> for State<S> {
    fn from_request(_: &Request, state: &S) -> Result<Self, ReplyError> {
        Ok(State(state.clone()))
    }
}

impl<S> FromRequest<S> for Bytes {
    fn from_request(request: &Request, _: &S) -> Result<Self, ReplyError> {
        Ok(request.body.clone())
    }
}

impl<S> FromRequest<S> for String {
    fn from_request(request: &Request, _: &S) -> Result<Self, ReplyError> {
        String::from_utf8(request.body.to_vec())
            .map_err(|_| ReplyError::bad_request("the body is not UTF-8 text"))
    }
}

impl<S, T: DeserializeOwned> FromRequest<S> for Json<T> {
    fn from_request(request: &Request, _: &S) -> Result<Self, ReplyError> {
        serde_json::from_slice(&request.body)
            .map(Json)
            .map_err(|error| ReplyError::bad_request(format!("invalid JSON body: {error}")))
    }
}

impl<S> FromRequest<S> for RequestMeta {
    fn from_request(request: &Request, _: &S) -> Result<Self, ReplyError> {
        Ok(request.meta())
    }
}

impl<S> FromRequest<S> for Peer {
    fn from_request(request: &Request, _: &S) -> Result<Self, ReplyError> {
        Ok(request.peer.clone())
    }
}

/// The request body as a stream of chunks, as they arrive: for large bodies,
/// which are then never held whole in memory. A handler taking it gets an
/// empty [`Request::body`](crate::Request::body), and so do the route's hooks
/// and layers; flow-control credit goes back as the stream is read.
///
/// ```
/// use futures::StreamExt;
/// use netcore_endpoint::{Router, Streamed};
///
/// /// Counts the bytes of an upload without holding it.
/// async fn upload(Streamed(mut body): Streamed) -> String {
///     let mut total = 0;
///     while let Some(Ok(chunk)) = body.next().await {
///         total += chunk.len();
///     }
///     total.to_string()
/// }
/// let router = Router::new().route("/upload", upload);
/// ```
#[derive(Debug)]
pub struct Streamed(pub netcore_pipe::BodyStream);

impl<S> FromRequest<S> for Streamed {
    const STREAMS_BODY: bool = true;

    fn from_request(request: &Request, _: &S) -> Result<Self, ReplyError> {
        request
            .stream
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
            .map(Streamed)
            .ok_or_else(|| ReplyError::internal("the request body stream was already taken"))
    }
}

impl<S> FromRequest<S> for Request {
    fn from_request(request: &Request, _: &S) -> Result<Self, ReplyError> {
        Ok(request.clone())
    }
}
