//! Delayed and periodic tasks: [`Scheduler`], [`TaskHandle`].
//!
//! [`after`](Scheduler::after) runs a task once after a delay,
//! [`every`](Scheduler::every) runs it periodically. Each task is one Tokio
//! task sleeping on a Tokio timer between runs — there is no polling loop,
//! and tests may drive the clock with `tokio::time::pause()` /
//! `#[tokio::test(start_paused = true)]`.
//!
//! Every task is owned by its scheduler: [`TaskHandle::cancel`] stops one,
//! [`Scheduler::shutdown`] stops them all (the endpoint calls it when it
//! stops), and so does dropping the last clone of the scheduler.
//!
//! ```
//! use netcore_endpoint::scheduler::Scheduler;
//! use std::time::Duration;
//! use tokio::sync::mpsc;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let scheduler = Scheduler::new();
//! let (ticks, mut ticked) = mpsc::unbounded_channel();
//!
//! let refresh = scheduler.every(Duration::from_secs(60), move || {
//!     let ticks = ticks.clone();
//!     async move {
//!         // e.g. refresh a cache
//!         let _ = ticks.send(());
//!     }
//! });
//! scheduler.after(Duration::from_secs(150), || async {
//!     tracing::info!("two and a half minutes later");
//! });
//!
//! ticked.recv().await; // t = 60 s (the paused clock jumps ahead)
//! ticked.recv().await; // t = 120 s
//! refresh.cancel();
//! scheduler.shutdown();
//! # }
//! ```
//!
//! # Failures
//!
//! A task's future may return `()` or `Result<(), E>` with `E: Display`
//! ([`TaskResult`]). An `Err` is logged with `tracing` at `WARN`, a panic at
//! `ERROR`. Neither stops an [`every`](Scheduler::every) task: the next tick
//! runs as planned, because a periodic job (refreshing a cache, sending a
//! heartbeat) that fails once usually succeeds the next time, and silently
//! stopping it would be worse than logging each failure. A task that should
//! stop itself can cancel its own [`TaskHandle`].

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures::FutureExt as _;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

use crate::events::panic_message;

/// What a scheduled task's future may return: `()`, or `Result<(), E>`
/// whose `Err` is logged at `WARN` with `E`'s `Display`.
///
/// With `Result`, the error type must be known: write
/// `Ok::<(), MyError>(())` or use `?` on a concrete error.
pub trait TaskResult {
    /// `Ok(())`, or the failure rendered as text.
    fn into_task_result(self) -> Result<(), String>;
}

impl TaskResult for () {
    fn into_task_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: fmt::Display> TaskResult for Result<(), E> {
    fn into_task_result(self) -> Result<(), String> {
        self.map_err(|error| error.to_string())
    }
}

/// What a periodic task does when it falls behind its schedule — a run
/// lasted longer than the period, or the runtime was too busy (or the
/// machine asleep) to fire the timer on time.
///
/// Runs of one task never overlap: a tick that comes due while a run is in
/// progress is *missed*. In every mode the first missed tick runs as soon as
/// the task is free again; the modes differ in what follows. With a 10 ms
/// period and a first run stalling from 10 ms to 45 ms (missing the ticks
/// due at 20, 30 and 40), runs start at:
///
/// | mode | runs start at (ms) |
/// |---|---|
/// | [`Skip`](MissedTickBehavior::Skip) (default) | 10, 45, 50, 60, 70, … |
/// | [`Delay`](MissedTickBehavior::Delay) | 10, 45, 55, 65, 75, … |
/// | [`Burst`](MissedTickBehavior::Burst) | 10, 45, 45, 45, 50, 60, … |
///
/// It maps to [`tokio::time::MissedTickBehavior`], whose docs have the
/// details.
///
/// The default is `Skip`, unlike Tokio's `Interval` (which bursts): the
/// scheduler serves periodic upkeep — refreshing a cache, a heartbeat, a
/// metrics flush — where what matters is the latest state on a steady
/// rhythm. Catching up with a burst after a stall would hit the peer or the
/// database with back-to-back runs that each redo the same work, and
/// `Delay` lets the schedule drift a little more with every stall.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MissedTickBehavior {
    /// Run the late tick once, drop the other missed ones, and return to
    /// the original schedule (multiples of the period from the first tick).
    /// The default.
    #[default]
    Skip,
    /// Run the late tick once, then schedule the following ticks a full
    /// period after it: the schedule shifts by the delay.
    Delay,
    /// Run every missed tick, back to back, until caught up: the number of
    /// runs over time matches the period.
    Burst,
}

impl From<MissedTickBehavior> for tokio::time::MissedTickBehavior {
    fn from(behavior: MissedTickBehavior) -> Self {
        match behavior {
            MissedTickBehavior::Skip => tokio::time::MissedTickBehavior::Skip,
            MissedTickBehavior::Delay => tokio::time::MissedTickBehavior::Delay,
            MissedTickBehavior::Burst => tokio::time::MissedTickBehavior::Burst,
        }
    }
}

#[derive(Default)]
struct State {
    tasks: JoinSet<()>,
    stopped: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    next_id: AtomicU64,
}

/// Runs tasks after a delay or periodically, on Tokio timers.
///
/// Cloning is cheap and every clone is the same scheduler. Its tasks stop
/// when [`shutdown`](Scheduler::shutdown) is called or when the **last clone
/// is dropped** (the tasks live in a [`JoinSet`] the scheduler owns). A task
/// that captures a clone of its own scheduler keeps it alive, so it runs
/// until cancelled or until `shutdown`.
///
/// Stopping a task — by [`cancel`](TaskHandle::cancel), `shutdown` or the
/// drop — aborts it: it runs no further tick, and a run in progress stops at
/// its next `.await`.
///
/// [`after`](Scheduler::after) and [`every`](Scheduler::every) must be
/// called inside a Tokio runtime (they spawn onto it, like
/// [`tokio::spawn`]).
#[derive(Clone, Default)]
pub struct Scheduler {
    shared: Arc<Shared>,
}

impl fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state();
        f.debug_struct("Scheduler")
            .field("tasks", &state.tasks.len())
            .field("stopped", &state.stopped)
            .finish()
    }
}

impl Scheduler {
    /// A scheduler with no task.
    pub fn new() -> Self {
        Scheduler::default()
    }

    /// Runs `task` once, `delay` from now.
    ///
    /// After [`shutdown`](Scheduler::shutdown), returns a finished handle
    /// and never runs `task`.
    ///
    /// ```
    /// use netcore_endpoint::scheduler::Scheduler;
    /// use std::time::Duration;
    /// use tokio::sync::oneshot;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let scheduler = Scheduler::new();
    /// let (done, ran) = oneshot::channel();
    /// let handle = scheduler.after(Duration::from_secs(5), move || async move {
    ///     let _ = done.send("ran");
    /// });
    /// assert_eq!(ran.await, Ok("ran"));
    /// # tokio::task::yield_now().await;
    /// # assert!(handle.is_finished());
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// When called outside a Tokio runtime.
    pub fn after<F, Fut>(&self, delay: Duration, task: F) -> TaskHandle
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        let id = self.next_id();
        // The timer starts now, not when the spawned task is first polled.
        let sleep = tokio::time::sleep(delay);
        self.spawn(id, async move {
            sleep.await;
            match AssertUnwindSafe(async move { task().await.into_task_result() })
                .catch_unwind()
                .await
            {
                Ok(Ok(())) => {}
                Ok(Err(error)) => tracing::warn!(task = id, %error, "scheduled task failed"),
                Err(panic) => tracing::error!(
                    task = id,
                    panic = panic_message(panic.as_ref()),
                    "scheduled task panicked"
                ),
            }
        })
    }

    /// Runs `task` every `period`, the first time one `period` from now,
    /// missed ticks [skipped](MissedTickBehavior::Skip).
    ///
    /// Runs never overlap: the next tick waits for the current run. A run
    /// that fails or panics is logged and the next tick still comes (see the
    /// [module docs](self#failures)).
    ///
    /// ```
    /// use netcore_endpoint::scheduler::Scheduler;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let scheduler = Scheduler::new();
    /// let ticks = Arc::new(AtomicU32::new(0));
    /// let counter = Arc::clone(&ticks);
    /// scheduler.every(Duration::from_millis(100), move || {
    ///     counter.fetch_add(1, Ordering::SeqCst);
    ///     async {}
    /// });
    /// tokio::time::sleep(Duration::from_millis(350)).await;
    /// assert_eq!(ticks.load(Ordering::SeqCst), 3); // at 100, 200 and 300 ms
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// When `period` is zero, or when called outside a Tokio runtime.
    pub fn every<F, Fut>(&self, period: Duration, task: F) -> TaskHandle
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        self.every_with(period, MissedTickBehavior::default(), task)
    }

    /// Like [`every`](Scheduler::every), with a chosen
    /// [`MissedTickBehavior`].
    ///
    /// ```
    /// use netcore_endpoint::scheduler::{MissedTickBehavior, Scheduler};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scheduler = Scheduler::new();
    /// let heartbeat = scheduler.every_with(
    ///     Duration::from_secs(1),
    ///     MissedTickBehavior::Delay,
    ///     || async { tracing::trace!("beat") },
    /// );
    /// heartbeat.cancel();
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// When `period` is zero, or when called outside a Tokio runtime.
    pub fn every_with<F, Fut>(
        &self,
        period: Duration,
        missed: MissedTickBehavior,
        task: F,
    ) -> TaskHandle
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        self.periodic(period, period, missed, task)
    }

    /// Runs `task` first `delay` from now, then every `period` (missed ticks
    /// [skipped](MissedTickBehavior::Skip)): the Python framework's
    /// `schedule(task, delay=…, interval=…)`. A zero `delay` runs it at once.
    ///
    /// ```
    /// use netcore_endpoint::scheduler::Scheduler;
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let scheduler = Scheduler::new();
    /// let ticks = Arc::new(AtomicU32::new(0));
    /// let counter = Arc::clone(&ticks);
    /// scheduler.every_after(Duration::from_secs(10), Duration::from_secs(300), move || {
    ///     counter.fetch_add(1, Ordering::SeqCst);
    ///     async {}
    /// });
    /// tokio::time::sleep(Duration::from_secs(9)).await;
    /// assert_eq!(ticks.load(Ordering::SeqCst), 0);
    /// tokio::time::sleep(Duration::from_secs(300)).await;
    /// assert_eq!(ticks.load(Ordering::SeqCst), 1); // at 10 s
    /// tokio::time::sleep(Duration::from_secs(2)).await;
    /// assert_eq!(ticks.load(Ordering::SeqCst), 2); // and at 310 s
    /// # }
    /// ```
    ///
    /// # Panics
    ///
    /// When `period` is zero, or when called outside a Tokio runtime.
    pub fn every_after<F, Fut>(&self, delay: Duration, period: Duration, task: F) -> TaskHandle
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        self.periodic(delay, period, MissedTickBehavior::default(), task)
    }

    /// The periodic task: first tick `delay` from now, then every `period`.
    fn periodic<F, Fut>(
        &self,
        delay: Duration,
        period: Duration,
        missed: MissedTickBehavior,
        mut task: F,
    ) -> TaskHandle
    where
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: TaskResult,
    {
        assert!(
            !period.is_zero(),
            "Scheduler::every: the period must be non-zero"
        );
        let id = self.next_id();
        let now = Instant::now();
        // A delay too long to add to `now` never ticks: start in ~30 years,
        // as Tokio does for far-future timers.
        let start = now
            .checked_add(delay)
            .unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30));
        let mut interval = tokio::time::interval_at(start, period);
        interval.set_missed_tick_behavior(missed.into());
        self.spawn(id, async move {
            let mut tick: u64 = 0;
            loop {
                interval.tick().await;
                tick += 1;
                // Calling `task` runs user code too: catch its panic along
                // with the future's.
                let run = AssertUnwindSafe(async { task().await.into_task_result() });
                match run.catch_unwind().await {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        tracing::warn!(task = id, tick, %error, "periodic task failed");
                    }
                    Err(panic) => tracing::error!(
                        task = id,
                        tick,
                        panic = panic_message(panic.as_ref()),
                        "periodic task panicked; it keeps its schedule"
                    ),
                }
            }
        })
    }

    /// Stops every task, now and for good: running tasks are aborted (at
    /// their next `.await`), pending ones never run, and later
    /// [`after`](Scheduler::after) / [`every`](Scheduler::every) calls
    /// return finished handles without running anything.
    ///
    /// Aborting is asynchronous, as with [`JoinHandle::abort`]; await
    /// [`shutdown_and_wait`](Scheduler::shutdown_and_wait) to know the tasks
    /// are gone.
    ///
    /// [`JoinHandle::abort`]: tokio::task::JoinHandle::abort
    pub fn shutdown(&self) {
        let mut state = self.state();
        if !state.stopped {
            tracing::debug!(tasks = state.tasks.len(), "scheduler shut down");
        }
        state.stopped = true;
        state.tasks.abort_all();
    }

    /// [`shutdown`](Scheduler::shutdown), then waits until every task has
    /// stopped.
    ///
    /// ```
    /// use netcore_endpoint::scheduler::Scheduler;
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let scheduler = Scheduler::new();
    /// let tick = scheduler.every(Duration::from_millis(10), || async {});
    /// scheduler.shutdown_and_wait().await;
    /// assert!(tick.is_finished());
    /// assert!(scheduler.is_shut_down());
    /// # }
    /// ```
    pub async fn shutdown_and_wait(&self) {
        self.shutdown();
        let mut tasks = std::mem::take(&mut self.state().tasks);
        while tasks.join_next().await.is_some() {}
    }

    /// Whether [`shutdown`](Scheduler::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.state().stopped
    }

    /// How many tasks have not finished yet (pending, running, or aborted
    /// but not yet reaped by the runtime).
    pub fn active_tasks(&self) -> usize {
        let mut state = self.state();
        reap(&mut state.tasks);
        state.tasks.len()
    }

    fn next_id(&self) -> u64 {
        self.shared.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn spawn(&self, id: u64, task: impl Future<Output = ()> + Send + 'static) -> TaskHandle {
        let mut state = self.state();
        if state.stopped {
            tracing::debug!(task = id, "scheduler is shut down; task not started");
            return TaskHandle { id, abort: None };
        }
        reap(&mut state.tasks);
        let abort = state.tasks.spawn(task);
        TaskHandle {
            id,
            abort: Some(abort),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The lock is never held while a task runs; a poisoned lock holds no
        // half-made change.
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Forgets the tasks that have finished, so a long-lived scheduler running
/// many one-shot tasks does not accumulate them.
fn reap(tasks: &mut JoinSet<()>) {
    while tasks.try_join_next().is_some() {}
}

/// A handle on one scheduled task.
///
/// Dropping the handle does **not** cancel the task (as with Tokio's
/// `JoinHandle`); the task still stops with its scheduler.
#[derive(Debug, Clone)]
pub struct TaskHandle {
    id: u64,
    abort: Option<AbortHandle>,
}

impl TaskHandle {
    /// Cancels the task: a pending one never runs, a periodic one ticks no
    /// more, and a run in progress stops at its next `.await`. Cancelling a
    /// finished task does nothing.
    ///
    /// ```
    /// use netcore_endpoint::scheduler::Scheduler;
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let scheduler = Scheduler::new();
    /// let (fire, mut fired) = tokio::sync::mpsc::unbounded_channel::<()>();
    /// let handle = scheduler.after(Duration::from_secs(1), move || async move {
    ///     let _ = fire.send(());
    /// });
    /// handle.cancel();
    /// tokio::time::sleep(Duration::from_secs(2)).await;
    /// assert!(handle.is_finished());
    /// assert!(fired.recv().await.is_none()); // never ran; its sender is gone
    /// # }
    /// ```
    pub fn cancel(&self) {
        if let Some(abort) = &self.abort {
            abort.abort();
        }
    }

    /// Whether the task is over: it ran (for [`after`](Scheduler::after)),
    /// or it was cancelled or shut down and the runtime has dropped it.
    /// Aborting takes effect at the runtime's next turn, so right after
    /// [`cancel`](TaskHandle::cancel) this may still be `false` briefly.
    pub fn is_finished(&self) -> bool {
        self.abort.as_ref().is_none_or(AbortHandle::is_finished)
    }

    /// The task's number within its scheduler, as it appears in logs.
    pub fn id(&self) -> u64 {
        self.id
    }
}
