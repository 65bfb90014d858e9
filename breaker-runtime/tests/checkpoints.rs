//! The milestone-1 checkpoints of REQUIREMENTS.md (CP-1, CP-2/V-8, CP-6, CP-10,
//! CP-12/V-9, CP-15), each as the behaviour it checks.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use breaker_runtime::{Config, Error, EventKind, Reason, State};
use common::*;

// ---- CP-1: manual checkpoint ----------------------------------------------------

#[tokio::test]
async fn cp1_ten_calls_to_a_healthy_service_all_succeed_and_the_circuit_stays_closed() {
    let (breaker, _clock) = manual("cp1-healthy", Config::builder());
    let runs = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        assert_eq!(breaker.call(counted_ok(&runs)).await, Ok(1));
    }
    assert_eq!(runs.load(Ordering::SeqCst), 10);
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::Closed);
    assert_eq!((snapshot.window.calls, snapshot.window.successes, snapshot.window.failures), (10, 10, 0));
}

#[tokio::test]
async fn cp1_all_failing_service_opens_at_threshold_then_fails_fast_without_reaching_it() {
    let (breaker, _clock) = manual("cp1-failing", Config::builder().threshold(5));
    let runs = Arc::new(AtomicUsize::new(0));
    for _ in 0..5 {
        assert_eq!(breaker.call(counted_fail(&runs)).await, Err(CallError::Upstream(500)));
    }
    assert_eq!(breaker.state(), State::Open);
    for _ in 0..20 {
        let result = breaker.call(counted_fail(&runs)).await;
        assert!(matches!(result, Err(CallError::Breaker(Error::CircuitOpen { .. }))), "{result:?}");
    }
    assert_eq!(runs.load(Ordering::SeqCst), 5, "the service was reached while open");
    assert_eq!(breaker.snapshot().rejections.open, 20);
}

#[tokio::test]
async fn cp1_after_the_timeout_half_open_admits_limited_probes_and_successes_close_it() {
    let (breaker, clock) = manual(
        "cp1-recovery",
        Config::builder().threshold(5).recovery_timeout(secs(30)).half_open_max_calls(2).success_threshold(2),
    );
    fail_times(&breaker, 5).await;
    clock.advance(secs(30));
    assert_eq!(breaker.state(), State::HalfOpen);
    let first = breaker.try_acquire().expect("probe 1");
    let second = breaker.try_acquire().expect("probe 2");
    assert_eq!(breaker.try_acquire().unwrap_err(), Error::ProbeLimit { service: "cp1-recovery", max: 2 });
    first.success();
    assert_eq!(breaker.state(), State::HalfOpen);
    second.success();
    assert_eq!(breaker.state(), State::Closed);
}

// ---- CP-2 / V-8 -----------------------------------------------------------------

#[tokio::test]
async fn cp2_closed_after_five_failures_open_after_ten_half_open_after_timeout_closed_after_probe() {
    let (breaker, clock) =
        manual("cp2-v8", Config::builder().threshold(10).recovery_timeout(Duration::from_millis(100)));
    assert_eq!(breaker.state().to_string(), "closed", "initial state");
    fail_times(&breaker, 5).await;
    assert_eq!(breaker.state().to_string(), "closed", "after 5 failures");
    fail_times(&breaker, 5).await;
    assert_eq!(breaker.state().to_string(), "open", "after 10 failures");
    clock.advance(Duration::from_millis(100));
    assert_eq!(breaker.state().to_string(), "half-open", "after timeout");
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    assert_eq!(breaker.state().to_string(), "closed", "after successful probe");
}

// ---- CP-6: state machine manual run -----------------------------------------------

#[tokio::test]
async fn cp6_threshold_two_successes_pass_two_failures_open_rejection_is_immediate() {
    let (breaker, clock) = manual("cp6-run", Config::builder().threshold(2).recovery_timeout(secs(5)));
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    assert_eq!(breaker.call(ok(2)).await, Ok(2));
    assert_eq!(breaker.state(), State::Closed);
    fail_times(&breaker, 2).await;
    assert_eq!(breaker.state(), State::Open);
    let runs = Arc::new(AtomicUsize::new(0));
    assert_eq!(
        breaker.call(counted_ok(&runs)).await,
        Err(CallError::Breaker(Error::CircuitOpen { service: "cp6-run", retry_after: Some(secs(5)) }))
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    clock.advance(secs(5));
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(breaker.call(ok(3)).await, Ok(3));
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn cp6_failed_probe_sends_the_circuit_back_to_open() {
    let (breaker, clock) =
        manual("cp6-probe-fails", Config::builder().threshold(2).recovery_timeout(secs(5)));
    fail_times(&breaker, 2).await;
    clock.advance(secs(5));
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(breaker.call(fail(502)).await, Err(CallError::Upstream(502)));
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test]
async fn cp6_all_four_transitions_are_reported_with_their_reasons() {
    let (breaker, clock) = manual("cp6-four", Config::builder().threshold(2).recovery_timeout(secs(5)));
    let mut events = breaker.subscribe();
    let g = breaker.snapshot().generation;
    fail_times(&breaker, 2).await; // closed -> open
    clock.advance(secs(5)); // open -> half-open
    fail_times(&breaker, 1).await; // half-open -> open
    clock.advance(secs(5)); // open -> half-open
    assert_eq!(breaker.call(ok(1)).await, Ok(1)); // half-open -> closed
    let recovery = Reason::RecoveryTimeoutElapsed { recovery_timeout: secs(5) };
    assert_eq!(
        transitions(&events.drain()),
        vec![
            EventKind::Transition {
                from: State::Closed,
                to: State::Open,
                reason: Reason::ConsecutiveFailures { count: 2, threshold: 2 },
                generation: g + 1,
            },
            EventKind::Transition {
                from: State::Open,
                to: State::HalfOpen,
                reason: recovery.clone(),
                generation: g + 2
            },
            EventKind::Transition {
                from: State::HalfOpen,
                to: State::Open,
                reason: Reason::ProbeFailed,
                generation: g + 3
            },
            EventKind::Transition {
                from: State::Open,
                to: State::HalfOpen,
                reason: recovery,
                generation: g + 4
            },
            EventKind::Transition {
                from: State::HalfOpen,
                to: State::Closed,
                reason: Reason::ProbesSucceeded { successes: 1 },
                generation: g + 5,
            },
        ]
    );
}

// ---- CP-10: interactions ----------------------------------------------------------

#[tokio::test]
async fn cp10_threshold_three_fourth_request_gets_circuit_open() {
    let (breaker, _clock) = manual("cp10-fourth", Config::builder().threshold(3).recovery_timeout(secs(30)));
    let runs = Arc::new(AtomicUsize::new(0));
    let mut results = Vec::new();
    for _ in 0..4 {
        results.push(breaker.call(counted_fail(&runs)).await);
    }
    assert_eq!(
        results,
        vec![
            Err(CallError::Upstream(500)),
            Err(CallError::Upstream(500)),
            Err(CallError::Upstream(500)),
            Err(CallError::Breaker(Error::CircuitOpen {
                service: "cp10-fourth",
                retry_after: Some(secs(30))
            })),
        ]
    );
    assert_eq!(runs.load(Ordering::SeqCst), 3);
}

// ---- CP-12 / V-9: TestBasicCircuitBreaker subtests --------------------------------

#[test]
fn cp12_initial_state_is_closed() {
    let (breaker, _clock) = manual("cp12-initial", Config::builder().threshold(3));
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().state, State::Closed);
}

#[test]
fn cp12_failure_threshold_opens_on_the_third_failure() {
    let (breaker, _clock) = manual("cp12-threshold", Config::builder().threshold(3));
    breaker.try_acquire().unwrap().failure();
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), State::Closed);
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test]
async fn cp12_open_circuit_rejects_immediately() {
    let (breaker, _clock) = manual("cp12-open", Config::builder().threshold(3).recovery_timeout(secs(5)));
    fail_times(&breaker, 3).await;
    let runs = Arc::new(AtomicUsize::new(0));
    for _ in 0..3 {
        let result = breaker.call(counted_ok(&runs)).await;
        assert_eq!(
            result,
            Err(CallError::Breaker(Error::CircuitOpen { service: "cp12-open", retry_after: Some(secs(5)) }))
        );
    }
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[test]
fn cp12_recovery_timeout_moves_open_to_half_open() {
    let (breaker, clock) = manual("cp12-recovery", Config::builder().threshold(3).recovery_timeout(secs(5)));
    for _ in 0..3 {
        breaker.try_acquire().unwrap().failure();
    }
    clock.advance(secs(4));
    assert_eq!(breaker.state(), State::Open);
    clock.advance(secs(1));
    assert_eq!(breaker.state(), State::HalfOpen);
}

#[test]
fn cp12_half_open_recovery_closes_on_a_successful_probe() {
    let (breaker, clock) = manual("cp12-half-open", Config::builder().threshold(3).recovery_timeout(secs(5)));
    for _ in 0..3 {
        breaker.try_acquire().unwrap().failure();
    }
    clock.advance(secs(5));
    let probe = breaker.try_acquire().expect("a probe is let through");
    assert!(probe.is_probe());
    probe.success();
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn cp12_concurrent_access_keeps_every_count() {
    const THREADS: usize = 8;
    const CALLS: usize = 500;
    let (breaker, _clock) = manual("cp12-concurrent", Config::builder().threshold(3));
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..CALLS {
                    breaker.try_acquire().expect("closed").success();
                }
            });
        }
    });
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::Closed);
    assert_eq!(snapshot.window.calls, (THREADS * CALLS) as u64);
    assert_eq!(snapshot.window.successes, (THREADS * CALLS) as u64);
}

#[tokio::test]
async fn cp12_half_failing_service_with_threshold_three_never_opens_on_alternating_errors() {
    let (breaker, _clock) =
        manual("cp12-manual-50pct", Config::builder().threshold(3).recovery_timeout(secs(5)));
    for i in 0..10u16 {
        let result = if i % 2 == 0 { breaker.call(fail(500)).await } else { breaker.call(ok(1)).await };
        assert!(!matches!(result, Err(CallError::Breaker(_))), "call {i} was rejected: {result:?}");
    }
    assert_eq!(breaker.state(), State::Closed);
    let snapshot = breaker.snapshot();
    assert_eq!((snapshot.window.failures, snapshot.window.successes), (5, 5));
}

// ---- CP-15: TestMilestone1BasicCircuitBreaker ---------------------------------------

fn cp15_config() -> breaker_runtime::ConfigBuilder {
    Config::builder().threshold(3).recovery_timeout(secs(30)).timeout(secs(5))
}

#[test]
fn cp15_initial_state_has_zero_metrics_and_the_configuration_set() {
    let (breaker, _clock) = manual("cp15-initial", cp15_config());
    let config = breaker.config();
    assert_eq!(config.threshold, Some(3));
    assert_eq!(config.recovery_timeout, secs(30));
    assert_eq!(config.timeout, Some(secs(5)));
    let s = breaker.snapshot();
    assert_eq!(s.service, "cp15-initial");
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.consecutive_failures, 0);
    assert_eq!(s.retry_after, None);
    assert_eq!(
        (
            s.window.calls,
            s.window.successes,
            s.window.failures,
            s.window.ignored,
            s.window.timeouts,
            s.window.slow
        ),
        (0, 0, 0, 0, 0, 0)
    );
    assert_eq!((s.window.failure_rate, s.window.slow_call_rate), (0.0, 0.0));
    assert_eq!((s.latency.mean, s.latency.max), (Duration::ZERO, Duration::ZERO));
    assert_eq!(s.rejections.total(), 0);
    assert_eq!((s.probes.in_flight, s.probes.successes), (0, 0));
    assert_eq!((s.bulkhead.in_use, s.bulkhead.queued), (0, 0));
    assert_eq!(
        (s.fallbacks.runs, s.fallbacks.successes, s.fallbacks.failures, s.fallbacks.depth_exceeded),
        (0, 0, 0, 0)
    );
    assert_eq!((s.open_count, s.transitions), (0, 0));
    assert_eq!((s.last_success, s.last_failure), (None, None));
}

#[tokio::test]
async fn cp15_opens_on_the_third_failure_with_an_accurate_count_and_the_transition_time() {
    let (breaker, clock) = manual("cp15-threshold", cp15_config());
    clock.advance(secs(7));
    fail_times(&breaker, 2).await;
    let s = breaker.snapshot();
    assert_eq!((s.state, s.consecutive_failures, s.window.failures), (State::Closed, 2, 2));
    clock.advance(secs(1));
    fail_times(&breaker, 1).await;
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.window.failures, 3);
    assert_eq!(s.open_count, 1);
    assert_eq!(s.state_since, wall(&clock, secs(8)), "the transition time");
    assert_eq!(s.state_age, Duration::ZERO);
    assert_eq!(s.last_failure, Some(wall(&clock, secs(8))));
}

#[tokio::test]
async fn cp15_open_circuit_returns_circuit_open_without_calling_downstream_and_metrics_show_open() {
    let (breaker, clock) = manual("cp15-open", cp15_config());
    fail_times(&breaker, 3).await;
    clock.advance(secs(10));
    let runs = Arc::new(AtomicUsize::new(0));
    let result = breaker.call(counted_ok(&runs)).await;
    assert_eq!(
        result,
        Err(CallError::Breaker(Error::CircuitOpen { service: "cp15-open", retry_after: Some(secs(20)) }))
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.retry_after, Some(secs(20)));
    assert_eq!(s.rejections.open, 1);
    assert_eq!(s.window.calls, 3, "the rejection is not a call of the service");
}
