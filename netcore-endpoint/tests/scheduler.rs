//! Scheduler: `after`, `every`, cancellation, missed ticks, failures,
//! shutdown. Every test runs on Tokio's paused clock: timers fire in virtual
//! time, so tick counts and orderings are exact and nothing sleeps for real.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netcore_endpoint::scheduler::{MissedTickBehavior, Scheduler, TaskHandle, TaskResult};
use tokio::time::{Instant, sleep, timeout};

mod common;
use common::Capture;

/// Bounds every wait in virtual time (auto-advance makes a hang reach it at
/// once rather than stall the suite).
const GUARD: Duration = Duration::from_secs(3600);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A log of what ran, at which virtual time since the test began.
#[derive(Clone)]
struct Log {
    start: Instant,
    entries: Arc<Mutex<Vec<(u64, &'static str)>>>,
}

impl Log {
    fn new() -> Log {
        Log {
            start: Instant::now(),
            entries: Arc::default(),
        }
    }

    fn note(&self, what: &'static str) {
        let at = u64::try_from(self.start.elapsed().as_millis()).expect("small");
        self.entries.lock().expect("not poisoned").push((at, what));
    }

    fn entries(&self) -> Vec<(u64, &'static str)> {
        self.entries.lock().expect("not poisoned").clone()
    }

    fn times(&self) -> Vec<u64> {
        self.entries().into_iter().map(|(at, _)| at).collect()
    }
}

/// Waits until `handle` reports finished, polling every virtual
/// millisecond (sleeping, not yielding, so the paused clock can advance).
async fn until_finished(handle: &TaskHandle) {
    timeout(Duration::from_secs(60), async {
        while !handle.is_finished() {
            sleep(ms(1)).await;
        }
    })
    .await
    .expect("task never finished");
}

#[tokio::test(start_paused = true)]
async fn after_runs_once_at_its_deadline() {
    let scheduler = Scheduler::new();
    let log = Log::new();
    let note = log.clone();
    let handle = scheduler.after(ms(250), move || async move { note.note("after") });
    assert!(!handle.is_finished());

    sleep(ms(249)).await;
    assert!(log.entries().is_empty(), "not due yet");
    sleep(ms(10_000)).await;
    assert_eq!(log.entries(), vec![(250, "after")]);
    until_finished(&handle).await;
    assert_eq!(scheduler.active_tasks(), 0);
}

#[tokio::test(start_paused = true)]
async fn every_ticks_once_per_period_from_one_period_on() {
    let scheduler = Scheduler::new();
    let log = Log::new();
    let note = log.clone();
    scheduler.every(ms(100), move || {
        note.note("tick");
        async {}
    });
    sleep(ms(450)).await;
    assert_eq!(log.times(), vec![100, 200, 300, 400]);
}

#[tokio::test(start_paused = true)]
async fn tasks_interleave_in_deadline_order() {
    let scheduler = Scheduler::new();
    let log = Log::new();
    let (a, b, c) = (log.clone(), log.clone(), log.clone());
    scheduler.every(ms(30), move || {
        a.note("every 30");
        async {}
    });
    scheduler.after(ms(45), move || async move { b.note("after 45") });
    scheduler.after(ms(10), move || async move { c.note("after 10") });
    sleep(ms(100)).await;
    assert_eq!(
        log.entries(),
        vec![
            (10, "after 10"),
            (30, "every 30"),
            (45, "after 45"),
            (60, "every 30"),
            (90, "every 30"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn cancel_stops_a_pending_or_periodic_task() {
    let scheduler = Scheduler::new();
    let log = Log::new();

    let note = log.clone();
    let pending = scheduler.after(ms(100), move || async move { note.note("after") });
    let note = log.clone();
    let periodic = scheduler.every(ms(40), move || {
        note.note("every");
        async {}
    });

    pending.cancel();
    until_finished(&pending).await;
    sleep(ms(90)).await; // ticks at 40 and 80
    periodic.cancel();
    periodic.cancel(); // idempotent
    until_finished(&periodic).await;
    sleep(ms(1_000)).await;

    assert_eq!(log.entries(), vec![(40, "every"), (80, "every")]);
    assert_eq!(scheduler.active_tasks(), 0);
}

#[tokio::test(start_paused = true)]
async fn cancel_aborts_a_run_in_progress() {
    let scheduler = Scheduler::new();
    let log = Log::new();
    let note = log.clone();
    let handle = scheduler.every(ms(10), move || {
        let note = note.clone();
        async move {
            note.note("run starts");
            sleep(ms(100)).await;
            note.note("run ends");
        }
    });
    sleep(ms(50)).await; // the first run is halfway
    handle.cancel();
    until_finished(&handle).await;
    sleep(ms(1_000)).await;
    assert_eq!(log.entries(), vec![(10, "run starts")]);
}

/// A periodic task on a 10 ms period whose first run lasts 35 ms (a stall
/// that misses the ticks due at 20, 30 and 40) and whose other runs are
/// instant; returns when each run started, over 85 ms.
async fn run_starts_with(missed: Option<MissedTickBehavior>) -> Vec<u64> {
    let scheduler = Scheduler::new();
    let log = Log::new();
    let note = log.clone();
    let mut first = true;
    let task = move || {
        let note = note.clone();
        let stall = std::mem::take(&mut first);
        async move {
            note.note("run");
            if stall {
                sleep(ms(35)).await;
            }
        }
    };
    match missed {
        None => scheduler.every(ms(10), task),
        Some(missed) => scheduler.every_with(ms(10), missed, task),
    };
    sleep(ms(85)).await;
    scheduler.shutdown();
    log.times()
}

#[tokio::test(start_paused = true)]
async fn missed_ticks_are_skipped_by_default() {
    // The late tick runs as soon as the stall ends (45), the other missed
    // ones are dropped, and the schedule keeps its phase: 50, 60, 70, 80.
    let skip = run_starts_with(None).await;
    assert_eq!(skip, vec![10, 45, 50, 60, 70, 80]);
    assert_eq!(
        run_starts_with(Some(MissedTickBehavior::Skip)).await,
        skip,
        "Skip is the default"
    );
    assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Skip);
}

#[tokio::test(start_paused = true)]
async fn missed_ticks_delay_or_burst_when_asked() {
    // Delay: the late tick runs at 45 and the schedule shifts after it.
    assert_eq!(
        run_starts_with(Some(MissedTickBehavior::Delay)).await,
        vec![10, 45, 55, 65, 75]
    );
    // Burst: the three missed ticks run back to back at 45, then on phase.
    assert_eq!(
        run_starts_with(Some(MissedTickBehavior::Burst)).await,
        vec![10, 45, 45, 45, 50, 60, 70, 80]
    );
}

#[tokio::test(start_paused = true)]
async fn runs_of_one_task_never_overlap() {
    let scheduler = Scheduler::new();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let runs = Arc::new(AtomicUsize::new(0));
    let (r, m, n) = (running.clone(), most.clone(), runs.clone());
    scheduler.every_with(ms(5), MissedTickBehavior::Burst, move || {
        let (running, most, runs) = (r.clone(), m.clone(), n.clone());
        async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            sleep(ms(12)).await;
            running.fetch_sub(1, Ordering::SeqCst);
            runs.fetch_add(1, Ordering::SeqCst);
        }
    });
    sleep(ms(200)).await;
    assert_eq!(most.load(Ordering::SeqCst), 1);
    assert!(runs.load(Ordering::SeqCst) >= 10);
}

#[tokio::test(start_paused = true, flavor = "current_thread")]
async fn a_panicking_or_failing_periodic_task_keeps_its_schedule() {
    let logs = Capture::install();
    let scheduler = Scheduler::new();
    let log = Log::new();
    let note = log.clone();
    let mut tick = 0;
    scheduler.every(ms(10), move || {
        tick += 1;
        let note = note.clone();
        let this = tick;
        async move {
            note.note("run");
            match this {
                2 => panic!("tick two exploded"),
                3 => Err(Oops),
                _ => Ok(()),
            }
        }
    });
    sleep(ms(55)).await;
    assert_eq!(log.times(), vec![10, 20, 30, 40, 50]);
    assert!(logs.contains(
        tracing::Level::ERROR,
        "periodic task panicked; it keeps its schedule"
    ));
    assert!(logs.contains(tracing::Level::WARN, "periodic task failed"));
    assert!(logs.any_field_contains("tick two exploded"));
    assert!(logs.any_field_contains("oops"));
}

#[tokio::test(start_paused = true, flavor = "current_thread")]
async fn a_task_panicking_while_making_its_future_keeps_its_schedule_too() {
    let scheduler = Scheduler::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let counted = runs.clone();
    scheduler.every(ms(10), move || -> std::future::Ready<()> {
        if counted.fetch_add(1, Ordering::SeqCst) == 0 {
            panic!("first call panics before returning a future");
        }
        std::future::ready(())
    });
    sleep(ms(35)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true, flavor = "current_thread")]
async fn a_panicking_one_shot_task_is_logged_and_others_run() {
    let logs = Capture::install();
    let scheduler = Scheduler::new();
    let log = Log::new();
    async fn explode() {
        panic!("one-shot exploded");
    }
    let bad = scheduler.after(ms(10), explode);
    let note = log.clone();
    scheduler.after(ms(20), move || async move { note.note("fine") });
    sleep(ms(30)).await;
    until_finished(&bad).await;
    assert_eq!(log.entries(), vec![(20, "fine")]);
    assert!(logs.contains(tracing::Level::ERROR, "scheduled task panicked"));
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_every_task_and_refuses_new_ones() {
    let scheduler = Scheduler::new();
    let log = Log::new();
    let note = log.clone();
    let periodic = scheduler.every(ms(10), move || {
        note.note("every");
        async {}
    });
    let note = log.clone();
    let pending = scheduler.after(ms(100), move || async move { note.note("after") });
    sleep(ms(25)).await;

    let handle_clone = scheduler.clone();
    handle_clone.shutdown();
    assert!(scheduler.is_shut_down());
    until_finished(&periodic).await;
    until_finished(&pending).await;

    let note = log.clone();
    let late = scheduler.after(ms(1), move || async move { note.note("late") });
    assert!(late.is_finished(), "refused after shutdown");
    sleep(ms(1_000)).await;
    assert_eq!(log.entries(), vec![(10, "every"), (20, "every")]);
    assert_eq!(scheduler.active_tasks(), 0);
    scheduler.shutdown(); // idempotent
}

#[tokio::test(start_paused = true)]
async fn shutdown_and_wait_returns_when_the_tasks_are_gone() {
    let scheduler = Scheduler::new();
    let handles: Vec<_> = (1..=5)
        .map(|i| scheduler.every(ms(i), || async { sleep(ms(3)).await }))
        .collect();
    sleep(ms(20)).await;
    timeout(GUARD, scheduler.shutdown_and_wait())
        .await
        .expect("shutdown completes");
    assert!(handles.iter().all(TaskHandle::is_finished));
    assert_eq!(scheduler.active_tasks(), 0);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_last_clone_stops_the_tasks() {
    let scheduler = Scheduler::new();
    let clone = scheduler.clone();
    let ticks = Arc::new(AtomicUsize::new(0));
    let counted = ticks.clone();
    let handle = clone.every(ms(10), move || {
        counted.fetch_add(1, Ordering::SeqCst);
        async {}
    });
    sleep(ms(35)).await;
    drop(clone);
    sleep(ms(20)).await;
    assert_eq!(ticks.load(Ordering::SeqCst), 5, "one clone still alive");

    drop(scheduler);
    until_finished(&handle).await;
    sleep(ms(1_000)).await;
    assert_eq!(ticks.load(Ordering::SeqCst), 5);
}

#[tokio::test(start_paused = true)]
async fn finished_one_shot_tasks_are_reaped() {
    let scheduler = Scheduler::new();
    for i in 0..100 {
        scheduler.after(ms(i % 7), || async {});
    }
    assert_eq!(scheduler.active_tasks(), 100);
    sleep(ms(10)).await;
    tokio::task::yield_now().await;
    assert_eq!(scheduler.active_tasks(), 0);
    assert!(format!("{scheduler:?}").contains("stopped: false"));
}

#[tokio::test(start_paused = true)]
async fn a_task_may_cancel_itself_through_its_handle() {
    let scheduler = Scheduler::new();
    let slot: Arc<Mutex<Option<TaskHandle>>> = Arc::default();
    let runs = Arc::new(AtomicUsize::new(0));
    let (me, counted) = (slot.clone(), runs.clone());
    let handle = scheduler.every(ms(10), move || {
        let me = me.clone();
        let runs = counted.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            if runs == 3
                && let Some(handle) = me.lock().expect("not poisoned").as_ref()
            {
                handle.cancel();
            }
        }
    });
    *slot.lock().expect("not poisoned") = Some(handle.clone());
    until_finished(&handle).await;
    sleep(ms(100)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "period must be non-zero")]
async fn a_zero_period_is_refused() {
    Scheduler::new().every(Duration::ZERO, || async {});
}

#[test]
fn task_results() {
    assert_eq!(().into_task_result(), Ok(()));
    assert_eq!(
        Err::<(), _>(Oops).into_task_result(),
        Err("oops".to_string())
    );
}

// --- helpers ---------------------------------------------------------------

#[derive(Debug)]
struct Oops;

impl fmt::Display for Oops {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oops")
    }
}
