//! The [`Endpoint`]: one connection, its settings and its lifecycle. Its
//! [`Reader`] sorts what arrives (replies to the calls waiting for them,
//! requests to [`Requests`](crate::serving::Requests), which runs each
//! handler in its own task).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use netcore_pipe::{ConnectionError, IntoPipe, PipeConfig, ReceiveMode};
use tokio::sync::Semaphore;

use crate::admission::{Admission, SharedPlaces};
use crate::body_budget::BodyBudget;
use crate::builder::{EndpointBuilder, check_wire};
use crate::dialect;
use crate::events::{Events, LifecycleEvent};
use crate::inbound::Reader;
use crate::peer::Peer;
use crate::peer_id::PeerId;
use crate::router::Routes;
use crate::scheduler::Scheduler;
use crate::serving::{RequestLimits, Requests};

/// Settings of an endpoint.
#[derive(Debug, Clone, getset::WithSetters)]
#[getset(set_with = "pub")]
#[non_exhaustive]
pub struct EndpointConfig {
    /// The pipe's settings (its receive mode is set to streaming). Its wire
    /// format decides the dialect: [`PipeConfig::py013`] talks to
    /// Python netcore 0.1.3 peers (see [`crate::py013`]). By default its
    /// [`accept_backlog`](PipeConfig::accept_backlog) is 64 (a bare pipe's
    /// is 1024): the endpoint takes requests as soon as they have a place,
    /// so its pipe holds more only when every place is taken.
    pub pipe: PipeConfig,
    /// Handlers running at once on this connection (at least 1); further
    /// requests wait in the queue of [`max_queued_requests`](Self::max_queued_requests).
    /// A handler's slot is held until its reply has been handed to the link
    /// (or given up, see [`reply_timeout`](Self::reply_timeout)). Default 256.
    pub max_concurrent_handlers: usize,
    /// Requests of this connection waiting for a handler slot, beyond the
    /// [`max_concurrent_handlers`](Self::max_concurrent_handlers) running.
    /// Once that many wait, the endpoint accepts no further message from
    /// the pipe until a request is done: the pipe, then the transport, push
    /// back on the peer (back-pressure), and nothing is spawned or kept for
    /// the excess. Nothing is refused or lost: every request is served in
    /// turn.
    ///
    /// Replies to this side's own calls come through the same pipe, behind
    /// the requests the peer sent before them: while a request waits for a
    /// place, they wait too. Routes whose handlers call back the peer that
    /// called them (both ways at once) need a queue longer than the calls in
    /// flight, or they wait for call timeouts (see the crate docs, "Bounds
    /// per connection").
    ///
    /// Default 256: with the default handlers, a connection holds at most
    /// 512 requests (each a task and its headers), a few hundred KiB, and
    /// one burst of 256 more calls than there are slots still flows without
    /// a pause. 0: no queue, reading pauses as soon as every slot is busy.
    pub max_queued_requests: usize,
    /// How long a reply may take to be handed to the link once its handler
    /// has finished; a reply still unsent then is cancelled (the peer is
    /// told if the link recovers), its handler slot freed, and a WARN log
    /// and a [`MessageCancelled`](LifecycleEvent::MessageCancelled) event
    /// (with the reply's message id) say so. A call's own deadline
    /// (`nc-deadline-ms`, from the caller's timeout) limits the send as
    /// well, whichever comes first. `None`: replies wait as long as the
    /// connection lives.
    ///
    /// Default 30 s: a reply that a peer has not taken in 30 s (it reads
    /// nothing, or grants no flow-control credit) is not coming, and a peer
    /// doing that must not hold every handler slot.
    pub reply_timeout: Option<Duration>,
    /// Bytes of request bodies this connection holds in memory at once for
    /// routes that take the whole body (every extractor but
    /// [`Streamed`](crate::Streamed), whose bodies stream and are not
    /// counted). The room is held from before the body is read until the
    /// request's reply has been sent.
    ///
    /// - A body whose length the peer announced reserves all of it before
    ///   any byte is read; while there is no room it is not read, so flow
    ///   control holds its sender. Such bodies get room in arrival order.
    ///   The wait ends with the call's deadline, its cancel or the
    ///   connection's end, like the other waits.
    /// - A body larger than the whole budget is refused at once with
    ///   [`ReplyCode::TOO_LARGE`](crate::ReplyCode::TOO_LARGE) (the message
    ///   names the size and this limit); the body is cancelled at its sender
    ///   once the refusal has gone out, and the connection goes on.
    /// - A body of unannounced length (a streamed `Body`) takes room as its
    ///   bytes arrive; past the budget it is refused with `TOO_LARGE`. When
    ///   no room is free, one such body at a time may wait for some (before
    ///   the bodies of announced length that wait); another that needs more
    ///   meanwhile is refused with [`ReplyCode::OVERLOADED`](crate::ReplyCode::OVERLOADED)
    ///   rather than wait, so two growing bodies can never each wait for
    ///   the room the other holds.
    ///
    /// What a handler keeps of the body beyond its request (a clone of the
    /// `Bytes` stored elsewhere) is no longer counted.
    ///
    /// Default 64 MiB: any single body up to 64 MiB is served (larger ones
    /// belong on a streaming route, which has no such limit), and a few
    /// large calls or many small ones run side by side; before, one
    /// connection could make this side hold `max_concurrent_handlers` x
    /// `max_message_size` (256 x 4 GiB). It is a bound per connection; the
    /// connections of a [`Server`](crate::Server) share its
    /// [`ServerConfig::max_buffered_request_bytes`](crate::ServerConfig::max_buffered_request_bytes)
    /// instead, so that many peers cannot each hold their own 64 MiB.
    /// 0: every route that takes its body whole is refused any non-empty
    /// body.
    pub max_buffered_request_bytes: u64,
    /// Timeout of calls that do not set their own; `None`: wait forever
    /// (except with Python peers, which never send error replies: then
    /// [`py013::DEFAULT_CALL_TIMEOUT`](crate::py013::DEFAULT_CALL_TIMEOUT)).
    pub default_timeout: Option<Duration>,
    /// Where lifecycle events go (peer connected or gone, request, reply,
    /// cancel, transport error). A server shares one hub across connections.
    pub events: Events,
}

/// The default [`PipeConfig::accept_backlog`] of an endpoint's pipe.
const ENDPOINT_ACCEPT_BACKLOG: usize = 64;

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            // The reader takes requests off the pipe as soon as they have a
            // place, so the pipe's backlog only fills once every place is
            // taken: a short one then stops reading sooner, and a flood of
            // calls costs 64 messages there instead of 1024.
            pipe: PipeConfig::default().with_accept_backlog(ENDPOINT_ACCEPT_BACKLOG),
            max_concurrent_handlers: 256,
            max_queued_requests: 256,
            reply_timeout: Some(Duration::from_secs(30)),
            max_buffered_request_bytes: 64 << 20,
            default_timeout: Some(Duration::from_secs(30)),
            events: Events::new(),
        }
    }
}

impl EndpointConfig {
    /// Settings to talk to a peer running the Python framework netcore 0.1.3:
    /// the defaults over [`PipeConfig::py013`] (see [`crate::py013`]).
    ///
    /// ```
    /// use netcore_endpoint::EndpointConfig;
    /// use netcore_pipe::WireFormat;
    /// let config = EndpointConfig::py013();
    /// assert!(matches!(config.pipe.wire, WireFormat::Py013(_)));
    /// ```
    pub fn py013() -> EndpointConfig {
        EndpointConfig::over(PipeConfig::py013().with_accept_backlog(ENDPOINT_ACCEPT_BACKLOG))
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
        EndpointConfig::over(PipeConfig::lossy_link().with_accept_backlog(ENDPOINT_ACCEPT_BACKLOG))
    }

    /// The endpoint defaults over the given pipe settings.
    ///
    /// ```
    /// use netcore_endpoint::EndpointConfig;
    /// use netcore_pipe::PipeConfig;
    /// let config = EndpointConfig::over(PipeConfig::default().with_read_size(4096));
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
    reader: tokio::task::JoinHandle<()>,
    handlers: Arc<Semaphore>,
    max_handlers: u32,
    admission: Arc<Admission>,
    body_budget: Arc<BodyBudget>,
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
        Endpoint::start(io, Some(routes), config, Lifecycle::Own, None)
    }

    /// Starts the endpoint; `lifecycle` says whether it reports its own
    /// start and stop (a server's connections do not: the server does).
    pub(crate) fn start(
        io: impl IntoPipe,
        routes: Option<Routes>,
        mut config: EndpointConfig,
        lifecycle: Lifecycle,
        shared: Option<ServerShares>,
    ) -> Endpoint {
        let id = PeerId(NEXT_PEER.fetch_add(1, Ordering::Relaxed));
        config.pipe.receive = ReceiveMode::Streaming;
        let pipe = io.into_pipe(config.pipe.clone());
        if let Err(mismatch) = check_wire(&config.pipe.wire, pipe.wire_format()) {
            // `Endpoint::builder` refuses this; `new` keeps the pipe's format.
            tracing::warn!(%mismatch, "endpoint started anyway, in the pipe's format");
        }
        let dialect = dialect::of(pipe.wire_format());
        let peer = Peer::new(id, pipe, config.default_timeout, dialect);
        let max_handlers =
            u32::try_from(config.max_concurrent_handlers.clamp(1, 1 << 20)).unwrap_or(1);
        let handlers = Arc::new(Semaphore::new(max_handlers as usize));
        let closing = Arc::new(AtomicBool::new(false));
        let scheduler = Scheduler::new();
        if lifecycle == Lifecycle::Own {
            config.events.emit_lifecycle(LifecycleEvent::Started);
        }
        let places = (max_handlers as usize).saturating_add(config.max_queued_requests);
        let (shared_places, shared_body_budget) = shared.map_or((None, None), |shared| {
            (Some(shared.places), Some(shared.body_budget))
        });
        let admission = Admission::new(places, shared_places);
        // A server's connections share its budget; one of its own otherwise.
        let body_budget = shared_body_budget
            .unwrap_or_else(|| BodyBudget::new(config.max_buffered_request_bytes));
        let requests = Requests::new(
            peer.clone(),
            routes,
            handlers.clone(),
            admission.clone(),
            closing.clone(),
            config.events.clone(),
            RequestLimits {
                reply_timeout: config.reply_timeout,
                body_budget: body_budget.clone(),
            },
        );
        let reader = Reader {
            peer: peer.clone(),
            requests,
            events: config.events.clone(),
            scheduler: scheduler.clone(),
            lifecycle,
        };
        let reader = tokio::spawn(reader.run());
        Endpoint {
            events: config.events,
            scheduler,
            peer,
            reader,
            handlers,
            max_handlers,
            admission,
            body_budget,
            closing,
        }
    }

    /// The peer's requests this connection holds now (waiting for a handler
    /// slot, running, or sending their reply) and the most it held at once
    /// so far: never more than
    /// [`max_concurrent_handlers`](EndpointConfig::max_concurrent_handlers) +
    /// [`max_queued_requests`](EndpointConfig::max_queued_requests). For
    /// tests of that bound; not a stable API.
    #[doc(hidden)]
    pub fn requests_held(&self) -> (usize, usize) {
        self.admission.taken_and_peak()
    }

    /// Bytes of request bodies this connection holds room for now and the
    /// most it held at once so far: never more than
    /// [`max_buffered_request_bytes`](EndpointConfig::max_buffered_request_bytes).
    /// For tests of that bound; not a stable API.
    #[doc(hidden)]
    pub fn request_bytes_buffered(&self) -> (u64, u64) {
        self.body_budget.held_and_peak()
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
    /// ([`ReplyCode::OVERLOADED`](crate::ReplyCode::OVERLOADED), "shutting down"), the handlers running
    /// finish and their replies are sent, calls this side made get their
    /// replies, then the link closes.
    pub async fn close(&self) -> Result<(), ConnectionError> {
        self.closing.store(true, Ordering::SeqCst);
        // Every handler slot free means no handler is running.
        if let Ok(all) = self.handlers.acquire_many(self.max_handlers).await {
            drop(all);
        }
        self.peer.close().await
    }

    /// Waits until the connection has ended.
    pub async fn closed(&self) -> Result<(), ConnectionError> {
        self.peer.closed().await
    }
}

impl Drop for Endpoint {
    /// Dropping the endpoint closes its connection gracefully; `Peer` clones
    /// kept elsewhere then see the connection end. The reader stops when
    /// the pipe has closed.
    fn drop(&mut self) {
        self.peer.inner.pipe.start_close();
        let _ = &self.reader;
    }
}

/// Whether an endpoint reports its own [`Started`](LifecycleEvent::Started)
/// and [`Stopped`](LifecycleEvent::Stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    /// A connection of its own: it does.
    Own,
    /// One connection of a server: the server does.
    Server,
}

/// What a server's connections share instead of holding each their own:
/// the room for collected request bodies, and request places beyond each
/// connection's own few.
#[derive(Debug, Clone)]
pub(crate) struct ServerShares {
    pub(crate) body_budget: Arc<BodyBudget>,
    pub(crate) places: Arc<SharedPlaces>,
}
