//! The hub: [`Events`] registers listeners (`on`, `once`, `off`) and
//! emits events to them (`emit`, `emit_lifecycle`).

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::Serialize;

use super::delivery::{Delivery, run_listener};
use super::listener::{Call, Dispatch, ListenerId, ListenerResult, Slot};
use super::registry::Registry;
use super::topic::{Raw, Selector, Topic, TopicFilter};
use super::{LifecycleEvent, LifecycleKind};

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
    /// first emit to reach it takes it and removes it. A [`Typed`](super::Typed) listener
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

    /// Emits a lifecycle event to the listeners of [`Lifecycle`](super::Lifecycle) and of its
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
