//! The time-based sliding window: counts of the last `window` of calls, kept in a fixed
//! ring of buckets per [lane](super::lanes).
//!
//! A bucket covers `window / buckets` of time, aligned to multiples of its length since
//! the clock's origin. Each bucket carries a tag (window era, bucket index): a writer
//! that finds a stale tag in the slot it needs resets that one bucket, and a reader
//! skips any bucket whose tag is outside the window. So rotation costs nothing per
//! missed bucket after idleness (no loop over gaps), memory is fixed by the
//! configuration rather than by traffic, counters are 64-bit, and recording allocates
//! nothing. Clearing the window (on closing, on reset, on a new shape) is one increment
//! of the era.

use std::time::Duration;

use crate::sync::{AtomicPtr, AtomicU32, AtomicU64, Mutex, Ordering, fence, lock};

use super::clock::{Instant, duration_nanos};
use super::lanes;
use super::latency;

const IDX_BITS: u32 = 40;
const IDX_MASK: u64 = (1 << IDX_BITS) - 1;
const ERA_MASK: u64 = (1 << (64 - IDX_BITS)) - 1;
/// The tag of a bucket being reset.
const BUSY: u64 = u64::MAX;

/// How a recorded call ended, for the window's counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Success,
    Failure,
    Ignored,
}

/// Indexes of [`Lane::outcomes`]: a verdict's own (`Verdict as usize`), and timeouts
/// apart from other failures.
pub(crate) struct Outcomes;

impl Outcomes {
    pub(crate) const SUCCESS: usize = Verdict::Success as usize;
    pub(crate) const FAILURE: usize = Verdict::Failure as usize;
    pub(crate) const IGNORED: usize = Verdict::Ignored as usize;
    pub(crate) const TIMEOUT: usize = 3;
}

/// One completed call, as the window records it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    pub(crate) verdict: Verdict,
    pub(crate) slow: bool,
    pub(crate) timed_out: bool,
    pub(crate) latency_nanos: u64,
}

/// Sums over the buckets that are inside the window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) ignored: u64,
    pub(crate) slow: u64,
    pub(crate) timeouts: u64,
    pub(crate) latency_sum: u64,
    pub(crate) latency_max: u64,
}

impl Totals {
    pub(crate) fn successes(&self) -> u64 {
        self.calls.saturating_sub(self.failures).saturating_sub(self.ignored)
    }

    /// Calls that count toward the rates: successes and failures, not ignored ones.
    pub(crate) fn judged(&self) -> u64 {
        self.calls.saturating_sub(self.ignored)
    }

    pub(crate) fn failure_rate(&self) -> f64 {
        ratio(self.failures, self.judged())
    }

    pub(crate) fn slow_rate(&self) -> f64 {
        ratio(self.slow, self.judged())
    }

    pub(crate) fn latency_mean(&self) -> Duration {
        match self.calls {
            0 => Duration::ZERO,
            n => Duration::from_nanos(self.latency_sum / n),
        }
    }
}

fn ratio(part: u64, whole: u64) -> f64 {
    // At most 1: a reader can see a call's failure (or slowness) counted before the
    // call itself, as they are two counters written one after the other.
    if whole == 0 { 0.0 } else { part.min(whole) as f64 / whole as f64 }
}

#[repr(C, align(64))]
#[derive(Default)]
struct Bucket {
    tag: AtomicU64,
    calls: AtomicU64,
    failures: AtomicU64,
    ignored: AtomicU64,
    slow: AtomicU64,
    timeouts: AtomicU64,
    latency_sum: AtomicU64,
    latency_max: AtomicU64,
}

impl Bucket {
    fn counters(&self) -> [&AtomicU64; 7] {
        [
            &self.calls,
            &self.failures,
            &self.ignored,
            &self.slow,
            &self.timeouts,
            &self.latency_sum,
            &self.latency_max,
        ]
    }
}

/// The per-lane state of a breaker: the lane's cursor into the ring, and the lane's
/// counters that are not windowed.
#[repr(align(128))]
pub(crate) struct Lane {
    cursor_tag: AtomicU64,
    cursor_end: AtomicU64,
    /// The bucket the cursor points at, in the ring of the cursor's era.
    cursor_bucket: AtomicPtr<Bucket>,
    /// Rejections, indexed by [`super::RejectionKind`].
    pub(crate) rejected: [AtomicU64; 4],
    /// Completed calls since the breaker was built, by [`Outcomes`] index: what a
    /// metrics exporter reads (the window's counts are only the window's). On the
    /// lane's own cache line, written by its one writer: one add per call.
    pub(crate) outcomes: [AtomicU64; 4],
    /// Total time of those calls, in nanoseconds, by the same index.
    pub(crate) outcome_nanos: [StatCounter; 4],
    /// Completed calls since the breaker was built, by [`latency`] bucket of their
    /// time: the latency histogram, summed over lanes when read. Allocated by the
    /// lane's writer on its first call (null until then), so a breaker at rest, or
    /// called from few threads, holds few; freed with the window.
    durations: std::sync::atomic::AtomicPtr<Durations>,
    /// Instants of the last success and failure, plus one; 0 for never.
    pub(crate) last_success: AtomicU64,
    pub(crate) last_failure: AtomicU64,
}

impl Default for Lane {
    fn default() -> Lane {
        Lane {
            cursor_tag: AtomicU64::new(0),
            cursor_end: AtomicU64::new(0),
            cursor_bucket: AtomicPtr::new(std::ptr::null_mut()),
            rejected: Default::default(),
            outcomes: Default::default(),
            outcome_nanos: Default::default(),
            durations: std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()),
            last_success: AtomicU64::new(0),
            last_failure: AtomicU64::new(0),
        }
    }
}

/// One lane's latency histogram.
pub(crate) type Durations = [StatCounter; latency::BUCKETS];

/// A counter of statistics only (call times, the latency histogram): no decision reads
/// it, so it is a std atomic even under loom, whose models need not explore it.
pub(crate) type StatCounter = std::sync::atomic::AtomicU64;

impl Lane {
    /// The lane's latency histogram, if it recorded a call.
    pub(crate) fn durations(&self) -> Option<&Durations> {
        // SAFETY: non-null pointers come from `Box::into_raw` in `durations_mut`, and
        // are freed only when the lane is dropped. Acquire: the zeroed counters are
        // seen.
        unsafe { self.durations.load(Ordering::Acquire).as_ref() }
    }

    /// The lane's histogram, allocated if it has none: only the lane's writer calls it.
    #[inline(always)]
    fn durations_mut(&self) -> &Durations {
        match self.durations() {
            Some(durations) => durations,
            None => self.allocate_durations(),
        }
    }

    #[cold]
    #[inline(never)]
    fn allocate_durations(&self) -> &Durations {
        let fresh: Box<Durations> = Box::new(std::array::from_fn(|_| StatCounter::new(0)));
        let fresh = Box::into_raw(fresh);
        // Release: readers that see the pointer see the zeroed counters. The lane has
        // one writer at a time, so nothing else stores here.
        self.durations.store(fresh, Ordering::Release);
        // SAFETY: just allocated; freed only when the lane is dropped.
        unsafe { &*fresh }
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        let durations = self.durations.load(Ordering::Acquire);
        if !durations.is_null() {
            // SAFETY: from `Box::into_raw`, and `&mut self` proves no reader remains.
            drop(unsafe { Box::from_raw(durations) });
        }
    }
}

struct Ring {
    capacity: usize,
    buckets: Box<[Bucket]>,
}

impl Ring {
    fn new(lanes: usize, capacity: usize) -> Box<Ring> {
        let buckets = (0..lanes * capacity).map(|_| Bucket::default()).collect();
        Box::new(Ring { capacity, buckets })
    }

    #[inline]
    fn bucket(&self, lane: usize, slot: usize) -> Option<&Bucket> {
        if slot >= self.capacity {
            return None;
        }
        self.buckets.get(lane * self.capacity + slot)
    }
}

pub(crate) struct Window {
    ring: AtomicPtr<Ring>,
    /// Rings replaced by a larger one. They stay allocated until the window is dropped,
    /// so a pointer loaded from `ring` is valid for as long as `&self` is. Each
    /// replacement at least doubles the capacity, so this holds less than the live ring.
    #[allow(clippy::vec_box, reason = "readers may hold a `&Ring` into the box: it must not move")]
    retired: Mutex<Vec<Box<Ring>>>,
    bucket_nanos: AtomicU64,
    count: AtomicU64,
    era: AtomicU32,
    /// The lanes of threads that have one: each written by its thread only.
    lanes: Box<[Lane]>,
    /// The lane of every other thread (its ring index is `lanes.len()`).
    shared: Lane,
    /// Serialises writers of the shared lane.
    shared_writers: Mutex<()>,
}

impl Window {
    pub(crate) fn new(window: Duration, buckets: u32) -> Window {
        let lanes = lanes::lane_count();
        let count = buckets.max(1) as usize;
        let ring = Box::into_raw(Ring::new(lanes + 1, count));
        Window {
            ring: AtomicPtr::new(ring),
            retired: Mutex::new(Vec::new()),
            bucket_nanos: AtomicU64::new(bucket_nanos(window, buckets)),
            count: AtomicU64::new(count as u64),
            era: AtomicU32::new(1),
            lanes: (0..lanes).map(|_| Lane::default()).collect(),
            shared: Lane::default(),
            shared_writers: Mutex::new(()),
        }
    }

    #[inline]
    fn ring(&self) -> &Ring {
        // SAFETY: `ring` always holds a pointer from `Box::into_raw`; a replaced ring is
        // moved to `retired` and freed only in `Drop`, so the pointee outlives `&self`.
        unsafe { &*self.ring.load(Ordering::Acquire) }
    }

    /// The current era; outcomes admitted in an earlier era are not recorded.
    #[inline]
    pub(crate) fn era(&self) -> u32 {
        self.era.load(Ordering::Acquire)
    }

    /// Adds one rejection of kind `index` on the current thread's lane.
    #[inline]
    pub(crate) fn count_rejection(&self, index: usize) {
        match self.lanes.get(lanes::current()) {
            Some(lane) => {
                if let Some(counter) = lane.rejected.get(index) {
                    lanes::add::<true>(counter, 1);
                }
            }
            None => {
                if let Some(counter) = self.shared.rejected.get(index) {
                    lanes::add::<false>(counter, 1);
                }
            }
        }
    }

    /// Every lane, the shared one last.
    pub(crate) fn all_lanes(&self) -> impl Iterator<Item = &Lane> {
        self.lanes.iter().chain(std::iter::once(&self.shared))
    }

    /// Records one call that was admitted in `era`: in the window if the era is still
    /// the current one, and as the lane's last success or failure in any case.
    ///
    /// Returns whether the lane moved to a new bucket: then older buckets may have left
    /// the window, and the rates can have changed without a new failure.
    #[inline(always)]
    pub(crate) fn record(&self, era: u32, now: Instant, sample: Sample) -> bool {
        let index = lanes::current();
        match self.lanes.get(index) {
            Some(lane) => self.record_in::<true>(lane, index, era, now, sample),
            None => {
                let _guard = lock(&self.shared_writers);
                self.record_in::<false>(&self.shared, self.lanes.len(), era, now, sample)
            }
        }
    }

    #[inline(always)]
    fn record_in<const EXCLUSIVE: bool>(
        &self,
        lane: &Lane,
        lane_idx: usize,
        era: u32,
        now: Instant,
        s: Sample,
    ) -> bool {
        let now = now.as_nanos();
        match s.verdict {
            Verdict::Success => lanes::stamp::<EXCLUSIVE>(&lane.last_success, now + 1),
            Verdict::Failure => lanes::stamp::<EXCLUSIVE>(&lane.last_failure, now + 1),
            Verdict::Ignored => {}
        }
        let outcome = if s.timed_out { Outcomes::TIMEOUT } else { s.verdict as usize };
        lanes::add::<EXCLUSIVE>(&lane.outcomes[outcome], 1);
        lanes::add_stat::<EXCLUSIVE>(&lane.outcome_nanos[outcome], s.latency_nanos);
        lanes::add_stat::<EXCLUSIVE>(&lane.durations_mut()[latency::bucket_of(s.latency_nanos)], 1);
        // The cursor's tag carries the era it was set in: a sample of the cursor's era
        // goes to its bucket, even if the window was cleared since (that bucket is then
        // of an old era, which readers skip). Any other sample takes the cold path,
        // which drops samples of an old era.
        let era_tag = (u64::from(era) & ERA_MASK) << IDX_BITS;
        let cursor_valid = now < lane.cursor_end.load(Ordering::Relaxed)
            && lane.cursor_tag.load(Ordering::Relaxed) & !IDX_MASK == era_tag;
        let bucket = if cursor_valid {
            // SAFETY: a valid cursor points to a bucket of a ring of this window (rotate
            // sets it so), and rings are freed only when the window is dropped.
            unsafe { &*lane.cursor_bucket.load(Ordering::Relaxed) }
        } else {
            if self.era.load(Ordering::Relaxed) != era {
                return false;
            }
            // SAFETY: as above (or null, if the ring has no such bucket).
            match unsafe { self.rotate(lane, lane_idx, era_tag, now).as_ref() } {
                Some(bucket) => bucket,
                None => return true,
            }
        };
        lanes::add::<EXCLUSIVE>(&bucket.calls, 1);
        match s.verdict {
            Verdict::Success => {}
            Verdict::Failure => lanes::add::<EXCLUSIVE>(&bucket.failures, 1),
            Verdict::Ignored => lanes::add::<EXCLUSIVE>(&bucket.ignored, 1),
        }
        if s.slow {
            lanes::add::<EXCLUSIVE>(&bucket.slow, 1);
        }
        if s.timed_out {
            lanes::add::<EXCLUSIVE>(&bucket.timeouts, 1);
        }
        lanes::add::<EXCLUSIVE>(&bucket.latency_sum, s.latency_nanos);
        lanes::raise::<EXCLUSIVE>(&bucket.latency_max, s.latency_nanos);
        !cursor_valid
    }

    /// Points the lane's cursor at the bucket for `now`, resetting it if it holds an
    /// older period. Only the lane's writer calls this.
    #[cold]
    fn rotate(&self, lane: &Lane, lane_idx: usize, era_tag: u64, now: u64) -> *mut Bucket {
        let bucket_nanos = self.bucket_nanos.load(Ordering::Relaxed).max(1);
        let count = self.count.load(Ordering::Relaxed).max(1);
        let idx = now / bucket_nanos;
        let tag = era_tag | (idx & IDX_MASK);
        let slot = (idx % count) as usize;
        let Some(bucket) = self.ring().bucket(lane_idx, slot) else { return std::ptr::null_mut() };
        if bucket.tag.load(Ordering::Relaxed) != tag {
            // A seqlock write: readers that see BUSY or a changed tag skip the bucket.
            bucket.tag.store(BUSY, Ordering::Relaxed);
            fence(Ordering::Release);
            for counter in bucket.counters() {
                counter.store(0, Ordering::Relaxed);
            }
            bucket.tag.store(tag, Ordering::Release);
        }
        let bucket = std::ptr::from_ref(bucket).cast_mut();
        // The bucket first: a valid cursor always points to one.
        lane.cursor_bucket.store(bucket, Ordering::Relaxed);
        lane.cursor_tag.store(tag, Ordering::Relaxed);
        lane.cursor_end.store((idx + 1).saturating_mul(bucket_nanos), Ordering::Relaxed);
        bucket
    }

    /// Sums the buckets of the current era that lie inside the window ending at `now`.
    pub(crate) fn totals(&self, now: Instant) -> Totals {
        let era_tag = (u64::from(self.era()) & ERA_MASK) << IDX_BITS;
        let bucket_nanos = self.bucket_nanos.load(Ordering::Relaxed).max(1);
        let count = self.count.load(Ordering::Relaxed).max(1);
        let current = (now.as_nanos() / bucket_nanos) & IDX_MASK;
        // A writer whose clock reading is a little ahead may already fill the next one.
        let (oldest, newest) = (current.saturating_sub(count - 1), current + 1);
        let ring = self.ring();
        let mut totals = Totals::default();
        for lane in 0..=self.lanes.len() {
            for slot in 0..count as usize {
                let Some(bucket) = ring.bucket(lane, slot) else { continue };
                let tag = bucket.tag.load(Ordering::Acquire);
                if tag == BUSY || tag & !IDX_MASK != era_tag {
                    continue;
                }
                if !(oldest..=newest).contains(&(tag & IDX_MASK)) {
                    continue;
                }
                let [calls, failures, ignored, slow, timeouts, sum, max] =
                    bucket.counters().map(|c| c.load(Ordering::Relaxed));
                fence(Ordering::Acquire);
                if bucket.tag.load(Ordering::Relaxed) != tag {
                    continue;
                }
                totals.calls += calls;
                totals.failures += failures;
                totals.ignored += ignored;
                totals.slow += slow;
                totals.timeouts += timeouts;
                totals.latency_sum = totals.latency_sum.saturating_add(sum);
                totals.latency_max = totals.latency_max.max(max);
            }
        }
        totals
    }

    /// Forgets every count: the next era starts empty.
    pub(crate) fn clear(&self) {
        self.era.fetch_add(1, Ordering::AcqRel);
    }

    /// Gives the window a new length and bucket count, and clears it. Callers serialise
    /// reshapes (the breaker holds its transition lock).
    pub(crate) fn reshape(&self, window: Duration, buckets: u32) {
        let count = buckets.max(1) as usize;
        let capacity = self.ring().capacity;
        if count > capacity {
            let larger = Ring::new(self.lanes.len() + 1, count.max(capacity * 2));
            let old = self.ring.swap(Box::into_raw(larger), Ordering::AcqRel);
            // SAFETY: `old` came from `Box::into_raw` and is no longer reachable from
            // `ring`; it is kept (not freed) because readers may still hold it.
            lock(&self.retired).push(unsafe { Box::from_raw(old) });
        }
        self.bucket_nanos.store(bucket_nanos(window, buckets), Ordering::Relaxed);
        self.count.store(count as u64, Ordering::Relaxed);
        self.clear();
    }

    #[cfg(test)]
    pub(crate) fn bucket_len(&self) -> Duration {
        Duration::from_nanos(self.bucket_nanos.load(Ordering::Relaxed))
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::into_raw`, and `&mut self` proves no
        // reader remains.
        drop(unsafe { Box::from_raw(self.ring.load(Ordering::Acquire)) });
    }
}

fn bucket_nanos(window: Duration, buckets: u32) -> u64 {
    (duration_nanos(window) / u64::from(buckets.max(1))).max(1)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    /// A reader between a call's two counters sees its failure before the call: the
    /// rates stay at most 1 (they read 2.0 with one call in the window).
    #[test]
    fn a_torn_read_keeps_the_rates_at_most_one() {
        let torn = Totals { calls: 1, failures: 2, slow: 2, ..Totals::default() };
        assert_eq!((torn.failure_rate(), torn.slow_rate()), (1.0, 1.0));
    }

    fn sample(verdict: Verdict) -> Sample {
        Sample { verdict, slow: false, timed_out: false, latency_nanos: 1_000 }
    }

    fn at(secs: u64) -> Instant {
        Instant::from_nanos(secs * SEC)
    }

    fn record(w: &Window, secs: u64, verdict: Verdict, n: usize) {
        for _ in 0..n {
            w.record(w.era(), at(secs), sample(verdict));
        }
    }

    #[test]
    fn ten_successes_give_rate_zero_over_ten_calls() {
        let w = Window::new(Duration::from_secs(10), 10);
        record(&w, 100, Verdict::Success, 10);
        let t = w.totals(at(100));
        assert_eq!((t.failure_rate(), t.calls), (0.0, 10));
    }

    #[test]
    fn empty_window_gives_rate_zero_over_zero_calls() {
        let w = Window::new(Duration::from_secs(10), 10);
        let t = w.totals(at(5));
        assert_eq!((t.failure_rate(), t.calls), (0.0, 0));
    }

    #[test]
    fn all_failures_give_rate_one() {
        let w = Window::new(Duration::from_secs(10), 10);
        record(&w, 3, Verdict::Failure, 7);
        let t = w.totals(at(3));
        assert_eq!((t.failure_rate(), t.calls), (1.0, 7));
    }

    #[test]
    fn rate_after_rotation_covers_both_periods_exactly() {
        let w = Window::new(Duration::from_secs(10), 10);
        record(&w, 100, Verdict::Failure, 1);
        record(&w, 100, Verdict::Success, 2);
        record(&w, 104, Verdict::Failure, 1);
        record(&w, 104, Verdict::Success, 5);
        let t = w.totals(at(104));
        assert_eq!(t.calls, 9);
        assert_eq!(t.failures, 2);
        assert_eq!(t.failure_rate(), 2.0 / 9.0);
    }

    #[test]
    fn buckets_older_than_the_window_drop_out() {
        let w = Window::new(Duration::from_secs(10), 10);
        record(&w, 100, Verdict::Failure, 3);
        record(&w, 105, Verdict::Success, 3);
        assert_eq!(w.totals(at(109)).calls, 6);
        // At 110 the bucket [100, 101) is out of the 10 s window.
        let t = w.totals(at(110));
        assert_eq!((t.calls, t.failures), (3, 0));
    }

    #[test]
    fn a_long_gap_resets_only_the_slot_it_reuses() {
        let w = Window::new(Duration::from_secs(10), 10);
        record(&w, 100, Verdict::Failure, 4);
        // Two hours later, the same slot index (7200 % 10 == 0) is reused.
        record(&w, 7300, Verdict::Success, 1);
        let t = w.totals(at(7300));
        assert_eq!((t.calls, t.failures), (1, 0));
    }

    #[test]
    fn one_third_failure_rate_reads_exactly() {
        let w = Window::new(Duration::from_secs(60), 10);
        record(&w, 1, Verdict::Failure, 1);
        record(&w, 7, Verdict::Success, 1);
        record(&w, 13, Verdict::Success, 1);
        let t = w.totals(at(13));
        assert_eq!(format!("{:.3}", t.failure_rate()), "0.333");
    }

    #[test]
    fn ignored_calls_are_counted_but_not_judged() {
        let w = Window::new(Duration::from_secs(10), 10);
        record(&w, 1, Verdict::Ignored, 2);
        record(&w, 1, Verdict::Failure, 1);
        record(&w, 1, Verdict::Success, 1);
        let t = w.totals(at(1));
        assert_eq!((t.calls, t.judged(), t.successes()), (4, 2, 1));
        assert_eq!(t.failure_rate(), 0.5);
    }

    #[test]
    fn clearing_starts_an_empty_era_and_drops_stale_samples() {
        let w = Window::new(Duration::from_secs(10), 10);
        let old_era = w.era();
        record(&w, 1, Verdict::Failure, 2);
        w.clear();
        assert_eq!(w.totals(at(1)).calls, 0);
        w.record(old_era, at(1), sample(Verdict::Failure));
        assert_eq!(w.totals(at(1)).calls, 0);
        record(&w, 1, Verdict::Success, 1);
        assert_eq!(w.totals(at(1)).calls, 1);
        // A late sample of the old era, in this bucket or another, changes nothing of
        // the new era's counts.
        w.record(old_era, at(1), sample(Verdict::Failure));
        w.record(old_era, at(5), sample(Verdict::Failure));
        let t = w.totals(at(5));
        assert_eq!((t.calls, t.failures), (1, 0));
    }

    #[test]
    fn reshape_to_more_buckets_grows_the_ring_and_keeps_counting() {
        let w = Window::new(Duration::from_secs(10), 2);
        record(&w, 1, Verdict::Failure, 1);
        w.reshape(Duration::from_secs(30), 30);
        assert_eq!(w.bucket_len(), Duration::from_secs(1));
        for s in 0..30 {
            record(&w, 100 + s, Verdict::Success, 1);
        }
        assert_eq!(w.totals(at(129)).calls, 30);
    }

    #[test]
    fn latency_mean_and_max_cover_the_window() {
        let w = Window::new(Duration::from_secs(10), 10);
        for nanos in [1_000, 3_000, 8_000] {
            w.record(
                w.era(),
                at(1),
                Sample { verdict: Verdict::Success, slow: false, timed_out: false, latency_nanos: nanos },
            );
        }
        let t = w.totals(at(1));
        assert_eq!(t.latency_mean(), Duration::from_nanos(4_000));
        assert_eq!(t.latency_max, 8_000);
    }

    #[test]
    fn threads_recording_at_once_lose_no_count() {
        let w = std::sync::Arc::new(Window::new(Duration::from_secs(10), 10));
        let era = w.era();
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        w.record(era, at(1), sample(Verdict::Failure));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let t = w.totals(at(1));
        assert_eq!((t.calls, t.failures), (16_000, 16_000));
    }
}
