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
pub trait FromRequest<S>: Sized {
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

impl<S> FromRequest<S> for Request {
    fn from_request(request: &Request, _: &S) -> Result<Self, ReplyError> {
        Ok(request.clone())
    }
}
