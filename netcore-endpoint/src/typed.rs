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

/// The request header carrying a typed call's schema fingerprint.
pub const SCHEMA: &str = "nc-schema";

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
    /// What the handler answers with.
    type Response: Serialize + DeserializeOwned + Send + 'static;
    /// A stable hash of the path and the shapes of the request and response
    /// types.
    const FINGERPRINT: u64;
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

macro_rules! impl_typed_handler {
    ($($arg:ident),*) => {
        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, R, E, S, $($arg,)*> TypedHandler<R, ($($arg,)*), S> for F
        where
            R: Route,
            F: FnOnce(R, $($arg,)*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = Result<R::Response, E>> + Send + 'static,
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
                        Ok(response) => Json(response).into_reply(),
                        Err(error) => Reply::Err(error.into()),
                    }
                })
            }
        }
    };
}

impl_typed_handler!();
impl_typed_handler!(A1);
impl_typed_handler!(A1, A2);
impl_typed_handler!(A1, A2, A3);
impl_typed_handler!(A1, A2, A3, A4);
impl_typed_handler!(A1, A2, A3, A4, A5);
impl_typed_handler!(A1, A2, A3, A4, A5, A6);
impl_typed_handler!(A1, A2, A3, A4, A5, A6, A7);

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
    pub fn typed<R, H, T>(self, handler: H) -> Self
    where
        R: Route,
        H: TypedHandler<R, T, S>,
        T: 'static,
    {
        let wrapper = move |request: Request, State(state): State<S>| {
            let handler = handler.clone();
            async move {
                if let Err(error) = check_schema::<R>(&request) {
                    return Reply::Err(error);
                }
                let route: R = match serde_json::from_slice(&request.body) {
                    Ok(route) => route,
                    Err(error) => {
                        return Reply::Err(ReplyError::bad_request(format!(
                            "invalid JSON body for route {}: {error}",
                            R::PATH
                        )));
                    }
                };
                handler.call(route, request, state).await
            }
        };
        self.route(R::PATH, wrapper).absolute(R::PATH)
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
        mut options: CallOptions,
    ) -> Result<R::Response, CallError> {
        let body = serde_json::to_vec(request)
            .map_err(|error| CallError::Request(RequestError::from(error)))?;
        set_static_header(&mut options.headers, dialect::CONTENT_TYPE, dialect::JSON)
            .map_err(CallError::Request)?;
        set_static_header(
            &mut options.headers,
            SCHEMA,
            fingerprint_text(R::FINGERPRINT),
        )
        .map_err(CallError::Request)?;
        self.call_with(R::PATH, body, options).await?.json()
    }
}

/// What the macros' generated code needs, under a path that does not depend
/// on the user's own dependencies. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}
