//! [`ClockRef`]: the clock a breaker holds, read on every call, and replaceable (a test
//! puts an attribute's breaker on a manual clock) without slowing the read.

use std::any::Any;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::sync::{Mutex, lock};

#[cfg(feature = "tower")]
use super::sleep::OwnedSleep;
use super::sleep::Sleep;
use super::{Clock, Instant, ManualClock, MonotonicClock, ticker};

/// Which clock it is.
pub(crate) enum Source {
    /// The real clock.
    Real,
    /// A manual clock: sleeping waits for it to be advanced.
    Manual(Arc<ManualClock>),
    /// Any other clock: sleeping schedules a wakeup with it.
    Custom(Arc<dyn Clock>),
}

impl Source {
    fn of<C: Clock>(clock: Arc<C>) -> Source {
        match (clock.clone() as Arc<dyn Any + Send + Sync>).downcast::<ManualClock>() {
            Ok(manual) => Source::Manual(manual),
            Err(_) => Source::Custom(clock),
        }
    }

    /// The atomic `recent()` reads for this clock: one that always reads 0 (so the
    /// read goes through the clock) if there is none.
    fn cell(&self) -> *mut AtomicU64 {
        static NONE: AtomicU64 = AtomicU64::new(0);
        match self {
            Source::Real => ticker::coarse_cell(),
            #[cfg(not(loom))]
            Source::Manual(manual) => std::ptr::from_ref(&manual.now).cast_mut(),
            // Under loom the manual clock's time is a loom atomic: read it through the
            // clock.
            #[cfg(loom)]
            Source::Manual(_) => std::ptr::from_ref(&NONE).cast_mut(),
            Source::Custom(_) => std::ptr::from_ref(&NONE).cast_mut(),
        }
    }
}

/// The clock a breaker holds.
///
/// `recent()` is read twice per call: for the real clock and the manual clock it is one
/// load through `cell`, a pointer to the atomic holding the time (0 for the real clock
/// while its thread sleeps: then the time is read precisely). Any other clock's `cell`
/// always reads 0, and the read goes through its trait object. The clock can be replaced ([`ClockRef::replace`]); a
/// replaced source stays allocated as long as the `ClockRef`, so a pointer read before
/// the replacement stays valid.
pub(crate) struct ClockRef {
    cell: AtomicPtr<AtomicU64>,
    source: AtomicPtr<Source>,
    /// Every source this clock has had, the current one included: they are freed only
    /// with the `ClockRef`.
    #[allow(clippy::vec_box, reason = "readers hold pointers into the boxes: they must not move")]
    sources: Mutex<Vec<Box<Source>>>,
}

impl std::fmt::Debug for ClockRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match self.source() {
            Source::Real => "real",
            Source::Manual(_) => "manual",
            Source::Custom(_) => "custom",
        };
        f.debug_struct("ClockRef").field("source", &kind).finish()
    }
}

impl ClockRef {
    fn with(source: Source) -> ClockRef {
        let mut source = Box::new(source);
        let cell = source.cell();
        let current = std::ptr::from_mut(&mut *source);
        ClockRef {
            cell: AtomicPtr::new(cell),
            source: AtomicPtr::new(current),
            sources: Mutex::new(vec![source]),
        }
    }

    pub(crate) fn new<C: Clock>(clock: Arc<C>) -> ClockRef {
        ClockRef::with(Source::of(clock))
    }

    pub(crate) fn monotonic() -> ClockRef {
        ticker::ensure_started();
        ClockRef::with(Source::Real)
    }

    /// Puts the breaker on `clock` from now on. Its callers reset the breaker: instants
    /// of two clocks are not comparable.
    pub(crate) fn replace<C: Clock>(&self, clock: Arc<C>) {
        let mut source = Box::new(Source::of(clock));
        let cell = source.cell();
        let current = std::ptr::from_mut(&mut *source);
        let mut sources = lock(&self.sources);
        sources.push(source);
        // Release: a reader that sees the new pointer sees the source it points to.
        self.source.store(current, Ordering::Release);
        self.cell.store(cell, Ordering::Release);
    }

    fn source(&self) -> &Source {
        // SAFETY: `source` always points into a box of `sources`, which are freed only
        // when `self` is dropped; the box was written before the pointer was published
        // (Release/Acquire).
        unsafe { &*self.source.load(Ordering::Acquire) }
    }

    /// The time, cheaply: what the hot path reads.
    #[inline(always)]
    pub(crate) fn recent(&self) -> Instant {
        // Relaxed: the pointee is a static or lives in `sources` (see `source`), and any
        // value it holds is a past reading of its clock.
        let cell = self.cell.load(Ordering::Relaxed);
        // SAFETY: as above (never null); the atomic is only read.
        let nanos = unsafe { &*cell }.load(Ordering::Relaxed);
        if nanos != 0 {
            return Instant(nanos);
        }
        self.recent_slow()
    }

    #[inline(never)]
    fn recent_slow(&self) -> Instant {
        match self.source() {
            Source::Real => ticker::recent(),
            Source::Manual(clock) => clock.recent(),
            Source::Custom(clock) => clock.recent(),
        }
    }

    /// The time, precisely.
    pub(crate) fn now(&self) -> Instant {
        match self.source() {
            Source::Real => ticker::precise_now(),
            Source::Manual(clock) => clock.now(),
            Source::Custom(clock) => clock.now(),
        }
    }

    pub(crate) fn system_time(&self, at: Instant) -> SystemTime {
        match self.source() {
            Source::Real => MonotonicClock.system_time(at),
            Source::Manual(clock) => clock.system_time(at),
            Source::Custom(clock) => clock.system_time(at),
        }
    }

    pub(crate) fn wake_at(&self, at: Instant, wake: super::Wake) {
        match self.source() {
            Source::Real => ticker::schedule(at, wake),
            Source::Manual(clock) => clock.wake_at(at, wake),
            Source::Custom(clock) => clock.wake_at(at, wake),
        }
    }

    /// A wait of `limit` on this clock, from the first time it is polled.
    pub(crate) fn sleep(&self, limit: Duration) -> Sleep<'_> {
        match self.source() {
            Source::Real => Sleep::tokio(limit),
            Source::Manual(clock) => Sleep::manual(clock, limit),
            Source::Custom(clock) => Sleep::custom(&**clock, limit),
        }
    }

    /// A wait of `limit` that holds its clock itself, for a future that cannot borrow
    /// the breaker.
    #[cfg(feature = "tower")]
    pub(crate) fn sleep_owned(&self, limit: Duration) -> OwnedSleep {
        match self.source() {
            Source::Real => OwnedSleep::tokio(limit),
            Source::Manual(clock) => OwnedSleep::manual(clock.clone(), limit),
            Source::Custom(clock) => OwnedSleep::custom(clock.clone(), limit),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn monotonic_recent_is_never_ahead_of_now() {
        let clock = ClockRef::monotonic();
        for _ in 0..1000 {
            let recent = clock.recent();
            assert!(recent <= clock.now());
        }
    }

    #[test]
    fn a_replaced_clock_is_read_from_then_on() {
        let clock = ClockRef::monotonic();
        assert!(clock.recent() > Instant::ZERO);
        let manual = Arc::new(ManualClock::new());
        manual.advance(Duration::from_secs(3));
        clock.replace(manual.clone());
        assert_eq!(clock.recent(), Instant::from_nanos(3_000_000_000));
        manual.advance(Duration::from_secs(1));
        assert_eq!((clock.recent(), clock.now()), (manual.now(), manual.now()));
    }
}
