//! Time, as the breaker sees it: a monotonic [`Instant`], the [`Clock`] trait, the real
//! [`MonotonicClock`] and the [`ManualClock`] that tests advance by hand.
//!
//! Every time read of the crate goes through a `Clock`. Intervals (recovery timeout,
//! window age, latency) are measured on a monotonic clock only, so a wall-clock jump
//! (NTP step, DST, an operator's `date -s`) can neither shorten nor stretch them; the
//! wall clock is used for display timestamps alone.

use std::fmt;
use std::ops::{Add, Sub};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::sync::{AtomicU64, Mutex, Ordering, lock};

use super::ticker;

/// A point on a clock's monotonic time line: nanoseconds since the clock's origin.
///
/// Instants of different clocks are not comparable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The clock's origin.
    pub const ZERO: Instant = Instant(0);

    /// The instant `nanos` nanoseconds after the origin.
    pub const fn from_nanos(nanos: u64) -> Instant {
        Instant(nanos)
    }

    /// Nanoseconds since the origin.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating at the end of time.
    pub fn saturating_add(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_nanos(d)))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instant({:?})", Duration::from_nanos(self.0))
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX` (about 584 years).
pub(crate) fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A callback a clock runs once when a deadline has passed.
pub type Wake = Box<dyn FnOnce() + Send + 'static>;

/// A source of monotonic time for breakers.
///
/// Implement it to drive breakers from your own notion of time; most code uses the
/// default [`MonotonicClock`], and tests use [`ManualClock`].
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// The current monotonic time, as precisely as the clock can tell.
    fn now(&self) -> Instant;

    /// The current monotonic time, possibly a little behind [`now`](Clock::now) (at most
    /// about a millisecond for [`MonotonicClock`]) but much cheaper to read. It must never
    /// be ahead of `now`. The breaker reads it on every call.
    fn recent(&self) -> Instant {
        self.now()
    }

    /// The wall-clock time at which `at` happened, for display only.
    fn system_time(&self, at: Instant) -> SystemTime {
        let age = self.now().saturating_duration_since(at);
        SystemTime::now().checked_sub(age).unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Runs `wake` once, at or soon after `at`.
    ///
    /// Breakers use it to move from open to half-open on time when no call arrives. A
    /// clock that cannot schedule may drop `wake`: breakers then make the move when they
    /// are next called or inspected, which is all correctness needs.
    fn wake_at(&self, at: Instant, wake: Wake) {
        let _ = (at, wake);
    }
}

/// The real clock: the operating system's monotonic clock (`CLOCK_MONOTONIC` on Linux),
/// with a cheap [`recent`](Clock::recent) reading kept fresh by one background thread
/// (`breaker-clock`) that also runs the scheduled wakeups of every breaker.
#[derive(Clone, Copy, Debug, Default)]
pub struct MonotonicClock;

impl MonotonicClock {
    /// The real clock.
    pub const fn new() -> MonotonicClock {
        MonotonicClock
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Instant {
        ticker::precise_now()
    }

    #[inline]
    fn recent(&self) -> Instant {
        ticker::recent()
    }

    fn wake_at(&self, at: Instant, wake: Wake) {
        ticker::schedule(at, wake);
    }
}

/// A clock that moves only when told to: the clock of deterministic tests.
///
/// Scheduled wakeups run synchronously inside [`advance`](ManualClock::advance), each
/// exactly once, in deadline order. Its wall clock can be jumped independently of its
/// monotonic time to show that wall-clock changes do not affect breakers.
///
/// ```
/// use std::time::Duration;
/// use breaker_runtime::{CircuitBreaker, Config, ManualClock, State};
///
/// let clock = ManualClock::new();
/// let config = Config::builder().threshold(1).recovery_timeout(Duration::from_secs(5)).build()?;
/// let breaker = CircuitBreaker::with_clock("inventory", config, clock.clone())?;
/// breaker.try_acquire()?.failure();
/// assert_eq!(breaker.state(), State::Open);
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(breaker.state(), State::HalfOpen);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ManualClock {
    now: AtomicU64,
    wall_origin: Mutex<SystemTime>,
    timers: Mutex<Vec<(Instant, u64, Wake)>>,
    next_seq: AtomicU64,
}

impl ManualClock {
    /// A clock at [`Instant::ZERO`], whose wall clock reads the current system time.
    #[allow(clippy::new_ret_no_self)]
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock {
            now: AtomicU64::new(0),
            wall_origin: Mutex::new(SystemTime::now()),
            timers: Mutex::new(Vec::new()),
            next_seq: AtomicU64::new(0),
        })
    }

    /// Moves time forward by `d` and runs every wakeup that is now due.
    /// Time saturates at the end of time (`u64::MAX` nanoseconds): it never wraps
    /// round to the past.
    pub fn advance(&self, d: Duration) {
        let d = duration_nanos(d);
        let mut now = self.now.load(Ordering::Acquire);
        loop {
            match self.now.compare_exchange_weak(
                now,
                now.saturating_add(d),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => now = actual,
            }
        }
        self.fire_due();
    }

    /// Moves time forward to `at` (no effect if `at` is in the past: monotonic time
    /// never goes back) and runs every wakeup that is now due.
    pub fn advance_to(&self, at: Instant) {
        self.now.fetch_max(at.as_nanos(), Ordering::AcqRel);
        self.fire_due();
    }

    /// Jumps the wall clock by `delta_secs` seconds (negative: backwards) without
    /// moving monotonic time, as an NTP step or a manual `date -s` would.
    pub fn jump_wall_clock(&self, delta_secs: i64) {
        let mut origin = lock(&self.wall_origin);
        let delta = Duration::from_secs(delta_secs.unsigned_abs());
        *origin = if delta_secs >= 0 {
            *origin + delta
        } else {
            origin.checked_sub(delta).unwrap_or(SystemTime::UNIX_EPOCH)
        };
    }

    /// How many wakeups are scheduled and not yet run.
    pub fn pending_wakeups(&self) -> usize {
        lock(&self.timers).len()
    }

    fn fire_due(&self) {
        loop {
            let now = self.now();
            let due = {
                let mut timers = lock(&self.timers);
                let first = timers
                    .iter()
                    .enumerate()
                    .filter(|(_, (at, _, _))| *at <= now)
                    .min_by_key(|(_, (at, seq, _))| (*at, *seq))
                    .map(|(i, _)| i);
                first.map(|i| timers.swap_remove(i))
            };
            match due {
                // Run outside the lock: the wakeup may schedule another.
                Some((_, _, wake)) => wake(),
                None => return,
            }
        }
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .field("pending_wakeups", &self.pending_wakeups())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        Instant(self.now.load(Ordering::Acquire))
    }

    fn system_time(&self, at: Instant) -> SystemTime {
        *lock(&self.wall_origin) + Duration::from_nanos(at.as_nanos())
    }

    fn wake_at(&self, at: Instant, wake: Wake) {
        if at <= self.now() {
            wake();
            return;
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        lock(&self.timers).push((at, seq, wake));
    }
}

/// The clock a breaker holds.
///
/// `recent()` is read twice per call, so for the real clock and the manual clock it is
/// one load through `cell`, a pointer to the atomic holding the time; any other clock
/// goes through its trait object.
#[derive(Clone, Debug)]
pub(crate) struct ClockRef {
    /// The atomic `recent()` reads, if there is one: the real clock's coarse reading
    /// (static) or a manual clock's time (kept alive by `clock`).
    #[cfg(not(loom))]
    cell: Option<std::ptr::NonNull<std::sync::atomic::AtomicU64>>,
    /// `None`: the real clock.
    clock: Option<Arc<dyn Clock>>,
}

// SAFETY: `cell` points to an atomic that is `Sync` and lives at least as long as the
// `ClockRef` (a static, or a field of the `ManualClock` that `clock` keeps alive).
unsafe impl Send for ClockRef {}
// SAFETY: as above; the pointee is only read atomically.
unsafe impl Sync for ClockRef {}

impl ClockRef {
    pub(crate) fn new<C: Clock>(clock: Arc<C>) -> ClockRef {
        #[cfg(not(loom))]
        let cell = (Arc::clone(&clock) as Arc<dyn std::any::Any + Send + Sync>)
            .downcast::<ManualClock>()
            .ok()
            .map(|manual| std::ptr::NonNull::from(&manual.now));
        ClockRef {
            #[cfg(not(loom))]
            cell,
            clock: Some(clock),
        }
    }

    pub(crate) fn monotonic() -> ClockRef {
        let ticking = ticker::ensure_started();
        #[cfg(loom)]
        let _ = ticking;
        ClockRef {
            #[cfg(not(loom))]
            cell: ticking.then(ticker::coarse_cell),
            clock: None,
        }
    }

    #[inline(always)]
    pub(crate) fn recent(&self) -> Instant {
        #[cfg(not(loom))]
        if let Some(cell) = self.cell {
            // SAFETY: see the type's safety comment.
            return Instant(unsafe { cell.as_ref() }.load(Ordering::Relaxed));
        }
        self.recent_slow()
    }

    #[inline(never)]
    fn recent_slow(&self) -> Instant {
        match &self.clock {
            None => ticker::recent(),
            Some(clock) => clock.recent(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        match &self.clock {
            None => ticker::precise_now(),
            Some(clock) => clock.now(),
        }
    }

    pub(crate) fn system_time(&self, at: Instant) -> SystemTime {
        match &self.clock {
            None => MonotonicClock.system_time(at),
            Some(clock) => clock.system_time(at),
        }
    }

    pub(crate) fn wake_at(&self, at: Instant, wake: Wake) {
        match &self.clock {
            None => ticker::schedule(at, wake),
            Some(clock) => clock.wake_at(at, wake),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn manual_clock_runs_each_due_wakeup_exactly_once_in_deadline_order() {
        let clock = ManualClock::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        for (at, tag) in [(30, "c"), (10, "a"), (20, "b")] {
            let order = order.clone();
            clock.wake_at(Instant::from_nanos(at), Box::new(move || lock(&order).push(tag)));
        }
        clock.advance(Duration::from_nanos(15));
        assert_eq!(*lock(&order), vec!["a"]);
        clock.advance(Duration::from_nanos(100));
        assert_eq!(*lock(&order), vec!["a", "b", "c"]);
        clock.advance(Duration::from_nanos(100));
        assert_eq!(lock(&order).len(), 3);
        assert_eq!(clock.pending_wakeups(), 0);
    }

    #[test]
    fn manual_clock_saturates_instead_of_wrapping() {
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(10));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), Instant::from_nanos(u64::MAX));
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), Instant::from_nanos(u64::MAX));
    }

    #[test]
    fn manual_clock_never_goes_back() {
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(10));
        clock.advance_to(Instant::from_nanos(5));
        assert_eq!(clock.now(), Instant::from_nanos(10_000_000_000));
    }

    #[test]
    fn wall_clock_jump_leaves_monotonic_time_alone() {
        let clock = ManualClock::new();
        let before = clock.system_time(Instant::ZERO);
        clock.jump_wall_clock(-1800);
        assert_eq!(clock.now(), Instant::ZERO);
        assert_eq!(
            before.duration_since(clock.system_time(Instant::ZERO)).unwrap(),
            Duration::from_secs(1800)
        );
    }

    #[test]
    fn monotonic_recent_is_never_ahead_of_now() {
        let clock = ClockRef::monotonic();
        for _ in 0..1000 {
            let recent = clock.recent();
            assert!(recent <= clock.now());
        }
    }

    #[test]
    fn monotonic_clock_runs_scheduled_wakeups() {
        let fired = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = std::sync::mpsc::channel();
        let f = fired.clone();
        let at = MonotonicClock.now() + Duration::from_millis(5);
        MonotonicClock.wake_at(
            at,
            Box::new(move || {
                f.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(());
            }),
        );
        rx.recv_timeout(Duration::from_secs(10)).expect("the wakeup ran");
        assert!(MonotonicClock.now() >= at);
        assert_eq!(fired.load(Ordering::SeqCst), 1);
    }
}
