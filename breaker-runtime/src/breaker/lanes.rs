//! Per-thread lanes: how the closed path records outcomes without writing a cache line
//! that another thread writes too.
//!
//! Each thread that calls through a breaker claims a process-wide lane number, released
//! when the thread exits. A breaker keeps one set of counters per lane (cache-line
//! aligned); the thread owning a lane is its only writer, so it updates its counters
//! with a plain load and store instead of a locked read-modify-write, and two threads
//! never contend on a line. Threads beyond the breaker's lane count share one overflow
//! lane, written under a mutex: correct, just slower. Readers (snapshots, the
//! failure-rate check) sum every lane.

use std::sync::OnceLock;

#[cfg(not(loom))]
use std::sync::atomic::{AtomicU64 as StdAtomicU64, Ordering as StdOrdering};

use crate::sync::{AtomicU64, Ordering};

/// Most lanes a breaker keeps (plus the overflow lane).
pub(crate) const MAX_LANES: usize = 64;

/// The lane of a thread that has none of its own.
pub(crate) const SHARED: usize = usize::MAX;

/// How many exclusive lanes each breaker keeps: twice the parallelism of the machine,
/// at least 4, at most [`MAX_LANES`].
pub(crate) fn lane_count() -> usize {
    static COUNT: OnceLock<usize> = OnceLock::new();
    *COUNT.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(4, |n| n.get());
        (cores * 2).clamp(4, MAX_LANES)
    })
}

/// The lane of the current thread, or [`SHARED`].
///
/// The hot path reads a constant-initialised thread-local without a destructor (one
/// load); the thread's claim, which must be given back when the thread exits, is held
/// by a second thread-local touched only on the thread's first call.
#[cfg(not(loom))]
#[inline(always)]
pub(crate) fn current() -> usize {
    match INDEX.get() {
        UNCLAIMED => claim(),
        lane => lane,
    }
}

/// `INDEX` before the thread's first call.
#[cfg(not(loom))]
const UNCLAIMED: usize = usize::MAX - 1;

#[cfg(not(loom))]
#[cold]
#[inline(never)]
fn claim() -> usize {
    // While the thread's locals are being destroyed the claim cannot be made: the
    // shared lane, without caching, so each call asks again (and gets it again).
    let lane = LANE.try_with(|lane| lane.0).unwrap_or(SHARED);
    if LANE.try_with(|_| ()).is_ok() {
        INDEX.set(lane);
    }
    lane
}

/// Under loom every thread writes the shared lane, so the models explore its locking.
#[cfg(loom)]
pub(crate) fn current() -> usize {
    SHARED
}

/// Bit `i` set: lane `i` is owned by a live thread.
#[cfg(not(loom))]
static CLAIMED: StdAtomicU64 = StdAtomicU64::new(0);

#[cfg(not(loom))]
struct LaneId(usize);

#[cfg(not(loom))]
impl LaneId {
    fn claim() -> LaneId {
        let mut claimed = CLAIMED.load(StdOrdering::Relaxed);
        loop {
            let free = (!claimed).trailing_zeros() as usize;
            if free >= MAX_LANES {
                return LaneId(SHARED);
            }
            // Acquire: see every write the lane's previous owner made before release.
            match CLAIMED.compare_exchange_weak(
                claimed,
                claimed | (1 << free),
                StdOrdering::Acquire,
                StdOrdering::Relaxed,
            ) {
                Ok(_) => return LaneId(free),
                Err(actual) => claimed = actual,
            }
        }
    }
}

#[cfg(not(loom))]
impl Drop for LaneId {
    fn drop(&mut self) {
        // Calls made while the thread's other locals are destroyed use the shared lane:
        // this lane may belong to another thread from now on.
        let _ = INDEX.try_with(|index| index.set(SHARED));
        if self.0 != SHARED {
            // Release: hand this thread's last writes to the lane's next owner.
            CLAIMED.fetch_and(!(1 << self.0), StdOrdering::Release);
        }
    }
}

#[cfg(not(loom))]
thread_local! {
    /// The thread's claim on its lane, given back when the thread exits.
    static LANE: LaneId = LaneId::claim();
    /// The thread's lane number, as the hot path reads it.
    static INDEX: std::cell::Cell<usize> = const { std::cell::Cell::new(UNCLAIMED) };
}

/// Adds `n` to a lane counter: a plain load and store for the lane's owner
/// (`EXCLUSIVE`), an atomic add for the shared lane.
#[inline(always)]
pub(crate) fn add<const EXCLUSIVE: bool>(counter: &AtomicU64, n: u64) {
    if EXCLUSIVE {
        // Only this thread writes the counter; readers see the old or the new value.
        counter.store(counter.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
    } else {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// [`add`] for a statistics counter (a std atomic even under loom).
#[inline(always)]
pub(crate) fn add_stat<const EXCLUSIVE: bool>(counter: &std::sync::atomic::AtomicU64, n: u64) {
    use std::sync::atomic::Ordering::Relaxed;
    if EXCLUSIVE {
        counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
    } else {
        counter.fetch_add(n, Relaxed);
    }
}

/// Records a time stamp in a lane: for the lane's owner a plain store (its readings of
/// the clock never go back), for the shared lane an atomic maximum.
#[inline(always)]
pub(crate) fn stamp<const EXCLUSIVE: bool>(counter: &AtomicU64, v: u64) {
    if EXCLUSIVE {
        counter.store(v, Ordering::Relaxed);
    } else {
        counter.fetch_max(v, Ordering::Relaxed);
    }
}

/// Raises a lane value to at least `v` (see [`add`]).
#[inline(always)]
pub(crate) fn raise<const EXCLUSIVE: bool>(counter: &AtomicU64, v: u64) {
    if EXCLUSIVE {
        if counter.load(Ordering::Relaxed) < v {
            counter.store(v, Ordering::Relaxed);
        }
    } else {
        counter.fetch_max(v, Ordering::Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn live_threads_get_distinct_lanes_and_exited_threads_free_theirs() {
        let here = current();
        let there = std::thread::spawn(current).join().unwrap();
        assert_ne!(here, SHARED);
        assert_ne!(there, SHARED);
        assert_ne!(here, there);
        // Far more threads than lanes, one after another: each finds a free lane only
        // if every exited thread gave its lane back.
        for _ in 0..(3 * MAX_LANES) {
            assert_ne!(std::thread::spawn(current).join().unwrap(), SHARED);
        }
    }
}
