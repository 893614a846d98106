//! [`EndpointBuilder`]: everything an endpoint does, registered before it
//! runs.

use std::future::Future;
use std::time::Duration;

use netcore_pipe::IntoPipe;

use crate::dialect;
use crate::endpoint::{Endpoint, EndpointConfig, Lifecycle};
use crate::events::{Events, ListenerResult, Topic};
use crate::handler::Handler;
use crate::router::{Router, RouterError, Routes};
use crate::scheduler::{Scheduler, TaskResult};
use netcore_pipe::{ReceiveMode, WireFormat};

type Registration<T> = Box<dyn FnOnce(&T) + Send>;

/// Builds an [`Endpoint`]: its settings, routes, event listeners and
/// scheduled tasks, all registered before anything runs; then
/// [`start`](EndpointBuilder::start) takes the connection — any
/// [`Transport`](netcore_pipe::Transport) or ready [`Pipe`](netcore_pipe::Pipe).
///
/// Listeners registered here see the endpoint's first events, its
/// [`Started`](crate::LifecycleEvent::Started) among them; scheduled tasks
/// start with the endpoint and stop with its connection.
///
/// ```
/// use std::time::Duration;
/// use netcore_endpoint::{Endpoint, LifecycleEvent, LifecycleKind};
/// use netcore_pipe::transport::memory_pair;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let (a, b) = memory_pair(64 * 1024);
/// let (started_tx, started) = tokio::sync::oneshot::channel();
/// let _server = Endpoint::builder()
///     .route("/hello", |name: String| async move { format!("hello, {name}") })
///     .once(LifecycleKind::Started, move |_: LifecycleEvent| async move {
///         let _ = started_tx.send(());
///     })
///     .every_after(Duration::from_secs(10), Duration::from_secs(300), || async {
///         // refresh something
///     })
///     .start(b)?;
/// started.await?; // the listener saw the start
/// let client = Endpoint::builder().start(a)?;
/// assert_eq!(client.peer().call("/hello", "ada").await?.body, "hello, ada");
/// # Ok(())
/// # }
/// ```
#[must_use = "an endpoint runs only once `start` is called"]
pub struct EndpointBuilder {
    config: EndpointConfig,
    router: Option<Router>,
    /// Routers and routes given whole, merged with `router` at the start.
    built: Vec<Result<Routes, RouterError>>,
    listeners: Vec<Registration<Events>>,
    tasks: Vec<Registration<Scheduler>>,
}

impl std::fmt::Debug for EndpointBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointBuilder")
            .field("config", &self.config)
            .field("router", &self.router)
            .field("built", &self.built)
            .field("listeners", &self.listeners.len())
            .field("tasks", &self.tasks.len())
            .finish()
    }
}

impl Default for EndpointBuilder {
    fn default() -> Self {
        EndpointBuilder::new()
    }
}

impl EndpointBuilder {
    /// A builder with [`EndpointConfig::default`], no routes, no listeners,
    /// no tasks (the same as [`Endpoint::builder`]).
    pub fn new() -> EndpointBuilder {
        EndpointBuilder {
            config: EndpointConfig::default(),
            router: None,
            built: Vec::new(),
            listeners: Vec::new(),
            tasks: Vec::new(),
        }
    }

    /// The endpoint's settings (default [`EndpointConfig::default`]; see
    /// [`EndpointConfig::lossy_link`] and [`EndpointConfig::py013`]).
    /// Listeners registered on this builder go to the events hub of the
    /// endpoint, whichever config set it, before or after them.
    pub fn config(mut self, config: EndpointConfig) -> EndpointBuilder {
        self.config = config;
        self
    }

    /// Adds a route whose handler needs no router state. Registering a path
    /// twice makes [`start`](EndpointBuilder::start) fail.
    pub fn route<H, T>(mut self, path: &str, handler: H) -> EndpointBuilder
    where
        H: Handler<T, ()>,
        T: 'static,
    {
        self.router = Some(self.router.take().unwrap_or_default().route(path, handler));
        self
    }

    /// Nests a router (a blueprint, with its own state, middleware and
    /// hooks) under `prefix`, as [`Router::nest`] does.
    pub fn nest<S>(mut self, prefix: &str, router: Router<S>) -> EndpointBuilder
    where
        S: Clone + Send + Sync + 'static,
    {
        self.router = Some(self.router.take().unwrap_or_default().nest(prefix, router));
        self
    }

    /// Adds a typed route (a `#[derive(Route)]` request type and its
    /// handler), as [`Router::typed`] does.
    pub fn typed<R, H, T>(mut self, handler: H) -> EndpointBuilder
    where
        R: crate::Route,
        H: crate::TypedHandler<R, T, ()>,
        T: 'static,
    {
        self.router = Some(self.router.take().unwrap_or_default().typed(handler));
        self
    }

    /// Serves a whole router at the top level — one with its own state
    /// (`Router::with_state`), middleware and hooks — beside the other
    /// routes: a path registered twice makes
    /// [`start`](EndpointBuilder::start) fail.
    pub fn router<S>(mut self, router: Router<S>) -> EndpointBuilder
    where
        S: Clone + Send + Sync + 'static,
    {
        self.built.push(router.build());
        self
    }

    /// Serves routes built already (shared by several connections, say),
    /// beside the other routes: a path registered twice makes
    /// [`start`](EndpointBuilder::start) fail.
    pub fn routes(mut self, routes: Routes) -> EndpointBuilder {
        self.built.push(Ok(routes));
        self
    }

    /// Calls `listener` on every event of `topic` (a lifecycle kind, a user
    /// event name, …), as [`Events::on`] does, from the endpoint's start.
    pub fn on<T, F, Fut>(mut self, topic: T, listener: F) -> EndpointBuilder
    where
        T: Topic + Send + 'static,
        F: Fn(T::Payload) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: ListenerResult,
    {
        self.listeners.push(Box::new(move |events: &Events| {
            events.on(topic, listener);
        }));
        self
    }

    /// Calls `listener` on the next event of `topic` only, as
    /// [`Events::once`] does.
    pub fn once<T, F, Fut>(mut self, topic: T, listener: F) -> EndpointBuilder
    where
        T: Topic + Send + 'static,
        F: FnOnce(T::Payload) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: ListenerResult,
    {
        self.listeners.push(Box::new(move |events: &Events| {
            events.once(topic, listener);
        }));
        self
    }

    /// Runs `task` once, `delay` after the endpoint starts
    /// ([`Scheduler::after`]).
    pub fn after<F, Fut>(mut self, delay: Duration, task: F) -> EndpointBuilder
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        self.tasks.push(Box::new(move |scheduler: &Scheduler| {
            scheduler.after(delay, task);
        }));
        self
    }

    /// Runs `task` every `period` from the endpoint's start
    /// ([`Scheduler::every`]).
    ///
    /// # Panics
    ///
    /// When `period` is zero.
    pub fn every<F, Fut>(self, period: Duration, task: F) -> EndpointBuilder
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        self.every_after(period, period, task)
    }

    /// Runs `task` first `delay` after the endpoint starts, then every
    /// `period` ([`Scheduler::every_after`]; the Python framework's
    /// `schedule(task, delay=…, interval=…)`).
    ///
    /// # Panics
    ///
    /// When `period` is zero (here, before anything runs).
    pub fn every_after<F, Fut>(mut self, delay: Duration, period: Duration, task: F) -> Self
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        assert!(
            !period.is_zero(),
            "EndpointBuilder::every: the period must be non-zero"
        );
        self.tasks.push(Box::new(move |scheduler: &Scheduler| {
            scheduler.every_after(delay, period, task);
        }));
        self
    }

    /// Starts the endpoint over `io` — any
    /// [`Transport`](netcore_pipe::Transport), or a ready
    /// [`Pipe`](netcore_pipe::Pipe) such as `netcore-transports`' `tcp::connect`
    /// returns: listeners are registered, [`Started`](crate::LifecycleEvent::Started)
    /// is emitted, scheduled tasks begin. Must be called inside a tokio
    /// runtime.
    ///
    /// With no route registered, the endpoint serves nothing: calls from
    /// the peer are answered "route not found" at once. It still calls the
    /// peer and gets its replies.
    ///
    /// # Errors
    ///
    /// [`StartError::Router`] if a route path is invalid or registered
    /// twice; [`StartError::WireMismatch`] if the config asks for the
    /// Python 0.1.3 format and `io` is a pipe built for LSO v2 (the pipe is
    /// closed then). A default config takes a ready pipe in whichever format
    /// it speaks.
    pub fn start(self, io: impl IntoPipe) -> Result<Endpoint, StartError> {
        let EndpointBuilder {
            config,
            router,
            built,
            listeners,
            tasks,
        } = self;
        let mut routes: Option<Routes> = None;
        for next in router.map(Router::build).into_iter().chain(built) {
            let next = next?;
            routes = Some(match routes {
                None => next,
                Some(earlier) => earlier.try_merge(next)?,
            });
        }
        let mut pipe_config = config.pipe.clone();
        pipe_config.receive = ReceiveMode::Streaming;
        let pipe = io.into_pipe(pipe_config);
        check_wire(&config.pipe.wire, pipe.wire_format())?;
        for register in listeners {
            register(&config.events);
        }
        let endpoint = Endpoint::start(pipe, routes, config, Lifecycle::Own, None);
        for register in tasks {
            register(endpoint.scheduler());
        }
        Ok(endpoint)
    }
}

/// Why an endpoint could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A route path is invalid or registered twice.
    #[error(transparent)]
    Router(#[from] RouterError),
    /// The endpoint's config and the ready pipe it was given disagree on
    /// the wire format.
    #[error(
        "the endpoint is set up for {wanted} but the pipe it was given speaks {pipe}: \
         build the pipe with the same wire format (for TCP, \
         `TcpOptions::default().pipe(PipeConfig::py013())`), or give the endpoint \
         the transport itself"
    )]
    WireMismatch {
        /// The format the endpoint's config names.
        wanted: &'static str,
        /// The format the pipe speaks.
        pipe: &'static str,
    },
}

/// A config that names a wire format other than the default must get a
/// pipe speaking it; a default config takes whatever the pipe speaks.
pub(crate) fn check_wire(wanted: &WireFormat, pipe: &WireFormat) -> Result<(), StartError> {
    let wanted = dialect::of(wanted).name();
    let pipe = dialect::of(pipe).name();
    let explicit = wanted != dialect::of(&WireFormat::default()).name();
    if explicit && wanted != pipe {
        return Err(StartError::WireMismatch { wanted, pipe });
    }
    Ok(())
}
