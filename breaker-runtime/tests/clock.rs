//! Time: intervals run on monotonic time only, so wall-clock jumps change nothing.

mod common;

use std::sync::Arc;
use std::time::Duration;

use breaker_runtime::{Clock, Config, EventKind, Instant, ManualClock, State};
use common::*;

#[test]
fn wall_clock_jumps_neither_shorten_nor_stretch_the_recovery_timeout() {
    let (breaker, clock) = manual("clk-jumps", Config::builder().threshold(1).recovery_timeout(secs(30)));
    let mut events = breaker.subscribe();
    breaker.try_acquire().unwrap().failure(); // opens at 0 s
    clock.jump_wall_clock(7200); // two hours forward
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.snapshot().retry_after, Some(secs(30)));
    clock.advance(secs(20));
    clock.jump_wall_clock(-1800); // half an hour back
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.retry_after, Some(secs(10)));
    clock.advance(secs(10) - Duration::from_nanos(1));
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_nanos(1));
    assert_eq!(breaker.state(), State::HalfOpen);
    let opened_and_recovered: Vec<Instant> = events
        .drain()
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Transition { .. }))
        .map(|e| e.at)
        .collect();
    assert_eq!(opened_and_recovered, vec![at(Duration::ZERO), at(secs(30))]);
}

#[test]
fn a_backward_wall_clock_jump_does_not_hold_a_circuit_open() {
    let (breaker, clock) = manual("clk-backward", Config::builder().threshold(1).recovery_timeout(secs(5)));
    breaker.try_acquire().unwrap().failure();
    clock.jump_wall_clock(-86_400);
    clock.advance(secs(5));
    assert_eq!(breaker.state(), State::HalfOpen);
}

#[test]
fn wall_clock_jumps_do_not_move_window_buckets() {
    let (breaker, clock) = manual(
        "clk-window",
        Config::builder().threshold(100).window(secs(10)).buckets(10).failure_rate(1.0).min_calls(100),
    );
    for _ in 0..3 {
        breaker.try_acquire().unwrap().failure();
    }
    clock.jump_wall_clock(3600);
    assert_eq!(breaker.snapshot().window.failures, 3, "an hour forward on the wall clock expires nothing");
    clock.jump_wall_clock(-7200);
    breaker.try_acquire().unwrap().success();
    let w = breaker.snapshot().window;
    assert_eq!((w.calls, w.failures), (4, 3));
}

#[test]
fn display_timestamps_follow_the_wall_clock() {
    let (breaker, clock) = manual("clk-display", Config::builder().threshold(1));
    breaker.try_acquire().unwrap().failure();
    let before = breaker.snapshot().state_since;
    clock.jump_wall_clock(60);
    let after = breaker.snapshot().state_since;
    assert_eq!(after.duration_since(before).unwrap(), secs(60));
    assert_eq!(after, clock.system_time(Instant::ZERO));
}

#[test]
fn manual_clock_time_never_goes_back() {
    let clock = Arc::new(ManualClock::new());
    clock.advance(secs(10));
    clock.advance_to(at(secs(3)));
    assert_eq!(clock.now(), at(secs(10)));
    clock.advance_to(at(secs(12)));
    assert_eq!(clock.now(), at(secs(12)));
}

#[test]
fn advance_to_runs_a_due_recovery() {
    let (breaker, clock) = manual("clk-advance-to", Config::builder().threshold(1).recovery_timeout(secs(7)));
    breaker.try_acquire().unwrap().failure();
    let mut events = breaker.subscribe();
    clock.advance_to(at(secs(7)));
    assert_eq!(transitions(&events.drain()).len(), 1);
    assert_eq!(clock.pending_wakeups(), 0);
}

/// A user's clock that cannot schedule wakeups (the trait's default `wake_at` drops
/// them): breakers must still recover, lazily, when called or inspected.
#[derive(Debug, Default)]
struct StepClock(std::sync::atomic::AtomicU64);

impl StepClock {
    fn step(&self, d: Duration) {
        self.0.fetch_add(u64::try_from(d.as_nanos()).unwrap(), std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for StepClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.0.load(std::sync::atomic::Ordering::SeqCst))
    }
}

#[tokio::test]
async fn without_wakeups_the_next_call_after_the_recovery_timeout_becomes_the_probe() {
    let clock = std::sync::Arc::new(StepClock::default());
    let config = Config::builder().threshold(1).recovery_timeout(secs(5)).build().unwrap();
    let breaker =
        breaker_runtime::CircuitBreaker::with_clock("clk-lazy-probe", config, clock.clone()).unwrap();
    let mut events = breaker.subscribe();
    fail_times(&breaker, 1).await;
    clock.step(secs(5));
    // No wakeup ran and nobody looked: the call itself finds the timeout passed.
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    assert_eq!(breaker.state(), State::Closed);
    let moves: Vec<_> = transitions(&events.drain())
        .into_iter()
        .map(|k| match k {
            EventKind::Transition { from, to, .. } => (from, to),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        moves,
        vec![(State::Closed, State::Open), (State::Open, State::HalfOpen), (State::HalfOpen, State::Closed)]
    );
}

#[test]
fn without_wakeups_inspection_shows_half_open_after_the_recovery_timeout() {
    let clock = std::sync::Arc::new(StepClock::default());
    let config = Config::builder().threshold(1).recovery_timeout(secs(5)).build().unwrap();
    let breaker =
        breaker_runtime::CircuitBreaker::with_clock("clk-lazy-state", config, clock.clone()).unwrap();
    breaker.try_acquire().unwrap().failure();
    clock.step(secs(5));
    assert_eq!(breaker.snapshot().state, State::HalfOpen);
}

/// A clock whose cheap reading lags behind its precise one by a settable amount, as the
/// real clock's coarse reading does when its thread is starved of CPU.
#[derive(Debug, Default)]
struct LaggingClock {
    now: std::sync::atomic::AtomicU64,
    lag: std::sync::atomic::AtomicU64,
}

impl LaggingClock {
    fn set(&self, now: Duration, lag: Duration) {
        use std::sync::atomic::Ordering::SeqCst;
        self.now.store(now.as_nanos() as u64, SeqCst);
        self.lag.store(lag.as_nanos() as u64, SeqCst);
    }
}

impl Clock for LaggingClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.now.load(std::sync::atomic::Ordering::SeqCst))
    }

    fn recent(&self) -> Instant {
        use std::sync::atomic::Ordering::SeqCst;
        Instant::from_nanos(self.now.load(SeqCst).saturating_sub(self.lag.load(SeqCst)))
    }
}

#[test]
fn a_recovery_timeout_never_ends_early_when_the_cheap_reading_lags() {
    let clock = std::sync::Arc::new(LaggingClock::default());
    let config = Config::builder().threshold(1).recovery_timeout(millis(10)).build().unwrap();
    let breaker = breaker_runtime::CircuitBreaker::with_clock("clk-lagging", config, clock.clone()).unwrap();
    // The failure is recorded while the cheap reading is 6 ms behind: it opens at 1 s.
    clock.set(secs(1), millis(6));
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), State::Open);
    // The lag is gone; 9.999 ms after opening, the circuit is still open...
    clock.set(secs(1) + millis(10) - Duration::from_micros(1), Duration::ZERO);
    assert_eq!(breaker.state(), State::Open, "half-open before the recovery timeout passed");
    assert!(breaker.try_acquire().is_err(), "a probe let through early");
    // ...and half-open once 10 ms have passed.
    clock.set(secs(1) + millis(10), Duration::ZERO);
    assert_eq!(breaker.state(), State::HalfOpen);
}
