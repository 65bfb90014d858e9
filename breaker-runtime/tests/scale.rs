//! What a breaker costs at rest: memory, and no thread, timer or task of its own, so
//! thousands of services (or a breaker per host in the tower layer) cost little.
//!
//! A counting allocator measures the bytes the current thread keeps allocated while
//! ten thousand breakers are built. The limits are this project's targets for a
//! machine of 2 cores (the lanes of a breaker grow with the cores: see the README).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::Duration;

use breaker_runtime::{CircuitBreaker, Config};

struct Counting;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<i64> = const { Cell::new(0) };
}

fn note(bytes: i64) {
    if MEASURING.try_with(Cell::get).unwrap_or(false) {
        let _ = LIVE.try_with(|live| live.set(live.get() + bytes));
    }
}

// SAFETY: every method forwards to `System` unchanged; counting touches only
// const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as i64);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as i64);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size as i64 - layout.size() as i64);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as i64));
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const BREAKERS: usize = 10_000;

/// The bytes kept allocated per breaker by `BREAKERS` breakers built with `config`.
fn bytes_per_breaker(prefix: &str, config: &Config) -> i64 {
    // A first breaker starts the process-wide parts (the clock thread, the lane count).
    drop(CircuitBreaker::new(&format!("{prefix}-warm"), config.clone()).unwrap());
    let names: Vec<String> = (0..BREAKERS).map(|i| format!("{prefix}-{i}")).collect();
    let mut breakers = Vec::with_capacity(BREAKERS);
    LIVE.with(|live| live.set(0));
    MEASURING.with(|m| m.set(true));
    for name in &names {
        breakers.push(CircuitBreaker::new(name, config.clone()).unwrap());
    }
    MEASURING.with(|m| m.set(false));
    let per_breaker = LIVE.with(Cell::get) / BREAKERS as i64;
    drop(breakers);
    per_breaker
}

fn threads() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_breaker_at_rest_is_small_and_has_no_thread_of_its_own() {
    let threshold_only = Config::builder().threshold(5).no_timeout().no_bulkhead().build().unwrap();
    let windowed = Config::builder().window(Duration::from_secs(60)).buckets(10).build().unwrap();
    let before = threads();
    let cases = [
        ("scale-threshold", threshold_only, 4096),
        ("scale-defaults", Config::default(), 4096),
        ("scale-window", windowed, 8192),
    ];
    for (prefix, config, limit) in cases {
        let bytes = bytes_per_breaker(prefix, &config);
        println!("{prefix}: {bytes} bytes per breaker at rest");
        // The limits hold for this project's 2-core machines; a breaker's lanes grow
        // with the cores (2 per core, 4 to 64, plus one shared).
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let scaled = if cores <= 2 { limit } else { limit * (cores as i64 * 2 + 1) / 5 };
        assert!(bytes <= scaled, "{prefix}: {bytes} bytes per breaker at rest, more than {scaled}");
    }
    assert!(threads() <= before + 1, "breakers at rest started threads: {before} -> {}", threads());
}
