//! Transitions: one at a time under the transition lock, each starting a generation,
//! sent to subscribers in order and logged.

use std::time::Duration;

use crate::observe::{Event, EventKind, Reason, TransitionRecord};
use crate::sync::{Ordering, lock, unpoisoned};

use super::super::Inner;
use super::super::clock::Instant;
use super::super::failing;
use super::super::state::short;
use super::super::state::{State, pack, unpack};
use super::{COUNT_MASK, Expect, pack_count, pack_probes, tag_of};

impl Inner {
    /// Moves an open circuit whose recovery timeout has passed to half-open.
    pub(crate) fn poll_recovery(&self, now: Instant) {
        let (generation, state) = self.load();
        if state == State::Open && now.as_nanos() >= self.recovery_deadline() {
            self.to_half_open(generation, now);
        }
    }

    /// Open -> half-open, dated at the recovery deadline: that is when the circuit
    /// became half-open, even if it is noticed later.
    pub(super) fn to_half_open(&self, generation: u64, now: Instant) {
        let recovery_timeout = Duration::from_nanos(self.settings.recovery_nanos());
        let reason = Reason::RecoveryTimeoutElapsed { recovery_timeout };
        let at = now.min(Instant::from_nanos(self.recovery_deadline()));
        if self.transition(Expect::Exactly(generation, State::Open), State::HalfOpen, reason, at) {
            self.stats.recovery_attempts.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn control(&self, to: State) {
        let reason = match to {
            State::ForcedOpen => Reason::ForcedOpen,
            State::Disabled => Reason::Disabled,
            State::MetricsOnly => Reason::MetricsOnly,
            _ => Reason::Reset,
        };
        self.transition(Expect::Any, to, reason, self.clock.recent());
    }

    /// Makes one transition if the state is still the one expected. Returns whether
    /// it did.
    pub(super) fn transition(&self, from: Expect, to: State, reason: Reason, now: Instant) -> bool {
        // The recovery timeout counts from the precise time of opening. The coarse
        // reading the hot path passes in lags behind (by a millisecond, or more when the
        // clock thread is starved), and a deadline counted from it would let the first
        // probe through early; admission compares the deadline with the coarse reading,
        // which is never ahead of the precise one, so a probe can be late, never early.
        let now = if to == State::Open { self.clock.now().max(now) } else { now };
        // The failure that triggers it, formatted before the lock (it is user code).
        let last_error = if to == State::Open { failing::describe() } else { None };
        let guard = lock(&self.transition);
        // Relaxed is enough under the lock: every store to `state` is made under it.
        let (generation, current) = unpack(self.state.load(Ordering::Relaxed));
        match from {
            Expect::Exactly(g, s) if (g, s) != (generation, current) => return false,
            Expect::Any if current == to && to != State::Closed => return false,
            _ => {}
        }
        let next = generation + 1;
        // What the log line says the breaker saw, read before the new state resets it.
        let failures = self.failures.load(Ordering::Relaxed);
        let consecutive = if current == State::Closed && tag_of(failures) == short(generation) {
            (failures & COUNT_MASK) as u32
        } else {
            0
        };
        match to {
            State::Open => self.opened_at.store(now.as_nanos(), Ordering::Relaxed),
            State::HalfOpen => self.probes.store(pack_probes(next, 0, 0), Ordering::Relaxed),
            State::Closed => {
                self.failures.store(pack_count(next, 0), Ordering::Relaxed);
                self.rate_armed.store(false, Ordering::Relaxed);
                self.window.clear();
            }
            _ => {}
        }
        if reason == Reason::Reset {
            for lane in self.window.all_lanes() {
                lane.last_success.store(0, Ordering::Relaxed);
                lane.last_failure.store(0, Ordering::Relaxed);
            }
        }
        self.changed_at.store(now.as_nanos(), Ordering::Relaxed);
        // Release: publishes the counters initialised above with the new generation.
        self.state.store(pack(next, to), Ordering::Release);
        self.stats.transitions.fetch_add(1, Ordering::Relaxed);
        if to == State::Open {
            self.stats.open_count.fetch_add(1, Ordering::Relaxed);
        }
        let record = TransitionRecord {
            from: current,
            to,
            reason: reason.clone(),
            generation: next,
            time: self.clock.system_time(now),
            last_error,
        };
        unpoisoned(self.journal.lock()).record(record.clone());
        // Sent under the lock, so subscribers see transitions in order.
        self.emit(EventKind::Transition { from: current, to, reason: reason.clone(), generation: next }, now);
        drop(guard);
        self.log_transition(&record, consecutive, now);
        if to == State::Open {
            self.arm_recovery_timer();
        }
        true
    }

    /// Logs a transition with the fields of the design (OBS-11): the states, the
    /// trigger, what the breaker counted, and the configured limits, so that a JSON
    /// subscriber gives one structured record per transition.
    ///
    /// The window's counts are read only when the record is wanted, after the
    /// transition: for an opening, the calls that opened it; on closing, the new
    /// (empty) window.
    fn log_transition(&self, record: &TransitionRecord, consecutive_failures: u32, now: Instant) {
        let TransitionRecord { from, to, reason, generation, last_error, .. } = record;
        let (to, generation, last_error) = (*to, *generation, last_error.as_deref());
        let opened = matches!(to, State::Open | State::ForcedOpen);
        let wanted = if opened {
            tracing::enabled!(tracing::Level::WARN)
        } else {
            tracing::enabled!(tracing::Level::INFO)
        };
        if !wanted {
            return;
        }
        let window = self.window.totals(now);
        let config = self.config();
        let service = self.service;
        let from = from.as_str();
        let to_str = to.as_str();
        let trigger = reason.to_string();
        let threshold = config.threshold.map(u64::from);
        let failure_rate_threshold = config.failure_rate;
        let window_calls = window.calls;
        let window_failures = window.failures;
        let failure_rate = window.failure_rate();
        let recovery_timeout_ms = config.recovery_timeout.as_millis() as u64;
        macro_rules! log {
            ($level:ident, $message:literal) => {
                tracing::$level!(
                    service,
                    from,
                    to = to_str,
                    trigger,
                    generation,
                    consecutive_failures,
                    window_calls,
                    window_failures,
                    failure_rate,
                    threshold,
                    failure_rate_threshold,
                    recovery_timeout_ms,
                    last_error,
                    $message
                )
            };
        }
        if opened {
            log!(warn, "circuit opened");
        } else {
            log!(info, "circuit state changed");
        }
    }

    pub(crate) fn emit(&self, kind: EventKind, at: Instant) {
        let time = self.clock.system_time(at);
        self.events.send(Event { service: self.service, at, time, kind });
    }
}
