//! Outcomes: what a completed (or cancelled) call does to the state. Closed calls
//! write their lane and read one shared word; failures and probe outcomes may
//! transition.

use std::time::Duration;

use crate::classify::Outcome;
use crate::observe::Reason;
use crate::sync::{Ordering, lock};

use super::super::Inner;
use super::super::clock::Instant;
use super::super::permit::{Kind, Ticket};
use super::super::state::{State, short};
use super::super::window::{Sample, Verdict};
use super::{COUNT_MASK, Expect, in_flight, pack_count, pack_probes, probe_successes, tag_of};

impl Inner {
    /// Records the outcome of an admitted call.
    #[inline(always)]
    pub(crate) fn complete(&self, ticket: Ticket, outcome: Outcome, timed_out: bool) {
        if ticket.kind == Kind::Bypass {
            return;
        }
        let now = self.clock.recent();
        let latency_nanos = now.as_nanos().saturating_sub(ticket.start.as_nanos());
        let verdict = match outcome {
            Outcome::Success => Verdict::Success,
            Outcome::Failure => Verdict::Failure,
            Outcome::Ignored => Verdict::Ignored,
        };
        let slow = latency_nanos >= ticket.slow_nanos && verdict != Verdict::Ignored;
        let rotated = self.window.record(ticket.era, now, Sample { verdict, slow, timed_out, latency_nanos });
        match ticket.kind {
            Kind::Closed => match verdict {
                Verdict::Success => {
                    // The common case in one comparison: no failure counted in this
                    // generation since the last success.
                    if self.failures.load(Ordering::Relaxed) != pack_count(ticket.generation, 0) {
                        self.closed_success(ticket.generation);
                    }
                    // A success can raise a rate only if it is slow, if it brings the
                    // window up to `min_calls`, or if older buckets just left the
                    // window (the lane moved to a new bucket): judge the rates then.
                    if slow || rotated || self.rate_armed.load(Ordering::Relaxed) {
                        self.check_rates(ticket.generation, now);
                    }
                }
                Verdict::Failure => self.closed_failure(ticket.generation, now),
                // Not judged, but if older buckets just left the window, the next
                // success must judge the rates in its place.
                Verdict::Ignored if rotated => self.rate_armed.store(true, Ordering::Relaxed),
                Verdict::Ignored => {}
            },
            Kind::Probe => self.probe_done(ticket.generation, verdict, slow, now),
            Kind::Observe | Kind::Bypass => {}
        }
    }

    /// A call admitted but never completed (its future was dropped, or the bulkhead
    /// turned it away): nothing is recorded, and a probe place is given back.
    pub(crate) fn cancel(&self, ticket: Ticket) {
        if ticket.kind == Kind::Probe {
            self.release_probe(ticket.generation, false);
        }
    }

    /// Closed, success after failures: the consecutive-failure count restarts.
    #[cold]
    pub(super) fn closed_success(&self, generation: u64) {
        let mut word = self.failures.load(Ordering::Relaxed);
        while tag_of(word) == short(generation) && word & COUNT_MASK != 0 {
            match self.failures.compare_exchange_weak(
                word,
                pack_count(generation, 0),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return,
                Err(actual) => word = actual,
            }
        }
    }

    /// Closed, failure: count it, and open if a rule says so.
    pub(super) fn closed_failure(&self, generation: u64, now: Instant) {
        let threshold = self.settings.threshold();
        if threshold != 0 {
            let mut word = self.failures.load(Ordering::Relaxed);
            let count = loop {
                if tag_of(word) != short(generation) {
                    return; // the closed period it belonged to is over
                }
                let count = ((word & COUNT_MASK) as u32).saturating_add(1);
                match self.failures.compare_exchange_weak(
                    word,
                    pack_count(generation, count),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => break count,
                    Err(actual) => word = actual,
                }
            };
            if count >= threshold {
                let reason = Reason::ConsecutiveFailures { count, threshold };
                if self.transition(Expect::Exactly(generation, State::Closed), State::Open, reason, now) {
                    return;
                }
            }
        }
        self.check_rates(generation, now);
    }

    /// Judges the window's failure rate and slow-call rate.
    pub(super) fn check_rates(&self, generation: u64, now: Instant) {
        let failure_rate = self.settings.failure_rate();
        let slow_call = self.settings.slow_call_nanos();
        if failure_rate == 0.0 && slow_call == 0 {
            return;
        }
        let totals = self.window.totals(now);
        let calls = totals.judged();
        if calls < self.settings.min_calls() {
            self.rate_armed.store(true, Ordering::Relaxed);
            return;
        }
        if self.rate_armed.load(Ordering::Relaxed) {
            self.rate_armed.store(false, Ordering::Relaxed);
        }
        let from = Expect::Exactly(generation, State::Closed);
        if failure_rate > 0.0 && totals.failure_rate() >= failure_rate {
            let window = lock(&self.config).window;
            let reason =
                Reason::FailureRate { rate: totals.failure_rate(), threshold: failure_rate, calls, window };
            self.transition(from, State::Open, reason, now);
        } else if slow_call != 0 && totals.slow_rate() >= self.settings.slow_call_rate() {
            let reason = Reason::SlowCallRate {
                rate: totals.slow_rate(),
                threshold: self.settings.slow_call_rate(),
                calls,
                slow_call: Duration::from_nanos(slow_call),
            };
            self.transition(from, State::Open, reason, now);
        }
    }

    /// Half-open: a failed (or slow) probe reopens; enough successes close.
    pub(super) fn probe_done(&self, generation: u64, verdict: Verdict, slow: bool, now: Instant) {
        match verdict {
            Verdict::Failure => {
                self.transition(
                    Expect::Exactly(generation, State::HalfOpen),
                    State::Open,
                    Reason::ProbeFailed,
                    now,
                );
            }
            Verdict::Success if slow => {
                self.transition(
                    Expect::Exactly(generation, State::HalfOpen),
                    State::Open,
                    Reason::ProbeFailed,
                    now,
                );
            }
            Verdict::Success => {
                if let Some(successes) = self.release_probe(generation, true) {
                    if successes >= self.settings.success_threshold() {
                        let reason = Reason::ProbesSucceeded { successes };
                        let from = Expect::Exactly(generation, State::HalfOpen);
                        if self.transition(from, State::Closed, reason, now) {
                            self.stats.recoveries.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }
            Verdict::Ignored => {
                self.release_probe(generation, false);
            }
        }
    }

    /// Gives a probe place back, counting a success if `succeeded`. Returns the
    /// successes so far, or `None` if the half-open period is over.
    pub(super) fn release_probe(&self, generation: u64, succeeded: bool) -> Option<u32> {
        let mut word = self.probes.load(Ordering::Acquire);
        loop {
            if tag_of(word) != short(generation) {
                return None;
            }
            let successes = probe_successes(word) + u32::from(succeeded && probe_successes(word) < 0xFFFF);
            let next = pack_probes(generation, in_flight(word).saturating_sub(1), successes);
            match self.probes.compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(successes),
                Err(actual) => word = actual,
            }
        }
    }
}
