//! Handlers are plain async functions whose arguments are extractors and
//! whose return value becomes a reply.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tower::Service;

use crate::extract::FromRequest;
use crate::reply::{IntoReply, Reply};
use crate::request::Request;

/// An async function usable as a route handler: up to eight [`FromRequest`]
/// arguments, returning anything [`IntoReply`].
///
/// `T` is the tuple of argument types; it only serves to tell the
/// implementations apart.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a handler for a router with state `{S}`",
    label = "not a route handler",
    note = "a handler is an `async fn` (or a closure returning a future) with at most eight arguments, each an extractor (`FromRequest<{S}>`), returning something `IntoReply`, its future `Send`",
    note = "missing state? `State<T>` needs `Router::with_state(T)`; a plain `Router::new()` (and `Endpoint::builder().route`) has state `()`",
    note = "wrong return type? return `Json<T>`, `String`, `&'static str`, `Bytes`, `()`, or `Result<_, ReplyError>`",
    note = "a `Streamed` body is read as it arrives: take it at most once, and no other body extractor (`Bytes`, `String`, `Json<T>`) beside it"
)]
pub trait Handler<T, S>: Clone + Send + Sync + Sized + 'static {
    /// Runs the handler on a request.
    fn call(self, request: Request, state: S) -> BoxFuture<'static, Reply>;

    /// Whether one of the handler's extractors streams the body.
    fn streams_body() -> bool {
        false
    }
}

macro_rules! impl_handler {
    ($($arg:ident),*) => {
        #[allow(non_snake_case, unused_variables)]
        impl<F, Fut, R, S, $($arg,)*> Handler<($($arg,)*), S> for F
        where
            F: FnOnce($($arg,)*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: IntoReply,
            S: Send + Sync + 'static,
            $($arg: FromRequest<S> + Send + 'static,)*
        {
            fn streams_body() -> bool {
                false $(|| <$arg as FromRequest<S>>::STREAMS_BODY)*
            }

            fn call(self, request: Request, state: S) -> BoxFuture<'static, Reply> {
                $(
                    let $arg = match $arg::from_request(&request, &state) {
                        Ok(value) => value,
                        Err(error) => return Box::pin(std::future::ready(Reply::Err(error))),
                    };
                )*
                let future = self($($arg,)*);
                Box::pin(async move { future.await.into_reply() })
            }
        }
    };
}

impl_handler!();
impl_handler!(A1);
impl_handler!(A1, A2);
impl_handler!(A1, A2, A3);
impl_handler!(A1, A2, A3, A4);
impl_handler!(A1, A2, A3, A4, A5);
impl_handler!(A1, A2, A3, A4, A5, A6);
impl_handler!(A1, A2, A3, A4, A5, A6, A7);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8);

/// A handler bound to its state, as a tower [`Service`].
pub(crate) struct HandlerService<H, T, S> {
    handler: H,
    state: S,
    _args: std::marker::PhantomData<fn() -> T>,
}

impl<H: Clone, T, S: Clone> Clone for HandlerService<H, T, S> {
    fn clone(&self) -> Self {
        HandlerService {
            handler: self.handler.clone(),
            state: self.state.clone(),
            _args: std::marker::PhantomData,
        }
    }
}

impl<H, T, S> HandlerService<H, T, S> {
    pub(crate) fn new(handler: H, state: S) -> Self {
        HandlerService {
            handler,
            state,
            _args: std::marker::PhantomData,
        }
    }
}

impl<H, T, S> Service<Request> for HandlerService<H, T, S>
where
    H: Handler<T, S>,
    S: Clone + Send + Sync + 'static,
{
    type Response = Reply;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Reply, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let future = self.handler.clone().call(request, self.state.clone());
        Box::pin(async move { Ok(future.await) })
    }
}
