//! The request a task is serving: [`RequestContext`], reachable from
//! anywhere inside a handler — the Rust form of the Python framework's
//! `request` global.
//!
//! The endpoint sets it, task-locally, around everything that serves one
//! request: `before` hooks, tower layers, the handler and every function
//! they call and await. Its deadline is what makes deadlines travel: a
//! [`Peer::call`](crate::Peer::call) made while serving a request waits at
//! most for what is left of that request's deadline, and tells its own
//! peer so (`nc-deadline-ms`, a relative duration: the clocks of the peers
//! need not agree).
//!
//! A task-local value does not follow a `tokio::spawn`: carry it into a
//! spawned task with [`RequestContext::scope`] (or into a blocking thread
//! with [`RequestContext::sync_scope`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use netcore_pipe::protocol::Headers;
use tokio::time::Instant;

use crate::extract::FromRequest;
use crate::peer::Peer;
use crate::reply::ReplyError;
use crate::request::Request;

tokio::task_local! {
    /// `None` inside [`RequestContext::detach`].
    static CURRENT: Option<RequestContext>;
}

/// Less than this left of a deadline counts as none: the wire carries whole
/// milliseconds, and a call told `0` would only be refused by its peer.
const LEAST_WAIT: Duration = Duration::from_millis(1);

/// The request being served by the current task: its route, ids, headers,
/// the peer that sent it and its deadline, as they arrived.
///
/// Get it with [`RequestContext::current`] anywhere a handler runs (it is
/// also an extractor). Cheap to clone.
///
/// ```
/// use netcore_endpoint::{Endpoint, RequestContext};
/// use netcore_pipe::transport::memory_pair;
///
/// // Any function the handler calls sees the request it serves.
/// fn audit() -> String {
///     let context = RequestContext::current().expect("called while serving");
///     format!("{} from {}", context.route(), context.peer().id())
/// }
///
/// async fn who() -> String { audit() }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (a, b) = memory_pair(64 * 1024);
/// let _server = Endpoint::builder().route("/who", who).start(b)?;
/// let client = Endpoint::builder().start(a)?;
/// let reply = client.peer().call("/who", "").await?;
/// assert!(reply.body.starts_with(b"/who from "));
/// assert!(RequestContext::current().is_none(), "not while serving nothing");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct RequestContext {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    route: String,
    message_id: u64,
    call_id: Option<u64>,
    headers: Headers,
    peer: Peer,
    deadline: Option<Instant>,
}

impl RequestContext {
    pub(crate) fn new(request: &Request, deadline: Option<Instant>) -> RequestContext {
        RequestContext {
            inner: Arc::new(Inner {
                route: request.route.clone(),
                message_id: request.message_id,
                call_id: request.call_id,
                headers: request.headers.clone(),
                peer: request.peer.clone(),
                deadline,
            }),
        }
    }

    /// The request the current task serves, or `None` outside of serving
    /// one (or in a task spawned without [`scope`](Self::scope)).
    pub fn current() -> Option<RequestContext> {
        CURRENT.try_with(Clone::clone).ok().flatten()
    }

    /// The deadline of the request the current task serves, if it serves
    /// one that has a deadline: what calls made from here inherit.
    pub(crate) fn current_deadline() -> Option<Instant> {
        CURRENT
            .try_with(|context| context.as_ref().and_then(|context| context.inner.deadline))
            .ok()
            .flatten()
    }

    /// Runs `future` with this context as the current one: how a task
    /// spawned by a handler keeps its request's context (and deadline).
    ///
    /// ```no_run
    /// # use netcore_endpoint::RequestContext;
    /// # async fn work() {}
    /// async fn handler() -> &'static str {
    ///     if let Some(context) = RequestContext::current() {
    ///         tokio::spawn(context.scope(work()));
    ///     }
    ///     "started"
    /// }
    /// ```
    pub fn scope<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(Some(self), future)
    }

    /// Runs `f` with this context as the current one, on this thread (for
    /// `spawn_blocking`).
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        CURRENT.sync_scope(Some(self), f)
    }

    /// Runs `future` outside of any request's context: for work whose
    /// result is shared beyond the request that started it (a cache's
    /// initialiser, say), so its calls do not inherit that request's
    /// deadline.
    pub fn detach<F: Future>(future: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(None, future)
    }

    /// The route it was sent to, as it arrived (before any middleware
    /// changed the [`Request`]).
    pub fn route(&self) -> &str {
        &self.inner.route
    }

    /// The pipe message id that carried it.
    pub fn message_id(&self) -> u64 {
        self.inner.message_id
    }

    /// The caller's call id (`None` for a notification).
    pub fn call_id(&self) -> Option<u64> {
        self.inner.call_id
    }

    /// Its headers, as they arrived.
    pub fn headers(&self) -> &Headers {
        &self.inner.headers
    }

    /// The connection it came from.
    pub fn peer(&self) -> &Peer {
        &self.inner.peer
    }

    /// When its caller stops waiting: the caller's `nc-deadline-ms` counted
    /// from the arrival of the request's first frame. `None` when the
    /// caller set none (a notification, a Python 0.1.3 peer).
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.deadline
    }

    /// The time left until the [`deadline`](Self::deadline) (zero once it
    /// has passed); `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.inner
            .deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    /// Runs `future` as the serving of this request.
    pub(crate) fn serve<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        CURRENT.scope(Some(self), future)
    }
}

/// The context of the request being served; outside of serving (a handler
/// called directly as a service), one made from the request, without a
/// deadline.
impl<S> FromRequest<S> for RequestContext {
    fn from_request(request: &Request, _: &S) -> Result<Self, ReplyError> {
        Ok(RequestContext::current()
            .filter(|context| {
                context.message_id() == request.message_id
                    && context.peer().id() == request.peer.id()
            })
            .unwrap_or_else(|| RequestContext::new(request, None)))
    }
}

/// The wait a call made now may have: its own `timeout`, capped by what is
/// left of the deadline of the request the current task serves (unless
/// the call is `detached` from it). `Err` with the wait it had when that
/// deadline has passed, or has less than [`LEAST_WAIT`] left: nothing is
/// worth sending.
pub(crate) fn call_wait(
    timeout: Option<Duration>,
    detached: bool,
) -> Result<Option<Duration>, Duration> {
    let inherited = if detached {
        None
    } else {
        RequestContext::current_deadline()
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    };
    let wait = match (timeout, inherited) {
        (Some(own), Some(left)) => Some(own.min(left)),
        (own, left) => own.or(left),
    };
    match (inherited, wait) {
        (Some(left), Some(wait)) if left < LEAST_WAIT => Err(wait),
        _ => Ok(wait),
    }
}
