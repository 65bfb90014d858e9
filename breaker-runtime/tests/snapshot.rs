//! `snapshot()`: every field, with exact values on a manual clock.

mod common;

use std::time::Duration;

use breaker_runtime::{Clock, Config, Outcome, State};
use common::*;

#[tokio::test]
async fn window_counts_add_up_and_rates_are_exact() {
    let (breaker, _clock) = manual("snap-window", Config::builder().threshold(100));
    let ignore_404 =
        |e: &CallError| if *e == CallError::Upstream(404) { Outcome::Ignored } else { Outcome::Failure };
    for _ in 0..6 {
        let _ = breaker.call(ok(1)).await;
    }
    for _ in 0..2 {
        let _ = breaker.call(fail(500)).await;
    }
    for _ in 0..3 {
        let _ = breaker.call_with(ignore_404, fail(404)).await;
    }
    let w = breaker.snapshot().window;
    assert_eq!(w.length, secs(60));
    assert_eq!((w.calls, w.successes, w.failures, w.ignored), (11, 6, 2, 3));
    assert_eq!(w.calls, w.successes + w.failures + w.ignored);
    assert_eq!(w.failure_rate, 0.25, "failures / (successes + failures)");
    assert_eq!((w.timeouts, w.slow, w.slow_call_rate), (0, 0, 0.0));
}

#[tokio::test]
async fn latency_mean_and_max_are_measured_on_the_manual_clock() {
    let (breaker, clock) = manual("snap-latency", Config::builder().threshold(100));
    for d in [millis(100), millis(300), millis(800)] {
        assert_eq!(breaker.call(taking(&clock, d, Ok(1))).await, Ok(1));
    }
    let latency = breaker.snapshot().latency;
    assert_eq!(latency.mean, millis(400));
    assert_eq!(latency.max, millis(800));
}

#[test]
fn consecutive_failures_and_last_times_are_tracked() {
    let (breaker, clock) = manual("snap-last-times", Config::builder().threshold(100));
    clock.advance(secs(3));
    breaker.try_acquire().unwrap().success();
    clock.advance(secs(2));
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(1));
    breaker.try_acquire().unwrap().failure();
    breaker.try_acquire().unwrap().ignored();
    let s = breaker.snapshot();
    assert_eq!(s.consecutive_failures, 2);
    assert_eq!(s.last_success, Some(wall(&clock, secs(3))));
    assert_eq!(s.last_failure, Some(wall(&clock, secs(6))));
    assert_eq!(s.taken_at, clock.system_time(clock.now()));
}

#[test]
fn state_since_and_state_age_follow_the_last_transition() {
    let (breaker, clock) =
        manual("snap-state-since", Config::builder().threshold(1).recovery_timeout(secs(30)));
    let created = breaker.snapshot();
    assert_eq!(created.state_since, wall(&clock, Duration::ZERO));
    clock.advance(secs(4));
    assert_eq!(breaker.snapshot().state_age, secs(4));
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(10));
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.state_since, wall(&clock, secs(4)));
    assert_eq!(s.state_age, secs(10));
    assert_eq!(s.retry_after, Some(secs(20)));
    clock.advance(secs(20)); // 34 s: the recovery timeout passes
    clock.advance(secs(5));
    let s = breaker.snapshot();
    assert_eq!(s.state, State::HalfOpen);
    assert_eq!(s.state_since, wall(&clock, secs(34)), "half-open since the recovery timeout passed");
    assert_eq!(s.state_age, secs(5));
    assert_eq!(s.retry_after, None);
}

#[test]
fn retry_after_is_only_set_while_open() {
    let (breaker, clock) =
        manual("snap-retry-after", Config::builder().threshold(1).recovery_timeout(secs(8)));
    assert_eq!(breaker.snapshot().retry_after, None);
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.snapshot().retry_after, Some(secs(8)));
    clock.advance(secs(3));
    assert_eq!(breaker.snapshot().retry_after, Some(secs(5)));
    breaker.force_open();
    assert_eq!(breaker.snapshot().retry_after, None, "forced open has no end by itself");
}

#[tokio::test]
async fn rejections_are_counted_by_cause() {
    let (breaker, clock) = manual(
        "snap-rejections",
        Config::builder().threshold(1).recovery_timeout(secs(5)).max_concurrent(1).no_timeout(),
    );
    // Bulkhead: one call holds the only place.
    {
        let mut holder = Box::pin(breaker.call(hanging()));
        assert!(poll_once(holder.as_mut()).is_pending());
        assert!(breaker.call(ok(1)).await.is_err());
        assert_eq!(breaker.snapshot().bulkhead.in_use, 1);
    }
    // Open, twice.
    breaker.try_acquire().unwrap().failure();
    assert!(breaker.call(ok(1)).await.is_err());
    assert!(breaker.try_acquire().is_err());
    // Probe limit, three times.
    clock.advance(secs(5));
    let probe = breaker.try_acquire().unwrap();
    for _ in 0..3 {
        assert!(breaker.try_acquire().is_err());
    }
    drop(probe);
    // Forced, four times.
    breaker.force_open();
    for _ in 0..4 {
        assert!(breaker.call(ok(1)).await.is_err());
    }
    let r = breaker.snapshot().rejections;
    assert_eq!((r.bulkhead, r.open, r.probe_limit, r.forced), (1, 2, 3, 4));
    assert_eq!(r.total(), 10);
}

#[test]
fn probes_show_the_current_half_open_period_only() {
    let (breaker, clock) = manual(
        "snap-probes",
        Config::builder().threshold(1).recovery_timeout(secs(5)).half_open_max_calls(3).success_threshold(3),
    );
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(5));
    let a = breaker.try_acquire().unwrap();
    let b = breaker.try_acquire().unwrap();
    let p = breaker.snapshot().probes;
    assert_eq!((p.in_flight, p.successes), (2, 0));
    a.success();
    let p = breaker.snapshot().probes;
    assert_eq!((p.in_flight, p.successes), (1, 1));
    b.failure();
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!((s.probes.in_flight, s.probes.successes), (0, 0), "probes are zero outside half-open");
}

#[tokio::test]
async fn open_count_and_transitions_are_never_reset_but_reset_clears_the_rest() {
    let (breaker, clock) = manual("snap-reset", Config::builder().threshold(1).recovery_timeout(secs(5)));
    breaker.try_acquire().unwrap().success();
    breaker.try_acquire().unwrap().failure(); // open #1
    clock.advance(secs(5));
    breaker.try_acquire().unwrap().failure(); // half-open -> open #2
    let s = breaker.snapshot();
    assert_eq!((s.open_count, s.transitions), (2, 3));
    assert!(s.last_success.is_some() && s.last_failure.is_some());
    let generation = s.generation;
    breaker.reset();
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!((s.open_count, s.transitions), (2, 4));
    assert_eq!(s.generation, generation + 1);
    assert_eq!(s.consecutive_failures, 0);
    assert_eq!((s.window.calls, s.window.failures, s.window.successes), (0, 0, 0));
    assert_eq!((s.last_success, s.last_failure), (None, None));
    assert_eq!(s.retry_after, None);
}

#[tokio::test]
async fn closing_after_recovery_keeps_the_last_success_and_failure_times() {
    let (breaker, clock) =
        manual("snap-close-keeps-times", Config::builder().threshold(1).recovery_timeout(secs(5)));
    clock.advance(secs(1));
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(5));
    breaker.try_acquire().unwrap().success(); // closes at 6 s
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.last_failure, Some(wall(&clock, secs(1))), "only a manual reset clears it");
    assert_eq!(s.last_success, Some(wall(&clock, secs(6))));
}

#[tokio::test]
async fn bulkhead_stats_show_places_in_use_and_calls_queued() {
    let (breaker, _clock) = manual(
        "snap-bulkhead",
        Config::builder().max_concurrent(2).queue(3).queue_timeout(secs(1)).no_timeout(),
    );
    let mut calls: Vec<_> = (0..4).map(|_| Box::pin(breaker.call(hanging()))).collect();
    for call in calls.iter_mut() {
        assert!(poll_once(call.as_mut()).is_pending());
    }
    let b = breaker.snapshot().bulkhead;
    assert_eq!((b.max_concurrent, b.in_use, b.queued), (Some(2), 2, 2));
    drop(calls);
    let b = breaker.snapshot().bulkhead;
    assert_eq!((b.in_use, b.queued), (0, 0));
}

#[test]
fn service_and_generation_identify_the_breaker_and_its_period() {
    let (breaker, _clock) = manual("snap-identity", Config::builder().threshold(1));
    let first = breaker.snapshot();
    assert_eq!(first.service, "snap-identity");
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.snapshot().generation, first.generation + 1);
}

#[test]
fn snapshot_generation_is_the_number_of_transitions_made() {
    // The field's documentation: "The generation: how many transitions the breaker
    // has made."
    let (breaker, clock) =
        manual("snap-generation-doc", Config::builder().threshold(1).recovery_timeout(secs(1)));
    let s = breaker.snapshot();
    assert_eq!(s.generation, s.transitions, "a new breaker has made no transition");
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(1));
    let s = breaker.snapshot();
    assert_eq!(s.transitions, 2);
    assert_eq!(s.generation, s.transitions);
}

#[test]
fn cancelled_calls_are_not_counted() {
    let (breaker, _clock) = manual("snap-cancelled", Config::builder());
    for _ in 0..5 {
        drop(breaker.try_acquire().unwrap());
    }
    let s = breaker.snapshot();
    assert_eq!(s.window.calls, 0);
    assert_eq!((s.last_success, s.last_failure), (None, None));
}

#[tokio::test]
async fn percentiles_come_from_every_call_and_stay_within_their_bucket() {
    let (breaker, clock) = manual("snap-percentiles", Config::builder().threshold(1000));
    // 1000 calls of 1 ms to 1000 ms: the q-th percentile is q * 1000 ms.
    for ms in 1..=1000 {
        assert_eq!(breaker.call(taking(&clock, millis(ms), Ok(1))).await, Ok(1));
    }
    let s = breaker.snapshot();
    for (measured, exact) in
        [(s.latency.p50, 500.0), (s.latency.p90, 900.0), (s.latency.p99, 990.0), (s.latency.p999, 999.0)]
    {
        let ms = measured.as_secs_f64() * 1e3;
        // A bucket spans at most a quarter of a doubling: 12.5% either way.
        assert!((ms - exact).abs() <= exact * 0.125, "{ms} ms for {exact} ms");
    }
    assert_eq!(s.durations.count(), 1000);
    assert_eq!(s.durations.sum(), millis(500_500));
    assert_eq!(s.calls.success_time, millis(500_500));
    // The buckets are disjoint and add up to the count; bounds rise.
    let buckets: Vec<_> = s.durations.buckets().collect();
    assert_eq!(buckets.iter().map(|(_, n)| n).sum::<u64>(), 1000);
    let bounds: Vec<Duration> = buckets.iter().filter_map(|(upper, _)| *upper).collect();
    assert!(bounds.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(buckets.last().unwrap().0, None, "the last bucket is unbounded");
}

#[tokio::test]
async fn a_histogram_since_an_earlier_one_holds_only_the_calls_between() {
    let (breaker, clock) = manual("snap-histogram-since", Config::builder().threshold(1000));
    for _ in 0..100 {
        let _ = breaker.call(taking(&clock, millis(2), Ok(1))).await;
    }
    let before = breaker.snapshot().durations;
    for _ in 0..10 {
        let _ = breaker.call(taking(&clock, secs(3), Ok(1))).await;
    }
    let after = breaker.snapshot().durations;
    let interval = after.since(&before);
    assert_eq!(interval.count(), 10);
    assert_eq!(interval.sum(), secs(30));
    let p50 = interval.percentile(0.5);
    assert!(p50 > millis(2500) && p50 <= secs(3), "{p50:?}");
    // Over the lifetime the 2 ms calls dominate the median.
    assert!(after.percentile(0.5) <= millis(2), "{:?}", after.percentile(0.5));
    assert_eq!(breaker.snapshot().latency.p50, after.percentile(0.5));
}

#[tokio::test]
async fn call_times_are_summed_by_outcome() {
    let (breaker, clock) = manual("snap-call-times", Config::builder().threshold(1000).timeout(secs(1)));
    let _ = breaker.call(taking(&clock, millis(10), Ok(1))).await;
    let _ = breaker.call(taking(&clock, millis(20), Err(CallError::Upstream(500)))).await;
    let c = breaker.snapshot().calls;
    assert_eq!((c.success_time, c.failure_time, c.ignored_time), (millis(10), millis(20), Duration::ZERO));
}

#[test]
fn transitions_are_remembered_with_reasons_and_counted_by_pair() {
    let (breaker, clock) = manual("snap-journal", Config::builder().threshold(1).recovery_timeout(secs(5)));
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(5));
    breaker.try_acquire().unwrap().failure(); // the probe fails
    clock.advance(secs(5));
    breaker.try_acquire().unwrap().success(); // the probe succeeds
    breaker.force_open();
    let s = breaker.snapshot();
    let path: Vec<(State, State)> = s.recent_transitions.iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(
        path,
        [
            (State::Closed, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Open),
            (State::Open, State::HalfOpen),
            (State::HalfOpen, State::Closed),
            (State::Closed, State::ForcedOpen),
        ]
    );
    assert_eq!(s.recent_transitions[0].reason.to_string(), "1 consecutive failures (threshold 1)");
    assert_eq!(s.recent_transitions[0].time, wall(&clock, Duration::ZERO));
    assert_eq!(s.recent_transitions.last().unwrap().generation, s.generation);
    let count =
        |from, to| s.transitions_by.iter().find(|t| t.from == from && t.to == to).map_or(0, |t| t.count);
    assert_eq!(count(State::Open, State::HalfOpen), 2);
    assert_eq!(count(State::Closed, State::Open), 1);
    assert_eq!(count(State::HalfOpen, State::Open), 1);
    assert_eq!(count(State::Closed, State::ForcedOpen), 1);
    assert_eq!(s.transitions_by.iter().map(|t| t.count).sum::<u64>(), s.transitions);
}

#[test]
fn only_the_most_recent_transitions_are_kept() {
    let (breaker, _clock) = manual("snap-journal-bound", Config::builder().threshold(1));
    for _ in 0..50 {
        breaker.force_open();
        breaker.reset();
    }
    let s = breaker.snapshot();
    assert_eq!(s.transitions, 100);
    assert_eq!(s.recent_transitions.len(), 32);
    assert_eq!(s.recent_transitions.last().unwrap().to, State::Closed);
    assert_eq!(s.recent_transitions.first().unwrap().generation, s.generation - 31);
}
