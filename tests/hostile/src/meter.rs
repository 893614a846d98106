//! The heap meter of a test binary.
//!
//! [`heap_meter!`](crate::heap_meter) installs, in the test binary that
//! calls it, a global allocator that counts the bytes live on the heap:
//! the `cap` crate's [`Cap`](cap::Cap) around the system allocator, with
//! no limit. `cap` was chosen because it is a single small file with no
//! dependencies that builds on stable Rust (edition 2018, no nightly
//! feature needed for counting), keeps one atomic counter, and lets the
//! test read the live total at any moment (`allocated()`); the workspace
//! forbids unsafe code, and `cap` holds the one `unsafe impl GlobalAlloc`
//! so that we write none. (`stats_alloc` counts too, but its region API
//! needs its `INSTRUMENTED_SYSTEM` static and reports allocations and
//! frees separately; one live figure is what these tests assert on.)
//!
//! The meter counts the whole process: the server under test *and* the
//! attacker. Attacks build their frames once and write the same bytes over
//! and over, so what grows is the server's. Each metered attack is the only
//! test of its binary, so no other test's allocations are counted.

/// Installs the counting allocator in this test binary and defines
/// `fn heap_bytes() -> usize`, the bytes live on the heap now.
///
/// ```ignore
/// netcore_hostile::heap_meter!();
/// let before = heap_bytes();
/// ```
#[macro_export]
macro_rules! heap_meter {
    () => {
        #[global_allocator]
        static HEAP: $crate::meter::cap::Cap<$crate::meter::Base> =
            $crate::meter::cap::Cap::new($crate::meter::BASE, usize::MAX);

        /// Bytes live on this process's heap now.
        fn heap_bytes() -> usize {
            HEAP.allocated()
        }
    };
}

pub use cap;

/// The allocator the meter counts for: the system's (glibc `malloc` on
/// Linux), or with this crate's `mimalloc` feature, mimalloc — an
/// allocator that gives freed pages back to the system, for the resources
/// bench's churn (`docs/resources.md`).
#[cfg(not(feature = "mimalloc"))]
pub type Base = std::alloc::System;
/// The allocator value [`heap_meter!`](crate::heap_meter) wraps.
#[cfg(not(feature = "mimalloc"))]
pub const BASE: Base = std::alloc::System;
/// The allocator's name, for reports.
#[cfg(not(feature = "mimalloc"))]
pub const BASE_NAME: &str = "system malloc";

/// The allocator the meter counts for (see the other cfg).
#[cfg(feature = "mimalloc")]
pub type Base = mimalloc::MiMalloc;
/// The allocator value [`heap_meter!`](crate::heap_meter) wraps.
#[cfg(feature = "mimalloc")]
pub const BASE: Base = mimalloc::MiMalloc;
/// The allocator's name, for reports.
#[cfg(feature = "mimalloc")]
pub const BASE_NAME: &str = "mimalloc";

/// Heap growth over a baseline, sampled during an attack.
#[derive(Debug, Clone, Copy)]
pub struct HeapGauge {
    read: fn() -> usize,
    baseline: usize,
    peak: usize,
}

impl HeapGauge {
    /// Starts measuring from the heap as `read` reports it now.
    pub fn start(read: fn() -> usize) -> HeapGauge {
        let baseline = read();
        HeapGauge {
            read,
            baseline,
            peak: baseline,
        }
    }

    /// Takes a sample; returns the growth over the baseline now.
    pub fn sample(&mut self) -> usize {
        let now = (self.read)();
        self.peak = self.peak.max(now);
        now.saturating_sub(self.baseline)
    }

    /// The largest growth sampled so far.
    pub fn peak_growth(&self) -> usize {
        self.peak.saturating_sub(self.baseline)
    }

    /// Takes a last sample, prints the figure (`--nocapture` shows it) and
    /// asserts the peak growth stayed under `bound`. `attack` says what was
    /// done ("F1: 1000000 PINGs").
    #[allow(clippy::print_stderr, reason = "a test's figure, for the record")]
    pub fn assert_under(&mut self, bound: usize, attack: &str, took: std::time::Duration) {
        self.sample();
        let figure = format!(
            "{attack} grew the heap by {:.1} MiB in {took:?} (bound {:.0} MiB)",
            mib(self.peak_growth()),
            mib(bound)
        );
        eprintln!("{figure}");
        assert!(self.peak_growth() < bound, "{figure}");
    }
}

/// `bytes` in MiB, for messages.
pub fn mib(bytes: usize) -> f64 {
    bytes as f64 / f64::from(1u32 << 20)
}
