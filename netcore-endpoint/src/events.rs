//! Lifecycle and user events: [`Events`], a hub of async listeners.
//!
//! An endpoint reports what happens to it — it started or stopped, a peer
//! connected or left, a request came in, a reply went out, a message was
//! cancelled, a transport failed — as [`LifecycleEvent`]s. Applications add
//! their own named *user events* carrying a payload (the Python framework's
//! `emit("user-joined", data)`).
//!
//! # One `on`, typed by its topic
//!
//! Every listener subscribes to a [`Topic`], and the topic decides what the
//! listener receives ([`Topic::Payload`]):
//!
//! | topic | fires for | listener receives |
//! |---|---|---|
//! | [`Lifecycle`] | every lifecycle event | [`LifecycleEvent`] |
//! | a [`LifecycleKind`], e.g. `LifecycleKind::PeerConnected` | lifecycle events of that kind | [`LifecycleEvent`] |
//! | a name: `"user-joined"` (`&str` or `String`) | user events of that name | [`serde_json::Value`] |
//! | [`Typed::<T>::new("user-joined")`](Typed) | user events of that name | `T`, deserialized from the payload |
//!
//! So there is one [`on`](Events::on), one [`once`](Events::once) and one
//! [`off`](Events::off) instead of a family of `on_lifecycle` / `on_typed` /
//! `once_typed` … methods, and the compiler infers the listener's argument
//! from the topic: a lifecycle listener cannot be handed a user payload by
//! mistake. User payloads travel as JSON values because the emitter and the
//! listeners do not share a Rust type in general (a blueprint emits, another
//! crate listens); [`Typed`] gives a listener its own typed view, and a
//! payload that does not fit is logged and skipped for that listener only.
//!
//! # Delivery
//!
//! Listeners are async closures (`|payload| async move { … }`). An emit
//! spawns every matching listener as its own Tokio task: listeners run
//! concurrently, and the emitter never waits for them. A listener may return
//! `()` or `Result<(), E>` with `E: Display` (see [`ListenerResult`]); an
//! `Err` is logged with `tracing` at `WARN`, a panic at `ERROR`, and neither
//! disturbs the other listeners or the emitter. [`emit`](Events::emit) and
//! [`emit_lifecycle`](Events::emit_lifecycle) return a [`Delivery`]: ignore
//! it to fire and forget, or `.await` it to wait until every listener has
//! finished and get a [`DeliveryReport`].
//!
//! ```
//! use netcore_endpoint::PeerId;
//! use netcore_endpoint::events::{Events, LifecycleEvent, LifecycleKind};
//! use serde_json::{Value, json};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), serde_json::Error> {
//! let events = Events::new();
//!
//! events.on(LifecycleKind::PeerConnected, |event: LifecycleEvent| async move {
//!     tracing::info!(%event, "hello");
//! });
//! let greeter = events.on("user-joined", |payload: Value| async move {
//!     if payload["name"].as_str().is_none() {
//!         return Err("a user without a name");
//!     }
//!     Ok(())
//! });
//!
//! events.emit_lifecycle(LifecycleEvent::PeerConnected { peer: PeerId(7) });
//! let report = events.emit("user-joined", json!({ "name": "ada" }))?.await;
//! assert_eq!(report.succeeded, 1);
//!
//! events.off(greeter);
//! let report = events.emit("user-joined", json!({ "name": "bob" }))?.await;
//! assert_eq!(report.total(), 0);
//! # Ok(())
//! # }
//! ```

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::FutureExt as _;
use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::PeerId;

// ---------------------------------------------------------------------------
// Lifecycle events
// ---------------------------------------------------------------------------

/// Something that happened to an endpoint or a server, reported to the
/// listeners of [`Lifecycle`] and of the event's [`LifecycleKind`].
///
/// The enum is `#[non_exhaustive]`: new kinds may be added, so a `match` on
/// it needs a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleEvent {
    /// The endpoint or server started serving.
    Started,
    /// The endpoint or server stopped; no further events follow.
    Stopped,
    /// A peer connected (for a server: a connection was accepted).
    PeerConnected {
        /// The new connection.
        peer: PeerId,
    },
    /// A peer's connection ended.
    PeerDisconnected {
        /// The connection that ended.
        peer: PeerId,
        /// Why, when known (a transport error, GOAWAY, …); `None` for a
        /// clean close.
        reason: Option<String>,
    },
    /// A peer's request arrived and is about to be handled.
    Request {
        /// Who asked.
        peer: PeerId,
        /// The route the request names.
        route: String,
        /// The request's message id on that connection.
        message_id: u64,
    },
    /// A reply to a peer's request was sent.
    Reply {
        /// Who asked.
        peer: PeerId,
        /// The route that was asked.
        route: String,
        /// The request's message id on that connection.
        message_id: u64,
        /// `true` for a successful reply, `false` for an error reply.
        ok: bool,
    },
    /// A message was cancelled (by the peer, a deadline or a dropped call).
    MessageCancelled {
        /// The connection the message belonged to.
        peer: PeerId,
        /// The cancelled message.
        message_id: u64,
    },
    /// A connection's transport failed.
    TransportError {
        /// The failing connection.
        peer: PeerId,
        /// The error, rendered as text.
        error: String,
    },
}

impl LifecycleEvent {
    /// The event's kind, the key [`LifecycleKind`] topics filter on.
    ///
    /// ```
    /// use netcore_endpoint::events::{LifecycleEvent, LifecycleKind};
    /// assert_eq!(LifecycleEvent::Started.kind(), LifecycleKind::Started);
    /// ```
    pub fn kind(&self) -> LifecycleKind {
        match self {
            LifecycleEvent::Started => LifecycleKind::Started,
            LifecycleEvent::Stopped => LifecycleKind::Stopped,
            LifecycleEvent::PeerConnected { .. } => LifecycleKind::PeerConnected,
            LifecycleEvent::PeerDisconnected { .. } => LifecycleKind::PeerDisconnected,
            LifecycleEvent::Request { .. } => LifecycleKind::Request,
            LifecycleEvent::Reply { .. } => LifecycleKind::Reply,
            LifecycleEvent::MessageCancelled { .. } => LifecycleKind::MessageCancelled,
            LifecycleEvent::TransportError { .. } => LifecycleKind::TransportError,
        }
    }

    /// The connection the event concerns, if it concerns one.
    ///
    /// ```
    /// use netcore_endpoint::PeerId;
    /// use netcore_endpoint::events::LifecycleEvent;
    /// let event = LifecycleEvent::PeerConnected { peer: PeerId(3) };
    /// assert_eq!(event.peer(), Some(PeerId(3)));
    /// assert_eq!(LifecycleEvent::Stopped.peer(), None);
    /// ```
    pub fn peer(&self) -> Option<PeerId> {
        match self {
            LifecycleEvent::Started | LifecycleEvent::Stopped => None,
            LifecycleEvent::PeerConnected { peer }
            | LifecycleEvent::PeerDisconnected { peer, .. }
            | LifecycleEvent::Request { peer, .. }
            | LifecycleEvent::Reply { peer, .. }
            | LifecycleEvent::MessageCancelled { peer, .. }
            | LifecycleEvent::TransportError { peer, .. } => Some(*peer),
        }
    }
}

impl fmt::Display for LifecycleEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LifecycleEvent::Started => f.write_str("started"),
            LifecycleEvent::Stopped => f.write_str("stopped"),
            LifecycleEvent::PeerConnected { peer } => write!(f, "{peer} connected"),
            LifecycleEvent::PeerDisconnected { peer, reason: None } => {
                write!(f, "{peer} disconnected")
            }
            LifecycleEvent::PeerDisconnected {
                peer,
                reason: Some(reason),
            } => write!(f, "{peer} disconnected: {reason}"),
            LifecycleEvent::Request {
                peer,
                route,
                message_id,
            } => write!(f, "{peer} request #{message_id} {route}"),
            LifecycleEvent::Reply {
                peer,
                route,
                message_id,
                ok,
            } => {
                let outcome = if *ok { "ok" } else { "error" };
                write!(f, "{peer} reply #{message_id} {route}: {outcome}")
            }
            LifecycleEvent::MessageCancelled { peer, message_id } => {
                write!(f, "{peer} message #{message_id} cancelled")
            }
            LifecycleEvent::TransportError { peer, error } => {
                write!(f, "{peer} transport error: {error}")
            }
        }
    }
}

/// The kind of a [`LifecycleEvent`], without its data. As a [`Topic`] it
/// selects the lifecycle events of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum LifecycleKind {
    /// [`LifecycleEvent::Started`].
    Started,
    /// [`LifecycleEvent::Stopped`].
    Stopped,
    /// [`LifecycleEvent::PeerConnected`].
    PeerConnected,
    /// [`LifecycleEvent::PeerDisconnected`].
    PeerDisconnected,
    /// [`LifecycleEvent::Request`].
    Request,
    /// [`LifecycleEvent::Reply`].
    Reply,
    /// [`LifecycleEvent::MessageCancelled`].
    MessageCancelled,
    /// [`LifecycleEvent::TransportError`].
    TransportError,
}

impl LifecycleKind {
    /// Every kind, in declaration order.
    pub const ALL: [LifecycleKind; 8] = [
        LifecycleKind::Started,
        LifecycleKind::Stopped,
        LifecycleKind::PeerConnected,
        LifecycleKind::PeerDisconnected,
        LifecycleKind::Request,
        LifecycleKind::Reply,
        LifecycleKind::MessageCancelled,
        LifecycleKind::TransportError,
    ];

    /// The kind's `snake_case` name, as used in logs.
    ///
    /// ```
    /// use netcore_endpoint::events::LifecycleKind;
    /// assert_eq!(LifecycleKind::PeerConnected.name(), "peer_connected");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            LifecycleKind::Started => "started",
            LifecycleKind::Stopped => "stopped",
            LifecycleKind::PeerConnected => "peer_connected",
            LifecycleKind::PeerDisconnected => "peer_disconnected",
            LifecycleKind::Request => "request",
            LifecycleKind::Reply => "reply",
            LifecycleKind::MessageCancelled => "message_cancelled",
            LifecycleKind::TransportError => "transport_error",
        }
    }
}

impl fmt::Display for LifecycleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// ---------------------------------------------------------------------------
// Topics
// ---------------------------------------------------------------------------

/// What a listener subscribes to; its [`Payload`](Topic::Payload) is what the
/// listener receives.
///
/// Implemented for [`Lifecycle`], [`LifecycleKind`], event names (`&str`,
/// `String`) and [`Typed`]. [`TopicFilter`] is opaque, so your own topic
/// types delegate to one of those — handy to give a payload type its event
/// name once:
///
/// ```
/// use netcore_endpoint::events::{Events, Topic, TopicFilter, Typed};
/// use serde::Deserialize;
///
/// #[derive(Debug, Deserialize)]
/// struct UserJoined { name: String }
///
/// /// The topic of `UserJoined` events.
/// struct Joins;
///
/// impl Topic for Joins {
///     type Payload = UserJoined;
///     fn into_filter(self) -> TopicFilter<UserJoined> {
///         Typed::new("user-joined").into_filter()
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), serde_json::Error> {
/// let events = Events::new();
/// events.on(Joins, |joined| async move { tracing::info!(name = %joined.name, "joined") });
/// let report = events.emit("user-joined", serde_json::json!({ "name": "ada" }))?.await;
/// assert_eq!(report.succeeded, 1);
/// # Ok(())
/// # }
/// ```
pub trait Topic {
    /// What a listener of this topic is called with.
    type Payload: Send + 'static;

    /// The filter the hub stores for a listener of this topic.
    fn into_filter(self) -> TopicFilter<Self::Payload>;
}

/// How a listener is selected and fed: the opaque result of
/// [`Topic::into_filter`]. Only the topics of this module create one.
pub struct TopicFilter<P> {
    selector: Selector,
    extract: fn(&Raw<'_>) -> Result<P, String>,
}

impl<P> fmt::Debug for TopicFilter<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TopicFilter")
            .field("selector", &self.selector)
            .finish_non_exhaustive()
    }
}

/// The topic of every [`LifecycleEvent`], whatever its kind.
///
/// ```
/// use netcore_endpoint::events::{Events, Lifecycle, LifecycleEvent};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let events = Events::new();
/// events.on(Lifecycle, |event: LifecycleEvent| async move { tracing::debug!(%event) });
/// assert_eq!(events.emit_lifecycle(LifecycleEvent::Started).await.succeeded, 1);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Lifecycle;

impl Topic for Lifecycle {
    type Payload = LifecycleEvent;
    fn into_filter(self) -> TopicFilter<LifecycleEvent> {
        TopicFilter {
            selector: Selector::Lifecycle(None),
            extract: extract_lifecycle,
        }
    }
}

impl Topic for LifecycleKind {
    type Payload = LifecycleEvent;
    fn into_filter(self) -> TopicFilter<LifecycleEvent> {
        TopicFilter {
            selector: Selector::Lifecycle(Some(self)),
            extract: extract_lifecycle,
        }
    }
}

impl Topic for &str {
    type Payload = Value;
    fn into_filter(self) -> TopicFilter<Value> {
        user_filter(self.into(), extract_value)
    }
}

impl Topic for String {
    type Payload = Value;
    fn into_filter(self) -> TopicFilter<Value> {
        user_filter(self.into_boxed_str(), extract_value)
    }
}

impl Topic for &String {
    type Payload = Value;
    fn into_filter(self) -> TopicFilter<Value> {
        user_filter(self.as_str().into(), extract_value)
    }
}

/// The user events of one name, with the payload deserialized into `T`.
///
/// A payload that does not deserialize into `T` is logged at `WARN` and
/// counted as [`rejected`](DeliveryReport::rejected); the listener is not
/// called (a [`once`](Events::once) listener stays registered for the next
/// event).
///
/// ```
/// use netcore_endpoint::events::{Events, Typed};
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct Joined { name: String }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), serde_json::Error> {
/// let events = Events::new();
/// events.on(Typed::new("user-joined"), |joined: Joined| async move {
///     tracing::info!(name = %joined.name, "joined");
/// });
/// let report = events.emit("user-joined", serde_json::json!({ "name": "ada" }))?.await;
/// assert_eq!(report.succeeded, 1);
/// let report = events.emit("user-joined", serde_json::json!({ "nom": 42 }))?.await;
/// assert_eq!(report.rejected, 1);
/// # Ok(())
/// # }
/// ```
pub struct Typed<T> {
    name: Box<str>,
    payload: PhantomData<fn() -> T>,
}

impl<T> Typed<T> {
    /// The topic of the user events called `name`, seen as `T`.
    pub fn new(name: impl Into<String>) -> Self {
        Typed {
            name: name.into().into_boxed_str(),
            payload: PhantomData,
        }
    }

    /// The event name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl<T> fmt::Debug for Typed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Typed")
            .field("name", &self.name)
            .field("payload", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T> Clone for Typed<T> {
    fn clone(&self) -> Self {
        Typed {
            name: self.name.clone(),
            payload: PhantomData,
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> Topic for Typed<T> {
    type Payload = T;
    fn into_filter(self) -> TopicFilter<T> {
        user_filter(self.name, extract_typed::<T>)
    }
}

fn user_filter<P>(name: Box<str>, extract: fn(&Raw<'_>) -> Result<P, String>) -> TopicFilter<P> {
    TopicFilter {
        selector: Selector::User(name),
        extract,
    }
}

/// Which events a listener hears.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Selector {
    /// Lifecycle events: all of them, or those of one kind.
    Lifecycle(Option<LifecycleKind>),
    /// User events of this name.
    User(Box<str>),
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Lifecycle(None) => f.write_str("lifecycle"),
            Selector::Lifecycle(Some(kind)) => write!(f, "lifecycle:{kind}"),
            Selector::User(name) => write!(f, "user:{name}"),
        }
    }
}

/// An event being delivered, borrowed by the extractors.
enum Raw<'a> {
    Lifecycle(&'a LifecycleEvent),
    User(&'a Value),
}

fn extract_lifecycle(raw: &Raw<'_>) -> Result<LifecycleEvent, String> {
    match raw {
        Raw::Lifecycle(event) => Ok((*event).clone()),
        Raw::User(_) => Err("a user event reached a lifecycle listener".into()),
    }
}

fn extract_value(raw: &Raw<'_>) -> Result<Value, String> {
    match raw {
        Raw::User(value) => Ok((*value).clone()),
        Raw::Lifecycle(_) => Err("a lifecycle event reached a user listener".into()),
    }
}

fn extract_typed<T: DeserializeOwned>(raw: &Raw<'_>) -> Result<T, String> {
    match raw {
        Raw::User(value) => T::deserialize(*value).map_err(|error| {
            format!(
                "payload does not fit {}: {error}",
                std::any::type_name::<T>()
            )
        }),
        Raw::Lifecycle(_) => Err("a lifecycle event reached a user listener".into()),
    }
}

// ---------------------------------------------------------------------------
// Listener results
// ---------------------------------------------------------------------------

/// What a listener's future may return: `()`, or `Result<(), E>` whose `Err`
/// is logged (at `WARN`, with `E`'s `Display`) and counted as
/// [`failed`](DeliveryReport::failed).
///
/// With `Result`, the error type must be known: write
/// `Ok::<(), MyError>(())` or use `?` on a concrete error.
pub trait ListenerResult {
    /// `Ok(())`, or the failure rendered as text.
    fn into_listener_result(self) -> Result<(), String>;
}

impl ListenerResult for () {
    fn into_listener_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Display> ListenerResult for Result<(), E> {
    fn into_listener_result(self) -> Result<(), String> {
        self.map_err(|error| error.to_string())
    }
}

// ---------------------------------------------------------------------------
// The hub
// ---------------------------------------------------------------------------

/// Identifies a registered listener, for [`Events::off`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(u64);

impl ListenerId {
    /// The id as a number (unique within its [`Events`] hub).
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ListenerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "listener-{}", self.0)
    }
}

/// What a registered listener does with one event.
enum Dispatch {
    /// Run this future (it calls the listener when first polled).
    Run(BoxFuture<'static, Result<(), String>>),
    /// The payload does not fit the listener.
    Rejected(String),
    /// A `once` listener that another emit already fired.
    Spent,
}

type Call = Box<dyn Fn(&Raw<'_>) -> Dispatch + Send + Sync>;

struct Slot {
    id: ListenerId,
    selector: Selector,
    once: bool,
    call: Call,
}

impl Slot {
    /// Whether this listener hears lifecycle events of `kind`.
    fn hears(&self, kind: LifecycleKind) -> bool {
        match self.selector {
            Selector::Lifecycle(filter) => filter.is_none_or(|wanted| wanted == kind),
            Selector::User(_) => false,
        }
    }
}

#[derive(Default)]
struct Registry {
    /// Lifecycle listeners, in registration order.
    lifecycle: Vec<Arc<Slot>>,
    /// User listeners by event name, in registration order.
    user: HashMap<Box<str>, Vec<Arc<Slot>>>,
}

impl Registry {
    fn insert(&mut self, slot: Slot) {
        let slot = Arc::new(slot);
        match &slot.selector {
            Selector::Lifecycle(_) => self.lifecycle.push(slot),
            Selector::User(name) => self.user.entry(name.clone()).or_default().push(slot),
        }
    }

    fn remove(&mut self, id: ListenerId) -> bool {
        if let Some(at) = self.lifecycle.iter().position(|slot| slot.id == id) {
            self.lifecycle.remove(at);
            return true;
        }
        let mut emptied = None;
        let mut found = false;
        for (name, slots) in &mut self.user {
            if let Some(at) = slots.iter().position(|slot| slot.id == id) {
                slots.remove(at);
                found = true;
                if slots.is_empty() {
                    emptied = Some(name.clone());
                }
                break;
            }
        }
        if let Some(name) = emptied {
            self.user.remove(&name);
        }
        found
    }

    fn len(&self) -> usize {
        self.lifecycle.len() + self.user.values().map(Vec::len).sum::<usize>()
    }
}

#[derive(Default)]
struct Shared {
    next_id: AtomicU64,
    registry: Mutex<Registry>,
}

/// A hub of event listeners: register with [`on`](Events::on) /
/// [`once`](Events::once), remove with [`off`](Events::off), fire with
/// [`emit`](Events::emit) / [`emit_lifecycle`](Events::emit_lifecycle).
///
/// Cloning is cheap and every clone is the same hub (it is an `Arc`), so the
/// endpoint, its handlers and the application share one. `Events` is `Send +
/// Sync`; registering and emitting take a short lock that is never held
/// while a listener runs, so listeners may register, remove and emit too.
///
/// Emitting requires a Tokio runtime (the listeners are spawned on the
/// current one); outside a runtime an emit is logged at `ERROR` and
/// delivers nothing.
///
/// ```
/// use netcore_endpoint::events::{Events, Lifecycle, LifecycleEvent};
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let events = Events::new();
/// let seen = Arc::new(AtomicUsize::new(0));
/// let counter = Arc::clone(&seen);
/// events.once(Lifecycle, move |_event: LifecycleEvent| async move {
///     counter.fetch_add(1, Ordering::SeqCst);
/// });
///
/// events.emit_lifecycle(LifecycleEvent::Started).await;
/// events.emit_lifecycle(LifecycleEvent::Stopped).await;
/// assert_eq!(seen.load(Ordering::SeqCst), 1); // `once`: only the first
/// assert_eq!(events.listener_count(), 0);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct Events {
    shared: Arc<Shared>,
}

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("listeners", &self.listener_count())
            .finish()
    }
}

impl Events {
    /// An empty hub.
    pub fn new() -> Self {
        Events::default()
    }

    /// Registers `listener` for every event of `topic`, until
    /// [`off`](Events::off).
    ///
    /// The listener is called with the topic's payload (see [`Topic`]) and
    /// returns a future, spawned as its own task; the future's output is
    /// `()` or `Result<(), E>` ([`ListenerResult`]).
    ///
    /// ```
    /// use netcore_endpoint::events::{Events, LifecycleEvent, LifecycleKind};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let events = Events::new();
    /// events.on(LifecycleKind::TransportError, |event: LifecycleEvent| async move {
    ///     tracing::warn!(%event);
    ///     Ok::<(), std::io::Error>(())
    /// });
    /// # }
    /// ```
    pub fn on<T, F, Fut>(&self, topic: T, listener: F) -> ListenerId
    where
        T: Topic,
        F: Fn(T::Payload) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: ListenerResult,
    {
        let TopicFilter { selector, extract } = topic.into_filter();
        let listener = Arc::new(listener);
        let call = move |raw: &Raw<'_>| match extract(raw) {
            Ok(payload) => {
                let listener = Arc::clone(&listener);
                Dispatch::Run(Box::pin(async move {
                    listener(payload).await.into_listener_result()
                }))
            }
            Err(reason) => Dispatch::Rejected(reason),
        };
        self.register(selector, false, Box::new(call))
    }

    /// Registers `listener` for the next event of `topic` only.
    ///
    /// The listener fires exactly once, even when several emits race: the
    /// first emit to reach it takes it and removes it. A [`Typed`] listener
    /// whose payload does not fit is not consumed. A `once` listener may be
    /// an `FnOnce`, so it can move what it captures into its future.
    ///
    /// ```
    /// use netcore_endpoint::events::{Events, LifecycleEvent, LifecycleKind};
    /// use tokio::sync::oneshot;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let events = Events::new();
    /// let (tell, stopped) = oneshot::channel();
    /// events.once(LifecycleKind::Stopped, move |_event: LifecycleEvent| async move {
    ///     let _ = tell.send(());
    /// });
    /// events.emit_lifecycle(LifecycleEvent::Stopped);
    /// stopped.await.expect("the listener ran");
    /// # }
    /// ```
    pub fn once<T, F, Fut>(&self, topic: T, listener: F) -> ListenerId
    where
        T: Topic,
        F: FnOnce(T::Payload) -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: ListenerResult,
    {
        let TopicFilter { selector, extract } = topic.into_filter();
        let cell = Mutex::new(Some(listener));
        let call = move |raw: &Raw<'_>| match extract(raw) {
            Ok(payload) => {
                let taken = cell.lock().unwrap_or_else(PoisonError::into_inner).take();
                match taken {
                    Some(listener) => Dispatch::Run(Box::pin(async move {
                        listener(payload).await.into_listener_result()
                    })),
                    None => Dispatch::Spent,
                }
            }
            Err(reason) => Dispatch::Rejected(reason),
        };
        self.register(selector, true, Box::new(call))
    }

    /// Removes a listener. Returns `false` if it was not registered (already
    /// removed, or a `once` listener that has fired). Runs already spawned
    /// are not interrupted.
    pub fn off(&self, id: ListenerId) -> bool {
        self.registry().remove(id)
    }

    /// How many listeners are registered.
    pub fn listener_count(&self) -> usize {
        self.registry().len()
    }

    /// Whether a listener would hear lifecycle events of `kind` — lets an
    /// emitter on a hot path (one event per request) skip building events
    /// nobody listens to.
    ///
    /// ```
    /// use netcore_endpoint::events::{Events, LifecycleEvent, LifecycleKind};
    ///
    /// let events = Events::new();
    /// assert!(!events.has_lifecycle_listener(LifecycleKind::Request));
    /// events.on(LifecycleKind::Request, |_event: LifecycleEvent| async {});
    /// assert!(events.has_lifecycle_listener(LifecycleKind::Request));
    /// assert!(!events.has_lifecycle_listener(LifecycleKind::Reply));
    /// ```
    pub fn has_lifecycle_listener(&self, kind: LifecycleKind) -> bool {
        self.registry()
            .lifecycle
            .iter()
            .any(|slot| slot.hears(kind))
    }

    /// Whether a listener would hear the user events called `name`.
    pub fn has_listener(&self, name: &str) -> bool {
        self.registry().user.contains_key(name)
    }

    /// Emits the user event `name` with `payload`, serialized to JSON once
    /// and handed to every listener of that name.
    ///
    /// Returns at once; `.await` the [`Delivery`] to wait for the listeners.
    /// With no listener this is a no-op (the payload is not even
    /// serialized).
    ///
    /// # Errors
    ///
    /// The payload's serialization error (a map with non-string keys, a
    /// failing `Serialize` impl, …); no listener runs then.
    pub fn emit(&self, name: &str, payload: impl Serialize) -> Result<Delivery, serde_json::Error> {
        let slots = match self.registry().user.get(name) {
            Some(slots) => slots.clone(),
            None => return Ok(Delivery::default()),
        };
        let payload = serde_json::to_value(payload)?;
        Ok(self.deliver(&slots, &Raw::User(&payload)))
    }

    /// Emits a lifecycle event to the listeners of [`Lifecycle`] and of its
    /// [`LifecycleKind`].
    ///
    /// Returns at once; `.await` the [`Delivery`] to wait for the listeners.
    /// With no listener this is a no-op.
    pub fn emit_lifecycle(&self, event: LifecycleEvent) -> Delivery {
        let kind = event.kind();
        let slots: Vec<Arc<Slot>> = self
            .registry()
            .lifecycle
            .iter()
            .filter(|slot| slot.hears(kind))
            .cloned()
            .collect();
        if slots.is_empty() {
            return Delivery::default();
        }
        self.deliver(&slots, &Raw::Lifecycle(&event))
    }

    fn register(&self, selector: Selector, once: bool, call: Call) -> ListenerId {
        let id = ListenerId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
        self.registry().insert(Slot {
            id,
            selector,
            once,
            call,
        });
        id
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        // The lock is never held while user code runs, so a poisoned lock
        // cannot hold a half-made change: keep going.
        self.shared
            .registry
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn deliver(&self, slots: &[Arc<Slot>], raw: &Raw<'_>) -> Delivery {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!(
                listeners = slots.len(),
                "event emitted outside a Tokio runtime; no listener runs"
            );
            return Delivery::default();
        };
        let mut delivery = Delivery::default();
        for slot in slots {
            match (slot.call)(raw) {
                Dispatch::Run(run) => {
                    if slot.once {
                        self.off(slot.id);
                    }
                    let slot = Arc::clone(slot);
                    delivery.tasks.push(runtime.spawn(run_listener(slot, run)));
                }
                Dispatch::Rejected(reason) => {
                    tracing::warn!(
                        listener = slot.id.0,
                        topic = %slot.selector,
                        %reason,
                        "event listener skipped"
                    );
                    delivery.rejected += 1;
                }
                Dispatch::Spent => {}
            }
        }
        delivery
    }
}

async fn run_listener(slot: Arc<Slot>, run: BoxFuture<'static, Result<(), String>>) -> Outcome {
    match AssertUnwindSafe(run).catch_unwind().await {
        Ok(Ok(())) => Outcome::Succeeded,
        Ok(Err(error)) => {
            tracing::warn!(
                listener = slot.id.0,
                topic = %slot.selector,
                %error,
                "event listener failed"
            );
            Outcome::Failed
        }
        Err(panic) => {
            tracing::error!(
                listener = slot.id.0,
                topic = %slot.selector,
                panic = panic_message(panic.as_ref()),
                "event listener panicked"
            );
            Outcome::Panicked
        }
    }
}

/// The text of a panic payload, when it has one.
pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> &str {
    if let Some(message) = panic.downcast_ref::<&'static str>() {
        message
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message
    } else {
        "(non-text panic payload)"
    }
}

#[derive(Debug)]
enum Outcome {
    Succeeded,
    Failed,
    Panicked,
}

// ---------------------------------------------------------------------------
// Delivery
// ---------------------------------------------------------------------------

/// The listener runs started by one emit.
///
/// Dropping it changes nothing (the runs go on, detached); `.await` it to
/// wait until all of them have finished and get a [`DeliveryReport`] — what
/// tests use to observe delivery deterministically.
#[derive(Debug, Default)]
pub struct Delivery {
    tasks: Vec<JoinHandle<Outcome>>,
    rejected: usize,
}

impl Delivery {
    /// How many listeners were started.
    pub fn started(&self) -> usize {
        self.tasks.len()
    }

    /// Waits until every started listener has finished.
    pub async fn wait(self) -> DeliveryReport {
        let mut report = DeliveryReport {
            rejected: self.rejected,
            ..DeliveryReport::default()
        };
        for outcome in futures::future::join_all(self.tasks).await {
            match outcome {
                Ok(Outcome::Succeeded) => report.succeeded += 1,
                Ok(Outcome::Failed) => report.failed += 1,
                // A listener task cancelled by a runtime shutting down
                // counts with the panics: it did not finish.
                Ok(Outcome::Panicked) | Err(_) => report.panicked += 1,
            }
        }
        report
    }
}

impl IntoFuture for Delivery {
    type Output = DeliveryReport;
    type IntoFuture = Pin<Box<dyn Future<Output = DeliveryReport> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.wait())
    }
}

/// How the listeners of one emit fared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// Listeners that returned `()` or `Ok(())`.
    pub succeeded: usize,
    /// Listeners that returned `Err` (logged at `WARN`).
    pub failed: usize,
    /// Listeners that panicked (logged at `ERROR`) or whose task was
    /// cancelled by the runtime shutting down.
    pub panicked: usize,
    /// [`Typed`] listeners whose payload did not fit (logged at `WARN`;
    /// they were not called).
    pub rejected: usize,
}

impl DeliveryReport {
    /// Every listener the emit reached: started plus rejected.
    pub fn total(&self) -> usize {
        self.succeeded + self.failed + self.panicked + self.rejected
    }
}

// The hub and its deliveries cross tasks and threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Events>();
    assert_send_sync::<Delivery>();
};
