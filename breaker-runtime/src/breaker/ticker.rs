//! The `breaker-clock` thread of [`MonotonicClock`](super::MonotonicClock).
//!
//! It publishes a coarse reading of the monotonic clock every millisecond, so the hot
//! path reads time with one relaxed atomic load instead of a `clock_gettime` call
//! (about 20 ns here), and it runs the wakeups breakers schedule (open -> half-open on
//! time). One thread serves every breaker of the process; it is started by the first
//! breaker built on the real clock. If it cannot be started, time is read precisely and
//! transitions happen lazily: slower, never wrong.
//!
//! This module uses `std` atomics even under `loom`: the ticker is not part of the
//! modelled state machine, and models use the manual clock.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, Once, OnceLock};
use std::time::Duration;

use super::clock::{Instant, Wake, duration_nanos};
use crate::sync::unpoisoned;

/// How often the coarse reading is refreshed: the most [`recent`] lags behind.
const TICK: Duration = Duration::from_millis(1);

/// The coarse reading, in nanoseconds since [`origin`]; 0 until the ticker runs.
static COARSE: AtomicU64 = AtomicU64::new(0);

static STARTED: Once = Once::new();

struct Timer {
    at: Instant,
    seq: u64,
    wake: Wake,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

struct Timers {
    heap: Mutex<(BinaryHeap<Reverse<Timer>>, u64)>,
    changed: Condvar,
}

fn timers() -> &'static Timers {
    static TIMERS: OnceLock<Timers> = OnceLock::new();
    TIMERS.get_or_init(|| Timers { heap: Mutex::new((BinaryHeap::new(), 0)), changed: Condvar::new() })
}

fn origin() -> std::time::Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(std::time::Instant::now)
}

/// The monotonic time, read precisely.
pub(crate) fn precise_now() -> Instant {
    Instant::from_nanos(duration_nanos(origin().elapsed()))
}

/// The monotonic time as of the last tick (at most about [`TICK`] old), or the precise
/// time if the ticker does not run.
#[inline]
pub(crate) fn recent() -> Instant {
    // Relaxed is enough: any value the ticker published is a past reading of the
    // monotonic clock, and coherence keeps each thread's readings non-decreasing.
    match COARSE.load(Ordering::Relaxed) {
        0 => precise_now(),
        nanos => Instant::from_nanos(nanos),
    }
}

/// Runs `wake` once at or after `at` on the ticker thread.
pub(crate) fn schedule(at: Instant, wake: Wake) {
    let _ = ensure_started();
    let timers = timers();
    let mut guard = unpoisoned(timers.heap.lock());
    let (heap, next_seq) = &mut *guard;
    *next_seq += 1;
    heap.push(Reverse(Timer { at, seq: *next_seq, wake }));
    timers.changed.notify_one();
}

/// Starts the ticker thread once per process; whether it runs.
pub(crate) fn ensure_started() -> bool {
    if cfg!(loom) {
        return false;
    }
    STARTED.call_once(|| {
        publish();
        let spawned = std::thread::Builder::new().name("breaker-clock".into()).spawn(run);
        if let Err(error) = spawned {
            COARSE.store(0, Ordering::Relaxed);
            tracing::warn!(%error, "cannot start the breaker-clock thread: time is read precisely and open breakers move to half-open when next called");
        }
    });
    COARSE.load(Ordering::Relaxed) != 0
}

/// The atomic holding the coarse reading; it is never 0 once [`ensure_started`]
/// returned `true`.
#[cfg(not(loom))]
pub(crate) fn coarse_cell() -> std::ptr::NonNull<AtomicU64> {
    std::ptr::NonNull::from(&COARSE)
}

fn publish() -> Instant {
    let now = precise_now();
    COARSE.store(now.as_nanos().max(1), Ordering::Relaxed);
    now
}

fn run() {
    let timers = timers();
    let mut due = Vec::new();
    loop {
        let now = publish();
        let mut guard = unpoisoned(timers.heap.lock());
        while guard.0.peek().is_some_and(|Reverse(t)| t.at <= now) {
            if let Some(Reverse(timer)) = guard.0.pop() {
                due.push(timer.wake);
            }
        }
        if !due.is_empty() {
            drop(guard);
            for wake in due.drain(..) {
                // A wakeup must not take the clock down for every other breaker.
                if catch_unwind(AssertUnwindSafe(wake)).is_err() {
                    tracing::error!("a breaker wakeup panicked; the clock thread goes on");
                }
            }
            continue;
        }
        let wait = guard.0.peek().map_or(TICK, |Reverse(t)| t.at.saturating_duration_since(now).min(TICK));
        let _unused = timers.changed.wait_timeout(guard, wait);
    }
}
