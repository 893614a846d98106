//! Tasks reused from one request to the next.
//!
//! Spawning a Tokio task per request costs an aligned allocation of the
//! whole request future (a few KiB), a copy of it, and a lock on the
//! runtime's task list — per call, about 6 % of the CPU a small call costs
//! (profiled with `perf` on the peers bench, 64 calls in flight). So a
//! connection's request tasks are kept once done: a task that has served
//! its request offers itself for the next one, and waits. [`Workers::run`]
//! hands a job to a waiting task if there is one, and spawns a task only
//! when none waits.
//!
//! At most [`Workers::new`]'s `max_idle` tasks wait per connection; a task
//! finding that many waiting ends instead, and a task that waits
//! [`IDLE_FOR`] with no job ends too, so a quiet connection holds none.
//! Waiting tasks hold no request and end with the connection: when the
//! [`Workers`] is dropped, their hand-off channels close and they return.
//!
//! No job is lost between a task ending and a hand-off: a hand-off to a
//! task that has gone gives the job back ([`oneshot::Sender::send`]), and
//! the next waiting task, or a new one, takes it.

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::oneshot;

/// How long a task waits for its next job before it ends: long enough to
/// carry a busy connection from one request to the next, short enough that
/// a connection gone quiet holds no task.
const IDLE_FOR: Duration = Duration::from_millis(500);

/// Work for a [`Workers`] task: it runs to its end inside the task.
pub(crate) trait Job: Send + 'static {
    /// Does the work.
    fn run(self) -> impl Future<Output = ()> + Send;
}

/// The tasks waiting for a job: how to hand one to each.
type Idle<J> = Mutex<Vec<oneshot::Sender<J>>>;

/// A connection's reusable tasks (see the [module docs](self)).
pub(crate) struct Workers<J: Job> {
    idle: Arc<Idle<J>>,
    max_idle: usize,
}

impl<J: Job> Workers<J> {
    /// Keeps at most `max_idle` tasks waiting for work.
    pub(crate) fn new(max_idle: usize) -> Workers<J> {
        Workers {
            idle: Arc::new(Mutex::new(Vec::new())),
            max_idle,
        }
    }

    /// Runs `job` in a waiting task, or in a new one.
    pub(crate) fn run(&self, job: J) {
        let mut job = job;
        while let Some(waiting) = lock(&self.idle).pop() {
            match waiting.send(job) {
                Ok(()) => return,
                // That task had ended: try the next.
                Err(back) => job = back,
            }
        }
        tokio::spawn(work(job, Arc::downgrade(&self.idle), self.max_idle));
    }

    /// How many tasks wait for a job now.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        lock(&self.idle).iter().filter(|tx| !tx.is_closed()).count()
    }
}

/// One reusable task: runs `first`, then each job handed to it, until its
/// [`Workers`] is gone or enough others wait.
async fn work<J: Job>(first: J, idle: Weak<Idle<J>>, max_idle: usize) {
    let mut job = first;
    loop {
        job.run().await;
        let (offer, mut next) = oneshot::channel();
        {
            let Some(idle) = idle.upgrade() else {
                return;
            };
            let mut idle = lock(&idle);
            if idle.len() >= max_idle {
                idle.retain(|waiting| !waiting.is_closed());
                if idle.len() >= max_idle {
                    return;
                }
            }
            idle.push(offer);
        }
        job = match tokio::time::timeout(IDLE_FOR, &mut next).await {
            Ok(Ok(job)) => job,
            // The connection is over.
            Ok(Err(_)) => return,
            // No work came: end, unless a job came as the wait ended.
            Err(_) => {
                next.close();
                match next.try_recv() {
                    Ok(job) => job,
                    Err(_) => return,
                }
            }
        };
    }
}

fn lock<J>(idle: &Idle<J>) -> MutexGuard<'_, Vec<oneshot::Sender<J>>> {
    idle.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Semaphore;

    use super::*;

    /// Records which task ran it, and waits for a permit when given one.
    struct Probe {
        ran: Arc<Mutex<Vec<tokio::task::Id>>>,
        done: Arc<AtomicUsize>,
        hold: Option<Arc<Semaphore>>,
    }

    impl Job for Probe {
        async fn run(self) {
            if let Some(hold) = &self.hold {
                let _permit = hold.acquire().await;
            }
            self.ran.lock().expect("lock").push(tokio::task::id());
            self.done.fetch_add(1, Ordering::SeqCst);
        }
    }

    async fn until_done(done: &AtomicUsize, count: usize) {
        tokio::time::timeout(Duration::from_secs(10), async {
            while done.load(Ordering::SeqCst) < count {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("jobs done in time");
    }

    /// Runs one job on `workers` and waits for it to be done.
    async fn run_one(workers: &Workers<Probe>) {
        let done = Arc::new(AtomicUsize::new(0));
        workers.run(Probe {
            ran: Arc::new(Mutex::new(Vec::new())),
            done: done.clone(),
            hold: None,
        });
        until_done(&done, 1).await;
    }

    #[tokio::test]
    async fn jobs_one_after_another_reuse_one_task() {
        let workers = Workers::new(4);
        let ran = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicUsize::new(0));
        for n in 1..=10 {
            workers.run(Probe {
                ran: ran.clone(),
                done: done.clone(),
                hold: None,
            });
            until_done(&done, n).await;
            // The task offers itself once its job is done.
            tokio::time::timeout(Duration::from_secs(10), async {
                while workers.waiting() == 0 {
                    tokio::task::yield_now().await;
                }
            })
            .await
            .expect("the task waits again");
        }
        let ran = ran.lock().expect("lock");
        assert_eq!(ran.len(), 10);
        assert!(
            ran.iter().all(|id| *id == ran[0]),
            "one task ran all: {ran:?}"
        );
    }

    #[tokio::test]
    async fn concurrent_jobs_get_tasks_of_their_own_and_at_most_max_idle_stay() {
        let workers = Workers::new(3);
        let ran = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicUsize::new(0));
        let hold = Arc::new(Semaphore::new(0));
        for _ in 0..8 {
            workers.run(Probe {
                ran: ran.clone(),
                done: done.clone(),
                hold: Some(hold.clone()),
            });
        }
        hold.add_permits(8);
        until_done(&done, 8).await;
        let mut ids = ran.lock().expect("lock").clone();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 8, "eight jobs at once ran in eight tasks");
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(workers.waiting(), 3, "only max_idle tasks wait");
    }

    #[tokio::test]
    async fn waiting_tasks_end_with_their_workers() {
        let workers = Workers::new(2);
        run_one(&workers).await;
        let metrics = tokio::runtime::Handle::current().metrics();
        assert_eq!(metrics.num_alive_tasks(), 1, "one task waits");
        let idle = Arc::downgrade(&workers.idle);
        drop(workers);
        // The waiting task held only a weak reference: nothing is left.
        assert!(idle.upgrade().is_none());
        tokio::time::timeout(Duration::from_secs(10), async {
            while metrics.num_alive_tasks() > 0 {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the waiting task ends with its workers");
    }

    #[tokio::test(start_paused = true)]
    async fn a_task_with_no_work_for_a_while_ends() {
        let workers = Workers::new(2);
        run_one(&workers).await;
        let metrics = tokio::runtime::Handle::current().metrics();
        tokio::time::sleep(IDLE_FOR / 2).await;
        assert_eq!(metrics.num_alive_tasks(), 1, "it still waits");
        tokio::time::sleep(IDLE_FOR).await;
        assert_eq!(metrics.num_alive_tasks(), 0, "it has ended");
        assert_eq!(workers.waiting(), 0);
    }
}
