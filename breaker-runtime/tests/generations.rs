//! Generations and reconfiguration: an outcome of an earlier generation never moves the
//! state, and `reconfigure` keeps state and counters.

mod common;

use breaker_runtime::{Config, Error, EventKind, Reason, State};
use common::*;

#[test]
fn stale_failure_from_the_closed_period_does_not_touch_an_open_circuit() {
    let (breaker, clock) =
        manual("gen-stale-failure-open", Config::builder().threshold(1).recovery_timeout(secs(10)));
    let stale = breaker.try_acquire().unwrap();
    let stale_generation = stale.generation();
    breaker.try_acquire().unwrap().failure(); // opens
    let open = breaker.snapshot();
    assert_eq!(open.state, State::Open);
    assert_ne!(open.generation, stale_generation);
    clock.advance(secs(4));
    stale.failure();
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.generation, open.generation);
    assert_eq!(s.retry_after, Some(secs(6)), "the recovery timeout was not restarted");
    assert_eq!(s.open_count, 1);
}

#[test]
fn stale_success_from_the_closed_period_does_not_close_a_half_open_circuit() {
    let (breaker, clock) =
        manual("gen-stale-success-half-open", Config::builder().threshold(1).recovery_timeout(secs(10)));
    let stale = breaker.try_acquire().unwrap();
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(10));
    assert_eq!(breaker.state(), State::HalfOpen);
    let generation = breaker.snapshot().generation;
    stale.success();
    let s = breaker.snapshot();
    assert_eq!(s.state, State::HalfOpen);
    assert_eq!(s.generation, generation);
    assert_eq!(s.probes.successes, 0);
}

#[test]
fn stale_failure_from_the_closed_period_does_not_reopen_a_half_open_circuit() {
    let (breaker, clock) =
        manual("gen-stale-failure-half-open", Config::builder().threshold(1).recovery_timeout(secs(10)));
    let stale = breaker.try_acquire().unwrap();
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(10));
    let probe = breaker.try_acquire().expect("probe");
    stale.failure();
    assert_eq!(breaker.state(), State::HalfOpen);
    probe.success();
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn stale_failure_from_an_earlier_closed_period_does_not_open_the_new_one() {
    let (breaker, clock) =
        manual("gen-stale-old-closed", Config::builder().threshold(1).recovery_timeout(secs(10)));
    let stale = breaker.try_acquire().unwrap(); // closed period 1
    breaker.try_acquire().unwrap().failure(); // open
    clock.advance(secs(10)); // half-open
    breaker.try_acquire().unwrap().success(); // closed period 2
    let closed = breaker.snapshot();
    assert_eq!(closed.state, State::Closed);
    // With threshold 1, any failure of this period would open it.
    stale.failure();
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.generation, closed.generation);
    assert_eq!(s.consecutive_failures, 0);
    assert_eq!(s.window.failures, 0, "the window belongs to the current closed period");
}

#[test]
fn stale_probe_outcome_after_reset_does_not_move_the_state() {
    let (breaker, clock) =
        manual("gen-stale-probe-reset", Config::builder().threshold(1).recovery_timeout(secs(10)));
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(10));
    let probe = breaker.try_acquire().unwrap();
    assert!(probe.is_probe());
    breaker.reset();
    let closed = breaker.snapshot();
    probe.failure();
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.generation, closed.generation);
}

#[test]
fn stale_probe_from_an_earlier_half_open_period_does_not_close_the_next_one() {
    let (breaker, clock) = manual(
        "gen-stale-probe-next-half-open",
        Config::builder().threshold(1).recovery_timeout(secs(10)).half_open_max_calls(2),
    );
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(10));
    let old_probe = breaker.try_acquire().unwrap();
    breaker.try_acquire().unwrap().failure(); // reopens
    clock.advance(secs(10)); // the next half-open period
    let generation = breaker.snapshot().generation;
    old_probe.success();
    let s = breaker.snapshot();
    assert_eq!(s.state, State::HalfOpen);
    assert_eq!(s.generation, generation);
    assert_eq!((s.probes.in_flight, s.probes.successes), (0, 0));
    // Both probe places of the new period are free.
    let a = breaker.try_acquire().unwrap();
    let b = breaker.try_acquire().unwrap();
    assert!(a.is_probe() && b.is_probe());
}

#[test]
fn permits_report_the_generation_they_were_admitted_in() {
    let (breaker, clock) =
        manual("gen-permit-generation", Config::builder().threshold(1).recovery_timeout(secs(1)));
    let g = breaker.snapshot().generation;
    let closed = breaker.try_acquire().unwrap();
    assert_eq!(closed.generation(), g);
    assert!(!closed.is_probe());
    closed.failure();
    clock.advance(secs(1));
    let probe = breaker.try_acquire().unwrap();
    assert_eq!(probe.generation(), g + 2);
    assert!(probe.is_probe());
}

#[tokio::test]
async fn reconfigure_keeps_state_and_counters_and_applies_the_new_threshold_to_later_calls() {
    let (breaker, _clock) = manual("gen-reconfigure-threshold", Config::builder().threshold(5));
    let mut events = breaker.subscribe();
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    fail_times(&breaker, 2).await;
    let before = breaker.snapshot();
    let mut config = breaker.config();
    config.threshold = Some(3);
    breaker.reconfigure(config.clone()).expect("valid");
    assert_eq!(breaker.config(), config);
    let after = breaker.snapshot();
    assert_eq!(after.state, State::Closed);
    assert_eq!(after.generation, before.generation);
    assert_eq!(after.window, before.window, "window counts survive");
    assert_eq!(after.last_failure, before.last_failure);
    // A changed rule restarts the run, so the change alone cannot open the circuit.
    assert_eq!(after.consecutive_failures, 0);
    fail_times(&breaker, 2).await;
    assert_eq!(breaker.state(), State::Closed);
    fail_times(&breaker, 1).await;
    assert_eq!(breaker.state(), State::Open);
    let transitions = transitions(&events.drain());
    assert_eq!(
        transitions,
        vec![EventKind::Transition {
            from: State::Closed,
            to: State::Open,
            reason: Reason::ConsecutiveFailures { count: 3, threshold: 3 },
            generation: before.generation + 1,
        }]
    );
}

#[test]
fn reconfigure_keeps_an_open_circuit_open() {
    let (breaker, clock) =
        manual("gen-reconfigure-open", Config::builder().threshold(1).recovery_timeout(secs(30)));
    breaker.try_acquire().unwrap().failure();
    let before = breaker.snapshot();
    let mut config = breaker.config();
    config.threshold = Some(10);
    breaker.reconfigure(config).unwrap();
    let after = breaker.snapshot();
    assert_eq!((after.state, after.generation, after.open_count), (State::Open, before.generation, 1));
    clock.advance(secs(30));
    assert_eq!(breaker.state(), State::HalfOpen);
}

#[test]
fn shortened_recovery_timeout_applies_to_an_open_circuit() {
    let (breaker, clock) =
        manual("gen-reconfigure-recovery", Config::builder().threshold(1).recovery_timeout(secs(30)));
    breaker.try_acquire().unwrap().failure(); // opens at 0 s
    let mut config = breaker.config();
    config.recovery_timeout = secs(10);
    config.timeout = Some(secs(10));
    breaker.reconfigure(config).unwrap();
    assert_eq!(breaker.snapshot().retry_after, Some(secs(10)));
    clock.advance(secs(10));
    assert_eq!(breaker.state(), State::HalfOpen);
}

#[test]
fn shortened_recovery_timeout_turns_half_open_on_time_without_traffic() {
    // AMB-18: events show half-open once the recovery timeout has passed, even with no
    // traffic and no inspection.
    let (breaker, clock) =
        manual("gen-reconfigure-recovery-event", Config::builder().threshold(1).recovery_timeout(secs(30)));
    breaker.try_acquire().unwrap().failure(); // opens at 0 s
    let mut config = breaker.config();
    config.recovery_timeout = secs(10);
    config.timeout = Some(secs(10));
    breaker.reconfigure(config).unwrap();
    let mut events = breaker.subscribe();
    clock.advance(secs(10));
    let transitions = transitions(&events.drain());
    assert_eq!(
        transitions.len(),
        1,
        "expected the open -> half-open transition at 10 s without a call, got {transitions:?}"
    );
    assert!(matches!(transitions[0], EventKind::Transition { from: State::Open, to: State::HalfOpen, .. }));
}

#[test]
fn invalid_reconfiguration_is_rejected_and_changes_nothing() {
    let (breaker, _clock) = manual("gen-reconfigure-invalid", Config::builder().threshold(3));
    breaker.try_acquire().unwrap().failure();
    let config = breaker.config();
    let before = breaker.snapshot();
    let mut bad = config.clone();
    bad.threshold = Some(0);
    let error = breaker.reconfigure(bad).expect_err("threshold 0 is invalid");
    assert_eq!(error.field, "threshold");
    assert_eq!(error.service.as_deref(), Some("gen-reconfigure-invalid"));
    assert_eq!(
        error.to_string(),
        "invalid configuration for `gen-reconfigure-invalid`: `threshold` = 0: must be at least 1"
    );
    let mut bad = config.clone();
    bad.timeout = Some(secs(31));
    assert_eq!(breaker.reconfigure(bad).unwrap_err().field, "timeout");
    assert_eq!(breaker.config(), config);
    let after = breaker.snapshot();
    assert_eq!(after.consecutive_failures, 1, "the run of failures survives a rejected change");
    assert_eq!(after.generation, before.generation);
    assert_eq!(after.window, before.window);
}

#[test]
fn reconfiguring_the_window_shape_starts_an_empty_window() {
    let (breaker, _clock) =
        manual("gen-reconfigure-window", Config::builder().threshold(100).window(secs(10)).buckets(10));
    for _ in 0..4 {
        breaker.try_acquire().unwrap().success();
    }
    let mut config = breaker.config();
    config.window = secs(20);
    config.buckets = 20;
    breaker.reconfigure(config).unwrap();
    let w = breaker.snapshot().window;
    assert_eq!((w.length, w.calls), (secs(20), 0));
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.snapshot().window.failures, 1);
}

#[tokio::test]
async fn a_call_keeps_the_timeout_it_was_admitted_with() {
    let (breaker, clock) = manual("gen-reconfigure-in-flight", Config::builder().timeout(millis(100)));
    let mut call = Box::pin(breaker.call(hanging()));
    assert!(poll_once(call.as_mut()).is_pending());
    let mut config = breaker.config();
    config.timeout = Some(secs(5));
    breaker.reconfigure(config).unwrap();
    clock.advance(millis(99));
    assert!(poll_once(call.as_mut()).is_pending());
    clock.advance(millis(1));
    let result = call.await;
    assert_eq!(
        result,
        Err(CallError::Breaker(Error::Timeout {
            service: "gen-reconfigure-in-flight",
            timeout: millis(100)
        }))
    );
}
