//! Lifecycle and user events: [`Events`], a hub of async listeners.
//!
//! # Where things are
//!
//! | file | concept |
//! |---|---|
//! | `mod.rs` | these docs, the re-exports |
//! | `lifecycle.rs` | [`LifecycleEvent`] and its data-free [`LifecycleKind`]: what endpoints and servers report |
//! | `topic.rs` | [`Topic`] and its opaque [`TopicFilter`]; the topics [`Lifecycle`], [`LifecycleKind`], event names and [`Typed`]; turning an event into a listener's payload |
//! | `listener.rs` | one listener: [`ListenerResult`] (what it returns), [`ListenerId`], the type-erased slot the hub stores |
//! | `registry.rs` | the registered listeners: lifecycle ones in order, user ones by event name |
//! | `hub.rs` | [`Events`]: `on`, `once`, `off`, `emit`, `emit_lifecycle` |
//! | `delivery.rs` | running a listener (errors and panics caught and logged), [`Delivery`], [`DeliveryReport`] |
//!
//! # How an event flows
//!
//! ```text
//!  on(topic, f) / once(topic, f)          emit(name, payload) / emit_lifecycle(event)
//!        │                                       │
//!        │ topic.into_filter():                  │ take the matching slots
//!        │ selector + extractor                  │ (cloned, then the lock is released;
//!        ▼                                       ▼  none: a no-op)
//!  ┌──────────────────────────┐  slots  ┌──────────────────────────────┐
//!  │ registry                 │ ──────► │ hub: for each slot, extract  │
//!  │   lifecycle: [slot, …]   │         │ the payload from the event   │
//!  │   user: name → [slot, …] │         └──────────────┬───────────────┘
//!  └──────────────────────────┘                        │
//!                                   ┌──────────────────┴─────────────────┐
//!                                   │ fits                               │ does not fit (Typed)
//!                                   ▼                                    ▼
//!                      one Tokio task per listener             not called: WARN,
//!                      (a `once` slot is removed first)        counted as rejected
//!                                   │
//!                      listener(payload).await, concurrently:
//!                        () or Ok(()) → succeeded
//!                        Err(e)       → failed    (WARN)
//!                        panic        → panicked  (ERROR)
//!                                   │
//!                                   ▼
//!  the emit returns a Delivery ─┬─ dropped: fire and forget, the runs go on
//!                               └─ .await: waits for every run ──► DeliveryReport
//!                                  { succeeded, failed, panicked, rejected }
//! ```
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

mod delivery;
mod hub;
mod lifecycle;
mod listener;
mod registry;
mod topic;

pub(crate) use delivery::panic_message;
pub use delivery::{Delivery, DeliveryReport};
pub use hub::Events;
pub use lifecycle::{LifecycleEvent, LifecycleKind};
pub use listener::{ListenerId, ListenerResult};
pub use topic::{Lifecycle, Topic, TopicFilter, Typed};

// The hub and its deliveries cross tasks and threads.
const _: () = {
    const fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Events>();
    assert_send_sync::<Delivery>();
};
