//! The three-state machine through the public API: closed -> open -> half-open ->
//! closed/open, on a manual clock.

mod common;

use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use breaker_runtime::{CircuitBreaker, Config, Error, ManualClock, State};
use common::*;

fn opened(service: &str, config: breaker_runtime::ConfigBuilder) -> (CircuitBreaker, Arc<ManualClock>) {
    let (breaker, clock) = manual(service, config.threshold(1));
    breaker.try_acquire().expect("closed admits").failure();
    assert_eq!(breaker.state(), State::Open);
    (breaker, clock)
}

fn half_open(service: &str, config: breaker_runtime::ConfigBuilder) -> (CircuitBreaker, Arc<ManualClock>) {
    let (breaker, clock) = opened(service, config.recovery_timeout(secs(30)));
    clock.advance(secs(30));
    assert_eq!(breaker.state(), State::HalfOpen);
    (breaker, clock)
}

#[tokio::test]
async fn new_breaker_is_closed_and_admits_calls() {
    let (breaker, _clock) = manual("sm-new-closed", Config::builder());
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.service(), "sm-new-closed");
    assert_eq!(breaker.call(ok(7)).await, Ok(7));
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn stays_closed_below_threshold_and_opens_on_the_threshold_failure() {
    let (breaker, _clock) = manual("sm-threshold", Config::builder().threshold(4));
    for n in 1..=3 {
        assert_eq!(breaker.call(fail(500)).await, Err(CallError::Upstream(500)));
        assert_eq!(breaker.state(), State::Closed, "after {n} failures");
        assert_eq!(breaker.snapshot().consecutive_failures, n);
    }
    // The threshold failure itself still returns the service's own error.
    assert_eq!(breaker.call(fail(500)).await, Err(CallError::Upstream(500)));
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test]
async fn a_success_resets_the_consecutive_failure_count() {
    let (breaker, _clock) = manual("sm-success-resets", Config::builder().threshold(3));
    for _ in 0..10 {
        fail_times(&breaker, 2).await;
        assert_eq!(breaker.snapshot().consecutive_failures, 2);
        assert_eq!(breaker.call(ok(1)).await, Ok(1));
        assert_eq!(breaker.snapshot().consecutive_failures, 0);
    }
    // 20 failures in all, never 3 in a row: still closed.
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().open_count, 0);
}

#[tokio::test]
async fn open_circuit_rejects_without_running_the_call() {
    let (breaker, clock) =
        manual("sm-open-rejects", Config::builder().threshold(2).recovery_timeout(secs(30)));
    fail_times(&breaker, 2).await;
    clock.advance(secs(12));
    let runs = Arc::new(AtomicUsize::new(0));
    let result = breaker.call(counted_ok(&runs)).await;
    assert_eq!(
        result,
        Err(CallError::Breaker(Error::CircuitOpen {
            service: "sm-open-rejects",
            retry_after: Some(secs(18))
        }))
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the rejected call's body was polled");
    // The rejection is not a failure of the service.
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.window.calls, 2);
    assert_eq!(snapshot.window.failures, 2);
    assert_eq!(snapshot.rejections.open, 1);
}

#[test]
fn try_acquire_on_an_open_circuit_returns_circuit_open_with_remaining_time() {
    let (breaker, clock) = opened("sm-open-try-acquire", Config::builder().recovery_timeout(secs(10)));
    clock.advance(millis(2_500));
    let error = breaker.try_acquire().expect_err("open rejects");
    assert_eq!(
        error,
        Error::CircuitOpen { service: "sm-open-try-acquire", retry_after: Some(millis(7_500)) }
    );
    assert!(error.is_rejection());
}

#[test]
fn open_turns_half_open_exactly_at_the_recovery_timeout_without_traffic() {
    let (breaker, clock) = opened("sm-recovery-exact", Config::builder().recovery_timeout(secs(30)));
    clock.advance(secs(30) - std::time::Duration::from_nanos(1));
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.snapshot().retry_after, Some(std::time::Duration::from_nanos(1)));
    clock.advance(std::time::Duration::from_nanos(1));
    assert_eq!(breaker.state(), State::HalfOpen);
}

#[test]
fn snapshot_alone_shows_half_open_after_the_recovery_timeout() {
    let (breaker, clock) = opened("sm-recovery-snapshot", Config::builder().recovery_timeout(secs(5)));
    clock.advance(secs(5));
    // No call, no state(): the snapshot alone must read half-open.
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::HalfOpen);
    assert_eq!(snapshot.retry_after, None);
}

#[tokio::test]
async fn successful_probe_closes_the_circuit() {
    let (breaker, _clock) = half_open("sm-probe-closes", Config::builder());
    assert_eq!(breaker.call(ok(3)).await, Ok(3));
    assert_eq!(breaker.state(), State::Closed);
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.consecutive_failures, 0);
    assert_eq!(snapshot.open_count, 1);
}

#[tokio::test]
async fn failed_probe_reopens_with_a_full_fresh_recovery_timeout() {
    let (breaker, clock) = half_open("sm-probe-reopens", Config::builder());
    // The probe arrives 7 s after the circuit turned half-open.
    clock.advance(secs(7));
    assert_eq!(breaker.call(fail(503)).await, Err(CallError::Upstream(503)));
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.snapshot().retry_after, Some(secs(30)));
    assert_eq!(
        breaker.try_acquire().unwrap_err(),
        Error::CircuitOpen { service: "sm-probe-reopens", retry_after: Some(secs(30)) }
    );
    clock.advance(secs(30) - std::time::Duration::from_nanos(1));
    assert_eq!(breaker.state(), State::Open);
    clock.advance(std::time::Duration::from_nanos(1));
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(breaker.snapshot().open_count, 2);
}

#[tokio::test]
async fn half_open_rejects_calls_beyond_the_probe_limit_without_changing_state() {
    let (breaker, _clock) = half_open("sm-probe-limit", Config::builder().half_open_max_calls(1));
    let generation = breaker.snapshot().generation;
    let probe = breaker.try_acquire().expect("the first probe is admitted");
    assert!(probe.is_probe());
    let runs = Arc::new(AtomicUsize::new(0));
    let result = breaker.call(counted_ok(&runs)).await;
    assert_eq!(result, Err(CallError::Breaker(Error::ProbeLimit { service: "sm-probe-limit", max: 1 })));
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::HalfOpen);
    assert_eq!(snapshot.generation, generation);
    assert_eq!(snapshot.rejections.probe_limit, 1);
    assert_eq!(snapshot.probes.in_flight, 1);
    probe.success();
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn half_open_admits_exactly_half_open_max_calls_probes_at_once() {
    let (breaker, _clock) = half_open("sm-probe-limit-3", Config::builder().half_open_max_calls(3));
    let probes: Vec<_> = (0..3).map(|_| breaker.try_acquire().expect("within the limit")).collect();
    assert!(probes.iter().all(|p| p.is_probe()));
    assert_eq!(breaker.try_acquire().unwrap_err(), Error::ProbeLimit { service: "sm-probe-limit-3", max: 3 });
    assert_eq!(breaker.snapshot().probes.in_flight, 3);
    // A finished probe frees its place for the next one.
    let mut probes = probes.into_iter();
    probes.next().unwrap().ignored();
    assert_eq!(breaker.snapshot().probes.in_flight, 2);
    let fourth = breaker.try_acquire().expect("a place was freed");
    assert!(fourth.is_probe());
    assert_eq!(breaker.state(), State::HalfOpen);
}

#[tokio::test]
async fn success_threshold_needs_that_many_successful_probes_to_close() {
    let (breaker, _clock) =
        half_open("sm-success-threshold", Config::builder().success_threshold(3).half_open_max_calls(1));
    for n in 1..=2 {
        assert_eq!(breaker.call(ok(1)).await, Ok(1));
        assert_eq!(breaker.state(), State::HalfOpen, "after {n} successful probes");
        assert_eq!(breaker.snapshot().probes.successes, n);
    }
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn a_failed_probe_after_some_successes_still_reopens() {
    let (breaker, _clock) = half_open("sm-success-then-fail", Config::builder().success_threshold(3));
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    assert_eq!(breaker.call(fail(500)).await, Err(CallError::Upstream(500)));
    assert_eq!(breaker.state(), State::Open);
}

#[test]
fn dropped_unrecorded_probe_permit_gives_its_place_back_and_records_nothing() {
    let (breaker, _clock) = half_open("sm-probe-permit-dropped", Config::builder());
    let before = breaker.snapshot();
    let probe = breaker.try_acquire().expect("probe admitted");
    assert_eq!(breaker.snapshot().probes.in_flight, 1);
    drop(probe);
    let after = breaker.snapshot();
    assert_eq!(after.state, State::HalfOpen);
    assert_eq!(after.generation, before.generation);
    assert_eq!(after.probes.in_flight, 0);
    assert_eq!(after.probes.successes, 0);
    assert_eq!(after.window, before.window);
    assert_eq!(after.last_success, None);
    // The place is free again.
    let next = breaker.try_acquire().expect("the place was given back");
    assert!(next.is_probe());
    next.success();
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn cancelled_probe_future_gives_its_place_back_and_records_nothing() {
    let (breaker, _clock) = half_open("sm-probe-future-dropped", Config::builder().no_timeout());
    let before = breaker.snapshot();
    {
        let mut probe = pin!(breaker.call(hanging()));
        assert!(poll_once(probe.as_mut()).is_pending());
        assert_eq!(breaker.snapshot().probes.in_flight, 1);
        // While it runs, a second call is over the limit.
        assert_eq!(
            breaker.call(ok(1)).await,
            Err(CallError::Breaker(Error::ProbeLimit { service: "sm-probe-future-dropped", max: 1 }))
        );
    } // the probe future is dropped here: the call is cancelled
    let after = breaker.snapshot();
    assert_eq!(after.state, State::HalfOpen);
    assert_eq!(after.generation, before.generation);
    assert_eq!(after.probes.in_flight, 0);
    assert_eq!(after.window.calls, before.window.calls);
    assert_eq!(after.window.failures, before.window.failures);
    assert_eq!(breaker.call(ok(2)).await, Ok(2));
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn cancelled_call_in_closed_state_counts_for_nothing() {
    let (breaker, _clock) = manual("sm-closed-cancel", Config::builder().threshold(1).no_timeout());
    {
        let mut call = pin!(breaker.call(hanging()));
        assert!(poll_once(call.as_mut()).is_pending());
    }
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::Closed);
    assert_eq!(snapshot.window.calls, 0);
    assert_eq!(snapshot.consecutive_failures, 0);
    assert_eq!(snapshot.last_failure, None);
}

#[tokio::test]
async fn a_call_future_does_nothing_until_polled() {
    let (breaker, _clock) = manual("sm-lazy-call", Config::builder().threshold(1));
    let runs = Arc::new(AtomicUsize::new(0));
    let call = breaker.call(counted_fail(&runs));
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert_eq!(breaker.snapshot().window.calls, 0);
    drop(call);
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().window.calls, 0);
}

#[tokio::test]
async fn a_call_admitted_while_closed_returns_its_own_result_even_if_the_circuit_opens_meanwhile() {
    let (breaker, _clock) = manual("sm-admitted-then-open", Config::builder().threshold(1).no_timeout());
    let (release, wait) = tokio::sync::oneshot::channel::<()>();
    let mut slow = pin!(breaker.call(async move {
        wait.await.expect("released");
        CallResult::Ok(42)
    }));
    assert!(poll_once(slow.as_mut()).is_pending());
    assert_eq!(breaker.call(fail(500)).await, Err(CallError::Upstream(500)));
    assert_eq!(breaker.state(), State::Open);
    release.send(()).unwrap();
    assert_eq!(slow.await, Ok(42));
    // Its success belonged to the closed period: it does not close the circuit.
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test]
async fn closed_open_half_open_closed_cycle_repeats() {
    let (breaker, clock) = manual("sm-cycles", Config::builder().threshold(2).recovery_timeout(secs(10)));
    for cycle in 1..=3 {
        fail_times(&breaker, 2).await;
        assert_eq!(breaker.state(), State::Open, "cycle {cycle}");
        clock.advance(secs(10));
        assert_eq!(breaker.state(), State::HalfOpen, "cycle {cycle}");
        assert_eq!(breaker.call(ok(1)).await, Ok(1));
        assert_eq!(breaker.state(), State::Closed, "cycle {cycle}");
    }
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.open_count, 3);
    assert_eq!(snapshot.transitions, 9);
}

#[test]
fn at_most_one_recovery_wakeup_is_pending_per_breaker() {
    let (breaker, clock) = manual("sm-one-timer", Config::builder().threshold(1).recovery_timeout(secs(10)));
    assert_eq!(clock.pending_wakeups(), 0);
    breaker.try_acquire().unwrap().failure();
    assert_eq!(clock.pending_wakeups(), 1);
    // Reset and reopen before the first wakeup is due.
    breaker.reset();
    clock.advance(secs(4));
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), State::Open);
    assert!(clock.pending_wakeups() <= 1, "{} wakeups pending", clock.pending_wakeups());
}

#[test]
fn stale_recovery_wakeup_from_an_earlier_opening_does_not_shorten_the_next_one() {
    let (breaker, clock) =
        manual("sm-stale-timer", Config::builder().threshold(1).recovery_timeout(secs(30)));
    breaker.try_acquire().unwrap().failure(); // opens at 0 s, first wakeup due at 30 s
    clock.advance(secs(5));
    breaker.reset();
    clock.advance(secs(5));
    breaker.try_acquire().unwrap().failure(); // opens again at 10 s: due at 40 s
    clock.advance(secs(20)); // 30 s: the first opening's deadline
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.snapshot().retry_after, Some(secs(10)));
    clock.advance(secs(10)); // 40 s
    assert_eq!(breaker.state(), State::HalfOpen);
}

#[test]
fn stale_recovery_wakeup_after_reset_leaves_a_closed_circuit_closed() {
    let (breaker, clock) = manual("sm-stale-timer-closed", Config::builder().threshold(1));
    breaker.try_acquire().unwrap().failure();
    breaker.reset();
    let generation = breaker.snapshot().generation;
    clock.advance(secs(60));
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::Closed);
    assert_eq!(snapshot.generation, generation);
}

#[test]
fn ignored_outcomes_change_no_counter_and_no_state_in_any_state() {
    let (breaker, clock) =
        manual("sm-ignored-any-state", Config::builder().threshold(2).recovery_timeout(secs(5)));
    // Closed.
    breaker.try_acquire().unwrap().failure();
    breaker.try_acquire().unwrap().ignored();
    assert_eq!(breaker.snapshot().consecutive_failures, 1);
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), State::Open, "an ignored outcome does not break the run of failures");
    // Half-open.
    clock.advance(secs(5));
    let generation = breaker.snapshot().generation;
    breaker.try_acquire().unwrap().ignored();
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::HalfOpen);
    assert_eq!(snapshot.generation, generation);
    assert_eq!(snapshot.probes.successes, 0);
    assert_eq!(snapshot.probes.in_flight, 0);
}

#[test]
fn state_names_follow_the_design() {
    let names: Vec<String> = State::ALL.iter().map(ToString::to_string).collect();
    assert_eq!(names, ["closed", "open", "half-open", "forced-open", "disabled", "metrics-only"]);
}

#[test]
fn a_ready_call_completes_on_its_first_poll() {
    // A call whose body is ready completes on its first poll.
    let (breaker, _clock) = manual("sm-ready-first-poll", Config::builder());
    let mut call = pin!(breaker.call(ok(5)));
    assert_eq!(poll_once(call.as_mut()), Poll::Ready(Ok(5)));
}

#[tokio::test]
async fn probe_whose_body_panics_on_its_first_poll_gives_its_place_back() {
    use futures::FutureExt;
    let (breaker, _clock) = half_open("sm-probe-panics-first-poll", Config::builder().no_timeout());
    let panicking = std::panic::AssertUnwindSafe(breaker.call(async {
        panic!("the protected code panicked");
        #[allow(unreachable_code)]
        CallResult::Ok(1)
    }));
    assert!(panicking.catch_unwind().await.is_err());
    let s = breaker.snapshot();
    assert_eq!(s.state, State::HalfOpen);
    assert_eq!(s.probes.in_flight, 0, "a probe that panicked must not keep its place");
    assert_eq!(breaker.call(ok(2)).await, Ok(2), "the next call is let through as a probe");
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn probe_whose_body_panics_on_a_later_poll_gives_its_place_back() {
    use futures::FutureExt;
    let (breaker, _clock) = half_open("sm-probe-panics-later", Config::builder().no_timeout());
    let panicking = std::panic::AssertUnwindSafe(breaker.call(async {
        tokio::task::yield_now().await;
        panic!("the protected code panicked");
        #[allow(unreachable_code)]
        CallResult::Ok(1)
    }));
    assert!(panicking.catch_unwind().await.is_err());
    let s = breaker.snapshot();
    assert_eq!(s.state, State::HalfOpen);
    assert_eq!(s.probes.in_flight, 0);
    assert_eq!(breaker.call(ok(2)).await, Ok(2));
    assert_eq!(breaker.state(), State::Closed);
}
