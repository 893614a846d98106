//! The places a connection's requests take before anything is spawned for
//! them: [`max_concurrent_handlers`](crate::EndpointConfig::max_concurrent_handlers)
//! running plus [`max_queued_requests`](crate::EndpointConfig::max_queued_requests)
//! waiting for a handler slot. The reader takes a place for each request it
//! accepts; when none is free it stops accepting, so the pipe and then the
//! transport push back on the peer.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection's request places and how many are taken.
#[derive(Debug)]
pub(crate) struct Admission {
    places: Arc<Semaphore>,
    taken: AtomicUsize,
    peak: AtomicUsize,
}

impl Admission {
    /// `places` places (at least one).
    pub(crate) fn new(places: usize) -> Arc<Admission> {
        Arc::new(Admission {
            places: Arc::new(Semaphore::new(places.clamp(1, Semaphore::MAX_PERMITS))),
            taken: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    /// A free place, if there is one now.
    pub(crate) fn try_enter(self: &Arc<Self>) -> Option<Place> {
        let permit = self.places.clone().try_acquire_owned().ok()?;
        Some(self.taken(permit))
    }

    /// Waits for a free place (`None` only if the places were closed,
    /// which nothing does).
    pub(crate) async fn enter(self: &Arc<Self>) -> Option<Place> {
        let permit = self.places.clone().acquire_owned().await.ok()?;
        Some(self.taken(permit))
    }

    fn taken(self: &Arc<Self>, permit: OwnedSemaphorePermit) -> Place {
        let now = self.taken.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Place {
            _permit: permit,
            admission: self.clone(),
        }
    }

    /// Places taken now and the most taken at once so far.
    pub(crate) fn taken_and_peak(&self) -> (usize, usize) {
        (
            self.taken.load(Ordering::SeqCst),
            self.peak.load(Ordering::SeqCst),
        )
    }
}

/// One request's place: given back when dropped (its task ended, was
/// cancelled, or the request was dropped before it got one).
#[derive(Debug)]
pub(crate) struct Place {
    _permit: OwnedSemaphorePermit,
    admission: Arc<Admission>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.admission.taken.fetch_sub(1, Ordering::SeqCst);
    }
}
