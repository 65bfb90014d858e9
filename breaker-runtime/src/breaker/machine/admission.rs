//! Admission: whether a call may run, one function per state's rule, and the error a
//! refused call gets. The closed path and the open rejection, the hot paths, are
//! inlined up to the error.

use std::time::Duration;

use crate::error::Error;
use crate::observe::{EventKind, RejectionKind};
use crate::sync::Ordering;

use super::super::Inner;
use super::super::clock::Instant;
use super::super::permit::{Kind, Ticket};
use super::super::state::{STATE_BITS, STATE_MASK, State, short, unpack};
use super::{in_flight, tag_of};

/// `Rejected::retry_after_nanos` when no probe time is known.
pub(crate) const NO_RETRY: u64 = u64::MAX;

/// A call refused at admission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rejected {
    pub(crate) kind: RejectionKind,
    /// Nanoseconds until a probe is let through; `NO_RETRY` if unknown.
    pub(crate) retry_after_nanos: u64,
}

impl Inner {
    /// Admits a call or rejects it: the generation and the kind of the admission.
    #[inline(always)]
    pub(crate) fn admit(&self) -> Result<(u64, Kind), Error> {
        // Acquire: see `load`. Closed is tested on the raw word: the common case costs
        // one mask and one compare.
        let word = self.state.load(Ordering::Acquire);
        if word & STATE_MASK == State::Closed.tag() {
            return Ok((word >> STATE_BITS, Kind::Closed));
        }
        let (generation, state) = unpack(word);
        match state {
            State::Closed => Ok((generation, Kind::Closed)),
            // The open rejection is the other hot path: inline, up to the error.
            State::Open => {
                let now = self.clock.recent();
                let deadline = self.recovery_deadline();
                if now.as_nanos() < deadline {
                    self.count_rejection(RejectionKind::Open);
                    let retry_after = Some(Duration::from_nanos(self.retry_after(deadline, now)));
                    return Err(Error::CircuitOpen { service: self.service, retry_after });
                }
                self.admit_unless_closed(generation, state).map_err(|r| self.rejection_error(r))
            }
            _ => self.admit_unless_closed(generation, state).map_err(|r| self.rejection_error(r)),
        }
    }

    #[inline(never)]
    pub(super) fn admit_unless_closed(
        &self,
        mut generation: u64,
        mut state: State,
    ) -> Result<(u64, Kind), Rejected> {
        loop {
            let kind = match state {
                State::Closed => Kind::Closed,
                State::Open => match self.admit_open(generation) {
                    Ok(()) => {
                        // Now half-open (by this call or another): take a probe place.
                        (generation, state) = self.load();
                        continue;
                    }
                    Err(rejected) => return Err(self.reject(rejected)),
                },
                State::HalfOpen => match self.admit_probe(generation) {
                    Some(Ok(())) => Kind::Probe,
                    Some(Err(rejected)) => return Err(self.reject(rejected)),
                    None => {
                        // The generation moved on meanwhile.
                        (generation, state) = self.load();
                        continue;
                    }
                },
                State::ForcedOpen => {
                    return Err(
                        self.reject(Rejected { kind: RejectionKind::Forced, retry_after_nanos: NO_RETRY })
                    );
                }
                State::Disabled => Kind::Bypass,
                State::MetricsOnly => Kind::Observe,
            };
            return Ok((generation, kind));
        }
    }

    /// The ticket of a call admitted in `generation` as `kind`, judged slow by
    /// `slow_call_nanos`.
    #[inline(always)]
    pub(crate) fn ticket(&self, generation: u64, kind: Kind, slow_call_nanos: u64) -> Ticket {
        let slow_nanos = Ticket::slow_threshold(slow_call_nanos);
        Ticket { generation, era: self.window.era(), start: self.clock.recent(), slow_nanos, kind }
    }

    /// Open: reject until the recovery timeout has passed, then move to half-open.
    #[inline(always)]
    pub(super) fn admit_open(&self, generation: u64) -> Result<(), Rejected> {
        let now = self.clock.recent();
        let deadline = self.recovery_deadline();
        if now.as_nanos() < deadline {
            return Err(Rejected {
                kind: RejectionKind::Open,
                retry_after_nanos: self.retry_after(deadline, now),
            });
        }
        self.to_half_open(generation, now);
        Ok(())
    }

    /// Half-open: take a probe place if one is free. `None`: the state word was stale.
    pub(super) fn admit_probe(&self, generation: u64) -> Option<Result<(), Rejected>> {
        let max = self.settings.half_open_max_calls();
        let mut word = self.probes.load(Ordering::Acquire);
        loop {
            if tag_of(word) != short(generation) {
                return None;
            }
            if in_flight(word) >= max {
                return Some(Err(Rejected { kind: RejectionKind::ProbeLimit, retry_after_nanos: NO_RETRY }));
            }
            match self.probes.compare_exchange_weak(
                word,
                word + (1 << 16),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(Ok(())),
                Err(actual) => word = actual,
            }
        }
    }

    /// Nanoseconds from `now` to the recovery `deadline`. The deadline counts from the
    /// precise time of opening and `now` is the coarse reading, a little behind: the
    /// wait is capped to the recovery timeout, which it can never really exceed.
    #[inline(always)]
    pub(super) fn retry_after(&self, deadline: u64, now: Instant) -> u64 {
        deadline.saturating_sub(now.as_nanos()).min(self.settings.recovery_nanos())
    }

    #[inline]
    pub(super) fn recovery_deadline(&self) -> u64 {
        self.opened_at.load(Ordering::Relaxed).saturating_add(self.settings.recovery_nanos())
    }

    /// Counts a rejection and tells subscribers; the cost of a rejection is this.
    #[inline(always)]
    pub(super) fn reject(&self, rejected: Rejected) -> Rejected {
        self.count_rejection(rejected.kind);
        rejected
    }

    #[inline(always)]
    pub(crate) fn count_rejection(&self, kind: RejectionKind) {
        self.window.count_rejection(kind.index());
        if self.events.listening() {
            self.emit_rejection(kind);
        }
    }

    #[cold]
    pub(super) fn emit_rejection(&self, kind: RejectionKind) {
        self.emit(EventKind::Rejected { kind }, self.clock.recent());
    }

    #[inline]
    pub(crate) fn rejection_error(&self, rejected: Rejected) -> Error {
        let service = self.service;
        match rejected.kind {
            RejectionKind::Open => Error::CircuitOpen {
                service,
                retry_after: Some(Duration::from_nanos(rejected.retry_after_nanos)),
            },
            RejectionKind::Forced => Error::CircuitOpen { service, retry_after: None },
            RejectionKind::ProbeLimit => {
                Error::ProbeLimit { service, max: self.settings.half_open_max_calls() }
            }
            RejectionKind::Bulkhead => {
                let policy = self.settings.policy();
                Error::BulkheadFull { service, max_concurrent: policy.max_concurrent, queue: policy.queue }
            }
        }
    }
}
