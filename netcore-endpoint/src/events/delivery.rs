//! Running listeners and reporting how they fared: one listener run
//! ([`run_listener`]), the [`Delivery`] handle an emit returns and the
//! [`DeliveryReport`] it resolves to.

use std::any::Any;
use std::future::{Future, IntoFuture};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use tokio::task::JoinHandle;

use super::listener::Slot;

pub(super) async fn run_listener(
    slot: Arc<Slot>,
    run: BoxFuture<'static, Result<(), String>>,
) -> Outcome {
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
pub(super) enum Outcome {
    Succeeded,
    Failed,
    Panicked,
}

/// The listener runs started by one emit.
///
/// Dropping it changes nothing (the runs go on, detached); `.await` it to
/// wait until all of them have finished and get a [`DeliveryReport`] — what
/// tests use to observe delivery deterministically.
#[derive(Debug, Default)]
pub struct Delivery {
    pub(super) tasks: Vec<JoinHandle<Outcome>>,
    pub(super) rejected: usize,
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
    /// [`Typed`](super::Typed) listeners whose payload did not fit (logged at `WARN`;
    /// they were not called).
    pub rejected: usize,
}

impl DeliveryReport {
    /// Every listener the emit reached: started plus rejected.
    pub fn total(&self) -> usize {
        self.succeeded + self.failed + self.panicked + self.rejected
    }
}
