//! Serving the peer's requests: one task per admitted request, reused for
//! later ones ([`workers`](crate::workers)) (it holds one
//! of the connection's [request places](crate::admission); the handler runs
//! inside it, not in a task of its own, a panic caught there — so a handler
//! that blocks its thread without yielding also holds back its own deadline
//! and cancel), handler slots,
//! bodies collected within the connection's [budget](crate::body_budget),
//! deadlines, cancellation, and the reply sent back within its time.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use netcore_pipe::protocol::Headers;
use netcore_pipe::{BodyStream, Incoming, SendError, SendHandle};
use tokio::sync::{Semaphore, oneshot};
use tokio::time::Instant;

use crate::admission::{Admission, Place};
use crate::body_budget::{BodyBudget, Reservation};
use crate::collect::{NotCollected, collect};
use crate::context::RequestContext;
use crate::dialect::{ReplyTo, RequestError};
use crate::events::{Events, LifecycleEvent, LifecycleKind};
use crate::peer::Peer;
use crate::reply::{Reply, ReplyCode};
use crate::request::Request;
use crate::router::Routes;
use crate::workers::{Job, Workers};

/// The least time an error reply made because the deadline passed gets to
/// go out (the deadline itself has no time left to give it).
const LATE_REPLY_GRACE: Duration = Duration::from_secs(1);

/// The most request tasks a connection keeps waiting for its next
/// requests (see [`Workers`]): as many as its own request places
/// ([`ServerConfig::own_request_places`](crate::ServerConfig::own_request_places)'s
/// default), a few KiB each, and each for at most half a second without
/// work (so an idle connection holds none).
const IDLE_REQUEST_TASKS: usize = 8;

/// The calls being served, by call id: how to cancel each.
type Running = Arc<Mutex<HashMap<u64, Registration>>>;

/// A served call's entry in [`Running`].
struct Registration {
    /// Tells this entry from a later call that reused the id.
    token: u64,
    /// Cancels the call's task (a send; dropping it does not cancel).
    cancel: oneshot::Sender<()>,
    /// Set once its reply is being sent: the end of the connection ends
    /// that by itself, and must not cut short what follows a sent reply.
    replying: Arc<AtomicBool>,
}

/// The request side of an endpoint: the routes it serves, if any.
pub(crate) struct Requests {
    pub(crate) peer: Peer,
    /// `None`: this side serves nothing (a client); calls are refused.
    pub(crate) routes: Option<Arc<Routes>>,
    pub(crate) handlers: Arc<Semaphore>,
    pub(crate) admission: Arc<Admission>,
    running: Running,
    next_token: AtomicU64,
    pub(crate) closing: Arc<AtomicBool>,
    pub(crate) events: Events,
    pub(crate) limits: RequestLimits,
    /// The tasks that run requests, kept from one request to the next.
    workers: Workers<RequestJob>,
}

/// What bounds the serving of one connection's requests.
#[derive(Debug, Clone)]
pub(crate) struct RequestLimits {
    /// [`EndpointConfig::reply_timeout`](crate::EndpointConfig::reply_timeout).
    pub(crate) reply_timeout: Option<Duration>,
    /// The budget of bodies collected whole
    /// ([`EndpointConfig::max_buffered_request_bytes`](crate::EndpointConfig::max_buffered_request_bytes)).
    pub(crate) body_budget: Arc<BodyBudget>,
}

impl Requests {
    pub(crate) fn new(
        peer: Peer,
        routes: Option<Routes>,
        handlers: Arc<Semaphore>,
        admission: Arc<Admission>,
        closing: Arc<AtomicBool>,
        events: Events,
        limits: RequestLimits,
    ) -> Requests {
        Requests {
            peer,
            routes: routes.map(Arc::new),
            handlers,
            admission,
            running: Arc::new(Mutex::new(HashMap::new())),
            next_token: AtomicU64::new(0),
            closing,
            events,
            limits,
            workers: Workers::new(IDLE_REQUEST_TASKS),
        }
    }

    /// The caller cancelled call `call_id` (message `message_id`): its
    /// task, if it still runs — waiting for a slot, in its handler or
    /// sending its reply — is cancelled.
    pub(crate) fn cancel(&self, call_id: u64, message_id: u64) {
        if let Some(registration) = lock(&self.running).remove(&call_id) {
            tracing::debug!(call = call_id, "call cancelled by the caller");
            let _ = registration.cancel.send(());
            self.events
                .emit_lifecycle(LifecycleEvent::MessageCancelled {
                    peer: self.peer.id(),
                    message_id,
                });
        }
    }

    /// The connection is over: every call still waiting for a slot or in
    /// its handler is cancelled (those sending their reply see the send
    /// fail).
    pub(crate) fn abort_all(&self) {
        for (_, registration) in lock(&self.running).drain() {
            if !registration.replying.load(Ordering::SeqCst) {
                let _ = registration.cancel.send(());
            }
        }
    }

    /// Serves a call or notification in a task of its own, which holds
    /// `place` until it ends: waiting for a handler slot, running the
    /// handler, sending the reply.
    pub(crate) fn start(&self, incoming: Incoming, call: Call, place: Place) {
        let refusal = match &self.routes {
            None => Some(Reply::error(
                ReplyCode::NOT_FOUND,
                format!(
                    "route not found: {} (this peer serves no routes)",
                    call.route
                ),
            )),
            // Closing: new calls are refused, new notifications dropped.
            Some(_) if self.closing.load(Ordering::SeqCst) => {
                Some(Reply::error(ReplyCode::OVERLOADED, "shutting down"))
            }
            Some(_) => None,
        };
        if let Some(refusal) = refusal {
            tracing::debug!(
                route = call.route,
                code = refusal_code(&refusal),
                "request refused"
            );
            let Some(reply_to) = call.reply else {
                return;
            };
            drop(incoming);
            let peer = self.peer.clone();
            let limit = SendLimit::new(self.limits.reply_timeout, call.deadline);
            tokio::spawn(async move {
                let _place = place;
                if let Err(error) = send_within(&peer, &reply_to, refusal, limit).await {
                    tracing::debug!(%error, call = reply_to.call_id, "refusal not sent");
                }
            });
            return;
        }
        let Some(routes) = self.routes.clone() else {
            return;
        };
        let replying = Arc::new(AtomicBool::new(false));
        let registration = call.reply.as_ref().map(|reply_to| {
            let token = self.next_token.fetch_add(1, Ordering::Relaxed);
            let (cancel, cancelled) = oneshot::channel();
            let registration = Registration {
                token,
                cancel,
                replying: replying.clone(),
            };
            let earlier = lock(&self.running).insert(reply_to.call_id, registration);
            if earlier.is_some() {
                tracing::debug!(
                    call = reply_to.call_id,
                    "a call id reused while its call runs"
                );
            }
            (reply_to.call_id, token, cancelled)
        });
        let serving = Serving {
            peer: self.peer.clone(),
            routes,
            events: self.events.clone(),
            limits: self.limits.clone(),
            replying,
        };
        // Nothing ran for this request before it had its place; a task
        // (reused: see `workers`) now waits for a handler slot while the
        // reader goes on (replies and cancels still get through when every
        // slot is busy). Its body is not read meanwhile, so flow control
        // holds the sender.
        self.workers.run(RequestJob {
            place,
            registration,
            handlers: self.handlers.clone(),
            serving,
            incoming,
            call,
            running: self.running.clone(),
        });
    }
}

/// One admitted request, run to its end in a [`Workers`] task.
pub(crate) struct RequestJob {
    /// Held until the request is over.
    place: Place,
    /// A call's id, its entry's token in [`Running`] and its cancel;
    /// `None` for a notification.
    registration: Option<(u64, u64, oneshot::Receiver<()>)>,
    handlers: Arc<Semaphore>,
    serving: Serving,
    incoming: Incoming,
    call: Call,
    running: Running,
}

impl Job for RequestJob {
    fn run(self) -> impl std::future::Future<Output = ()> + Send {
        let RequestJob {
            place,
            registration,
            handlers,
            serving,
            incoming,
            call,
            running,
        } = self;
        async move {
            let _place = place;
            let work = async move {
                let Ok(_slot) = handlers.acquire_owned().await else {
                    return;
                };
                let span = tracing::debug_span!(
                    "request",
                    route = call.route.as_str(),
                    peer = %serving.peer.id(),
                    msg.id = incoming.id,
                    msg.size = incoming.total_len,
                );
                tracing::Instrument::instrument(serving.serve(incoming, call), span).await;
            };
            match registration {
                None => work.await,
                Some((call_id, token, cancelled)) => {
                    tokio::select! {
                        () = work => {}
                        Ok(()) = cancelled => {}
                    }
                    let mut running = lock(&running);
                    if running
                        .get(&call_id)
                        .is_some_and(|entry| entry.token == token)
                    {
                        running.remove(&call_id);
                    }
                }
            }
        }
    }
}

/// The answer to a body that was not collected.
fn body_refusal(route: &str, refusal: NotCollected) -> Reply {
    let code = match refusal {
        NotCollected::TooLarge { .. } => ReplyCode::TOO_LARGE,
        NotCollected::Contended { .. } => ReplyCode::OVERLOADED,
        NotCollected::LongerThanAnnounced { .. } | NotCollected::Failed(_) => {
            ReplyCode::BAD_REQUEST
        }
    };
    tracing::debug!(route, %code, reason = %refusal, "request body refused");
    Reply::error(code, refusal.to_string())
}

fn refusal_code(reply: &Reply) -> String {
    match reply {
        Reply::Err(error) => error.code.to_string(),
        Reply::Ok { .. } | Reply::Stream { .. } => "ok".to_owned(),
    }
}

/// What the reader learnt of a request before serving it.
pub(crate) struct Call {
    pub(crate) route: String,
    pub(crate) headers: Headers,
    /// When the caller stops waiting (from its `nc-deadline-ms`, counted
    /// from the request's arrival): covers the wait for a slot, the body,
    /// the handler and the reply's send.
    pub(crate) deadline: Option<Instant>,
    /// Where the reply goes (with the call id); `None` for a notification.
    pub(crate) reply: Option<ReplyTo>,
}

fn lock(running: &Running) -> std::sync::MutexGuard<'_, HashMap<u64, Registration>> {
    running.lock().unwrap_or_else(|e| e.into_inner())
}

/// What serving one request needs.
struct Serving {
    peer: Peer,
    routes: Arc<Routes>,
    events: Events,
    limits: RequestLimits,
    /// Set when the reply starts on its way.
    replying: Arc<AtomicBool>,
}

impl Serving {
    /// Runs one request through the routes and answers it (for calls).
    ///
    /// Not an `async fn`: its parts are taken apart before the future is
    /// made, so the future holds each once (an `async fn` would keep its
    /// arguments beside what it moved out of them).
    fn serve(self, incoming: Incoming, call: Call) -> impl std::future::Future<Output = ()> {
        let Serving {
            peer,
            routes,
            events,
            limits,
            replying,
        } = self;
        let Call {
            route,
            headers,
            deadline,
            reply: reply_to,
        } = call;
        async move {
            let call_id = reply_to.as_ref().map(|reply_to| reply_to.call_id);
            let message_id = incoming.id;
            if events.has_lifecycle_listener(LifecycleKind::Request) {
                events.emit_lifecycle(LifecycleEvent::Request {
                    peer: peer.id(),
                    route: route.clone(),
                    message_id,
                });
            }
            let passed =
                || Reply::error(ReplyCode::TIMEOUT, format!("{route} passed its deadline"));
            // A body refused for its size: kept (unread) until the refusal has
            // gone out, then dropped, which cancels it at the sender — so the
            // caller reads the reason before it sees its request cut off.
            let mut refused_body: Option<BodyStream> = None;
            // The room a collected body holds in the budget, given back once
            // the reply is sent (or given up).
            let mut _held_room: Option<Reservation> = None;
            let reply = if deadline.is_some_and(|deadline| deadline <= Instant::now()) {
                // It waited for a slot past its deadline: the caller has given up.
                passed()
            } else {
                // A streaming handler gets the body as it arrives; others get it
                // whole, within the connection's budget (held until the reply
                // has gone: the handler's reply often shares the body's bytes).
                let Incoming {
                    body: mut stream,
                    total_len,
                    ..
                } = incoming;
                let body = if routes.streams_body(&route) {
                    Some(Ok((Bytes::new(), None, Some(stream))))
                } else {
                    let collected = async {
                        tokio::select! {
                            collected = collect(&mut stream, total_len, &limits.body_budget) => Some(collected),
                            _ = peer.closed() => None,
                        }
                    };
                    match until(deadline, collected).await {
                        None => None,
                        // The connection is over: no reply can go.
                        Some(None) => return,
                        Some(Some(Ok((body, reservation)))) => {
                            Some(Ok((body, Some(reservation), None)))
                        }
                        Some(Some(Err(refusal))) => {
                            if !matches!(refusal, NotCollected::Failed(_)) {
                                refused_body = Some(stream);
                            }
                            Some(Err(refusal))
                        }
                    }
                };
                match body {
                    None => passed(),
                    Some(Err(refusal)) => body_refusal(&route, refusal),
                    Some(Ok((body, reservation, stream))) => {
                        _held_room = reservation;
                        let request = Request {
                            route: route.clone(),
                            message_id,
                            call_id,
                            headers,
                            body,
                            peer: peer.clone(),
                            stream: Arc::new(Mutex::new(stream)),
                        };
                        // The handler runs in this task (no spawn per call): a
                        // panic is caught here, and cancelling this task, or
                        // the deadline, drops it. Hooks, layers and handler
                        // run within the request's context (calls they make
                        // inherit its deadline).
                        let context = RequestContext::new(&request, deadline);
                        let handler = context.serve(async move { routes.dispatch(request).await });
                        let handler = AssertUnwindSafe(handler).catch_unwind();
                        match until(deadline, handler).await {
                            None => passed(),
                            Some(Ok(reply)) => reply,
                            Some(Err(_panic)) => {
                                tracing::warn!(route, "handler panicked");
                                Reply::error(
                                    ReplyCode::INTERNAL,
                                    format!("the handler of {route} panicked"),
                                )
                            }
                        }
                    }
                }
            };
            #[cfg(feature = "metrics")]
            crate::metrics::request_done(!reply.is_err());
            let Some(reply_to) = reply_to else {
                if let Reply::Err(error) = reply {
                    tracing::debug!(route, %error, "notification handler failed");
                }
                return;
            };
            let call_id = reply_to.call_id;
            let ok = !reply.is_err();
            let limit = SendLimit::new(limits.reply_timeout, deadline);
            replying.store(true, Ordering::SeqCst);
            match send_within(&peer, &reply_to, reply, limit).await {
                Ok(()) if events.has_lifecycle_listener(LifecycleKind::Reply) => {
                    events.emit_lifecycle(LifecycleEvent::Reply {
                        peer: peer.id(),
                        route,
                        message_id,
                        ok,
                    });
                }
                Ok(()) => {}
                Err(ReplyNotSent::Stuck { reply_id, limit }) => {
                    // The link takes nothing (a peer that reads nothing or grants
                    // no credit): the reply is given up and its slot freed.
                    tracing::warn!(
                        peer = %peer.id(),
                        route,
                        call = call_id,
                        reply = reply_id,
                        %limit,
                        "reply not sent in time: cancelled, its handler slot freed"
                    );
                    events.emit_lifecycle(LifecycleEvent::MessageCancelled {
                        peer: peer.id(),
                        message_id: reply_id,
                    });
                }
                Err(error) => {
                    // The reply could not go (too large for the peer, say): tell
                    // the caller rather than leave it waiting for its timeout.
                    tracing::debug!(%error, call = call_id, "reply not sent");
                    let refusal = Reply::error(
                        ReplyCode::INTERNAL,
                        format!("the reply of {route} could not be sent: {error}"),
                    );
                    if let Err(error) = send_within(&peer, &reply_to, refusal, limit).await {
                        tracing::debug!(%error, call = call_id, "error reply not sent either");
                    }
                }
            }
            // The refusal is out (or given up): now the body is cancelled.
            drop(refused_body);
        }
    }
}

/// `future`'s output, or `None` once `deadline` has passed.
///
/// A combinator rather than an `async fn`: an `async fn` would hold
/// `future` twice (as its argument and as what it awaits), and these
/// futures are a request task's largest part.
fn until<F: std::future::Future>(
    deadline: Option<Instant>,
    future: F,
) -> impl std::future::Future<Output = Option<F::Output>> {
    use futures::FutureExt as _;
    use futures::future::Either;
    match deadline {
        Some(deadline) => Either::Left(tokio::time::timeout_at(deadline, future).map(Result::ok)),
        None => Either::Right(future.map(Some)),
    }
}

/// How long a reply may take to be handed to the link.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SendLimit {
    /// No limit: neither a reply timeout nor a deadline.
    None,
    /// [`EndpointConfig::reply_timeout`](crate::EndpointConfig::reply_timeout).
    ReplyTimeout(Instant, Duration),
    /// The call's deadline, earlier than the reply timeout (if any).
    Deadline(Instant, Option<Duration>),
}

impl SendLimit {
    /// The limit of a reply sent now: the reply timeout from now, or the
    /// call's deadline if earlier (a reply made because the deadline passed
    /// still gets [`LATE_REPLY_GRACE`]).
    pub(crate) fn new(reply_timeout: Option<Duration>, deadline: Option<Instant>) -> SendLimit {
        let now = Instant::now();
        let timeout = reply_timeout.and_then(|timeout| Some((now.checked_add(timeout)?, timeout)));
        let deadline = deadline.map(|deadline| deadline.max(now + LATE_REPLY_GRACE));
        match (timeout, deadline) {
            (None, None) => SendLimit::None,
            (Some((at, timeout)), None) => SendLimit::ReplyTimeout(at, timeout),
            (Some((at, timeout)), Some(deadline)) if at <= deadline => {
                SendLimit::ReplyTimeout(at, timeout)
            }
            (timeout, Some(deadline)) => {
                SendLimit::Deadline(deadline, timeout.map(|(_, timeout)| timeout))
            }
        }
    }

    fn at(self) -> Option<Instant> {
        match self {
            SendLimit::None => None,
            SendLimit::ReplyTimeout(at, _) | SendLimit::Deadline(at, _) => Some(at),
        }
    }

    /// How long a streamed reply under way may go without sending a byte:
    /// the reply timeout.
    fn stall(self) -> Option<Duration> {
        match self {
            SendLimit::None => None,
            SendLimit::ReplyTimeout(_, timeout) => Some(timeout),
            SendLimit::Deadline(_, timeout) => timeout,
        }
    }
}

impl std::fmt::Display for SendLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendLimit::None => f.write_str("no limit"),
            SendLimit::ReplyTimeout(_, timeout) => write!(f, "the reply timeout ({timeout:?})"),
            SendLimit::Deadline(..) => f.write_str("the call's deadline"),
        }
    }
}

/// Why a reply did not go out.
#[derive(Debug)]
pub(crate) enum ReplyNotSent {
    /// Its message could not be built.
    Build(RequestError),
    /// The pipe did not send it (too large for the peer, link gone…).
    Send(SendError),
    /// The link did not take it within its limit; it was cancelled.
    Stuck {
        /// The reply's message id (this side's numbering).
        reply_id: u64,
        /// The limit that passed.
        limit: SendLimit,
    },
}

/// The whole story, causes included: it goes to logs and to the caller.
impl std::fmt::Display for ReplyNotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyNotSent::Build(error) => {
                write!(f, "the reply could not be built: {error}")?;
                let mut cause = std::error::Error::source(error);
                while let Some(error) = cause {
                    write!(f, ": {error}")?;
                    cause = error.source();
                }
                Ok(())
            }
            ReplyNotSent::Send(error) => write!(f, "{error}"),
            ReplyNotSent::Stuck { limit, .. } => {
                write!(f, "the link did not take the reply within {limit}")
            }
        }
    }
}

/// Cancels a reply still being sent when dropped (its call was cancelled,
/// or its limit passed): dropping a [`SendHandle`] alone does not.
struct ReplyInFlight(Option<SendHandle>);

impl Drop for ReplyInFlight {
    fn drop(&mut self) {
        if let Some(handle) = &self.0 {
            handle.cancel();
        }
    }
}

/// Sends a reply and waits until the link has taken it, for at most
/// `limit`; a reply still unsent then is cancelled.
pub(crate) async fn send_within(
    peer: &Peer,
    reply_to: &ReplyTo,
    reply: Reply,
    limit: SendLimit,
) -> Result<(), ReplyNotSent> {
    let streamed = matches!(reply, Reply::Stream { .. });
    let Some(handle) = send_reply(peer, reply_to, reply)? else {
        return Ok(());
    };
    let reply_id = handle.id();
    let mut in_flight = ReplyInFlight(Some(handle));
    let sent = match in_flight.0.as_mut() {
        Some(handle) if streamed => while_progressing(handle, limit).await,
        Some(handle) => until(limit.at(), handle.finished()).await,
        None => Some(Ok(())),
    };
    match sent {
        Some(outcome) => {
            in_flight.0 = None;
            outcome.map_err(ReplyNotSent::Send)
        }
        // `in_flight` cancels it as it goes.
        None => Err(ReplyNotSent::Stuck { reply_id, limit }),
    }
}

/// Waits for a streamed reply to be sent, as long as it is sent: `None`
/// once `limit` passes before its first byte went out, or once no byte of
/// it went out for the reply timeout after that.
async fn while_progressing(
    handle: &mut SendHandle,
    limit: SendLimit,
) -> Option<Result<(), SendError>> {
    let mut sent = handle.bytes_sent();
    let mut until_at = limit.at();
    loop {
        if let Some(outcome) = until(until_at, handle.finished()).await {
            return Some(outcome);
        }
        let now = handle.bytes_sent();
        if now == sent {
            return None;
        }
        sent = now;
        until_at = limit
            .stall()
            .and_then(|stall| Instant::now().checked_add(stall));
    }
}

/// Sends a reply in the connection's dialect; `Ok(None)` when the dialect
/// cannot carry it (an error to a Python peer).
pub(crate) fn send_reply(
    peer: &Peer,
    reply_to: &ReplyTo,
    reply: Reply,
) -> Result<Option<SendHandle>, ReplyNotSent> {
    let Some(message) = peer
        .inner
        .dialect
        .reply(reply_to, reply)
        .map_err(ReplyNotSent::Build)?
    else {
        return Ok(None);
    };
    peer.inner
        .pipe
        .send(message)
        .map(Some)
        .map_err(ReplyNotSent::Send)
}
