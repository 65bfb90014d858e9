//! [`Permit`]: the admission of one call, and the obligation to record its outcome.

use std::fmt;

use crate::classify::Outcome;

use super::Inner;
use super::clock::Instant;

/// How an admitted call is treated when it completes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Admitted by a closed circuit.
    Closed,
    /// A probe of a half-open circuit.
    Probe,
    /// Metrics-only mode: counted, never judged.
    Observe,
    /// Disabled: nothing recorded.
    Bypass,
}

/// What admission hands the call: the generation and window era it belongs to, when
/// it started, and the slow-call threshold it is judged by.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ticket {
    pub(crate) generation: u64,
    pub(crate) era: u32,
    pub(crate) start: Instant,
    /// A call at least this long is slow; `u64::MAX` when slow-call detection is off,
    /// so the test is one comparison.
    pub(crate) slow_nanos: u64,
    pub(crate) kind: Kind,
}

impl Ticket {
    /// A configured slow-call threshold (`0`: off) as a ticket holds it.
    #[inline(always)]
    pub(crate) fn slow_threshold(slow_call_nanos: u64) -> u64 {
        if slow_call_nanos == 0 { u64::MAX } else { slow_call_nanos }
    }
}

/// One admitted call, from [`CircuitBreaker::try_acquire`]. Record its outcome with
/// [`record`](Permit::record) (or [`success`](Permit::success),
/// [`failure`](Permit::failure), [`ignored`](Permit::ignored)).
///
/// Dropping a permit without recording means the call was cancelled: nothing is
/// counted, and if it was a half-open probe its place is given back at once. An
/// outcome recorded after the breaker has moved on (another generation) is counted in
/// the metrics but cannot change the state.
///
/// ```
/// use breaker_runtime::{CircuitBreaker, Config, Outcome};
///
/// let breaker = CircuitBreaker::new("ledger", Config::default())?;
/// let permit = breaker.try_acquire()?;
/// let answer = 6 * 7; // the protected work
/// permit.record(if answer == 42 { Outcome::Success } else { Outcome::Failure });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// [`CircuitBreaker::try_acquire`]: crate::CircuitBreaker::try_acquire
#[must_use = "a permit dropped unrecorded counts as a cancelled call"]
pub struct Permit<'a> {
    inner: &'a Inner,
    ticket: Ticket,
    recorded: bool,
}

impl<'a> Permit<'a> {
    pub(crate) fn new(inner: &'a Inner, ticket: Ticket) -> Permit<'a> {
        Permit { inner, ticket, recorded: false }
    }

    /// Records how the call went.
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        self.recorded = true;
        self.inner.complete(self.ticket, outcome, false);
    }

    /// Records a success.
    pub fn success(self) {
        self.record(Outcome::Success);
    }

    /// Records a failure.
    pub fn failure(self) {
        self.record(Outcome::Failure);
    }

    /// Records an outcome that says nothing about the service's health.
    pub fn ignored(self) {
        self.record(Outcome::Ignored);
    }

    /// Records a timeout: a failure, also counted as a timeout.
    pub fn timed_out(mut self) {
        self.recorded = true;
        self.inner.complete(self.ticket, Outcome::Failure, true);
    }

    /// Whether the call is a probe of a half-open circuit.
    pub fn is_probe(&self) -> bool {
        self.ticket.kind == Kind::Probe
    }

    /// The generation the call was admitted in.
    pub fn generation(&self) -> u64 {
        self.ticket.generation
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        if !self.recorded {
            self.inner.cancel(self.ticket);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("service", &self.inner.service)
            .field("generation", &self.ticket.generation)
            .field("probe", &self.is_probe())
            .finish()
    }
}
