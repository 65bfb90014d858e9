//! The state machine against a reference model.
//!
//! Random sequences of operations (acquire a permit and keep it pending, record an
//! outcome on a pending permit, cancel one, advance the manual clock, read the state,
//! force open, reset) run against one breaker and against a small model of the state
//! machine written from DESIGN.md section 4 and the crate docs. After every operation the
//! two must agree on the state, the admission decision, the counters of the snapshot and
//! the transition events.
//!
//! The model:
//! - closed: every call is admitted; a failure adds one to the consecutive-failure count,
//!   a success sets it to 0, an ignored outcome leaves it; `threshold` failures in a row
//!   open the circuit. With a window, the failure rate of the window's judged calls
//!   (successes and failures) opens it too, once there are `min_calls` of them: it is
//!   judged whenever a success or a failure of the current closed period is recorded
//!   (a success can bring the count up to `min_calls`, or find the rate raised by older
//!   successes that left the window).
//! - open: calls are rejected with `CircuitOpen` (retry after: the rest of the recovery
//!   timeout) until `recovery_timeout` has passed since opening; then the circuit is
//!   half-open, with or without a call (the manual clock runs the breaker's wakeup), as
//!   of the recovery deadline (the time of its event).
//! - half-open: at most `half_open_max_calls` probes at once, more are rejected with
//!   `ProbeLimit`; a failed probe reopens (a fresh full timeout); `success_threshold`
//!   successful probes close; an ignored or cancelled probe gives its place back.
//! - forced open: every call is rejected with `CircuitOpen` without a retry time;
//!   forcing an already forced-open breaker changes nothing; reset always closes afresh
//!   (a transition, even from closed).
//! - an outcome from a permit of an earlier generation never changes the state; every
//!   transition adds one to the generation (which counts the transitions made) and
//!   sends one event.
//! - the window holds the outcomes recorded in the current closed period (it starts
//!   empty each time the circuit closes); an outcome of a call admitted before the
//!   circuit last closed is not counted.

use std::sync::Arc;
use std::time::Duration;

use breaker_runtime::{
    CircuitBreaker, Config, Error, EventKind, Events, ManualClock, Outcome, Permit, Reason, State,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000 * MS;

/// The failure-rate rule of a windowed breaker.
#[derive(Clone, Copy, Debug)]
struct RateRule {
    failure_rate: f64,
    min_calls: u32,
    window: Duration,
    buckets: u32,
}

/// The configuration under test, in the terms of the model.
#[derive(Clone, Copy, Debug)]
struct Params {
    threshold: Option<u32>,
    recovery_timeout: Duration,
    half_open_max_calls: u32,
    success_threshold: u32,
    rate: Option<RateRule>,
}

impl Params {
    fn config(&self) -> Config {
        let mut builder = Config::builder()
            .recovery_timeout(self.recovery_timeout)
            .half_open_max_calls(self.half_open_max_calls)
            .success_threshold(self.success_threshold)
            .no_timeout()
            .no_bulkhead();
        builder = match self.threshold {
            Some(n) => builder.threshold(n),
            None => builder.no_threshold(),
        };
        if let Some(rule) = self.rate {
            builder = builder
                .window(rule.window)
                .buckets(rule.buckets)
                .failure_rate(rule.failure_rate)
                .min_calls(rule.min_calls);
        }
        builder.build().expect("the generated configuration is valid")
    }

    /// The window of snapshots: the rule's, or without a rate rule the default length
    /// in one bucket (a breaker without rate rules keeps one bucket: its window counts
    /// cover the current period of the window's length).
    fn window(&self) -> (Duration, u32) {
        self.rate.map_or((breaker_runtime::defaults::WINDOW, 1), |r| (r.window, r.buckets))
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// `try_acquire`, keeping the permit pending.
    Acquire,
    /// Records an outcome on a pending permit (0: the newest).
    Record(usize, Outcome),
    /// Drops a pending permit unrecorded (0: the newest).
    Cancel(usize),
    Advance(Duration),
    State,
    ForceOpen,
    Reset,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Phase {
    Closed { failures: u32 },
    Open { opened_at: u64 },
    HalfOpen { in_flight: u32, successes: u32 },
    ForcedOpen,
}

impl Phase {
    fn state(self) -> State {
        match self {
            Phase::Closed { .. } => State::Closed,
            Phase::Open { .. } => State::Open,
            Phase::HalfOpen { .. } => State::HalfOpen,
            Phase::ForcedOpen => State::ForcedOpen,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Closed,
    Probe,
}

/// The model's view of a permit.
#[derive(Clone, Copy, Debug)]
struct Ticket {
    generation: u64,
    /// The closed period it was admitted in.
    period: u64,
    kind: Kind,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Refusal {
    Open { retry_after: Duration },
    Forced,
    ProbeLimit,
}

/// A transition event as compared: from, to, reason, generation entered, at (nanos).
type Transition = (State, State, Reason, u64, u64);

struct Model {
    p: Params,
    now: u64,
    phase: Phase,
    generation: u64,
    transitions: u64,
    open_count: u64,
    recovery_attempts: u64,
    recoveries: u64,
    rejected_open: u64,
    rejected_probe_limit: u64,
    rejected_forced: u64,
    /// Counts the closed periods: the window starts empty with each.
    period: u64,
    /// Outcomes recorded in the window: (bucket index, outcome).
    window: Vec<(u64, Outcome)>,
    events: Vec<Transition>,
}

impl Model {
    fn new(p: Params) -> Model {
        Model {
            p,
            now: 0,
            phase: Phase::Closed { failures: 0 },
            generation: 0,
            transitions: 0,
            open_count: 0,
            recovery_attempts: 0,
            recoveries: 0,
            rejected_open: 0,
            rejected_probe_limit: 0,
            rejected_forced: 0,
            period: 0,
            window: Vec::new(),
            events: Vec::new(),
        }
    }

    fn recovery_nanos(&self) -> u64 {
        self.p.recovery_timeout.as_nanos() as u64
    }

    fn go(&mut self, to: Phase, reason: Reason) {
        self.go_at(to, reason, self.now);
    }

    fn go_at(&mut self, to: Phase, reason: Reason, at: u64) {
        let from = self.phase.state();
        self.generation += 1;
        self.transitions += 1;
        match (from, to) {
            (_, Phase::Open { .. }) => self.open_count += 1,
            (_, Phase::HalfOpen { .. }) => self.recovery_attempts += 1,
            (State::HalfOpen, Phase::Closed { .. }) if reason != Reason::Reset => self.recoveries += 1,
            _ => {}
        }
        if let Phase::Closed { .. } = to {
            self.period += 1;
            self.window.clear();
        }
        self.phase = to;
        self.events.push((from, to.state(), reason, self.generation, at));
    }

    /// An open circuit whose recovery timeout has passed is half-open.
    fn settle(&mut self) {
        if let Phase::Open { opened_at } = self.phase {
            let deadline = opened_at + self.recovery_nanos();
            if self.now >= deadline {
                let reason = Reason::RecoveryTimeoutElapsed { recovery_timeout: self.p.recovery_timeout };
                self.go_at(Phase::HalfOpen { in_flight: 0, successes: 0 }, reason, deadline);
            }
        }
    }

    fn advance(&mut self, d: Duration) {
        self.now += d.as_nanos() as u64;
        self.settle();
    }

    fn acquire(&mut self) -> Result<Ticket, Refusal> {
        self.settle();
        let (generation, period) = (self.generation, self.period);
        let ticket = |kind| Ticket { generation, period, kind };
        match self.phase {
            Phase::Closed { .. } => Ok(ticket(Kind::Closed)),
            Phase::Open { opened_at } => {
                self.rejected_open += 1;
                let retry_after = Duration::from_nanos(opened_at + self.recovery_nanos() - self.now);
                Err(Refusal::Open { retry_after })
            }
            Phase::HalfOpen { in_flight, successes } if in_flight < self.p.half_open_max_calls => {
                let t = ticket(Kind::Probe);
                self.phase = Phase::HalfOpen { in_flight: in_flight + 1, successes };
                Ok(t)
            }
            Phase::HalfOpen { .. } => {
                self.rejected_probe_limit += 1;
                Err(Refusal::ProbeLimit)
            }
            Phase::ForcedOpen => {
                self.rejected_forced += 1;
                Err(Refusal::Forced)
            }
        }
    }

    fn record(&mut self, t: Ticket, outcome: Outcome) {
        if t.period == self.period {
            let bucket = self.now / self.bucket_nanos();
            self.window.push((bucket, outcome));
        }
        if t.generation != self.generation {
            return; // stale: metrics only
        }
        match (t.kind, self.phase) {
            (Kind::Closed, Phase::Closed { failures }) => match outcome {
                Outcome::Success => {
                    self.phase = Phase::Closed { failures: 0 };
                    self.judge_rate();
                }
                Outcome::Failure => {
                    if let Some(threshold) = self.p.threshold {
                        let count = failures + 1;
                        self.phase = Phase::Closed { failures: count };
                        if count >= threshold {
                            self.go(
                                Phase::Open { opened_at: self.now },
                                Reason::ConsecutiveFailures { count, threshold },
                            );
                            return;
                        }
                    }
                    self.judge_rate();
                }
                Outcome::Ignored => {}
            },
            (Kind::Probe, Phase::HalfOpen { in_flight, successes }) => {
                let in_flight = in_flight.checked_sub(1).expect("a pending probe holds a place");
                match outcome {
                    Outcome::Failure => self.go(Phase::Open { opened_at: self.now }, Reason::ProbeFailed),
                    Outcome::Success => {
                        let successes = successes + 1;
                        self.phase = Phase::HalfOpen { in_flight, successes };
                        if successes >= self.p.success_threshold {
                            self.go(Phase::Closed { failures: 0 }, Reason::ProbesSucceeded { successes });
                        }
                    }
                    Outcome::Ignored => self.phase = Phase::HalfOpen { in_flight, successes },
                }
            }
            (kind, phase) => unreachable!("a {kind:?} permit of the current generation in {phase:?}"),
        }
    }

    fn cancel(&mut self, t: Ticket) {
        if t.kind == Kind::Probe && t.generation == self.generation {
            if let Phase::HalfOpen { in_flight, successes } = self.phase {
                let in_flight = in_flight.checked_sub(1).expect("a pending probe holds a place");
                self.phase = Phase::HalfOpen { in_flight, successes };
            }
        }
    }

    fn force_open(&mut self) {
        if self.phase != Phase::ForcedOpen {
            self.go(Phase::ForcedOpen, Reason::ForcedOpen);
        }
    }

    fn reset(&mut self) {
        self.go(Phase::Closed { failures: 0 }, Reason::Reset);
    }

    fn bucket_nanos(&self) -> u64 {
        let (window, buckets) = self.p.window();
        (window.as_nanos() as u64 / u64::from(buckets)).max(1)
    }

    /// (calls, failures, ignored) of the window ending now.
    fn totals(&self) -> (u64, u64, u64) {
        let buckets = u64::from(self.p.window().1);
        let oldest = (self.now / self.bucket_nanos()).saturating_sub(buckets - 1);
        let inside = || self.window.iter().filter(move |(b, _)| *b >= oldest);
        let count = |o: Outcome| inside().filter(|(_, x)| *x == o).count() as u64;
        (inside().count() as u64, count(Outcome::Failure), count(Outcome::Ignored))
    }

    fn judge_rate(&mut self) {
        let Some(rule) = self.p.rate else { return };
        let (calls, failures, ignored) = self.totals();
        let judged = calls - ignored;
        if judged < u64::from(rule.min_calls) {
            return;
        }
        let rate = failures as f64 / judged as f64;
        if rate >= rule.failure_rate {
            let reason = Reason::FailureRate {
                rate,
                threshold: rule.failure_rate,
                calls: judged,
                window: rule.window,
            };
            self.go(Phase::Open { opened_at: self.now }, reason);
        }
    }
}

/// Everything observable must agree with the model.
fn agree(breaker: &CircuitBreaker, events: &mut Events, m: &mut Model) -> Result<(), TestCaseError> {
    let snap = breaker.snapshot();
    prop_assert_eq!(snap.state, m.phase.state(), "snapshot state");
    prop_assert_eq!(breaker.state(), m.phase.state(), "state()");
    prop_assert_eq!(snap.generation, m.generation, "generation");
    prop_assert_eq!(snap.transitions, m.transitions, "transitions");
    prop_assert_eq!(snap.open_count, m.open_count, "open_count");
    prop_assert_eq!(
        (snap.recovery_attempts, snap.recoveries),
        (m.recovery_attempts, m.recoveries),
        "recovery_attempts, recoveries"
    );
    let failures = match m.phase {
        Phase::Closed { failures } => failures,
        _ => 0,
    };
    prop_assert_eq!(snap.consecutive_failures, failures, "consecutive_failures");
    let (in_flight, successes) = match m.phase {
        Phase::HalfOpen { in_flight, successes } => (in_flight, successes),
        _ => (0, 0),
    };
    prop_assert_eq!((snap.probes.in_flight, snap.probes.successes), (in_flight, successes), "probes");
    let retry_after = match m.phase {
        Phase::Open { opened_at } => Some(Duration::from_nanos(opened_at + m.recovery_nanos() - m.now)),
        _ => None,
    };
    prop_assert_eq!(snap.retry_after, retry_after, "retry_after");
    prop_assert_eq!(
        (snap.rejections.open, snap.rejections.probe_limit, snap.rejections.forced),
        (m.rejected_open, m.rejected_probe_limit, m.rejected_forced),
        "rejections (open, probe limit, forced)"
    );
    let (calls, window_failures, ignored) = m.totals();
    prop_assert_eq!(
        (snap.window.calls, snap.window.failures, snap.window.ignored),
        (calls, window_failures, ignored),
        "window (calls, failures, ignored)"
    );
    let seen: Vec<Transition> = events
        .drain()
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::Transition { from, to, reason, generation } => {
                Some((from, to, reason, generation, event.at.as_nanos()))
            }
            _ => None,
        })
        .collect();
    let expected = std::mem::take(&mut m.events);
    prop_assert_eq!(seen, expected, "transition events");
    Ok(())
}

fn run(service: &str, p: Params, ops: &[Op]) -> Result<(), TestCaseError> {
    let clock = Arc::new(ManualClock::new());
    let breaker = CircuitBreaker::with_clock(service, p.config(), clock.clone()).expect("valid breaker");
    let mut events = breaker.subscribe();
    let mut m = Model::new(p);
    let mut pending: Vec<(Permit<'_>, Ticket)> = Vec::new();
    agree(&breaker, &mut events, &mut m)?;
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Acquire => match (breaker.try_acquire(), m.acquire()) {
                (Ok(permit), Ok(ticket)) => {
                    prop_assert_eq!(
                        permit.generation(),
                        ticket.generation,
                        "step {}: permit generation",
                        step
                    );
                    prop_assert_eq!(permit.is_probe(), ticket.kind == Kind::Probe, "step {}: is_probe", step);
                    pending.push((permit, ticket));
                }
                (
                    Err(Error::CircuitOpen { retry_after, .. }),
                    Err(Refusal::Open { retry_after: expected }),
                ) => {
                    prop_assert_eq!(retry_after, Some(expected), "step {}: retry_after", step);
                }
                (Err(Error::CircuitOpen { retry_after: None, .. }), Err(Refusal::Forced)) => {}
                (Err(Error::ProbeLimit { max, .. }), Err(Refusal::ProbeLimit)) => {
                    prop_assert_eq!(max, p.half_open_max_calls);
                }
                (got, expected) => {
                    return Err(TestCaseError::fail(format!(
                        "step {step}: try_acquire gave {got:?}, the model {expected:?}"
                    )));
                }
            },
            Op::Record(index, outcome) => {
                if !pending.is_empty() {
                    let (permit, ticket) = pending.remove(pending.len() - 1 - index % pending.len());
                    permit.record(*outcome);
                    m.record(ticket, *outcome);
                }
            }
            Op::Cancel(index) => {
                if !pending.is_empty() {
                    let (permit, ticket) = pending.remove(pending.len() - 1 - index % pending.len());
                    drop(permit);
                    m.cancel(ticket);
                }
            }
            Op::Advance(d) => {
                clock.advance(*d);
                m.advance(*d);
            }
            Op::State => {
                m.settle();
                prop_assert_eq!(breaker.state(), m.phase.state(), "step {}: state()", step);
            }
            Op::ForceOpen => {
                breaker.force_open();
                m.force_open();
            }
            Op::Reset => {
                breaker.reset();
                m.reset();
            }
        }
        m.settle();
        agree(&breaker, &mut events, &mut m)
            .map_err(|e| TestCaseError::fail(format!("after step {step} ({op:?}): {e}")))?;
    }
    Ok(())
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![2 => Just(Outcome::Success), 3 => Just(Outcome::Failure), 1 => Just(Outcome::Ignored)]
}

/// A pending permit: 0 is the newest, and most picks are the newest (often a probe).
fn pick() -> impl Strategy<Value = usize> {
    prop_oneof![3 => Just(0), 2 => any::<usize>()]
}

/// Operations, with clock steps from `advance`. Forcing open and resetting are rare, so
/// that most of a sequence runs the state machine by itself.
fn op(advance: impl Strategy<Value = Duration> + 'static) -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => Just(Op::Acquire),
        30 => (pick(), outcome()).prop_map(|(i, o)| Op::Record(i, o)),
        6 => pick().prop_map(Op::Cancel),
        15 => advance.prop_map(Op::Advance),
        4 => Just(Op::State),
        1 => Just(Op::ForceOpen),
        2 => Just(Op::Reset),
    ]
}

/// Clock steps for recovery timeouts of 1 to 10 s: half seconds land exactly on
/// deadlines.
fn long_steps() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0..=20u64).prop_map(|k| Duration::from_nanos(k * SEC / 2)),
        (0..12_000u64).prop_map(|ms| Duration::from_nanos(ms * MS)),
    ]
}

/// Clock steps for windows of 1 to 12 s: quarter seconds land exactly on bucket edges,
/// and most steps keep part of the window.
fn short_steps() -> impl Strategy<Value = Duration> {
    prop_oneof![
        (0..=8u64).prop_map(|k| Duration::from_nanos(k * SEC / 4)),
        (0..4_000u64).prop_map(|ms| Duration::from_nanos(ms * MS)),
    ]
}

fn consecutive_params() -> impl Strategy<Value = Params> {
    (1..=5u32, 1..=10u64, 1..=3u32, 1..=3u32).prop_map(|(threshold, secs, half_open, successes)| Params {
        threshold: Some(threshold),
        recovery_timeout: Duration::from_secs(secs),
        half_open_max_calls: half_open,
        success_threshold: successes,
        rate: None,
    })
}

fn windowed_params() -> impl Strategy<Value = Params> {
    let rule =
        (1..=4u32, 1..=5u32, 1..=4u32, 1..=3u32).prop_map(|(quarters, min_calls, buckets, secs)| RateRule {
            failure_rate: f64::from(quarters) / 4.0,
            min_calls,
            window: Duration::from_secs(u64::from(buckets * secs)),
            buckets,
        });
    let threshold = prop_oneof![Just(None), (1..=6u32).prop_map(Some)];
    (threshold, 1..=10u64, 1..=3u32, 1..=3u32, rule).prop_map(
        |(threshold, secs, half_open, successes, rule)| Params {
            threshold,
            recovery_timeout: Duration::from_secs(secs),
            half_open_max_calls: half_open,
            success_threshold: successes,
            rate: Some(rule),
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn consecutive_failure_breaker_follows_the_reference_model(
        p in consecutive_params(),
        ops in prop::collection::vec(op(long_steps()), 1..200),
    ) {
        run("model-consecutive", p, &ops)?;
    }

    #[test]
    fn windowed_breaker_follows_the_reference_model(
        p in windowed_params(),
        ops in prop::collection::vec(op(short_steps()), 1..200),
    ) {
        run("model-windowed", p, &ops)?;
    }
}

/// A window of 4 s in 1 s buckets, failure rate 0.6 over at least 2 calls: two
/// successes at 0 s, then failures at 2 s and 3 s keep the rate at or below 0.5. At 4 s
/// the successes have left the window (two failures: rate 1.0), and one more success
/// leaves it at 0.67: that success must open the circuit.
fn aged_window() -> (Params, Vec<Op>) {
    let rule = RateRule { failure_rate: 0.6, min_calls: 2, window: Duration::from_secs(4), buckets: 4 };
    let p = Params {
        threshold: None,
        recovery_timeout: Duration::from_secs(5),
        half_open_max_calls: 1,
        success_threshold: 1,
        rate: Some(rule),
    };
    let call = |outcome| [Op::Acquire, Op::Record(0, outcome)];
    let mut ops = Vec::new();
    ops.extend(call(Outcome::Success));
    ops.extend(call(Outcome::Success));
    ops.push(Op::Advance(Duration::from_secs(2)));
    ops.extend(call(Outcome::Failure));
    ops.push(Op::Advance(Duration::from_secs(1)));
    ops.extend(call(Outcome::Failure));
    ops.push(Op::Advance(Duration::from_secs(1)));
    (p, ops)
}

#[test]
fn success_after_older_successes_left_the_window_is_judged() {
    let (p, mut ops) = aged_window();
    ops.extend([Op::Acquire, Op::Record(0, Outcome::Success)]);
    run("model-aged-window", p, &ops).unwrap();
}

/// The same, with an ignored outcome recorded first in the new bucket: the success
/// after it must still be judged.
#[test]
fn success_after_an_ignored_outcome_in_a_new_bucket_is_judged() {
    let (p, mut ops) = aged_window();
    ops.extend([Op::Acquire, Op::Record(0, Outcome::Ignored), Op::Acquire, Op::Record(0, Outcome::Success)]);
    run("model-aged-window-ignored", p, &ops).unwrap();
}
