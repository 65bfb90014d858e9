//! The state machine: one function per state's admission rule, one per outcome, and the
//! transitions between them.
//!
//! Invariants:
//! - Every transition runs under `transition`, re-checks the state it expects, and
//!   starts a new generation. So N threads that cross a threshold together make one
//!   transition and one event.
//! - The consecutive-failure counter and the probe counter are tagged with the
//!   generation they belong to, and are initialised before that generation is
//!   published. An outcome admitted in another generation finds a different tag and
//!   changes nothing.
//! - Admission reads the state word once; the closed path writes nothing shared.

use std::time::Duration;

use crate::classify::Outcome;
use crate::error::Error;
use crate::observe::{
    BulkheadStats, Event, EventKind, FallbackStats, LatencyStats, ProbeStats, Reason, RejectionKind,
    Rejections, Snapshot, WindowStats,
};
use crate::sync::{Ordering, lock};

use super::Inner;
use super::clock::Instant;
use super::config::Config;
use super::permit::{Kind, Ticket};
use super::state::{STATE_BITS, STATE_MASK, State, pack, short, unpack};
use super::window::{Sample, Verdict};

pub(crate) const FIRST_GENERATION: u64 = 0;

const COUNT_BITS: u32 = 32;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// The consecutive-failure counter: generation tag high, count low.
pub(crate) const fn pack_count(generation: u64, count: u32) -> u64 {
    short(generation) << COUNT_BITS | count as u64
}

const fn tag_of(word: u64) -> u64 {
    word >> COUNT_BITS
}

/// The probe counter: generation tag high, in-flight probes and successes low.
const fn pack_probes(generation: u64, in_flight: u32, successes: u32) -> u64 {
    short(generation) << COUNT_BITS | (in_flight as u64) << 16 | successes as u64
}

const fn in_flight(word: u64) -> u32 {
    ((word >> 16) & 0xFFFF) as u32
}

const fn probe_successes(word: u64) -> u32 {
    (word & 0xFFFF) as u32
}

/// `Rejected::retry_after_nanos` when no probe time is known.
pub(crate) const NO_RETRY: u64 = u64::MAX;

/// A call refused at admission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rejected {
    pub(crate) kind: RejectionKind,
    /// Nanoseconds until a probe is let through; `NO_RETRY` if unknown.
    pub(crate) retry_after_nanos: u64,
}

/// Which states a transition may start from.
#[derive(Clone, Copy)]
enum Expect {
    /// Exactly this generation in this state.
    Exactly(u64, State),
    /// Any state (operator control).
    Any,
}

impl Inner {
    /// The state word, as it is (no lazy transition).
    #[inline(always)]
    fn load(&self) -> (u64, State) {
        // Acquire: pairs with the Release store of a transition, so the counters it
        // initialised before publishing are visible.
        unpack(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn peek_state(&self) -> State {
        self.load().1
    }

    /// The state after applying a due open -> half-open move.
    pub(crate) fn current_state(&self) -> State {
        self.poll_recovery(self.clock.recent());
        self.load().1
    }

    // ---- admission -------------------------------------------------------------

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
    fn admit_unless_closed(&self, mut generation: u64, mut state: State) -> Result<(u64, Kind), Rejected> {
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
        Ticket { generation, era: self.window.era(), start: self.clock.recent(), slow_call_nanos, kind }
    }

    /// Open: reject until the recovery timeout has passed, then move to half-open.
    #[inline(always)]
    fn admit_open(&self, generation: u64) -> Result<(), Rejected> {
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
    fn admit_probe(&self, generation: u64) -> Option<Result<(), Rejected>> {
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
    fn retry_after(&self, deadline: u64, now: Instant) -> u64 {
        deadline.saturating_sub(now.as_nanos()).min(self.settings.recovery_nanos())
    }

    #[inline]
    fn recovery_deadline(&self) -> u64 {
        self.opened_at.load(Ordering::Relaxed).saturating_add(self.settings.recovery_nanos())
    }

    /// Counts a rejection and tells subscribers; the cost of a rejection is this.
    #[inline(always)]
    fn reject(&self, rejected: Rejected) -> Rejected {
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
    fn emit_rejection(&self, kind: RejectionKind) {
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

    // ---- outcomes --------------------------------------------------------------

    /// Records the outcome of an admitted call.
    #[inline(always)]
    pub(crate) fn complete(&self, ticket: &Ticket, outcome: Outcome, timed_out: bool) {
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
        let slow = ticket.slow_call_nanos != 0
            && latency_nanos >= ticket.slow_call_nanos
            && verdict != Verdict::Ignored;
        let rotated = self.window.record(ticket.era, now, Sample { verdict, slow, timed_out, latency_nanos });
        match ticket.kind {
            Kind::Closed => match verdict {
                Verdict::Success => {
                    self.closed_success(ticket.generation);
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
    pub(crate) fn cancel(&self, ticket: &Ticket) {
        if ticket.kind == Kind::Probe {
            self.release_probe(ticket.generation, false);
        }
    }

    /// Closed, success: the consecutive-failure count restarts. Reads one shared word
    /// and writes nothing unless there were failures.
    #[inline]
    fn closed_success(&self, generation: u64) {
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
    fn closed_failure(&self, generation: u64, now: Instant) {
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
    fn check_rates(&self, generation: u64, now: Instant) {
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
    fn probe_done(&self, generation: u64, verdict: Verdict, slow: bool, now: Instant) {
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
    fn release_probe(&self, generation: u64, succeeded: bool) -> Option<u32> {
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

    // ---- transitions -----------------------------------------------------------

    /// Moves an open circuit whose recovery timeout has passed to half-open.
    pub(crate) fn poll_recovery(&self, now: Instant) {
        let (generation, state) = self.load();
        if state == State::Open && now.as_nanos() >= self.recovery_deadline() {
            self.to_half_open(generation, now);
        }
    }

    /// Open -> half-open, dated at the recovery deadline: that is when the circuit
    /// became half-open, even if it is noticed later.
    fn to_half_open(&self, generation: u64, now: Instant) {
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
    fn transition(&self, from: Expect, to: State, reason: Reason, now: Instant) -> bool {
        // The recovery timeout counts from the precise time of opening. The coarse
        // reading the hot path passes in lags behind (by a millisecond, or more when the
        // clock thread is starved), and a deadline counted from it would let the first
        // probe through early; admission compares the deadline with the coarse reading,
        // which is never ahead of the precise one, so a probe can be late, never early.
        let now = if to == State::Open { self.clock.now().max(now) } else { now };
        let guard = lock(&self.transition);
        // Relaxed is enough under the lock: every store to `state` is made under it.
        let (generation, current) = unpack(self.state.load(Ordering::Relaxed));
        match from {
            Expect::Exactly(g, s) if (g, s) != (generation, current) => return false,
            Expect::Any if current == to && to != State::Closed => return false,
            _ => {}
        }
        let next = generation + 1;
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
        // Sent under the lock, so subscribers see transitions in order.
        self.emit(EventKind::Transition { from: current, to, reason: reason.clone(), generation: next }, now);
        drop(guard);
        self.log_transition(current, to, &reason);
        if to == State::Open {
            self.arm_recovery_timer();
        }
        true
    }

    fn log_transition(&self, from: State, to: State, reason: &Reason) {
        let service = self.service;
        match to {
            State::Open | State::ForcedOpen => {
                tracing::warn!(service, %from, %to, %reason, "circuit opened");
            }
            _ => tracing::info!(service, %from, %to, %reason, "circuit state changed"),
        }
    }

    pub(crate) fn emit(&self, kind: EventKind, at: Instant) {
        let time = self.clock.system_time(at);
        self.events.send(Event { service: self.service, at, time, kind });
    }

    /// Schedules a wakeup at the recovery deadline, so the circuit turns half-open on
    /// time without traffic. One wakeup is current per breaker (`timer_deadline`); a
    /// wakeup for an earlier deadline (a shortened recovery timeout) supersedes it, and
    /// a superseded wakeup does nothing when it runs. A wakeup that finds the circuit
    /// still open (it reopened meanwhile) arms the next one.
    fn arm_recovery_timer(&self) {
        let deadline = self.recovery_deadline().max(1);
        let mut pending = self.timer_deadline.load(Ordering::Acquire);
        loop {
            if pending != 0 && pending <= deadline {
                return; // a wakeup comes first, and re-arms if need be
            }
            match self.timer_deadline.compare_exchange(pending, deadline, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => pending = actual,
            }
        }
        let me = self.me.clone();
        self.clock.wake_at(
            Instant::from_nanos(deadline),
            Box::new(move || {
                if let Some(inner) = me.upgrade() {
                    inner.on_recovery_timer(deadline);
                }
            }),
        );
    }

    fn on_recovery_timer(&self, deadline: u64) {
        if self.timer_deadline.compare_exchange(deadline, 0, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return; // superseded
        }
        // The precise time: the wakeup ran because the deadline passed on it.
        let now = self.clock.now().max(self.clock.recent());
        self.poll_recovery(now);
        if self.load().1 == State::Open {
            self.arm_recovery_timer();
        }
    }

    // ---- configuration ---------------------------------------------------------

    pub(crate) fn reconfigure(&self, config: Config) {
        let guard = lock(&self.transition);
        let before = std::mem::replace(&mut *lock(&self.config), config.clone());
        self.settings.store(&config);
        if (before.window, before.buckets) != (config.window, config.buckets) {
            self.window.reshape(config.window, config.buckets);
        }
        let rules =
            |c: &Config| (c.threshold, c.failure_rate, c.slow_call, c.slow_call_rate.to_bits(), c.min_calls);
        if rules(&before) != rules(&config) {
            let (generation, state) = unpack(self.state.load(Ordering::Relaxed));
            if state == State::Closed {
                self.failures.store(pack_count(generation, 0), Ordering::Relaxed);
            }
        }
        self.bulkhead.resize(config.max_concurrent);
        let now = self.clock.recent();
        self.emit(EventKind::ConfigChanged { before: Box::new(before), after: Box::new(config) }, now);
        drop(guard);
        tracing::info!(service = self.service, "configuration changed");
        if self.load().1 == State::Open {
            // The recovery timeout may be shorter now.
            self.arm_recovery_timer();
        }
    }

    // ---- inspection ------------------------------------------------------------

    pub(crate) fn snapshot(&self) -> Snapshot {
        let now = self.clock.recent();
        self.poll_recovery(now);
        let (generation, state) = self.load();
        let totals = self.window.totals(now);
        let failures = self.failures.load(Ordering::Relaxed);
        let consecutive_failures = if state == State::Closed && tag_of(failures) == short(generation) {
            (failures & COUNT_MASK) as u32
        } else {
            0
        };
        let probes = self.probes.load(Ordering::Acquire);
        let probes = if state == State::HalfOpen && tag_of(probes) == short(generation) {
            ProbeStats { in_flight: in_flight(probes), successes: probe_successes(probes) }
        } else {
            ProbeStats::default()
        };
        let mut rejected = [0u64; RejectionKind::COUNT];
        let (mut last_success, mut last_failure) = (0, 0);
        for lane in self.window.all_lanes() {
            for (sum, counter) in rejected.iter_mut().zip(&lane.rejected) {
                *sum += counter.load(Ordering::Relaxed);
            }
            last_success = last_success.max(lane.last_success.load(Ordering::Relaxed));
            last_failure = last_failure.max(lane.last_failure.load(Ordering::Relaxed));
        }
        let stamp = |v: u64| (v != 0).then(|| self.clock.system_time(Instant::from_nanos(v - 1)));
        let changed_at = Instant::from_nanos(self.changed_at.load(Ordering::Relaxed));
        let config = lock(&self.config).clone();
        let s = &self.stats;
        Snapshot {
            service: self.service,
            state,
            generation,
            state_since: self.clock.system_time(changed_at),
            state_age: now.saturating_duration_since(changed_at),
            consecutive_failures,
            retry_after: (state == State::Open)
                .then(|| Duration::from_nanos(self.retry_after(self.recovery_deadline(), now))),
            window: WindowStats {
                length: config.window,
                calls: totals.calls,
                successes: totals.successes(),
                failures: totals.failures,
                ignored: totals.ignored,
                timeouts: totals.timeouts,
                slow: totals.slow,
                failure_rate: totals.failure_rate(),
                slow_call_rate: totals.slow_rate(),
            },
            latency: LatencyStats {
                mean: totals.latency_mean(),
                max: Duration::from_nanos(totals.latency_max),
            },
            rejections: Rejections {
                open: rejected[RejectionKind::Open.index()],
                probe_limit: rejected[RejectionKind::ProbeLimit.index()],
                bulkhead: rejected[RejectionKind::Bulkhead.index()],
                forced: rejected[RejectionKind::Forced.index()],
            },
            probes,
            bulkhead: BulkheadStats {
                max_concurrent: config.max_concurrent,
                in_use: self.bulkhead.in_use(),
                queued: self.bulkhead.queued(),
            },
            fallbacks: FallbackStats {
                runs: s.fallback_runs.load(Ordering::Relaxed),
                successes: s.fallback_successes.load(Ordering::Relaxed),
                failures: s.fallback_failures.load(Ordering::Relaxed),
                depth_exceeded: s.fallback_depth_exceeded.load(Ordering::Relaxed),
            },
            open_count: s.open_count.load(Ordering::Relaxed),
            recovery_attempts: s.recovery_attempts.load(Ordering::Relaxed),
            recoveries: s.recoveries.load(Ordering::Relaxed),
            transitions: s.transitions.load(Ordering::Relaxed),
            last_success: stamp(last_success),
            last_failure: stamp(last_failure),
            taken_at: self.clock.system_time(now),
        }
    }
}
