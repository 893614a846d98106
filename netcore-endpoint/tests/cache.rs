//! Cache: reads and writes, default and per-entry TTL (on Tokio's paused
//! clock, and on moka's own clock with real short TTLs), the size bound,
//! weights, and single-flight initialisation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use netcore_endpoint::cache::Cache;
use tokio::time::{advance, sleep, timeout};

const GUARD: Duration = Duration::from_secs(10);

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test]
async fn insert_get_remove_invalidate() {
    let cache: Cache<String, u32> = Cache::new(100);
    assert_eq!(cache.get("a").await, None);
    cache.insert("a".into(), 1).await;
    cache.insert("b".into(), 2).await;
    // Borrowed lookups, as with `HashMap`.
    assert_eq!(cache.get("a").await, Some(1));
    assert!(cache.contains_key("b").await);

    cache.insert("a".into(), 10).await;
    assert_eq!(cache.get("a").await, Some(10), "insert replaces");

    assert_eq!(cache.remove("a").await, Some(10));
    assert_eq!(cache.remove("a").await, None);
    cache.invalidate("b").await;
    assert!(!cache.contains_key("b").await);

    for key in ["x", "y", "z"] {
        cache.insert(key.into(), 0).await;
    }
    cache.run_pending_tasks().await;
    assert_eq!(cache.entry_count(), 3);
    cache.invalidate_all();
    assert_eq!(cache.get("x").await, None);
    cache.run_pending_tasks().await;
    assert_eq!(cache.entry_count(), 0);
}

#[tokio::test]
async fn clones_share_one_cache() {
    let cache: Cache<u8, &'static str> = Cache::builder(10).name("shared").build();
    let clone = cache.clone();
    clone.insert(1, "one").await;
    assert_eq!(cache.get(&1).await, Some("one"));
    assert!(format!("{cache:?}").contains("shared"));
    assert_eq!(cache.default_ttl(), None);
}

#[tokio::test(start_paused = true)]
async fn entries_expire_after_the_default_ttl_on_the_paused_clock() {
    let cache: Cache<&'static str, u32> = Cache::builder(100).default_ttl(secs(60)).build();
    assert_eq!(cache.default_ttl(), Some(secs(60)));
    cache.insert("k", 1).await;

    advance(secs(59)).await;
    assert_eq!(cache.get("k").await, Some(1));
    advance(Duration::from_millis(999)).await;
    assert_eq!(cache.get("k").await, Some(1), "still alive at 59.999 s");
    advance(Duration::from_millis(1)).await;
    assert_eq!(cache.get("k").await, None, "expired at 60 s");
    assert!(!cache.contains_key("k").await);
    assert_eq!(cache.remove("k").await, None);

    // Writing again restarts the TTL.
    cache.insert("k", 2).await;
    advance(secs(30)).await;
    cache.insert("k", 3).await;
    advance(secs(45)).await;
    assert_eq!(cache.get("k").await, Some(3));
    advance(secs(15)).await;
    assert_eq!(cache.get("k").await, None);
}

#[tokio::test(start_paused = true)]
async fn per_entry_ttl_overrides_the_default() {
    let cache: Cache<&'static str, u32> = Cache::builder(100).default_ttl(secs(10)).build();
    cache.insert("default", 1).await;
    cache.insert_with_ttl("short", 2, secs(1)).await;
    cache.insert_with_ttl("long", 3, secs(100)).await;

    advance(secs(2)).await;
    assert_eq!(cache.get("short").await, None);
    assert_eq!(cache.get("default").await, Some(1));
    assert_eq!(cache.get("long").await, Some(3));

    advance(secs(10)).await;
    assert_eq!(cache.get("default").await, None);
    assert_eq!(cache.get("long").await, Some(3));

    advance(secs(100)).await;
    assert_eq!(cache.get("long").await, None);

    // Replacing a short-lived entry with `insert` gives it the default TTL.
    cache.insert_with_ttl("k", 1, secs(1)).await;
    cache.insert("k", 2).await;
    advance(secs(5)).await;
    assert_eq!(cache.get("k").await, Some(2));
}

#[tokio::test(start_paused = true)]
async fn without_a_ttl_entries_do_not_expire() {
    let cache: Cache<u8, u8> = Cache::new(10);
    cache.insert(1, 1).await;
    advance(secs(365 * 24 * 3600)).await;
    assert_eq!(cache.get(&1).await, Some(1));
    // A TTL too large to add to now means "never".
    cache.insert_with_ttl(2, 2, Duration::MAX).await;
    advance(secs(3600)).await;
    assert_eq!(cache.get(&2).await, Some(2));
}

/// moka enforces the TTL on its own clock too (which frees the memory): with
/// real short TTLs the entries leave the counts. Only bounded by a guard; no
/// assertion on elapsed time.
#[tokio::test]
async fn moka_evicts_expired_entries_on_its_own_clock() {
    let cache: Cache<u32, u32> = Cache::builder(100)
        .default_ttl(Duration::from_millis(100))
        .build();
    cache.insert(1, 1).await;
    cache.insert_with_ttl(2, 2, Duration::from_millis(50)).await;
    cache.insert_with_ttl(3, 3, secs(3600)).await;
    cache.run_pending_tasks().await;
    assert_eq!(cache.entry_count(), 3);

    timeout(GUARD, async {
        loop {
            cache.run_pending_tasks().await;
            if cache.entry_count() == 1 {
                break;
            }
            sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the short-lived entries expire within the guard");
    assert_eq!(cache.get(&1).await, None);
    assert_eq!(cache.get(&2).await, None);
    assert_eq!(cache.get(&3).await, Some(3));
}

#[tokio::test]
async fn the_size_bound_evicts() {
    let cache: Cache<u32, u32> = Cache::new(10);
    for key in 0..200 {
        cache.insert(key, key).await;
    }
    cache.run_pending_tasks().await;
    assert!(
        cache.entry_count() <= 10,
        "bound exceeded: {}",
        cache.entry_count()
    );
    let mut present = 0;
    for key in 0..200 {
        if cache.get(&key).await.is_some() {
            present += 1;
        }
    }
    assert!((1..=10).contains(&present), "{present} entries readable");
}

#[tokio::test]
async fn a_weigher_bounds_the_total_weight() {
    let cache: Cache<u32, Vec<u8>> = Cache::builder(1_000)
        .weigher(|_key: &u32, value: &Vec<u8>| u32::try_from(value.len()).unwrap_or(u32::MAX))
        .build();
    for key in 0..50 {
        cache.insert(key, vec![0; 100]).await;
    }
    cache.run_pending_tasks().await;
    assert!(
        cache.weighted_size() <= 1_000,
        "weight {}",
        cache.weighted_size()
    );
    assert!(cache.entry_count() <= 10);
    assert_eq!(cache.weighted_size(), cache.entry_count() * 100);
}

#[tokio::test(start_paused = true, flavor = "current_thread")]
async fn get_or_insert_with_runs_one_init_for_concurrent_callers() {
    let cache: Cache<&'static str, u64> = Cache::new(100);
    let inits = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..32)
        .map(|i| {
            let cache = cache.clone();
            let inits = Arc::clone(&inits);
            tokio::spawn(async move {
                cache
                    .get_or_insert_with("key", async move {
                        inits.fetch_add(1, Ordering::SeqCst);
                        // Slow load: every other caller arrives meanwhile.
                        sleep(secs(1)).await;
                        1000 + i
                    })
                    .await
            })
        })
        .collect();
    let mut values = Vec::new();
    for caller in callers {
        values.push(
            timeout(GUARD, caller)
                .await
                .expect("bounded")
                .expect("caller task"),
        );
    }
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    assert!(
        values.windows(2).all(|pair| pair[0] == pair[1]),
        "{values:?}"
    );
    assert_eq!(cache.get("key").await, Some(values[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_or_insert_with_is_single_flight_across_threads() {
    for round in 0..20u64 {
        let cache: Cache<u64, u64> = Cache::new(100);
        let inits = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(tokio::sync::Barrier::new(16));
        let callers: Vec<_> = (0..16)
            .map(|_| {
                let (cache, inits, barrier) = (cache.clone(), inits.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    cache
                        .get_or_insert_with(round, async move {
                            inits.fetch_add(1, Ordering::SeqCst);
                            tokio::task::yield_now().await;
                            round * 2
                        })
                        .await
                })
            })
            .collect();
        for caller in callers {
            let value = timeout(GUARD, caller)
                .await
                .expect("bounded")
                .expect("task");
            assert_eq!(value, round * 2);
        }
        assert_eq!(inits.load(Ordering::SeqCst), 1, "round {round}");
    }
}

#[tokio::test(start_paused = true)]
async fn get_or_insert_with_reloads_an_expired_entry() {
    let cache: Cache<&'static str, u32> = Cache::builder(10).default_ttl(secs(5)).build();
    assert_eq!(cache.get_or_insert_with("k", async { 1 }).await, 1);
    assert_eq!(cache.get_or_insert_with("k", async { 2 }).await, 1);
    advance(secs(6)).await;
    assert_eq!(cache.get_or_insert_with("k", async { 3 }).await, 3);
    assert_eq!(cache.get("k").await, Some(3));
}

#[tokio::test(start_paused = true, flavor = "current_thread")]
async fn try_get_or_insert_with_caches_successes_only() {
    let cache: Cache<&'static str, u32> = Cache::builder(10).default_ttl(secs(5)).build();
    let failed = cache
        .try_get_or_insert_with("k", async { Err::<u32, _>("database down") })
        .await;
    assert_eq!(failed, Err("database down"));
    assert!(!cache.contains_key("k").await);

    let ok = cache
        .try_get_or_insert_with("k", async { Ok::<_, &str>(7) })
        .await;
    assert_eq!(ok, Ok(7));
    let cached = cache
        .try_get_or_insert_with("k", async { Err::<u32, _>("not called") })
        .await;
    assert_eq!(cached, Ok(7));

    advance(secs(6)).await;
    let reloaded = cache
        .try_get_or_insert_with("k", async { Ok::<_, &str>(8) })
        .await;
    assert_eq!(reloaded, Ok(8));

    // Concurrent callers: one init runs; the others find its value.
    let inits = Arc::new(AtomicUsize::new(0));
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let (cache, inits) = (cache.clone(), inits.clone());
            tokio::spawn(async move {
                cache
                    .try_get_or_insert_with("fresh", async move {
                        inits.fetch_add(1, Ordering::SeqCst);
                        sleep(secs(1)).await;
                        Ok::<_, &str>(42)
                    })
                    .await
            })
        })
        .collect();
    for caller in callers {
        assert_eq!(
            timeout(GUARD, caller)
                .await
                .expect("bounded")
                .expect("task"),
            Ok(42)
        );
    }
    assert_eq!(inits.load(Ordering::SeqCst), 1);
}
