//! [`Admission`]: one admitted call that holds its breaker, for futures that cannot
//! borrow it (the tower layer's response future and body, the reqwest middleware).
//!
//! It is the two-step [`Permit`](super::Permit) plus what a call through the breaker
//! also takes: its bulkhead place, and its timeout on the breaker's clock. It does not
//! queue: with the bulkhead full it is refused at once (a tower stack queues in front
//! of the layer, with `tower::buffer` or `tower::limit`).

use std::fmt;
use std::mem::ManuallyDrop;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::classify::Outcome;
use crate::error::Error;
use crate::observe::RejectionKind;
use crate::sync::lock;

use super::CircuitBreaker;
use super::clock::{Instant, OwnedSleep};
use super::machine::{NO_RETRY, Rejected};
use super::permit::{Kind, Ticket};
use super::state::State;

/// An admitted call. Record its outcome with [`settle`](Admission::settle) or
/// [`timed_out`](Admission::timed_out); dropped unrecorded, it counts for nothing and
/// gives back its probe place and its bulkhead place.
pub(crate) struct Admission {
    /// The breaker, one pointer either way: a breaker that lives as long as the program
    /// (a registry service that is never evicted) as an uncounted copy of its
    /// reference, never dropped, which costs nothing per call and one load less to
    /// reach than a `&'static CircuitBreaker`; any other as a counted reference
    /// (`counted`), dropped with the admission.
    breaker: ManuallyDrop<CircuitBreaker>,
    ticket: Admitted,
    counted: bool,
    /// Whether it holds a bulkhead place.
    seat: bool,
    recorded: bool,
    /// Whether it only observes (a layer's `observe_only`): never cut by the timeout.
    /// A call admitted in metrics-only mode is observed too, but cut as through
    /// `#[circuit_breaker]`.
    watching: bool,
}

impl Admission {
    /// An admission of `ticket` holding `breaker` (`counted`: a reference of its own,
    /// dropped with the admission).
    #[inline(always)]
    fn new(breaker: ManuallyDrop<CircuitBreaker>, counted: bool, ticket: Ticket, seat: bool) -> Admission {
        Admission { breaker, ticket: Admitted::of(ticket), counted, seat, recorded: false, watching: false }
    }
}

/// `breaker`'s reference, uncounted: never to be dropped.
#[inline(always)]
fn uncounted(breaker: &'static CircuitBreaker) -> ManuallyDrop<CircuitBreaker> {
    // SAFETY: the copy shares the breaker's reference without counting it, and is never
    // dropped: it is what a `&'static` to the breaker is, as the original lives (and
    // holds its count) for the rest of the program. A clone of it counts a new
    // reference, as any clone does.
    ManuallyDrop::new(CircuitBreaker { inner: unsafe { std::ptr::read(&breaker.inner) } })
}

impl CircuitBreaker {
    /// Admits a call through a breaker that lives as long as the program, with its
    /// bulkhead place, or says why not: no reference counting.
    #[inline]
    pub(crate) fn admit_static(&'static self) -> Result<Admission, Error> {
        let (ticket, seat) = self.admit_parts()?;
        Ok(Admission::new(uncounted(self), false, ticket, seat))
    }

    /// Admits a call through a breaker the caller owns (no clone), or says why not.
    #[inline]
    pub(crate) fn admit_into(self) -> Result<Admission, Error> {
        let (ticket, seat) = self.admit_parts()?;
        Ok(Admission::new(ManuallyDrop::new(self), true, ticket, seat))
    }

    #[inline(always)]
    fn admit_parts(&self) -> Result<(Ticket, bool), Error> {
        let inner = &*self.inner;
        let (generation, kind) = inner.admit()?;
        let policy = inner.settings.call_policy();
        let ticket = inner.ticket(generation, kind, policy.slow_call_nanos);
        let mut seat = false;
        if policy.max_concurrent != 0 {
            match inner.bulkhead.try_enter() {
                Some(entered) => {
                    entered.keep();
                    seat = true;
                }
                None => {
                    inner.cancel(ticket);
                    inner.count_rejection(RejectionKind::Bulkhead);
                    let rejected = Rejected { kind: RejectionKind::Bulkhead, retry_after_nanos: NO_RETRY };
                    return Err(inner.rejection_error(rejected));
                }
            }
        }
        Ok((ticket, seat))
    }

    /// Admits a call to be observed only: counted in the window and the metrics, never
    /// judged (the state does not change by it), never refused, no bulkhead place.
    pub(crate) fn observe_owned(&self) -> Admission {
        let inner = &*self.inner;
        let (generation, _) = inner.load();
        let ticket = inner.ticket(generation, Kind::Observe, 0);
        let mut admission = Admission::new(ManuallyDrop::new(self.clone()), true, ticket, false);
        admission.watching = true;
        admission
    }

    /// The state as it is, without applying a due open -> half-open move: for a check
    /// that must cost one load (a layer's `poll_ready`).
    #[inline]
    pub(crate) fn peek_state(&self) -> State {
        self.inner.peek_state()
    }

    /// How long until an open circuit lets a probe through: `None` unless the circuit
    /// is open by itself (closed, half-open, forced open, disabled).
    pub(crate) fn until_probe(&self) -> Option<Duration> {
        let inner = &*self.inner;
        if inner.peek_state() != State::Open {
            return None;
        }
        let deadline =
            inner.opened_at.load(Ordering::Relaxed).saturating_add(inner.settings.recovery_nanos());
        Some(Duration::from_nanos(deadline.saturating_sub(inner.clock.recent().as_nanos())))
    }

    /// A wait of `limit` on the breaker's clock that holds the clock itself.
    pub(crate) fn sleep_owned(&self, limit: Duration) -> OwnedSleep {
        self.inner.clock.sleep_owned(limit)
    }

    /// Counts an HTTP client error judged a failure (see `judge::note_client_error`).
    #[cold]
    pub(crate) fn count_client_error(&self) {
        self.inner.stats.client_errors_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// The configured 429 rule: how many within which window; `None` when off.
    pub(crate) fn too_many_requests_rule(&self) -> Option<(u32, Duration)> {
        self.inner.too_many_requests_rule()
    }

    /// Judges one HTTP 429 answer by the windowed rule (see
    /// `Inner::too_many_requests`).
    pub(crate) fn too_many_requests(&self, count: u32, within: Duration) -> Outcome {
        self.inner.too_many_requests(count, within)
    }
}

impl super::Inner {
    /// The configured 429 rule: how many within which window; `None` when off.
    pub(crate) fn too_many_requests_rule(&self) -> Option<(u32, Duration)> {
        let config = lock(&self.config);
        config.too_many_requests.map(|count| (count, config.too_many_requests_window))
    }

    /// Judges one HTTP 429 answer by the configured rule (ignored when it is off).
    #[cold]
    pub(crate) fn too_many_requests_configured(&self) -> Outcome {
        match self.too_many_requests_rule() {
            Some((count, within)) => self.too_many_requests(count, within),
            None => Outcome::Ignored,
        }
    }

    /// Judges one HTTP 429 answer by the windowed rule: a failure once `count` of them
    /// arrived within `within` (the window starts at the first 429 after the last one
    /// ended), ignored before that.
    pub(crate) fn too_many_requests(&self, count: u32, within: Duration) -> Outcome {
        let now = self.clock.recent();
        let mut throttle = lock(&self.throttle);
        let (start, seen) = *throttle;
        let seen = if now.saturating_duration_since(start) > within || seen == 0 {
            *throttle = (now, 1);
            1
        } else {
            throttle.1 = seen.saturating_add(1);
            throttle.1
        };
        if seen >= count { Outcome::Failure } else { Outcome::Ignored }
    }
}

impl Admission {
    /// The breaker's call timeout; `None` when it is off, and for a call that is only
    /// watched (never cut).
    pub(crate) fn timeout(&self) -> Option<Duration> {
        if self.watching {
            return None;
        }
        // Read when asked (when the call first waits), not carried: an admission that
        // answers at once never needs it, and stays a word smaller to move.
        let nanos = self.breaker.inner.settings.call_policy().timeout_nanos;
        (nanos != 0).then(|| Duration::from_nanos(nanos))
    }

    /// A wait of `limit` on the breaker's clock (one that never ends for zero).
    pub(crate) fn timer(&self, limit: Duration) -> OwnedSleep {
        self.breaker.sleep_owned(limit)
    }

    /// The breaker the call was admitted by.
    pub(crate) fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Records how the call went, in place (a future keeps its admission until it is
    /// dropped: moving it out would copy it): the bulkhead place is given back now, and
    /// the admission's drop does nothing more. Once only.
    #[inline]
    pub(crate) fn settle(&mut self, outcome: Outcome) {
        debug_assert!(!self.recorded, "an admission is recorded once");
        self.recorded = true;
        self.breaker.inner.complete(self.ticket.judged(&self.breaker.inner), outcome, false);
        if self.seat {
            self.seat = false;
            self.breaker.inner.bulkhead.give_back();
        }
    }

    /// Records that the call was cut by its timeout: a failure.
    pub(crate) fn timed_out(mut self) {
        self.recorded = true;
        self.breaker.inner.complete(self.ticket.judged(&self.breaker.inner), Outcome::Failure, true);
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        if !self.recorded {
            // Cancelled, not judged: no slow-call threshold to read.
            self.breaker.inner.cancel(self.ticket.with_slow(u64::MAX));
        }
        if self.seat {
            self.breaker.inner.bulkhead.give_back();
        }
        if self.counted {
            // SAFETY: a counted reference, dropped once, here.
            unsafe { ManuallyDrop::drop(&mut self.breaker) }
        }
    }
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission")
            .field("service", &self.breaker.service())
            .field("probe", &(self.ticket.kind == Kind::Probe))
            .finish()
    }
}

/// What an admission keeps of its ticket: all but the slow-call threshold, which is
/// read when the outcome is recorded (the threshold in force then), so that the
/// admission stays a word smaller to move.
#[derive(Clone, Copy, Debug)]
struct Admitted {
    generation: u64,
    start: Instant,
    era: u32,
    kind: Kind,
}

impl Admitted {
    #[inline(always)]
    fn of(ticket: Ticket) -> Admitted {
        Admitted { generation: ticket.generation, start: ticket.start, era: ticket.era, kind: ticket.kind }
    }

    /// The ticket to judge the call by, with `inner`'s slow-call threshold now.
    #[inline(always)]
    fn judged(self, inner: &super::Inner) -> Ticket {
        self.with_slow(Ticket::slow_threshold(inner.settings.slow_call_nanos()))
    }

    #[inline(always)]
    fn with_slow(self, slow_nanos: u64) -> Ticket {
        Ticket { generation: self.generation, era: self.era, start: self.start, slow_nanos, kind: self.kind }
    }
}

/// The start of the 429 window and how many 429s arrived in it.
pub(crate) type Throttle = (Instant, u32);

#[cfg(all(test, not(loom)))]
mod tests {
    use std::sync::Arc;

    use crate::Config;
    use crate::classify::Outcome;

    use super::CircuitBreaker;

    fn config() -> Config {
        Config::builder().threshold(5).no_timeout().build().unwrap()
    }

    /// A breaker that lives as long as the program is held uncounted: admitting,
    /// recording, cancelling and cloning through an admission leave its count as it
    /// was, and the breaker still works after.
    #[test]
    fn a_static_breaker_is_held_without_counting() {
        let breaker: &'static CircuitBreaker =
            Box::leak(Box::new(CircuitBreaker::new("owned-static", config()).unwrap()));
        let count = || Arc::strong_count(&breaker.inner);
        assert_eq!(count(), 1);
        let mut admission = breaker.admit_static().unwrap();
        assert_eq!(count(), 1);
        let cloned = admission.breaker().clone();
        assert_eq!(count(), 2);
        drop(cloned);
        admission.settle(Outcome::Success);
        drop(admission);
        assert_eq!(count(), 1);
        // Cancelled (dropped unrecorded): gives back its bulkhead place, counts nothing.
        drop(breaker.admit_static().unwrap());
        assert_eq!(count(), 1);
        assert_eq!(breaker.snapshot().bulkhead.in_use, 0);
        assert_eq!(breaker.snapshot().calls.successes, 1);
    }

    /// Any other breaker is held by a counted reference, given back with the admission
    /// (recorded, cancelled, timed out or only observed).
    #[test]
    fn a_counted_breaker_is_given_back_with_its_admission() {
        let breaker = CircuitBreaker::new("owned-counted", config()).unwrap();
        let count = || Arc::strong_count(&breaker.inner);
        let mut admission = breaker.clone().admit_into().unwrap();
        assert_eq!(count(), 2);
        admission.settle(Outcome::Failure);
        drop(admission);
        assert_eq!(count(), 1);
        drop(breaker.clone().admit_into().unwrap());
        assert_eq!(count(), 1);
        breaker.clone().admit_into().unwrap().timed_out();
        assert_eq!(count(), 1);
        drop(breaker.observe_owned());
        assert_eq!(count(), 1);
        let calls = breaker.snapshot().calls;
        assert_eq!((calls.failures, calls.timeouts, calls.successes), (1, 1, 0), "{calls:?}");
    }
}
