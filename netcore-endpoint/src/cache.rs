//! A typed, size-bounded cache with a default and per-entry time to live:
//! [`Cache`], built on [moka]'s `future::Cache`.
//!
//! moka does the hard parts — concurrent access, TinyLFU admission and LRU
//! eviction under the size bound, timer-wheel expiry, coalescing concurrent
//! initialisations of one key. This module gives it the shape Netcore's
//! handlers need: a default TTL, a TTL per entry (moka's [`Expiry`]), and
//! single-flight [`get_or_insert_with`](Cache::get_or_insert_with).
//!
//! ```
//! use netcore_endpoint::cache::Cache;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let users: Cache<u64, String> = Cache::builder(10_000)
//!     .default_ttl(Duration::from_secs(60))
//!     .build();
//!
//! users.insert(1, "ada".to_string()).await;
//! users.insert_with_ttl(2, "bob".to_string(), Duration::from_secs(5)).await;
//! assert_eq!(users.get(&1).await.as_deref(), Some("ada"));
//!
//! let name = users.get_or_insert_with(3, async { "cy".to_string() }).await;
//! assert_eq!(name, "cy");
//! # }
//! ```
//!
//! # Clocks
//!
//! An entry expires `ttl` after it was inserted (reads do not extend it; an
//! insert over an existing key restarts it). Expiry is judged on **Tokio's
//! clock** when an entry is read — so code and tests running with
//! `tokio::time::pause()` see entries expire as paused time advances — and
//! enforced by moka on its own clock (`std::time::Instant`), which is what
//! frees the memory. In a normal runtime the two clocks are the same; under
//! paused time an entry that has expired on Tokio's clock reads as absent
//! but may still be counted by [`entry_count`](Cache::entry_count) until
//! moka's clock catches up or the key is written again.
//!
//! # Counts are eventually consistent
//!
//! moka applies evictions and bookkeeping in batches:
//! [`entry_count`](Cache::entry_count) and
//! [`weighted_size`](Cache::weighted_size) lag behind recent writes, and the
//! size bound may be exceeded briefly. Call
//! [`run_pending_tasks`](Cache::run_pending_tasks) to settle them (tests do).
//!
//! [moka]: https://docs.rs/moka
//! [`Expiry`]: moka::Expiry

use std::borrow::Borrow;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use moka::Expiry;
use moka::ops::compute::{CompResult, Op};
use tokio::time::Instant;

/// What the cache stores for a value: the value and when it expires.
#[derive(Clone)]
struct Slot<V> {
    value: V,
    /// The entry's time to live, for moka's timer; `None`: no expiry.
    ttl: Option<Duration>,
    /// The same deadline on Tokio's clock, checked on read.
    deadline: Option<Instant>,
}

impl<V> Slot<V> {
    fn new(value: V, ttl: Option<Duration>) -> Self {
        // A TTL too long to add to now never expires.
        let deadline = ttl.and_then(|ttl| Instant::now().checked_add(ttl));
        Slot {
            value,
            ttl,
            deadline,
        }
    }

    fn is_expired(&self) -> bool {
        self.deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
    }
}

/// moka's per-entry expiry: each slot carries its TTL.
struct PerEntryTtl;

impl<K, V> Expiry<K, Slot<V>> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &K,
        value: &Slot<V>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        value.ttl
    }

    fn expire_after_update(
        &self,
        _key: &K,
        value: &Slot<V>,
        _updated_at: std::time::Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        // A new value brings its own TTL.
        value.ttl
    }
}

type Weigher<K, V> = Arc<dyn Fn(&K, &V) -> u32 + Send + Sync + 'static>;

/// Configures a [`Cache`]; made by [`Cache::builder`].
///
/// ```
/// use bytes::Bytes;
/// use netcore_endpoint::cache::Cache;
/// use std::time::Duration;
///
/// // At most 64 MiB of bodies, each kept 30 s unless inserted with its own TTL.
/// let bodies: Cache<String, Bytes> = Cache::builder(64 * 1024 * 1024)
///     .weigher(|_route: &String, body: &Bytes| u32::try_from(body.len()).unwrap_or(u32::MAX))
///     .default_ttl(Duration::from_secs(30))
///     .build();
/// # drop(bodies);
/// ```
pub struct CacheBuilder<K, V> {
    max_capacity: u64,
    default_ttl: Option<Duration>,
    weigher: Option<Weigher<K, V>>,
    name: Option<String>,
}

impl<K, V> fmt::Debug for CacheBuilder<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CacheBuilder")
            .field("max_capacity", &self.max_capacity)
            .field("default_ttl", &self.default_ttl)
            .field("weigher", &self.weigher.is_some())
            .field("name", &self.name)
            .finish()
    }
}

impl<K, V> CacheBuilder<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// The TTL of entries inserted without one (by
    /// [`insert`](Cache::insert) and
    /// [`get_or_insert_with`](Cache::get_or_insert_with)). Without it, those
    /// entries live until evicted or invalidated.
    pub fn default_ttl(mut self, ttl: Duration) -> Self {
        self.default_ttl = Some(ttl);
        self
    }

    /// Weighs entries (in bytes, say): the bound given to
    /// [`Cache::builder`] becomes the maximum total weight instead of the
    /// maximum number of entries. An entry of weight 0 is never evicted for
    /// size (it still expires).
    pub fn weigher(mut self, weigher: impl Fn(&K, &V) -> u32 + Send + Sync + 'static) -> Self {
        self.weigher = Some(Arc::new(weigher));
        self
    }

    /// A name for the cache, shown by its `Debug` output.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Builds the cache.
    pub fn build(self) -> Cache<K, V> {
        let mut builder = moka::future::Cache::builder()
            .max_capacity(self.max_capacity)
            .expire_after(PerEntryTtl);
        if let Some(weigher) = self.weigher {
            builder = builder.weigher(move |key: &K, slot: &Slot<V>| weigher(key, &slot.value));
        }
        if let Some(name) = &self.name {
            builder = builder.name(name);
        }
        Cache {
            inner: builder.build(),
            default_ttl: self.default_ttl,
        }
    }
}

/// A concurrent cache from `K` to `V` with a size bound, a default TTL and
/// per-entry TTLs. See the [module docs](self) for the clocks and the
/// eventually consistent counts.
///
/// Cloning is cheap and every clone is the same cache. `get` returns a clone
/// of the value: store big values behind an `Arc` (or as `Bytes`).
///
/// Keys may be looked up by a borrowed form, as with `HashMap`:
/// a `Cache<String, V>` answers `get("key")`.
pub struct Cache<K, V> {
    inner: moka::future::Cache<K, Slot<V>>,
    default_ttl: Option<Duration>,
}

impl<K, V> Clone for Cache<K, V> {
    fn clone(&self) -> Self {
        Cache {
            inner: self.inner.clone(),
            default_ttl: self.default_ttl,
        }
    }
}

impl<K, V> fmt::Debug for Cache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("name", &self.inner.name())
            .field("entry_count", &self.inner.entry_count())
            .field("weighted_size", &self.inner.weighted_size())
            .field("default_ttl", &self.default_ttl)
            .finish()
    }
}

impl<K, V> Cache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of at most `max_entries` entries, without a default TTL.
    pub fn new(max_entries: u64) -> Self {
        Cache::builder(max_entries).build()
    }

    /// Configures a cache bounded to `max_capacity`: a number of entries,
    /// or a total weight with [`weigher`](CacheBuilder::weigher).
    ///
    /// When the bound is reached, moka evicts the entries least likely to
    /// be used again (TinyLFU admission, LRU order); a new entry may also be
    /// rejected if it is less popular than the ones it would evict.
    pub fn builder(max_capacity: u64) -> CacheBuilder<K, V> {
        CacheBuilder {
            max_capacity,
            default_ttl: None,
            weigher: None,
            name: None,
        }
    }

    /// The TTL of entries inserted without one.
    pub fn default_ttl(&self) -> Option<Duration> {
        self.default_ttl
    }

    /// A clone of the value of `key`, unless absent or expired.
    pub async fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.inner.get(key).await?;
        (!slot.is_expired()).then_some(slot.value)
    }

    /// Whether `key` has an unexpired value. A read like
    /// [`get`](Cache::get) (moka counts it for its eviction policy).
    pub async fn contains_key<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner
            .get(key)
            .await
            .is_some_and(|slot| !slot.is_expired())
    }

    /// Inserts `value` for `key` with the [default TTL](Cache::default_ttl),
    /// replacing any previous value and restarting the entry's TTL.
    pub async fn insert(&self, key: K, value: V) {
        self.inner
            .insert(key, Slot::new(value, self.default_ttl))
            .await;
    }

    /// Inserts `value` for `key` to live `ttl`, whatever the default TTL.
    ///
    /// ```
    /// use netcore_endpoint::cache::Cache;
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// let sessions: Cache<&'static str, u32> = Cache::builder(100)
    ///     .default_ttl(Duration::from_secs(3600))
    ///     .build();
    /// sessions.insert_with_ttl("guest", 7, Duration::from_secs(60)).await;
    /// tokio::time::advance(Duration::from_secs(61)).await;
    /// assert_eq!(sessions.get("guest").await, None);
    /// # }
    /// ```
    pub async fn insert_with_ttl(&self, key: K, value: V, ttl: Duration) {
        self.inner.insert(key, Slot::new(value, Some(ttl))).await;
    }

    /// The value of `key`; if absent or expired, resolves `init`, stores
    /// its value with the default TTL and returns it.
    ///
    /// **Single flight**: concurrent calls for one key resolve only one
    /// `init` (the others wait for it and share its value), so a burst of
    /// requests for a cold key loads it once. If that `init` panics, the
    /// panic reaches its caller only, and one of the waiting callers
    /// resolves its own `init` instead. `init` runs outside of any
    /// request's [`RequestContext`](crate::RequestContext) (its value is
    /// shared): calls it makes do not inherit one caller's deadline.
    ///
    /// ```
    /// use netcore_endpoint::cache::Cache;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let squares: Cache<u64, u64> = Cache::new(1_000);
    /// assert_eq!(squares.get_or_insert_with(12, async { 12 * 12 }).await, 144);
    /// // Cached: the second init is not run.
    /// assert_eq!(squares.get_or_insert_with(12, async { unreachable!() }).await, 144);
    /// # }
    /// ```
    pub async fn get_or_insert_with(&self, key: K, init: impl Future<Output = V>) -> V {
        let default_ttl = self.default_ttl;
        // The value is shared: its init must not inherit the deadline of
        // whichever request happened to ask first.
        let init = crate::RequestContext::detach(init);
        self.inner
            .entry(key)
            .or_insert_with_if(
                async move { Slot::new(init.await, default_ttl) },
                Slot::is_expired,
            )
            .await
            .into_value()
            .value
    }

    /// Like [`get_or_insert_with`](Cache::get_or_insert_with) for an `init`
    /// that may fail: an `Err` is returned and nothing is stored.
    ///
    /// Concurrent calls for one key run one `init` at a time: while it
    /// runs the others wait; if it succeeds they return its value, if it
    /// fails the next waiting caller runs its own `init`.
    ///
    /// ```
    /// use netcore_endpoint::cache::Cache;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let parsed: Cache<String, u16> = Cache::new(100);
    /// let port = parsed
    ///     .try_get_or_insert_with("port".to_string(), async { "8080".parse::<u16>() })
    ///     .await;
    /// assert_eq!(port, Ok(8080));
    /// let bad = parsed
    ///     .try_get_or_insert_with("bad".to_string(), async { "x".parse::<u16>() })
    ///     .await;
    /// assert!(bad.is_err());
    /// assert!(!parsed.contains_key("bad").await);
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The error of this caller's `init`, when it ran and failed.
    pub async fn try_get_or_insert_with<E>(
        &self,
        key: K,
        init: impl Future<Output = Result<V, E>>,
    ) -> Result<V, E>
    where
        E: Send + Sync + 'static,
    {
        let default_ttl = self.default_ttl;
        let result = self
            .inner
            .entry(key)
            .and_try_compute_with(|current| async move {
                match current {
                    Some(entry) if !entry.value().is_expired() => Ok(Op::Nop),
                    _ => Ok(Op::Put(Slot::new(init.await?, default_ttl))),
                }
            })
            .await?;
        match result {
            CompResult::Inserted(entry)
            | CompResult::ReplacedWith(entry)
            | CompResult::Unchanged(entry) => Ok(entry.into_value().value),
            CompResult::StillNone(_) | CompResult::Removed(_) => {
                unreachable!("the computation puts a value unless a fresh one is present")
            }
        }
    }

    /// Removes `key` and returns its value, unless absent or expired.
    pub async fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let slot = self.inner.remove(key).await?;
        (!slot.is_expired()).then_some(slot.value)
    }

    /// Removes `key`, if present.
    pub async fn invalidate<Q>(&self, key: &Q)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.invalidate(key).await;
    }

    /// Removes every entry. Takes effect for reads at once; the counts
    /// follow after [`run_pending_tasks`](Cache::run_pending_tasks).
    pub fn invalidate_all(&self) {
        self.inner.invalidate_all();
    }

    /// How many entries the cache holds — **approximately**: moka updates
    /// the count in batches, so recent inserts, evictions and expiries may
    /// not show until [`run_pending_tasks`](Cache::run_pending_tasks).
    pub fn entry_count(&self) -> u64 {
        self.inner.entry_count()
    }

    /// The total weight of the entries (their number without a
    /// [weigher](CacheBuilder::weigher)); approximate like
    /// [`entry_count`](Cache::entry_count).
    pub fn weighted_size(&self) -> u64 {
        self.inner.weighted_size()
    }

    /// Applies moka's pending bookkeeping now: evictions for size, removal
    /// of expired entries, and the counts. moka also does this by itself
    /// as the cache is used; call it when exact counts matter.
    pub async fn run_pending_tasks(&self) {
        self.inner.run_pending_tasks().await;
    }
}
