//! The places a connection's requests take before anything is spawned for
//! them: [`max_concurrent_handlers`](crate::EndpointConfig::max_concurrent_handlers)
//! running plus [`max_queued_requests`](crate::EndpointConfig::max_queued_requests)
//! waiting for a handler slot. The reader takes a place for each request it
//! accepts; when none is free it stops accepting, so the pipe and then the
//! transport push back on the peer.
//!
//! Under a [`Server`](crate::Server), a connection's first
//! [`ServerConfig::own_request_places`](crate::ServerConfig::own_request_places)
//! places are its own, and each one past them also takes a place from the
//! server's [`SharedPlaces`] (FIFO, so connections waiting for one are
//! served in turn): many connections together hold at most
//! `connections × own + shared` requests, and a connection always has its
//! own few, however many others have taken.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The request places all of a server's connections share beyond their own.
#[derive(Debug)]
pub(crate) struct SharedPlaces {
    places: Arc<Semaphore>,
    own: usize,
}

impl SharedPlaces {
    /// `shared` places for the server, `own` for each connection.
    pub(crate) fn new(shared: usize, own: usize) -> Arc<SharedPlaces> {
        Arc::new(SharedPlaces {
            places: Arc::new(Semaphore::new(shared.min(Semaphore::MAX_PERMITS))),
            own: own.max(1),
        })
    }

    /// Shared places free now.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.places.available_permits()
    }
}

/// A connection's request places and how many are taken.
#[derive(Debug)]
pub(crate) struct Admission {
    /// Places that need nothing from a server's pool.
    own: Arc<Semaphore>,
    /// Places past `own`, each taken with one of `shared`'s.
    extra: Option<(Arc<Semaphore>, Arc<SharedPlaces>)>,
    taken: AtomicUsize,
    peak: AtomicUsize,
}

impl Admission {
    /// `places` places (at least one), all the connection's own, or with
    /// `shared`, its own few and the rest drawn from the server's pool.
    pub(crate) fn new(places: usize, shared: Option<Arc<SharedPlaces>>) -> Arc<Admission> {
        let places = places.clamp(1, Semaphore::MAX_PERMITS);
        let (own, extra) = match shared {
            Some(shared) if shared.own < places => {
                let extra = Arc::new(Semaphore::new(places - shared.own));
                (shared.own, Some((extra, shared)))
            }
            _ => (places, None),
        };
        Arc::new(Admission {
            own: Arc::new(Semaphore::new(own)),
            extra,
            taken: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        })
    }

    /// A free place, if there is one now.
    pub(crate) fn try_enter(self: &Arc<Self>) -> Option<Place> {
        if let Ok(permit) = self.own.clone().try_acquire_owned() {
            return Some(self.taken(permit, None));
        }
        let (extra, shared) = self.extra.as_ref()?;
        let permit = extra.clone().try_acquire_owned().ok()?;
        let from_pool = shared.places.clone().try_acquire_owned().ok()?;
        Some(self.taken(permit, Some(from_pool)))
    }

    /// Waits for a free place: one of the connection's own, or one past
    /// them with a place from the server's pool, whichever comes first
    /// (`None` only if the places were closed, which nothing does).
    pub(crate) async fn enter(self: &Arc<Self>) -> Option<Place> {
        let own = self.own.clone().acquire_owned();
        let Some((extra, shared)) = &self.extra else {
            let permit = own.await.ok()?;
            return Some(self.taken(permit, None));
        };
        let past_own = async {
            let permit = extra.clone().acquire_owned().await.ok()?;
            let from_pool = shared.places.clone().acquire_owned().await.ok()?;
            Some((permit, from_pool))
        };
        // Either wait is cancel-safe: the one that loses gives back
        // whatever it had taken. An own place first, when both are free,
        // so that a pool place is not held while an own one idles.
        tokio::select! {
            biased;
            permit = own => Some(self.taken(permit.ok()?, None)),
            taken = past_own => {
                let (permit, from_pool) = taken?;
                Some(self.taken(permit, Some(from_pool)))
            }
        }
    }

    fn taken(
        self: &Arc<Self>,
        permit: OwnedSemaphorePermit,
        from_pool: Option<OwnedSemaphorePermit>,
    ) -> Place {
        let now = self.taken.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        Place {
            _permit: permit,
            _from_pool: from_pool,
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
/// cancelled, or the request was dropped before it got one), with the
/// server's place it took, if any.
#[derive(Debug)]
pub(crate) struct Place {
    _permit: OwnedSemaphorePermit,
    _from_pool: Option<OwnedSemaphorePermit>,
    admission: Arc<Admission>,
}

impl Drop for Place {
    fn drop(&mut self) {
        self.admission.taken.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_pool_every_place_is_the_connection_s_own() {
        let admission = Admission::new(3, None);
        let places: Vec<Place> = (0..3).filter_map(|_| admission.try_enter()).collect();
        assert_eq!(places.len(), 3);
        assert!(admission.try_enter().is_none());
        drop(places);
        assert!(admission.try_enter().is_some());
    }

    #[test]
    fn places_past_a_connection_s_own_come_from_the_server_s_pool() {
        let pool = SharedPlaces::new(4, 2);
        let a = Admission::new(10, Some(pool.clone()));
        let b = Admission::new(10, Some(pool.clone()));
        // `a` takes its own two, then all four of the pool.
        let a_places: Vec<Place> = (0..6).filter_map(|_| a.try_enter()).collect();
        assert_eq!(a_places.len(), 6);
        assert_eq!(pool.available(), 0);
        assert!(a.try_enter().is_none(), "the pool is spent");
        // `b` still has its own two.
        let b_places: Vec<Place> = (0..3).filter_map(|_| b.try_enter()).collect();
        assert_eq!(b_places.len(), 2, "its own places, nothing from the pool");
        // Places `a` gives back return to the pool, for either.
        drop(a_places);
        assert_eq!(pool.available(), 4);
        assert!(b.try_enter().is_some());
    }

    #[tokio::test]
    async fn a_waiting_connection_gets_a_pool_place_when_one_is_given_back() {
        let pool = SharedPlaces::new(1, 1);
        let a = Admission::new(4, Some(pool.clone()));
        let b = Admission::new(4, Some(pool.clone()));
        let _a_own = a.try_enter().expect("own");
        let a_pooled = a.try_enter().expect("from the pool");
        let _b_own = b.try_enter().expect("own");
        let waiting = tokio::spawn({
            let b = b.clone();
            async move { b.enter().await.is_some() }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "nothing free yet");
        drop(a_pooled);
        assert!(
            waiting.await.expect("no panic"),
            "b got the place a gave back"
        );
    }
}
