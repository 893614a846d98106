//! The [`Router`]: exact routes, blueprints by nesting, fallbacks, tower
//! middleware and hooks.
//!
//! ## Paths and prefixes
//!
//! A route path starts with `/` (`/users/list`). [`Router::nest`] mounts a
//! router (a *blueprint*) under a prefix that starts with `/` and does not end
//! with one (`/users`): its route `/list` becomes `/users/list`, its route `/`
//! becomes `/users` itself. Nesting nests: a blueprint may hold blueprints.
//! Typed routes ([`Router::typed`]) keep the path their type declares
//! wherever they are nested: that path is the contract with the caller.
//! Lookup is one hash-map probe on the full path.
//!
//! A route may also be a bare name without any `/` (`echo`): that is how
//! Python netcore 0.1.3 names its routes (see [`crate::py013`]). Bare names
//! live at the top level only; nesting one under a prefix is a
//! [`RouterError::BadPath`].
//!
//! ## Scoping
//!
//! Everything added to a router applies to that router's routes only:
//! [`Router::layer`] wraps the routes (and fallback) present when it is called
//! — so a blueprint's middleware wraps only the blueprint's routes, while a
//! layer added to the parent after nesting wraps the parent's routes and the
//! nested ones alike, outside the blueprint's own. Hooks
//! ([`Router::before`], [`Router::after`], [`Router::on_error`]) wrap the
//! router's routes when it is nested or built, outside its layers.
//!
//! ## Unknown routes
//!
//! A path with no route goes to the fallback of the deepest blueprint whose
//! prefix contains it, else the root fallback, else it is answered with
//! [`ReplyCode::NOT_FOUND`](crate::ReplyCode::NOT_FOUND) — never silence.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

use crate::handler::{Handler, HandlerService};
use crate::reply::{Reply, ReplyCode, ReplyError};
use crate::request::{Request, RequestMeta};

/// A route as a type-erased tower service.
pub type RouteService = BoxCloneSyncService<Request, Reply, Infallible>;

type BeforeHook = Arc<dyn Fn(Request) -> BoxFuture<'static, Result<Request, Reply>> + Send + Sync>;
type AfterHook = Arc<dyn Fn(RequestMeta, Reply) -> BoxFuture<'static, Reply> + Send + Sync>;
type ErrorHook = Arc<dyn Fn(ReplyError, &RequestMeta) -> Reply + Send + Sync>;

/// Why a router could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// Two handlers were registered for the same full path.
    #[error("route {route:?} is registered twice")]
    DuplicateRoute {
        /// The full path.
        route: String,
    },
    /// A path or prefix does not follow the rules (see the module docs).
    #[error("bad path {path:?}: {reason}")]
    BadPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Routes, blueprints, middleware and hooks; see the [module docs](self).
///
/// ```
/// use netcore_endpoint::{Json, Router};
///
/// async fn list() -> &'static str { "alice, bob" }
/// async fn echo(Json(value): Json<serde_json::Value>) -> Json<serde_json::Value> { Json(value) }
///
/// let users = Router::new().route("/list", list);
/// let router = Router::new()
///     .route("/echo", echo)
///     .nest("/users", users);
/// let routes = router.build().expect("no duplicate routes");
/// assert!(routes.contains("/users/list"));
/// ```
pub struct Router<S = ()> {
    state: S,
    routes: HashMap<String, RouteService>,
    /// Routes whose handler streams the request body.
    streaming: HashSet<String>,
    /// Routes whose path is absolute: nesting keeps it as it is (typed
    /// routes, whose path is the contract with the caller).
    absolute: HashSet<String>,
    /// Fallbacks by prefix ("" for this router's own).
    fallbacks: Vec<(String, RouteService)>,
    before: Vec<BeforeHook>,
    after: Vec<AfterHook>,
    on_error: Option<ErrorHook>,
    errors: Vec<RouterError>,
}

impl Router<()> {
    /// A router with no state.
    pub fn new() -> Router<()> {
        Router::with_state(())
    }
}

impl Default for Router<()> {
    fn default() -> Self {
        Router::new()
    }
}

impl<S: Clone + Send + Sync + 'static> Router<S> {
    /// A router whose handlers may extract [`State<S>`](crate::State).
    pub fn with_state(state: S) -> Router<S> {
        Router {
            state,
            routes: HashMap::new(),
            streaming: HashSet::new(),
            absolute: HashSet::new(),
            fallbacks: Vec::new(),
            before: Vec::new(),
            after: Vec::new(),
            on_error: None,
            errors: Vec::new(),
        }
    }

    /// Adds a route. Registering a path twice makes [`Router::build`] fail.
    pub fn route<H, T>(mut self, path: &str, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        if let Err(error) = check_path(path) {
            self.errors.push(error);
            return self;
        }
        if H::streams_body() {
            self.streaming.insert(path.to_owned());
        }
        let service = RouteService::new(HandlerService::new(handler, self.state.clone()));
        self.insert(path.to_owned(), service);
        self
    }

    /// Marks route `path` as absolute: [`Router::nest`] keeps its path as it
    /// is instead of prefixing it. Typed routes are absolute, so that a
    /// blueprint's middleware and hooks can wrap them while callers still
    /// reach them at the path their type declares.
    pub(crate) fn absolute(mut self, path: &str) -> Self {
        self.absolute.insert(path.to_owned());
        self
    }

    /// Marks the route at `path` as taking its body as a stream (a typed
    /// route whose request streams).
    pub(crate) fn streaming_body(mut self, path: &str) -> Self {
        self.streaming.insert(path.to_owned());
        self
    }

    /// Answers requests for paths with no route (the Python `default`).
    pub fn fallback<H, T>(mut self, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        let service = RouteService::new(HandlerService::new(handler, self.state.clone()));
        self.fallbacks.retain(|(prefix, _)| !prefix.is_empty());
        self.fallbacks.push((String::new(), service));
        self
    }

    /// Mounts `router` (a blueprint, with any state) under `prefix`.
    pub fn nest<T: Clone + Send + Sync + 'static>(
        mut self,
        prefix: &str,
        router: Router<T>,
    ) -> Self {
        if let Err(error) = check_prefix(prefix) {
            self.errors.push(error);
            return self;
        }
        let streaming = router.streaming.clone();
        let absolute = router.absolute.clone();
        let (routes, fallbacks, errors) = router.finish();
        self.errors.extend(errors);
        for (path, service) in routes {
            if is_bare_name(&path) && !absolute.contains(&path) {
                self.errors.push(RouterError::BadPath {
                    path,
                    reason: "a bare route name cannot be nested under a prefix: start it with '/'",
                });
                continue;
            }
            let full = if absolute.contains(&path) {
                self.absolute.insert(path.clone());
                path.clone()
            } else if path == "/" {
                prefix.to_owned()
            } else {
                format!("{prefix}{path}")
            };
            if streaming.contains(&path) {
                self.streaming.insert(full.clone());
            }
            self.insert(full, service);
        }
        for (inner, service) in fallbacks {
            self.fallbacks.push((format!("{prefix}{inner}"), service));
        }
        self
    }

    /// Wraps every route (and fallback) added so far in a tower layer. The
    /// layered service's errors become [`ReplyCode::INTERNAL`] replies, but
    /// for a timeout's (`tower::timeout::error::Elapsed`, as tower's
    /// `TimeoutLayer` gives it, or tokio's `Elapsed`), which becomes
    /// [`ReplyCode::TIMEOUT`], the code of every deadline error.
    ///
    /// ```
    /// use netcore_endpoint::{Request, Router};
    /// use tower::util::MapRequestLayer;
    ///
    /// async fn hello() -> &'static str { "hello" }
    /// // A middleware that tags every request of this router.
    /// let tag = MapRequestLayer::new(|mut request: Request| {
    ///     let _ = request.headers.insert("seen-by", "audit");
    ///     request
    /// });
    /// let router = Router::new().route("/hello", hello).layer(tag);
    /// ```
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<RouteService>,
        L::Service: Service<Request, Response = Reply> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Error: std::fmt::Display + Send + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        let wrap = |service: RouteService| -> RouteService {
            let layered = layer.layer(service);
            RouteService::new(tower::service_fn(move |request: Request| {
                let layered = layered.clone();
                async move {
                    Ok::<Reply, Infallible>(match layered.oneshot(request).await {
                        Ok(reply) => reply,
                        Err(error) => Reply::Err(layer_error(&error)),
                    })
                }
            }))
        };
        self.routes = self
            .routes
            .into_iter()
            .map(|(path, service)| (path, wrap(service)))
            .collect();
        self.fallbacks = self
            .fallbacks
            .into_iter()
            .map(|(prefix, service)| (prefix, wrap(service)))
            .collect();
        self
    }

    /// Runs `hook` before each handler of this router: it may change the
    /// request (`Ok`) or answer early (`Err(reply)`), and the handler is skipped.
    pub fn before<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Request, Reply>> + Send + 'static,
    {
        self.before
            .push(Arc::new(move |request| Box::pin(hook(request))));
        self
    }

    /// Runs `hook` after each handler of this router; it may replace the reply.
    pub fn after<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(RequestMeta, Reply) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Reply> + Send + 'static,
    {
        self.after
            .push(Arc::new(move |meta, reply| Box::pin(hook(meta, reply))));
        self
    }

    /// Turns this router's error replies (from handlers, extractors or
    /// before hooks) into the reply `handler` returns.
    pub fn on_error<F>(mut self, handler: F) -> Self
    where
        F: Fn(ReplyError, &RequestMeta) -> Reply + Send + Sync + 'static,
    {
        self.on_error = Some(Arc::new(handler));
        self
    }

    /// Finishes the router: hooks applied, every path checked.
    pub fn build(self) -> Result<Routes, RouterError> {
        let streaming = self.streaming.clone();
        let (routes, mut fallbacks, errors) = self.finish();
        if let Some(error) = errors.into_iter().next() {
            return Err(error);
        }
        // Deepest prefix first, so the most specific fallback wins.
        fallbacks.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Ok(Routes {
            routes,
            streaming,
            fallbacks,
        })
    }

    fn insert(&mut self, path: String, service: RouteService) {
        match self.routes.entry(path) {
            std::collections::hash_map::Entry::Occupied(entry) => {
                self.errors.push(RouterError::DuplicateRoute {
                    route: entry.key().clone(),
                });
            }
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(service);
            }
        }
    }

    /// Applies the hooks to every route and fallback; returns them with the
    /// errors found so far.
    #[allow(clippy::type_complexity)]
    fn finish(
        self,
    ) -> (
        HashMap<String, RouteService>,
        Vec<(String, RouteService)>,
        Vec<RouterError>,
    ) {
        let hooks = Arc::new(Hooks {
            before: self.before,
            after: self.after,
            on_error: self.on_error,
        });
        if hooks.is_empty() {
            return (self.routes, self.fallbacks, self.errors);
        }
        let routes = self
            .routes
            .into_iter()
            .map(|(path, service)| (path, hooks.clone().wrap(service)))
            .collect();
        let fallbacks = self
            .fallbacks
            .into_iter()
            .map(|(prefix, service)| (prefix, hooks.clone().wrap(service)))
            .collect();
        (routes, fallbacks, self.errors)
    }
}

struct Hooks {
    before: Vec<BeforeHook>,
    after: Vec<AfterHook>,
    on_error: Option<ErrorHook>,
}

impl Hooks {
    fn is_empty(&self) -> bool {
        self.before.is_empty() && self.after.is_empty() && self.on_error.is_none()
    }

    fn wrap(self: Arc<Self>, service: RouteService) -> RouteService {
        RouteService::new(tower::service_fn(move |request: Request| {
            let hooks = self.clone();
            let service = service.clone();
            async move {
                let meta = request.meta();
                let mut current: Result<Request, Reply> = Ok(request);
                for hook in &hooks.before {
                    let Ok(request) = current else {
                        break;
                    };
                    current = hook(request).await;
                }
                let mut reply = match current {
                    Ok(request) => service.oneshot(request).await?,
                    Err(reply) => reply,
                };
                if let (Reply::Err(error), Some(on_error)) = (&reply, &hooks.on_error) {
                    reply = on_error(error.clone(), &meta);
                }
                for hook in &hooks.after {
                    reply = hook(meta.clone(), reply).await;
                }
                Ok::<Reply, Infallible>(reply)
            }
        }))
    }
}

/// A route path is `/…`, or a bare name without any `/` — the style of
/// Python netcore routes (`echo`), which cannot be nested under a prefix.
fn check_path(path: &str) -> Result<(), RouterError> {
    if path.starts_with('/') || is_bare_name(path) {
        return Ok(());
    }
    Err(RouterError::BadPath {
        path: path.to_owned(),
        reason: "a route path starts with '/' (or is a bare name without '/', as Python netcore routes are)",
    })
}

/// A Python-style route name: not empty, no `/`.
fn is_bare_name(path: &str) -> bool {
    !path.is_empty() && !path.contains('/')
}

fn check_prefix(prefix: &str) -> Result<(), RouterError> {
    let reason = if !prefix.starts_with('/') {
        "a prefix starts with '/'"
    } else if prefix.len() > 1 && prefix.ends_with('/') {
        "a prefix does not end with '/'"
    } else if prefix == "/" {
        "a prefix of '/' means no prefix: add the routes directly"
    } else {
        return Ok(());
    };
    Err(RouterError::BadPath {
        path: prefix.to_owned(),
        reason,
    })
}

/// A built router: what an endpoint dispatches requests with.
#[derive(Clone)]
pub struct Routes {
    routes: HashMap<String, RouteService>,
    streaming: HashSet<String>,
    fallbacks: Vec<(String, RouteService)>,
}

impl Default for Routes {
    /// No routes: every request is answered "route not found".
    fn default() -> Self {
        Routes {
            routes: HashMap::new(),
            streaming: HashSet::new(),
            fallbacks: Vec::new(),
        }
    }
}

impl Routes {
    /// Both sets of routes in one.
    ///
    /// # Errors
    ///
    /// [`RouterError::DuplicateRoute`] if a path is in both.
    ///
    /// ```
    /// use netcore_endpoint::Router;
    /// let a = Router::new().route("/a", || async { "a" }).build()?;
    /// let b = Router::new().route("/b", || async { "b" }).build()?;
    /// let both = a.clone().try_merge(b)?;
    /// assert!(both.contains("/a") && both.contains("/b"));
    /// assert!(both.try_merge(a).is_err());
    /// # Ok::<(), netcore_endpoint::RouterError>(())
    /// ```
    pub fn try_merge(mut self, other: Routes) -> Result<Routes, RouterError> {
        for (path, service) in other.routes {
            if self.routes.contains_key(&path) {
                return Err(RouterError::DuplicateRoute { route: path });
            }
            self.routes.insert(path, service);
        }
        self.streaming.extend(other.streaming);
        self.fallbacks.extend(other.fallbacks);
        self.fallbacks
            .sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        Ok(self)
    }

    /// Whether `path` has a route.
    pub fn contains(&self, path: &str) -> bool {
        self.routes.contains_key(path)
    }

    /// Whether the handler of `path` streams the request body.
    pub fn streams_body(&self, path: &str) -> bool {
        self.streaming.contains(path)
    }

    /// Every routed path, in no particular order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.routes.keys().map(String::as_str)
    }

    /// Runs the request through its route, a fallback, or answers
    /// "route not found".
    pub async fn dispatch(&self, request: Request) -> Reply {
        match self.resolve(&request.route) {
            Some((_, service)) => match service.clone().oneshot(request).await {
                Ok(reply) => reply,
                Err(never) => match never {},
            },
            None => Reply::error(
                ReplyCode::NOT_FOUND,
                format!("route not found: {}", request.route),
            ),
        }
    }
}

/// The reply to a layered service's error: [`ReplyCode::TIMEOUT`] for a
/// timeout (found by type: the error itself, or a `tower::BoxError` whose
/// chain of causes holds one), [`ReplyCode::INTERNAL`] for anything else.
fn layer_error<E: std::fmt::Display + 'static>(error: &E) -> ReplyError {
    fn is_elapsed(error: &(dyn std::error::Error + 'static)) -> bool {
        let mut cause = Some(error);
        while let Some(error) = cause {
            if error.is::<tower::timeout::error::Elapsed>()
                || error.is::<tokio::time::error::Elapsed>()
            {
                return true;
            }
            cause = error.source();
        }
        false
    }
    let any: &dyn std::any::Any = error;
    let elapsed = any.is::<tower::timeout::error::Elapsed>()
        || any.is::<tokio::time::error::Elapsed>()
        || any
            .downcast_ref::<tower::BoxError>()
            .is_some_and(|error| is_elapsed(&**error));
    if elapsed {
        ReplyError::new(ReplyCode::TIMEOUT, format!("deadline passed: {error}"))
    } else {
        ReplyError::internal(error.to_string())
    }
}

/// What a path resolves to ([`Routes::resolve`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved<'a> {
    /// The route registered at exactly this path.
    Route(&'a str),
    /// The fallback of the blueprint under this prefix (`""`: the root's).
    Fallback(&'a str),
}

impl Routes {
    /// The service a request for `route` goes to: its route, else the
    /// fallback of the deepest prefix containing it, else none.
    pub(crate) fn resolve(&self, route: &str) -> Option<(Resolved<'_>, &RouteService)> {
        if let Some((path, service)) = self.routes.get_key_value(route) {
            return Some((Resolved::Route(path), service));
        }
        self.fallbacks
            .iter()
            .find(|(prefix, _)| {
                prefix.is_empty()
                    || route == prefix
                    || route
                        .strip_prefix(prefix.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .map(|(prefix, service)| (Resolved::Fallback(prefix), service))
    }
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut paths: Vec<&String> = self.routes.keys().collect();
        paths.sort();
        f.debug_struct("Routes")
            .field("routes", &paths)
            .field(
                "fallbacks",
                &self.fallbacks.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl<S> std::fmt::Debug for Router<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut paths: Vec<&String> = self.routes.keys().collect();
        paths.sort();
        f.debug_struct("Router").field("routes", &paths).finish()
    }
}
