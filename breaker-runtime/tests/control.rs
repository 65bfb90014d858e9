//! Runtime control: force open, disable, metrics-only, reset.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use breaker_runtime::{Config, Error, State};
use common::*;

#[tokio::test]
async fn forced_open_rejects_everything_until_reset() {
    let (breaker, clock) = manual("ctl-forced", Config::builder().recovery_timeout(secs(5)));
    breaker.force_open();
    assert_eq!(breaker.state(), State::ForcedOpen);
    let runs = Arc::new(AtomicUsize::new(0));
    let forced = CallError::Breaker(Error::CircuitOpen { service: "ctl-forced", retry_after: None });
    assert_eq!(breaker.call(counted_ok(&runs)).await, Err(forced.clone()));
    assert_eq!(
        breaker.try_acquire().unwrap_err(),
        Error::CircuitOpen { service: "ctl-forced", retry_after: None }
    );
    // The recovery timeout does not end a forced opening.
    clock.advance(secs(3600));
    assert_eq!(breaker.state(), State::ForcedOpen);
    assert_eq!(breaker.call(counted_ok(&runs)).await, Err(forced));
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let s = breaker.snapshot();
    assert_eq!((s.rejections.forced, s.rejections.open), (3, 0));
    assert_eq!(s.window.calls, 0);
    breaker.reset();
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.call(counted_ok(&runs)).await, Ok(1));
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn force_open_overrides_an_open_or_half_open_circuit() {
    let (breaker, clock) =
        manual("ctl-forced-from-open", Config::builder().threshold(1).recovery_timeout(secs(5)));
    fail_times(&breaker, 1).await;
    breaker.force_open();
    clock.advance(secs(5));
    assert_eq!(breaker.state(), State::ForcedOpen, "a forced circuit does not recover by itself");
    let result = breaker.call(ok(1)).await;
    assert_eq!(
        result,
        Err(CallError::Breaker(Error::CircuitOpen { service: "ctl-forced-from-open", retry_after: None }))
    );
}

#[tokio::test]
async fn an_outstanding_probe_cannot_close_a_forced_open_circuit() {
    let (breaker, clock) =
        manual("ctl-forced-probe", Config::builder().threshold(1).recovery_timeout(secs(5)));
    fail_times(&breaker, 1).await;
    clock.advance(secs(5));
    let probe = breaker.try_acquire().expect("probe");
    breaker.force_open();
    probe.success();
    assert_eq!(breaker.state(), State::ForcedOpen);
}

#[tokio::test]
async fn disabled_breaker_lets_everything_through_and_records_nothing() {
    let (breaker, _clock) = manual("ctl-disabled", Config::builder().threshold(1));
    breaker.disable();
    assert_eq!(breaker.state(), State::Disabled);
    let runs = Arc::new(AtomicUsize::new(0));
    for _ in 0..10 {
        assert_eq!(breaker.call(counted_fail(&runs)).await, Err(CallError::Upstream(500)));
    }
    breaker.try_acquire().expect("disabled admits").failure();
    assert_eq!(runs.load(Ordering::SeqCst), 10);
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Disabled);
    assert_eq!((s.window.calls, s.window.failures), (0, 0));
    assert_eq!(s.consecutive_failures, 0);
    assert_eq!(s.last_failure, None);
    assert_eq!(s.open_count, 0);
    breaker.reset();
    fail_times(&breaker, 1).await;
    assert_eq!(breaker.state(), State::Open, "after reset the breaker judges again");
}

#[tokio::test]
async fn disabled_breaker_still_applies_timeout_and_bulkhead() {
    let (breaker, clock) =
        manual("ctl-disabled-policies", Config::builder().threshold(1).timeout(millis(50)).max_concurrent(1));
    breaker.disable();
    let result = after(&clock, millis(50), breaker.call(hanging())).await;
    assert_eq!(
        result,
        Err(CallError::Breaker(Error::Timeout { service: "ctl-disabled-policies", timeout: millis(50) }))
    );
    assert_eq!(breaker.state(), State::Disabled);
    let mut holder = Box::pin(breaker.call(hanging()));
    assert!(poll_once(holder.as_mut()).is_pending());
    let result = breaker.call(ok(1)).await;
    assert!(matches!(result, Err(CallError::Breaker(Error::BulkheadFull { .. }))), "{result:?}");
    assert_eq!(breaker.snapshot().window.calls, 0);
}

#[tokio::test]
async fn metrics_only_counts_every_outcome_but_never_opens() {
    let (breaker, clock) = manual(
        "ctl-metrics-only",
        Config::builder().threshold(2).failure_rate(0.5).min_calls(2).slow_call(secs(1)),
    );
    breaker.metrics_only();
    let runs = Arc::new(AtomicUsize::new(0));
    for _ in 0..20 {
        assert_eq!(breaker.call(counted_fail(&runs)).await, Err(CallError::Upstream(500)));
    }
    assert_eq!(breaker.call(taking(&clock, secs(2), Ok(1))).await, Ok(1));
    assert_eq!(runs.load(Ordering::SeqCst), 20);
    let s = breaker.snapshot();
    assert_eq!(s.state, State::MetricsOnly);
    assert_eq!((s.window.calls, s.window.failures, s.window.successes, s.window.slow), (21, 20, 1, 1));
    assert_eq!(s.open_count, 0);
    assert!(s.last_failure.is_some());
    assert_eq!(s.latency.max, secs(2));
}

#[tokio::test]
async fn reset_closes_an_open_circuit_and_clears_its_counters() {
    let (breaker, clock) =
        manual("ctl-reset-open", Config::builder().threshold(2).recovery_timeout(secs(30)));
    fail_times(&breaker, 2).await;
    clock.advance(secs(1));
    breaker.reset();
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.consecutive_failures, 0);
    assert_eq!((s.window.calls, s.window.failures), (0, 0));
    assert_eq!((s.last_failure, s.last_success), (None, None));
    assert_eq!(s.state_since, wall(&clock, secs(1)));
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    // The threshold counts afresh.
    fail_times(&breaker, 1).await;
    assert_eq!(breaker.state(), State::Closed);
    fail_times(&breaker, 1).await;
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test]
async fn reset_of_a_closed_circuit_clears_the_consecutive_failures() {
    let (breaker, _clock) = manual("ctl-reset-closed", Config::builder().threshold(3));
    fail_times(&breaker, 2).await;
    breaker.reset();
    assert_eq!(breaker.snapshot().consecutive_failures, 0);
    fail_times(&breaker, 2).await;
    assert_eq!(breaker.state(), State::Closed, "2 + 2 failures with a reset between do not open");
    fail_times(&breaker, 1).await;
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test]
async fn reset_of_a_half_open_circuit_closes_it() {
    let (breaker, clock) =
        manual("ctl-reset-half-open", Config::builder().threshold(1).recovery_timeout(secs(5)));
    fail_times(&breaker, 1).await;
    clock.advance(secs(5));
    assert_eq!(breaker.state(), State::HalfOpen);
    breaker.reset();
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
}

#[test]
fn each_control_moves_the_generation_on() {
    let (breaker, _clock) = manual("ctl-generations", Config::builder());
    let g = breaker.snapshot().generation;
    breaker.disable();
    assert_eq!(breaker.snapshot().generation, g + 1);
    breaker.metrics_only();
    assert_eq!(breaker.snapshot().generation, g + 2);
    breaker.force_open();
    assert_eq!(breaker.snapshot().generation, g + 3);
    breaker.reset();
    assert_eq!(breaker.snapshot().generation, g + 4);
    let s = breaker.snapshot();
    assert_eq!(s.transitions, 4);
}

#[test]
fn clones_are_handles_to_the_same_breaker() {
    let (breaker, _clock) = manual("ctl-clones", Config::builder().threshold(1));
    let other = breaker.clone();
    assert!(other.ptr_eq(&breaker));
    other.force_open();
    assert_eq!(breaker.state(), State::ForcedOpen);
    let (separate, _clock) = manual("ctl-clones", Config::builder().threshold(1));
    assert!(!separate.ptr_eq(&breaker));
    assert_eq!(separate.state(), State::Closed, "a breaker built separately is another breaker");
}

#[test]
fn invalid_service_names_are_rejected() {
    for bad in ["", "pay ments", "caf\u{e9}", "a/b"] {
        let error = breaker_runtime::CircuitBreaker::with_clock(
            bad,
            Config::default(),
            std::sync::Arc::new(breaker_runtime::ManualClock::new()),
        )
        .expect_err("an invalid name");
        assert_eq!(error.field, "service", "{bad:?}");
    }
    let long = "x".repeat(129);
    let error = breaker_runtime::CircuitBreaker::with_clock(
        &long,
        Config::default(),
        std::sync::Arc::new(breaker_runtime::ManualClock::new()),
    )
    .expect_err("a name too long");
    assert_eq!(error.field, "service");
}
