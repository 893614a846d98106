//! One listener: what its future may return ([`ListenerResult`]), its
//! [`ListenerId`], and the type-erased [`Slot`] the registry stores for it.

use std::fmt;

use futures::future::BoxFuture;

use super::LifecycleKind;
use super::topic::{Raw, Selector};

/// What a listener's future may return: `()`, or `Result<(), E>` whose `Err`
/// is logged (at `WARN`, with `E`'s `Display`) and counted as
/// [`failed`](super::DeliveryReport::failed).
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

/// Identifies a registered listener, for [`Events::off`](super::Events::off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ListenerId(pub(super) u64);

impl ListenerId {
    /// The id as a number (unique within its [`Events`](super::Events) hub).
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
pub(super) enum Dispatch {
    /// Run this future (it calls the listener when first polled).
    Run(BoxFuture<'static, Result<(), String>>),
    /// The payload does not fit the listener.
    Rejected(String),
    /// A `once` listener that another emit already fired.
    Spent,
}

pub(super) type Call = Box<dyn Fn(&Raw<'_>) -> Dispatch + Send + Sync>;

pub(super) struct Slot {
    pub(super) id: ListenerId,
    pub(super) selector: Selector,
    pub(super) once: bool,
    pub(super) call: Call,
}

impl Slot {
    /// Whether this listener hears lifecycle events of `kind`.
    pub(super) fn hears(&self, kind: LifecycleKind) -> bool {
        match self.selector {
            Selector::Lifecycle(filter) => filter.is_none_or(|wanted| wanted == kind),
            Selector::User(_) => false,
        }
    }
}
