//! The [`Endpoint`]: one connection's dispatcher. It routes the peer's calls
//! and notifications to handlers (each in its own task) and the peer's
//! replies to the calls waiting for them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use netcore_pipe::protocol::Headers;
use netcore_pipe::{Incoming, IntoPipe, PipeConfig, PipeError, ReceiveMode};
use tokio::sync::Semaphore;
use tokio::task::AbortHandle;

use crate::builder::EndpointBuilder;
use crate::events::{Events, LifecycleEvent, LifecycleKind};
use crate::peer::{CallError, Peer, Response};
use crate::peer_id::PeerId;
use crate::reply::{Reply, ReplyCode, ReplyError};
use crate::request::Request;
use crate::router::Routes;
use crate::scheduler::Scheduler;
use crate::wire::{self, Dialect, Inbound, ReplyTo};

/// Settings of an endpoint.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// The pipe's settings (its receive mode is set to streaming). Its wire
    /// format decides the dialect: [`PipeConfig::python_013`] talks to
    /// Python netcore 0.1.3 peers (see [`crate::python`]).
    pub pipe: PipeConfig,
    /// Handlers running at once on this connection; further requests wait,
    /// which backs the peer off (backpressure).
    pub max_concurrent_handlers: usize,
    /// Timeout of calls that do not set their own; `None`: wait forever
    /// (except with Python peers, which never send error replies: then
    /// [`python::DEFAULT_CALL_TIMEOUT`](crate::python::DEFAULT_CALL_TIMEOUT)).
    pub default_timeout: Option<Duration>,
    /// Where lifecycle events go (peer connected or gone, request, reply,
    /// cancel, transport error). A server shares one hub across connections.
    pub events: Events,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            pipe: PipeConfig::default(),
            max_concurrent_handlers: 256,
            default_timeout: Some(Duration::from_secs(30)),
            events: Events::new(),
        }
    }
}

impl EndpointConfig {
    /// Settings to talk to a peer running the Python framework netcore 0.1.3:
    /// the defaults over [`PipeConfig::python_013`] (see [`crate::python`]).
    ///
    /// ```
    /// use netcore_endpoint::EndpointConfig;
    /// use netcore_pipe::WireFormat;
    /// let config = EndpointConfig::python_013();
    /// assert!(matches!(config.pipe.wire, WireFormat::Python013(_)));
    /// ```
    pub fn python_013() -> EndpointConfig {
        EndpointConfig::over(PipeConfig::python_013())
    }

    /// Settings for links that lose, insert or flip bytes — a raw UART, a
    /// radio: the defaults over [`PipeConfig::lossy_link`] (the decoder
    /// resynchronises after damage instead of failing the link; small
    /// chunks and reads suit a slow line). What `netcore-transports` uses
    /// for serial ports.
    ///
    /// ```
    /// use netcore_endpoint::EndpointConfig;
    /// let config = EndpointConfig::lossy_link();
    /// assert_eq!(config.pipe.core.chunk_size, 512);
    /// ```
    pub fn lossy_link() -> EndpointConfig {
        EndpointConfig::over(PipeConfig::lossy_link())
    }

    /// The endpoint defaults over the given pipe settings.
    ///
    /// ```
    /// use netcore_endpoint::EndpointConfig;
    /// use netcore_pipe::PipeConfig;
    /// let config = EndpointConfig::over(PipeConfig { read_size: 4096, ..PipeConfig::default() });
    /// assert_eq!(config.pipe.read_size, 4096);
    /// ```
    pub fn over(pipe: PipeConfig) -> EndpointConfig {
        EndpointConfig {
            pipe,
            ..EndpointConfig::default()
        }
    }
}

static NEXT_PEER: AtomicU64 = AtomicU64::new(1);

/// One connection with routes on this side and a [`Peer`] on the other.
/// Both sides are peers: each can call the other's routes.
///
/// ```
/// use netcore_endpoint::{Endpoint, EndpointConfig, Router};
/// use netcore_pipe::transport::memory_pair;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// async fn hello(name: String) -> String { format!("hello, {name}") }
/// let (a, b) = memory_pair(64 * 1024);
/// let server = Endpoint::new(b, Router::new().route("/hello", hello).build()?, EndpointConfig::default());
/// let client = Endpoint::builder().start(a)?; // a client: no routes
/// let reply = client.peer().call("/hello", "world").await?;
/// assert_eq!(reply.body, "hello, world");
/// # drop(server);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Endpoint {
    peer: Peer,
    dispatcher: tokio::task::JoinHandle<()>,
    handlers: Arc<Semaphore>,
    max_handlers: u32,
    closing: Arc<AtomicBool>,
    events: Events,
    scheduler: Scheduler,
}

impl Endpoint {
    /// Starts building an endpoint: routes, event listeners and scheduled
    /// tasks are registered on the [`EndpointBuilder`] before anything runs,
    /// then [`start`](EndpointBuilder::start) takes the connection.
    ///
    /// ```
    /// use netcore_endpoint::Endpoint;
    /// use netcore_pipe::transport::memory_pair;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let (a, b) = memory_pair(64 * 1024);
    /// let _server = Endpoint::builder().route("/ping", || async { "pong" }).start(b)?;
    /// let client = Endpoint::builder().start(a)?; // a client needs no routes
    /// assert_eq!(client.peer().call("/ping", "").await?.body, "pong");
    /// # Ok(())
    /// # }
    /// ```
    pub fn builder() -> EndpointBuilder {
        EndpointBuilder::new()
    }

    /// Starts an endpoint over `io` — any [`Transport`](netcore_pipe::Transport),
    /// or a ready [`Pipe`](netcore_pipe::Pipe) such as the `netcore-transports` helpers return —
    /// serving `routes`. Must be called inside a tokio runtime.
    ///
    /// The short form of [`Endpoint::builder`] for routes built already (a
    /// router shared by several connections, say). Emits
    /// [`Started`](LifecycleEvent::Started) to `config.events` now and
    /// [`Stopped`](LifecycleEvent::Stopped) when the connection is over.
    ///
    /// Over a transport, the pipe is started with `config.pipe`; a ready
    /// pipe keeps the settings it was built with (its wire format decides
    /// the dialect) and is switched to streaming delivery
    /// ([`Pipe::accept`](netcore_pipe::Pipe::accept)).
    pub fn new(io: impl IntoPipe, routes: Routes, config: EndpointConfig) -> Endpoint {
        Endpoint::start(io, Some(routes), config, Lifecycle::Own)
    }

    /// Starts the endpoint; `lifecycle` says whether it reports its own
    /// start and stop (a server's connections do not: the server does).
    pub(crate) fn start(
        io: impl IntoPipe,
        routes: Option<Routes>,
        mut config: EndpointConfig,
        lifecycle: Lifecycle,
    ) -> Endpoint {
        let id = PeerId(NEXT_PEER.fetch_add(1, Ordering::Relaxed));
        config.pipe.receive = ReceiveMode::Streaming;
        let pipe = io.into_pipe(config.pipe.clone());
        let dialect = Dialect::of(pipe.wire_format());
        let peer = Peer::new(id, pipe, config.default_timeout, dialect);
        let max_handlers =
            u32::try_from(config.max_concurrent_handlers.clamp(1, 1 << 20)).unwrap_or(1);
        let handlers = Arc::new(Semaphore::new(max_handlers as usize));
        let closing = Arc::new(AtomicBool::new(false));
        let scheduler = Scheduler::new();
        if lifecycle == Lifecycle::Own {
            config.events.emit_lifecycle(LifecycleEvent::Started);
        }
        let dispatcher = Dispatcher {
            peer: peer.clone(),
            routes: routes.map(Arc::new),
            handlers: handlers.clone(),
            running: Arc::new(Mutex::new(HashMap::new())),
            closing: closing.clone(),
            events: config.events.clone(),
            scheduler: scheduler.clone(),
            lifecycle,
        };
        let dispatcher = tokio::spawn(dispatcher.run());
        Endpoint {
            events: config.events,
            scheduler,
            peer,
            dispatcher,
            handlers,
            max_handlers,
            closing,
        }
    }

    /// The other side, to call and notify.
    pub fn peer(&self) -> &Peer {
        &self.peer
    }

    /// This connection's id.
    pub fn id(&self) -> PeerId {
        self.peer.id()
    }

    /// The hub this endpoint reports its lifecycle events to.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// This connection's scheduler: its tasks stop when the connection ends.
    pub fn scheduler(&self) -> &Scheduler {
        &self.scheduler
    }

    /// Closes gracefully: new calls from the peer are refused
    /// ([`ReplyCode::OVERLOADED`], "shutting down"), the handlers running
    /// finish and their replies are sent, calls this side made get their
    /// replies, then the link closes.
    pub async fn close(&self) -> Result<(), PipeError> {
        self.closing.store(true, Ordering::SeqCst);
        // Every handler slot free means no handler is running.
        if let Ok(all) = self.handlers.acquire_many(self.max_handlers).await {
            drop(all);
        }
        self.peer.close().await
    }

    /// Waits until the connection has ended.
    pub async fn closed(&self) -> Result<(), PipeError> {
        self.peer.closed().await
    }
}

impl Drop for Endpoint {
    /// Dropping the endpoint closes its connection gracefully; `Peer` clones
    /// kept elsewhere then see the connection end. The dispatcher stops when
    /// the pipe has closed.
    fn drop(&mut self) {
        self.peer.inner.pipe.start_close();
        let _ = &self.dispatcher;
    }
}

type Running = Arc<Mutex<HashMap<u64, AbortHandle>>>;

/// Whether an endpoint reports its own [`Started`](LifecycleEvent::Started)
/// and [`Stopped`](LifecycleEvent::Stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// A connection of its own: it does.
    Own,
    /// One connection of a server: the server does.
    Server,
}

/// Reads the connection: replies complete the calls waiting for them;
/// requests go to the routes (refused at once when there are none).
struct Dispatcher {
    peer: Peer,
    /// `None`: this side serves nothing (a client).
    routes: Option<Arc<Routes>>,
    handlers: Arc<Semaphore>,
    running: Running,
    closing: Arc<AtomicBool>,
    events: Events,
    scheduler: Scheduler,
    lifecycle: Lifecycle,
}

impl Dispatcher {
    async fn run(self) {
        let peer_id = self.peer.id();
        self.events
            .emit_lifecycle(LifecycleEvent::PeerConnected { peer: peer_id });
        let pipe = &self.peer.inner.pipe;
        let dialect = self.peer.inner.dialect;
        // Replies being read; the calls they answer must complete before the
        // remaining ones are failed when the connection ends.
        let mut deliveries = tokio::task::JoinSet::new();
        let error = loop {
            while deliveries.try_join_next().is_some() {}
            let incoming = match pipe.accept().await {
                Ok(incoming) => incoming,
                Err(error) => break error,
            };
            let headers = incoming.headers.clone();
            let peer = &self.peer;
            let inbound = dialect.classify(headers, |call_id| peer.is_pending(call_id));
            let closing = self.closing.load(Ordering::SeqCst);
            match inbound {
                Inbound::Reply {
                    call_id,
                    error,
                    headers,
                } => {
                    let peer = self.peer.clone();
                    deliveries.spawn(deliver_reply(peer, incoming, call_id, error, headers));
                }
                Inbound::Call { reply_to, .. } if closing => {
                    let refusal = Reply::error(ReplyCode::OVERLOADED, "shutting down");
                    let _ = send_reply(&self.peer, &reply_to, refusal);
                }
                Inbound::Notify { .. } if closing => {}
                Inbound::Call {
                    route,
                    call_id,
                    reply_to,
                    deadline,
                    headers,
                } => {
                    let call = Call {
                        route,
                        headers,
                        deadline,
                        reply: Some((call_id, reply_to)),
                    };
                    self.start(incoming, call);
                }
                Inbound::Notify { route, headers } => {
                    let call = Call {
                        route,
                        headers,
                        deadline: None,
                        reply: None,
                    };
                    self.start(incoming, call);
                }
                Inbound::Cancel { call_id } => {
                    if let Some(task) = lock(&self.running).remove(&call_id) {
                        tracing::debug!(call = call_id, "call cancelled by the caller");
                        task.abort();
                        self.events
                            .emit_lifecycle(LifecycleEvent::MessageCancelled {
                                peer: peer_id,
                                message_id: incoming.id,
                            });
                    }
                }
                Inbound::Ignored(why) => {
                    tracing::debug!(message = incoming.id, why, "incoming message dropped");
                }
            }
        };
        tracing::debug!(peer = %peer_id, %error, "connection over");
        self.scheduler.shutdown();
        while deliveries.join_next().await.is_some() {}
        for (_, task) in lock(&self.running).drain() {
            task.abort();
        }
        self.peer.fail_all(error);
        // How it ended: the pipe's own verdict, once it is in.
        let outcome = self.peer.closed().await;
        if let Err(PipeError::Transport(io)) = &outcome {
            self.events.emit_lifecycle(LifecycleEvent::TransportError {
                peer: peer_id,
                error: io.to_string(),
            });
        }
        self.events
            .emit_lifecycle(LifecycleEvent::PeerDisconnected {
                peer: peer_id,
                reason: outcome.err().map(|error| error.to_string()),
            });
        if self.lifecycle == Lifecycle::Own {
            self.events.emit_lifecycle(LifecycleEvent::Stopped);
        }
    }

    /// Starts serving a call or notification in its own task.
    fn start(&self, incoming: Incoming, call: Call) {
        let Some(routes) = self.routes.clone() else {
            // Nothing is served here: say so at once, no task needed.
            tracing::debug!(
                route = call.route,
                "request to a peer that serves no routes"
            );
            if let Some((_, reply_to)) = &call.reply {
                let refusal = Reply::error(
                    ReplyCode::NOT_FOUND,
                    format!(
                        "route not found: {} (this peer serves no routes)",
                        call.route
                    ),
                );
                let _ = send_reply(&self.peer, reply_to, refusal);
            }
            return;
        };
        let call_id = call.reply.as_ref().map(|(call_id, _)| *call_id);
        let handlers = self.handlers.clone();
        let serving = serve(
            self.peer.clone(),
            routes,
            incoming,
            call,
            self.running.clone(),
            self.events.clone(),
        );
        // The request waits for a handler slot in its own task: the
        // dispatcher keeps reading, so replies and cancels still get through
        // when every slot is busy (handlers that call back this peer would
        // deadlock otherwise). The waiting requests' bodies are not read, so
        // flow control holds their senders back.
        let mut running = lock(&self.running);
        let task = tokio::spawn(async move {
            let Ok(_slot) = handlers.acquire_owned().await else {
                return;
            };
            serving.await;
        });
        // Registered before the task can finish and unregister.
        if let Some(call_id) = call_id {
            running.insert(call_id, task.abort_handle());
        }
    }
}

/// What the dispatcher learnt of a request before serving it.
struct Call {
    route: String,
    headers: Headers,
    deadline: Option<Duration>,
    /// The call id and where the reply goes; `None` for a notification.
    reply: Option<(u64, ReplyTo)>,
}

fn lock(running: &Running) -> std::sync::MutexGuard<'_, HashMap<u64, AbortHandle>> {
    running.lock().unwrap_or_else(|e| e.into_inner())
}

/// Completes the call a reply answers.
async fn deliver_reply(
    peer: Peer,
    incoming: Incoming,
    call_id: u64,
    is_error: bool,
    headers: Headers,
) {
    let result = match incoming.bytes().await {
        Err(error) => Err(CallError::Connection(error)),
        Ok(body) if is_error => {
            let code = wire::number(&headers, wire::CODE)
                .and_then(|code| u32::try_from(code).ok())
                .unwrap_or(ReplyCode::INTERNAL.0);
            let message = String::from_utf8_lossy(&body).into_owned();
            Err(CallError::Remote(ReplyError::new(ReplyCode(code), message)))
        }
        Ok(body) => Ok(Response { headers, body }),
    };
    peer.complete(call_id, result);
}

/// Runs one request through the routes and answers it (for calls).
async fn serve(
    peer: Peer,
    routes: Arc<Routes>,
    incoming: Incoming,
    call: Call,
    running: Running,
    events: Events,
) {
    let Call {
        route,
        headers,
        deadline,
        reply: reply_to,
    } = call;
    let call_id = reply_to.as_ref().map(|(call_id, _)| *call_id);
    let message_id = incoming.id;
    if events.has_lifecycle_listener(LifecycleKind::Request) {
        events.emit_lifecycle(LifecycleEvent::Request {
            peer: peer.id(),
            route: route.clone(),
            message_id,
        });
    }
    // A streaming handler gets the body as it arrives; others get it whole.
    let (body, stream) = if routes.streams_body(&route) {
        (Ok(Bytes::new()), Some(incoming.body))
    } else {
        (incoming.bytes().await, None)
    };
    let reply = match body {
        Err(error) => {
            tracing::debug!(%error, route, "request body failed");
            Reply::error(
                ReplyCode::BAD_REQUEST,
                format!("the request body failed: {error}"),
            )
        }
        Ok(body) => {
            let request = Request {
                route: route.clone(),
                message_id,
                call_id,
                headers,
                body,
                peer: peer.clone(),
                stream: Arc::new(Mutex::new(stream)),
            };
            // The handler runs in its own task, so a panic is caught here;
            // if this task is aborted (the caller cancelled), so is it.
            let handler = tokio::spawn(async move { routes.dispatch(request).await });
            let abort = handler.abort_handle();
            let _abort_with_me = AbortOnDrop(handler.abort_handle());
            let outcome = match deadline {
                Some(deadline) => tokio::time::timeout(deadline, handler).await.ok(),
                None => Some(handler.await),
            };
            match outcome {
                None => {
                    abort.abort();
                    Reply::error(ReplyCode::TIMEOUT, format!("{route} passed its deadline"))
                }
                Some(Ok(reply)) => reply,
                Some(Err(join)) if join.is_panic() => {
                    tracing::warn!(route, "handler panicked");
                    Reply::error(
                        ReplyCode::INTERNAL,
                        format!("the handler of {route} panicked"),
                    )
                }
                Some(Err(_)) => Reply::error(ReplyCode::CANCELLED, "cancelled"),
            }
        }
    };
    let Some((call_id, reply_to)) = reply_to else {
        if let Reply::Err(error) = reply {
            tracing::debug!(route, %error, "notification handler failed");
        }
        return;
    };
    lock(&running).remove(&call_id);
    let ok = !reply.is_err();
    let sent = match send_reply(&peer, &reply_to, reply) {
        Ok(Some(handle)) => handle.await.map_err(|error| error.to_string()),
        Ok(None) => Ok(()),
        Err(error) => Err(error),
    };
    match sent {
        Ok(()) if events.has_lifecycle_listener(LifecycleKind::Reply) => {
            events.emit_lifecycle(LifecycleEvent::Reply {
                peer: peer.id(),
                route,
                message_id,
                ok,
            });
        }
        Ok(()) => {}
        Err(error) => {
            // The reply could not go (too large for the peer, say): tell the
            // caller rather than leave it waiting for its timeout.
            tracing::debug!(%error, call = call_id, "reply not sent");
            let refusal = Reply::error(
                ReplyCode::INTERNAL,
                format!("the reply of {route} could not be sent: {error}"),
            );
            let _ = send_reply(&peer, &reply_to, refusal);
        }
    }
}

/// Aborts a task when dropped.
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends a reply in the connection's dialect; `Ok(None)` when the dialect
/// cannot carry it (an error to a Python peer).
fn send_reply(
    peer: &Peer,
    reply_to: &ReplyTo,
    reply: Reply,
) -> Result<Option<netcore_pipe::SendHandle>, String> {
    let Some(message) = peer.inner.dialect.reply(reply_to, reply)? else {
        return Ok(None);
    };
    peer.inner
        .pipe
        .send(message)
        .map(Some)
        .map_err(|e| e.to_string())
}
