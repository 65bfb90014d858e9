//! Time, as the breaker sees it: a monotonic [`Instant`], the [`Clock`] trait, the real
//! [`MonotonicClock`] and the [`ManualClock`] that tests advance by hand, and the
//! sleeping a breaker's timeouts need (`Sleep`), on the breaker's own clock.
//!
//! Every time read and every wait of the crate goes through the breaker's clock.
//! Intervals (recovery timeout, window age, latency, call and queue timeouts) are
//! measured on a monotonic clock only, so a wall-clock jump (NTP step, DST, an
//! operator's `date -s`) can neither shorten nor stretch them; the wall clock is used
//! for display timestamps alone.
//!
//! - [`manual`]: the manual clock, which runs wakeups and wakes sleepers as it is
//!   advanced;
//! - [`source`]: the clock a breaker holds (`ClockRef`), read on the hot path;
//! - [`sleep`]: a future that waits on a breaker's clock;
//! - [`ticker`]: the real clock's background thread.

mod manual;
mod sleep;
mod source;
mod ticker;

pub use manual::{ManualClock, ManualSleep};
#[cfg(feature = "tower")]
pub(crate) use sleep::OwnedSleep;
pub(crate) use sleep::Sleep;
pub(crate) use source::ClockRef;

use std::fmt;
use std::ops::{Add, Sub};
use std::time::{Duration, SystemTime};

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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

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
