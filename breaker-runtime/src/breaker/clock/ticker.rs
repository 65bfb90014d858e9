//! The `breaker-clock` thread of [`MonotonicClock`](super::MonotonicClock).
//!
//! While breakers are being called it publishes a coarse reading of the monotonic
//! clock every millisecond, so the hot path reads time with one relaxed atomic load
//! instead of a `clock_gettime` call (about 20 ns here); and it runs the wakeups
//! breakers schedule (open -> half-open on time). One thread serves every breaker of
//! the process; it is started by the first breaker built on the real clock.
//!
//! It sleeps when nothing needs it: it publishes for a lease of [`LEASE`] after it was
//! last asked to, then stores 0 as the reading and waits only for the next scheduled
//! wakeup, if any. A reader that finds 0 reads the time precisely and asks the thread
//! to publish again; under steady traffic that is one precise read per lease. If the
//! thread cannot be started, time is read precisely and transitions happen lazily:
//! slower, never wrong.
//!
//! This module uses `std` atomics even under `loom`: the ticker is not part of the
//! modelled state machine, and models use the manual clock.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, Once, OnceLock};
use std::time::Duration;

use super::{Instant, Wake, duration_nanos};
use crate::sync::unpoisoned;

/// How often the coarse reading is refreshed: the most [`recent`] lags behind.
const TICK: Duration = Duration::from_millis(1);

/// How long the thread publishes after it was last asked to.
const LEASE: Duration = Duration::from_secs(1);

/// The coarse reading, in nanoseconds since [`origin`]; 0 while the thread sleeps.
static COARSE: AtomicU64 = AtomicU64::new(0);

/// Whether the thread publishes (or has been asked to).
static AWAKE: AtomicBool = AtomicBool::new(false);

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

/// What the thread waits on: the scheduled wakeups, and the requests to publish.
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    timers: BinaryHeap<Reverse<Timer>>,
    next_seq: u64,
    /// Publishing was asked for since the thread last looked.
    asked: bool,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| Shared {
        state: Mutex::new(State { timers: BinaryHeap::new(), next_seq: 0, asked: false }),
        changed: Condvar::new(),
    })
}

fn origin() -> std::time::Instant {
    static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
    *ORIGIN.get_or_init(std::time::Instant::now)
}

/// The monotonic time, read precisely.
pub(crate) fn precise_now() -> Instant {
    Instant::from_nanos(duration_nanos(origin().elapsed()).max(1))
}

/// The monotonic time as of the last tick (at most about [`TICK`] old), or the precise
/// time if the thread sleeps, in which case it is asked to publish again.
#[inline]
pub(crate) fn recent() -> Instant {
    // Relaxed is enough: any value the ticker published is a past reading of the
    // monotonic clock, and coherence keeps each thread's readings non-decreasing.
    match COARSE.load(Ordering::Relaxed) {
        0 => {
            wanted();
            precise_now()
        }
        nanos => Instant::from_nanos(nanos),
    }
}

/// Asks the thread to publish, if it is not publishing already.
#[cold]
pub(crate) fn wanted() {
    if AWAKE.load(Ordering::Relaxed) || !STARTED.is_completed() {
        return;
    }
    let shared = shared();
    let mut state = unpoisoned(shared.state.lock());
    if !AWAKE.swap(true, Ordering::AcqRel) {
        state.asked = true;
        shared.changed.notify_one();
    }
}

/// Runs `wake` once at or after `at` on the ticker thread.
pub(crate) fn schedule(at: Instant, wake: Wake) {
    ensure_started();
    let shared = shared();
    let mut state = unpoisoned(shared.state.lock());
    state.next_seq += 1;
    let seq = state.next_seq;
    state.timers.push(Reverse(Timer { at, seq, wake }));
    shared.changed.notify_one();
}

/// Starts the ticker thread once per process; whether it runs.
pub(crate) fn ensure_started() -> bool {
    if cfg!(loom) {
        return false;
    }
    STARTED.call_once(|| {
        AWAKE.store(true, Ordering::Relaxed);
        publish();
        let spawned = std::thread::Builder::new().name("breaker-clock".into()).spawn(run);
        if let Err(error) = spawned {
            COARSE.store(0, Ordering::Relaxed);
            tracing::warn!(%error, "cannot start the breaker-clock thread: time is read precisely and open breakers move to half-open when next called");
        }
    });
    COARSE.load(Ordering::Relaxed) != 0 || AWAKE.load(Ordering::Relaxed)
}

/// The atomic holding the coarse reading (0 while the thread sleeps).
pub(crate) fn coarse_cell() -> *mut AtomicU64 {
    std::ptr::from_ref(&COARSE).cast_mut()
}

fn publish() -> Instant {
    let now = precise_now();
    COARSE.store(now.as_nanos(), Ordering::Relaxed);
    now
}

/// Whether the thread publishes now: for testing that it sleeps.
#[cfg(test)]
pub(crate) fn publishing() -> bool {
    COARSE.load(Ordering::Relaxed) != 0
}

fn run() {
    let shared = shared();
    let mut due = Vec::new();
    let mut lease_end = precise_now().saturating_add(LEASE);
    loop {
        let now = if AWAKE.load(Ordering::Relaxed) { publish() } else { precise_now() };
        let mut state = unpoisoned(shared.state.lock());
        if std::mem::take(&mut state.asked) {
            lease_end = now.saturating_add(LEASE);
        }
        while state.timers.peek().is_some_and(|Reverse(t)| t.at <= now) {
            if let Some(Reverse(timer)) = state.timers.pop() {
                due.push(timer.wake);
            }
        }
        if !due.is_empty() {
            drop(state);
            for wake in due.drain(..) {
                // A wakeup must not take the clock down for every other breaker.
                if catch_unwind(AssertUnwindSafe(wake)).is_err() {
                    tracing::error!("a breaker wakeup panicked; the clock thread goes on");
                }
            }
            continue;
        }
        if AWAKE.load(Ordering::Relaxed) && now >= lease_end {
            // Nobody asked for a lease: stop publishing. Readers now read the time
            // precisely, and the first of them asks again (under the lock, so the
            // request cannot be missed).
            AWAKE.store(false, Ordering::Release);
            COARSE.store(0, Ordering::Relaxed);
        }
        let next_timer = state.timers.peek().map(|Reverse(t)| t.at.saturating_duration_since(now));
        let wait = match (AWAKE.load(Ordering::Relaxed), next_timer) {
            (true, timer) => timer.map_or(TICK, |t| t.min(TICK)),
            (false, Some(timer)) => timer,
            (false, None) => Duration::MAX,
        };
        if wait == Duration::MAX {
            let _unused = unpoisoned(shared.changed.wait(state));
        } else {
            let _unused = unpoisoned(shared.changed.wait_timeout(state, wait));
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn the_clock_thread_sleeps_when_nobody_reads_and_wakes_when_read() {
        assert!(ensure_started());
        // Nobody in this test binary reads the coarse clock for a while: after the
        // lease, the thread stops publishing (bounded wait).
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while publishing() {
            assert!(std::time::Instant::now() < deadline, "the clock thread never went to sleep");
            std::thread::sleep(Duration::from_millis(50));
        }
        // A reading asks it to publish again; the reading itself is precise.
        let before = precise_now();
        assert!(recent() >= before);
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !publishing() {
            assert!(std::time::Instant::now() < deadline, "the clock thread did not wake up");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(recent() <= precise_now());
    }
}
