//! The time-based sliding window, seen through the breaker: failure-rate and slow-call
//! trips, `min_calls` gating, bucket rotation, and clearing on close.

mod common;

use std::time::Duration;

use breaker_runtime::{Config, EventKind, Reason, State};
use common::*;

#[tokio::test]
async fn failure_rate_opens_on_the_call_that_reaches_min_calls() {
    let (breaker, _clock) =
        manual("win-rate-min-calls", Config::builder().threshold(50).failure_rate(0.5).min_calls(10));
    let mut events = breaker.subscribe();
    fail_times(&breaker, 9).await;
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed, "9 calls are fewer than min_calls");
    assert_eq!((s.window.calls, s.window.failures), (9, 9));
    assert_eq!(s.window.failure_rate, 1.0);
    // The 10th call is a success, and yet 9 of 10 failed: the rate now applies.
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    assert_eq!(breaker.state(), State::Open);
    let g = breaker.snapshot().generation;
    assert_eq!(
        transitions(&events.drain()),
        vec![EventKind::Transition {
            from: State::Closed,
            to: State::Open,
            reason: Reason::FailureRate { rate: 0.9, threshold: 0.5, calls: 10, window: secs(60) },
            generation: g,
        }]
    );
}

#[tokio::test]
async fn failure_rate_alone_opens_a_breaker_without_a_threshold() {
    let (breaker, _clock) =
        manual("win-rate-alone", Config::builder().no_threshold().failure_rate(0.5).min_calls(4));
    assert_eq!(breaker.config().threshold, None);
    for _ in 0..3 {
        assert_eq!(breaker.call(ok(1)).await, Ok(1));
    }
    fail_times(&breaker, 2).await; // 2 of 5: 40%
    assert_eq!(breaker.state(), State::Closed);
    fail_times(&breaker, 1).await; // 3 of 6: 50%
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test]
async fn without_a_threshold_consecutive_failures_below_min_calls_never_open() {
    let (breaker, _clock) =
        manual("win-no-threshold-gated", Config::builder().no_threshold().failure_rate(0.5).min_calls(20));
    fail_times(&breaker, 19).await;
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.window.failures, 19);
}

#[tokio::test]
async fn consecutive_threshold_opens_before_the_rate_has_enough_calls() {
    let (breaker, _clock) =
        manual("win-both-rules", Config::builder().threshold(3).failure_rate(0.5).min_calls(10));
    let mut events = breaker.subscribe();
    fail_times(&breaker, 3).await;
    assert_eq!(breaker.state(), State::Open);
    let g = breaker.snapshot().generation;
    assert_eq!(
        transitions(&events.drain()),
        vec![EventKind::Transition {
            from: State::Closed,
            to: State::Open,
            reason: Reason::ConsecutiveFailures { count: 3, threshold: 3 },
            generation: g,
        }]
    );
}

#[tokio::test]
async fn a_rate_below_the_configured_rate_keeps_the_circuit_closed() {
    let (breaker, _clock) =
        manual("win-rate-below", Config::builder().no_threshold().failure_rate(0.5).min_calls(10));
    for i in 0..40 {
        // 1 failure in 3 calls: 33%.
        let _ = if i % 3 == 0 { breaker.call(fail(500)).await } else { breaker.call(ok(1)).await };
    }
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!((s.window.calls, s.window.failures, s.window.successes), (40, 14, 26));
    assert_eq!(s.window.failure_rate, 14.0 / 40.0);
}

#[tokio::test]
async fn ignored_calls_are_counted_but_do_not_count_toward_min_calls_or_the_rate() {
    let (breaker, _clock) =
        manual("win-ignored-not-judged", Config::builder().no_threshold().failure_rate(0.5).min_calls(4));
    let ignore_404 = |e: &CallError| match e {
        CallError::Upstream(404) => breaker_runtime::Outcome::Ignored,
        _ => breaker_runtime::Outcome::Failure,
    };
    fail_times(&breaker, 3).await;
    for _ in 0..10 {
        assert_eq!(breaker.call_with(ignore_404, fail(404)).await, Err(CallError::Upstream(404)));
    }
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed, "3 judged calls are fewer than min_calls");
    assert_eq!((s.window.calls, s.window.failures, s.window.ignored, s.window.successes), (13, 3, 10, 0));
    assert_eq!(s.window.failure_rate, 1.0);
    assert_eq!(breaker.call(ok(1)).await, Ok(1)); // 3 of 4 judged calls failed
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test]
async fn window_counts_follow_bucket_rotation_exactly() {
    // 10 s window in 10 buckets of 1 s; rules set so that nothing opens.
    let (breaker, clock) = manual(
        "win-rotation",
        Config::builder().threshold(1000).window(secs(10)).buckets(10).failure_rate(1.0).min_calls(1000),
    );
    for _ in 0..2 {
        let _ = breaker.call(fail(500)).await;
    }
    for _ in 0..3 {
        let _ = breaker.call(ok(1)).await;
    }
    clock.advance(secs(4));
    let _ = breaker.call(fail(500)).await;
    for _ in 0..4 {
        let _ = breaker.call(ok(1)).await;
    }
    let w = breaker.snapshot().window;
    assert_eq!(w.length, secs(10));
    assert_eq!((w.calls, w.successes, w.failures), (10, 7, 3));
    assert_eq!(w.failure_rate, 0.3);

    // 9.999 s: the first bucket is still inside the window.
    clock.advance(Duration::from_millis(5_999));
    let w = breaker.snapshot().window;
    assert_eq!((w.calls, w.failures), (10, 3));

    // 10 s: the bucket [0 s, 1 s) has left the window.
    clock.advance(Duration::from_millis(1));
    let w = breaker.snapshot().window;
    assert_eq!((w.calls, w.successes, w.failures), (5, 4, 1));
    assert_eq!(w.failure_rate, 0.2);

    // 14 s: the bucket [4 s, 5 s) has left too.
    clock.advance(secs(4));
    let w = breaker.snapshot().window;
    assert_eq!((w.calls, w.successes, w.failures), (0, 0, 0));
    assert_eq!(w.failure_rate, 0.0);
}

#[tokio::test]
async fn failures_older_than_the_window_do_not_count_toward_the_rate() {
    let (breaker, clock) = manual(
        "win-expired-failures",
        Config::builder().no_threshold().window(secs(10)).buckets(10).failure_rate(0.5).min_calls(4),
    );
    fail_times(&breaker, 3).await; // at 0 s
    clock.advance(secs(10)); // they leave the window
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    // Had the old failures counted, 3 of 4 would have opened the circuit.
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!((s.window.calls, s.window.failures), (1, 0));
}

#[tokio::test]
async fn window_is_emptied_when_the_circuit_closes_again() {
    let (breaker, clock) = manual(
        "win-cleared-on-close",
        Config::builder().threshold(3).failure_rate(0.5).min_calls(10).recovery_timeout(secs(5)),
    );
    for _ in 0..4 {
        assert_eq!(breaker.call(ok(1)).await, Ok(1));
    }
    fail_times(&breaker, 3).await;
    let w = breaker.snapshot().window;
    assert_eq!((w.calls, w.successes, w.failures), (7, 4, 3));
    clock.advance(secs(5));
    assert_eq!(breaker.call(ok(1)).await, Ok(1)); // the probe closes
    assert_eq!(breaker.state(), State::Closed);
    let s = breaker.snapshot();
    assert_eq!((s.window.calls, s.window.successes, s.window.failures), (0, 0, 0));
    assert_eq!(s.window.failure_rate, 0.0);
    assert_eq!(s.latency.max, Duration::ZERO);
    // The next closed period counts from zero.
    fail_times(&breaker, 2).await;
    let s = breaker.snapshot();
    assert_eq!((s.window.calls, s.window.failures, s.consecutive_failures), (2, 2, 2));
    assert_eq!(s.state, State::Closed);
}

#[tokio::test]
async fn slow_call_rate_opens_the_circuit() {
    let (breaker, clock) = manual(
        "win-slow-rate",
        Config::builder().threshold(100).slow_call(secs(1)).slow_call_rate(0.5).min_calls(4),
    );
    let mut events = breaker.subscribe();
    // Two fast and two slow successes; latency is measured on the manual clock.
    assert_eq!(breaker.call(taking(&clock, millis(200), Ok(1))).await, Ok(1));
    assert_eq!(breaker.call(taking(&clock, millis(999), Ok(2))).await, Ok(2));
    assert_eq!(breaker.call(taking(&clock, secs(2), Ok(3))).await, Ok(3));
    assert_eq!(breaker.state(), State::Closed, "3 calls are fewer than min_calls");
    assert_eq!(breaker.call(taking(&clock, secs(1), Ok(4))).await, Ok(4)); // exactly slow_call: slow
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!((s.window.calls, s.window.successes, s.window.slow), (4, 4, 2));
    assert_eq!(s.window.slow_call_rate, 0.5);
    assert_eq!(s.window.failure_rate, 0.0);
    assert_eq!(
        transitions(&events.drain()),
        vec![EventKind::Transition {
            from: State::Closed,
            to: State::Open,
            reason: Reason::SlowCallRate { rate: 0.5, threshold: 0.5, calls: 4, slow_call: secs(1) },
            generation: s.generation,
        }]
    );
}

#[test]
fn slow_calls_recorded_through_permits_are_measured_on_the_manual_clock() {
    let (breaker, clock) = manual(
        "win-slow-permit",
        Config::builder().threshold(100).slow_call(millis(500)).slow_call_rate(1.0).min_calls(3),
    );
    for n in 1..=3 {
        let permit = breaker.try_acquire().expect("closed");
        clock.advance(millis(750));
        permit.success();
        let expected = if n < 3 { State::Closed } else { State::Open };
        assert_eq!(breaker.state(), expected, "after {n} slow calls");
    }
    let s = breaker.snapshot();
    assert_eq!(s.window.slow, 3);
    assert_eq!(s.latency.mean, millis(750));
    assert_eq!(s.latency.max, millis(750));
}

#[test]
fn fast_calls_keep_the_slow_call_rate_at_zero() {
    let (breaker, clock) = manual(
        "win-fast-calls",
        Config::builder().threshold(100).slow_call(secs(1)).slow_call_rate(0.1).min_calls(1),
    );
    for _ in 0..20 {
        let permit = breaker.try_acquire().expect("closed");
        clock.advance(millis(999));
        permit.success();
    }
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!((s.window.slow, s.window.slow_call_rate), (0, 0.0));
}

#[test]
fn slow_successful_probe_reopens_the_circuit() {
    let (breaker, clock) = manual(
        "win-slow-probe",
        Config::builder().threshold(1).slow_call(secs(1)).recovery_timeout(secs(10)),
    );
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(10));
    let probe = breaker.try_acquire().expect("probe");
    clock.advance(secs(3));
    probe.success();
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.retry_after, Some(secs(10)));
}

#[tokio::test]
async fn latency_of_failures_is_measured_too() {
    let (breaker, clock) = manual("win-failure-latency", Config::builder().threshold(100));
    let _ = breaker.call(taking(&clock, millis(100), Ok(1))).await;
    let _ = breaker.call(taking(&clock, millis(900), Err(CallError::Upstream(500)))).await;
    let s = breaker.snapshot();
    assert_eq!(s.latency.mean, millis(500));
    assert_eq!(s.latency.max, millis(900));
}

#[tokio::test]
async fn rate_is_judged_on_a_success_after_old_successes_leave_the_window() {
    // FD-2: the rate is evaluated on every request. Old successes leaving the window
    // raise the rate; the next call, even a success, must see it.
    let (breaker, clock) = manual(
        "win-rate-after-expiry",
        Config::builder().no_threshold().window(secs(10)).buckets(10).failure_rate(0.5).min_calls(4),
    );
    for _ in 0..10 {
        assert_eq!(breaker.call(ok(1)).await, Ok(1)); // at 0 s
    }
    clock.advance(secs(5));
    fail_times(&breaker, 4).await; // at 5 s: 4 of 14 failed
    assert_eq!(breaker.state(), State::Closed);
    clock.advance(secs(5)); // 10 s: the 10 successes leave the window
    let w = breaker.snapshot().window;
    assert_eq!((w.calls, w.failures), (4, 4));
    assert_eq!(breaker.call(ok(1)).await, Ok(1)); // 4 of 5 judged calls failed: 80%
    assert_eq!(breaker.state(), State::Open);
}
