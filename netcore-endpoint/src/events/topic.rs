//! What a listener subscribes to: the [`Topic`] trait, its opaque
//! [`TopicFilter`], the built-in topics ([`Lifecycle`], [`LifecycleKind`],
//! event names, [`Typed`]) and the extractors that turn an event into a
//! listener's payload.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{LifecycleEvent, LifecycleKind};

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
    pub(super) selector: Selector,
    pub(super) extract: fn(&Raw<'_>) -> Result<P, String>,
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
/// counted as [`rejected`](super::DeliveryReport::rejected); the listener is not
/// called (a [`once`](super::Events::once) listener stays registered for the next
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
pub(super) enum Selector {
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
pub(super) enum Raw<'a> {
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
