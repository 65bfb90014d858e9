//! Concurrency with OS threads: transitions are decided once, probes are capped, and
//! no count is lost. Every loop is bounded; threads meet at barriers, never sleep.

mod common;

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};

use breaker_runtime::{CircuitBreaker, Config, Error, EventKind, Outcome, Reason, State};
use common::*;

const THREADS: usize = 16;
const ROUNDS: usize = 25;

/// `THREADS` threads are admitted while closed, then all fail at once.
fn fail_together(breaker: &CircuitBreaker) {
    let barrier = Barrier::new(THREADS);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                let permit = breaker.try_acquire().expect("closed admits");
                barrier.wait();
                permit.failure();
            });
        }
    });
}

#[test]
fn threads_failing_together_at_the_threshold_open_the_circuit_exactly_once() {
    for round in 0..ROUNDS {
        let (breaker, _clock) =
            manual(&format!("conc-threshold-{round}"), Config::builder().threshold(THREADS as u32));
        let mut events = breaker.subscribe();
        let g = breaker.snapshot().generation;
        fail_together(&breaker);
        let s = breaker.snapshot();
        assert_eq!(s.state, State::Open, "round {round}");
        assert_eq!((s.open_count, s.transitions, s.generation), (1, 1, g + 1), "round {round}");
        assert_eq!(s.window.failures, THREADS as u64, "round {round}");
        assert_eq!(
            kinds(&events.drain()),
            vec![EventKind::Transition {
                from: State::Closed,
                to: State::Open,
                reason: Reason::ConsecutiveFailures { count: THREADS as u32, threshold: THREADS as u32 },
                generation: g + 1,
            }],
            "round {round}"
        );
    }
}

#[test]
fn many_threads_crossing_a_low_threshold_together_make_one_transition() {
    for round in 0..ROUNDS {
        let (breaker, _clock) =
            manual(&format!("conc-low-threshold-{round}"), Config::builder().threshold(3));
        let mut events = breaker.subscribe();
        fail_together(&breaker);
        let received = events.drain();
        assert_eq!(received.len(), 1, "round {round}: {received:?}");
        match &received[0].kind {
            EventKind::Transition {
                from: State::Closed,
                to: State::Open,
                reason: Reason::ConsecutiveFailures { count, threshold: 3 },
                ..
            } => assert!((3..=THREADS as u32).contains(count), "round {round}: count {count}"),
            other => panic!("round {round}: {other:?}"),
        }
        let s = breaker.snapshot();
        assert_eq!((s.open_count, s.transitions), (1, 1), "round {round}");
    }
}

#[test]
fn protected_calls_on_many_threads_open_the_circuit_once() {
    for round in 0..ROUNDS {
        let (breaker, _clock) =
            manual(&format!("conc-calls-{round}"), Config::builder().threshold(4).no_timeout());
        let mut events = breaker.subscribe();
        let barrier = Barrier::new(THREADS);
        let results: Vec<CallResult> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(|| {
                        futures::executor::block_on(breaker.call(async {
                            // Every call is admitted before any of them fails.
                            barrier.wait();
                            Err(CallError::Upstream(503))
                        }))
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(results.iter().all(|r| *r == Err(CallError::Upstream(503))), "round {round}: {results:?}");
        let transitions = transitions(&events.drain());
        assert_eq!(transitions.len(), 1, "round {round}: {transitions:?}");
        assert_eq!(breaker.snapshot().open_count, 1, "round {round}");
    }
}

#[test]
fn half_open_admits_at_most_half_open_max_calls_probes_under_contention() {
    const MAX: usize = 3;
    for round in 0..ROUNDS {
        let (breaker, clock) = manual(
            &format!("conc-probes-{round}"),
            Config::builder().threshold(1).recovery_timeout(secs(1)).half_open_max_calls(MAX as u32),
        );
        breaker.try_acquire().unwrap().failure();
        clock.advance(secs(1));
        let admitted = AtomicUsize::new(0);
        let limited = AtomicUsize::new(0);
        let (start, hold) = (Barrier::new(THREADS), Barrier::new(THREADS));
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                s.spawn(|| {
                    start.wait();
                    let permit = breaker.try_acquire();
                    match &permit {
                        Ok(p) => {
                            assert!(p.is_probe());
                            admitted.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(Error::ProbeLimit { max, .. }) => {
                            assert_eq!(*max, MAX as u32);
                            limited.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(other) => panic!("{other:?}"),
                    }
                    // Hold the permits until every thread has tried.
                    hold.wait();
                    drop(permit);
                });
            }
        });
        assert_eq!(admitted.load(Ordering::SeqCst), MAX, "round {round}");
        assert_eq!(limited.load(Ordering::SeqCst), THREADS - MAX, "round {round}");
        let s = breaker.snapshot();
        assert_eq!(s.state, State::HalfOpen);
        assert_eq!(s.probes.in_flight, 0, "dropped permits gave their places back");
        assert_eq!(s.rejections.probe_limit, (THREADS - MAX) as u64);
    }
}

#[test]
fn many_threads_times_many_calls_lose_no_count() {
    const CALLS: usize = 2_000;
    // More threads than a breaker has lanes of its own on most machines.
    const MANY: usize = 48;
    let (breaker, _clock) = manual("conc-no-lost-count", Config::builder().threshold(1_000_000));
    let barrier = Barrier::new(MANY);
    std::thread::scope(|s| {
        for _ in 0..MANY {
            s.spawn(|| {
                barrier.wait();
                for i in 0..CALLS {
                    let outcome = match i % 4 {
                        0 => Outcome::Failure,
                        1 => Outcome::Ignored,
                        _ => Outcome::Success,
                    };
                    breaker.try_acquire().expect("closed").record(outcome);
                }
            });
        }
    });
    let w = breaker.snapshot().window;
    let total = (MANY * CALLS) as u64;
    assert_eq!(w.calls, total);
    assert_eq!((w.failures, w.ignored, w.successes), (total / 4, total / 4, total / 2));
    assert_eq!(w.failure_rate, 1.0 / 3.0);
}

#[test]
fn many_threads_rejected_at_once_are_all_counted() {
    const CALLS: usize = 1_000;
    let (breaker, _clock) = manual("conc-rejections", Config::builder());
    breaker.force_open();
    let barrier = Barrier::new(THREADS);
    let rejected = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..CALLS {
                    if breaker.try_acquire().is_err() {
                        rejected.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    assert_eq!(rejected.load(Ordering::Relaxed), THREADS * CALLS);
    assert_eq!(breaker.snapshot().rejections.forced, (THREADS * CALLS) as u64);
}

#[test]
fn concurrent_successes_and_failures_are_all_counted_and_open_the_circuit_at_most_once() {
    let (breaker, clock) = manual("conc-mixed", Config::builder().threshold(5).recovery_timeout(secs(1)));
    let barrier = Barrier::new(8);
    let (successes, failures) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|s| {
        for t in 0..8 {
            let (breaker, barrier, successes, failures) = (&breaker, &barrier, &successes, &failures);
            s.spawn(move || {
                barrier.wait();
                for i in 0..5_000 {
                    if let Ok(permit) = breaker.try_acquire() {
                        if (i + t) % 3 == 0 {
                            permit.success();
                            successes.fetch_add(1, Ordering::Relaxed);
                        } else {
                            permit.failure();
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    // Whatever the interleaving, five more failures in a row leave it open.
    for _ in 0..5 {
        if let Ok(permit) = breaker.try_acquire() {
            permit.failure();
            failures.fetch_add(1, Ordering::Relaxed);
        }
    }
    let s = breaker.snapshot();
    assert_eq!(s.window.successes, successes.load(Ordering::Relaxed) as u64);
    assert_eq!(s.window.failures, failures.load(Ordering::Relaxed) as u64);
    assert_eq!(s.state, State::Open);
    assert_eq!(s.open_count, 1, "no time passed, so the circuit opened once and stayed open");
    assert_eq!(s.transitions, 1);
    clock.advance(secs(1));
    assert_eq!(breaker.state(), State::HalfOpen);
}
