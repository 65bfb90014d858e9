//! Loom models of admission and transitions.
//!
//! Run with
//! `RUSTFLAGS="--cfg loom" cargo test -p breaker-runtime --release --target-dir target/loom --test loom`.
//! Under `--cfg loom` the breaker's atomics and mutexes are loom's and every thread
//! records on the shared lane, so each model explores the interleavings of the threads
//! it starts. Everything loom tracks (the breaker, its clock) is created inside the
//! model, and on the manual clock.
#![cfg(loom)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool as StdAtomicBool, Ordering as StdOrdering};
use std::time::Duration;

use breaker_runtime::{
    CircuitBreaker, Config, ConfigBuilder, Error, EventKind, Events, ManualClock, Reason, State,
};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::thread;

const RECOVERY: Duration = Duration::from_secs(1);

/// Explores every interleaving with at most `preemptions` preemptions: bounded so each
/// model runs in seconds (the races here need one or two).
fn check(preemptions: usize, model: impl Fn() + Send + Sync + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(preemptions);
    builder.check(model);
}

/// Which of two ways a race can go some execution of a model went, to show that the
/// model explored both (std atomics: they outlive the model's executions).
struct BothWays([StdAtomicBool; 2]);

impl BothWays {
    const fn new() -> BothWays {
        BothWays([StdAtomicBool::new(false), StdAtomicBool::new(false)])
    }

    fn saw(&self, way: bool) {
        self.0[usize::from(way)].store(true, StdOrdering::Relaxed);
    }

    fn assert_both(&self, what: &str) {
        let [no, yes] = &self.0;
        assert!(
            no.load(StdOrdering::Relaxed) && yes.load(StdOrdering::Relaxed),
            "{what}: one way never explored"
        );
    }
}

/// A breaker on a new manual clock: no timeout, no bulkhead, a 1 s recovery timeout,
/// and a one-bucket window (the window plays no part in these models; fewer buckets are
/// fewer atomics for loom to track).
fn breaker(
    service: &str,
    configure: impl FnOnce(ConfigBuilder) -> ConfigBuilder,
) -> (CircuitBreaker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let builder = Config::builder().no_timeout().no_bulkhead().recovery_timeout(RECOVERY);
    let mut config = configure(builder).build().expect("valid configuration");
    config.window = Duration::from_secs(1);
    config.buckets = 1;
    let breaker = CircuitBreaker::with_clock(service, config, clock.clone()).expect("valid breaker");
    (breaker, clock)
}

/// Opens the circuit with one failure (threshold 1) and lets the recovery timeout pass.
fn make_half_open(breaker: &CircuitBreaker, clock: &ManualClock) {
    breaker.try_acquire().expect("closed").failure();
    assert_eq!(breaker.state(), State::Open);
    clock.advance(RECOVERY);
    assert_eq!(breaker.state(), State::HalfOpen);
}

/// The transition events waiting for `events`: (from, to, reason, generation).
fn transitions(events: &mut Events) -> Vec<(State, State, Reason, u64)> {
    events
        .drain()
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::Transition { from, to, reason, generation } => Some((from, to, reason, generation)),
            _ => None,
        })
        .collect()
}

/// `threads` threads (the model's own included) each record one failure at once, with
/// threshold = `threads`: one closed -> open transition, one event.
fn threshold_crossed_together(service: &'static str, threads: u32) {
    check(3, move || {
        let (breaker, _clock) = breaker(service, |c| c.threshold(threads));
        let mut events = breaker.subscribe();
        let generation = breaker.snapshot().generation;
        let others: Vec<_> = (1..threads)
            .map(|_| {
                let breaker = breaker.clone();
                thread::spawn(move || breaker.try_acquire().expect("closed until all have failed").failure())
            })
            .collect();
        breaker.try_acquire().expect("closed until all have failed").failure();
        for other in others {
            other.join().unwrap();
        }

        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.state, State::Open);
        assert_eq!(snapshot.transitions, 1);
        assert_eq!(snapshot.open_count, 1);
        assert_eq!(snapshot.generation, generation + 1);
        let reason = Reason::ConsecutiveFailures { count: threads, threshold: threads };
        assert_eq!(transitions(&mut events), [(State::Closed, State::Open, reason, generation + 1)]);
    });
}

#[test]
fn two_threads_crossing_the_threshold_together_open_the_circuit_once() {
    threshold_crossed_together("loom-threshold-2", 2);
}

#[test]
fn three_threads_crossing_the_threshold_together_open_the_circuit_once() {
    threshold_crossed_together("loom-threshold-3", 3);
}

/// Three threads each record a failure with threshold 1: every one that was admitted
/// crosses the threshold, and still the circuit opens once. (A thread that asks after
/// the opening is rejected and records nothing.)
#[test]
fn failures_all_over_the_threshold_at_once_open_the_circuit_once() {
    check(3, || {
        let (breaker, _clock) = breaker("loom-threshold-1", |c| c.threshold(1));
        let mut events = breaker.subscribe();
        let generation = breaker.snapshot().generation;
        let fail = |breaker: &CircuitBreaker| match breaker.try_acquire() {
            Ok(permit) => permit.failure(),
            Err(Error::CircuitOpen { .. }) => {}
            Err(e) => panic!("unexpected rejection {e:?}"),
        };
        let others: Vec<_> = (0..2)
            .map(|_| {
                let breaker = breaker.clone();
                thread::spawn(move || fail(&breaker))
            })
            .collect();
        fail(&breaker);
        for other in others {
            other.join().unwrap();
        }

        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.state, State::Open);
        assert_eq!((snapshot.transitions, snapshot.open_count), (1, 1));
        assert_eq!(snapshot.generation, generation + 1);
        let seen = transitions(&mut events);
        assert_eq!(seen.len(), 1, "{seen:?}");
        assert_eq!((seen[0].0, seen[0].1, seen[0].3), (State::Closed, State::Open, generation + 1));
    });
}

/// `threads` threads ask a half-open circuit with one probe place for a probe at once,
/// each keeping what it gets: exactly one is admitted, the others get `ProbeLimit`, and
/// no one ever sees more than one probe in flight.
fn probes_raced(service: &'static str, threads: usize) {
    check(3, move || {
        let (breaker, clock) = breaker(service, |c| c.threshold(1).half_open_max_calls(1));
        make_half_open(&breaker, &clock);
        let generation = breaker.snapshot().generation;
        let admitted = Arc::new(AtomicUsize::new(0));
        let race = move |breaker: CircuitBreaker, admitted: Arc<AtomicUsize>| match breaker.try_acquire() {
            Ok(permit) => {
                assert!(permit.is_probe());
                admitted.fetch_add(1, Ordering::Relaxed);
                let in_flight = breaker.snapshot().probes.in_flight;
                assert_eq!(in_flight, 1, "a probe holder sees its own probe, and only it");
                // Held to the end: no place is given back during the race.
                std::mem::forget(permit);
            }
            Err(Error::ProbeLimit { max: 1, .. }) => {
                assert!(breaker.snapshot().probes.in_flight <= 1);
            }
            Err(other) => panic!("a half-open circuit answered {other:?}"),
        };
        let others: Vec<_> = (1..threads)
            .map(|_| {
                let (breaker, admitted) = (breaker.clone(), admitted.clone());
                thread::spawn(move || race(breaker, admitted))
            })
            .collect();
        race(breaker.clone(), admitted.clone());
        for other in others {
            other.join().unwrap();
        }

        assert_eq!(admitted.load(Ordering::Relaxed), 1);
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.state, State::HalfOpen);
        assert_eq!(snapshot.probes.in_flight, 1);
        assert_eq!(snapshot.rejections.probe_limit, threads as u64 - 1);
        assert_eq!(snapshot.generation, generation);
    });
}

#[test]
fn two_threads_racing_for_one_probe_place_admit_one() {
    probes_raced("loom-probe-race-2", 2);
}

#[test]
fn three_threads_racing_for_one_probe_place_admit_one() {
    probes_raced("loom-probe-race-3", 3);
}

/// A probe permit dropped unrecorded on one thread while another thread asks for a
/// probe: the place comes back, and nothing is recorded.
#[test]
fn cancelled_probe_gives_its_place_back_and_records_nothing() {
    static ASKER_ADMITTED: BothWays = BothWays::new();
    check(3, || {
        let (breaker, clock) = breaker("loom-cancelled-probe", |c| c.threshold(1).half_open_max_calls(1));
        make_half_open(&breaker, &clock);
        let before = breaker.snapshot();
        let probe = breaker.try_acquire().expect("the one probe place is free");
        assert!(probe.is_probe());

        let other = breaker.clone();
        let asker = thread::spawn(move || match other.try_acquire() {
            // After the drop: the place is free again. Cancel this one too.
            Ok(permit) => {
                assert!(permit.is_probe());
                drop(permit);
                true
            }
            Err(Error::ProbeLimit { .. }) => false,
            Err(e) => panic!("a half-open circuit answered {e:?}"),
        });
        drop(probe);
        let asker_admitted = asker.join().unwrap();
        ASKER_ADMITTED.saw(asker_admitted);

        let after = breaker.snapshot();
        assert_eq!(after.state, State::HalfOpen);
        assert_eq!(after.generation, before.generation);
        assert_eq!(after.transitions, before.transitions);
        assert_eq!(after.probes.in_flight, 0);
        assert_eq!(after.probes.successes, 0);
        assert_eq!(after.rejections.probe_limit, u64::from(!asker_admitted));
        // Exactly one new probe.
        let probe = breaker.try_acquire().expect("the place was given back");
        assert!(probe.is_probe());
        assert!(matches!(breaker.try_acquire(), Err(Error::ProbeLimit { .. })));
        drop(probe);
    });
    ASKER_ADMITTED.assert_both("asking before or after the drop");
}

/// With two probe places, one probe is cancelled while another thread takes and then
/// cancels a probe: every probe held is counted, and both places come back.
#[test]
fn probe_places_stay_counted_under_concurrent_admission_and_cancellation() {
    check(3, || {
        let (breaker, clock) = breaker("loom-probe-places", |c| c.threshold(1).half_open_max_calls(2));
        make_half_open(&breaker, &clock);
        let before = breaker.snapshot();
        let probe = breaker.try_acquire().expect("two places free");

        let other = breaker.clone();
        let asker = thread::spawn(move || {
            let permit = other.try_acquire().expect("a place is free");
            assert!(permit.is_probe());
            let in_flight = other.snapshot().probes.in_flight;
            assert!((1..=2).contains(&in_flight), "a held probe is counted: {in_flight} in flight");
            drop(permit);
        });
        drop(probe);
        asker.join().unwrap();

        let after = breaker.snapshot();
        assert_eq!(after.state, State::HalfOpen);
        assert_eq!(after.generation, before.generation);
        assert_eq!(after.probes.in_flight, 0);
        let (a, b) = (breaker.try_acquire(), breaker.try_acquire());
        assert!(a.is_ok() && b.is_ok(), "both places came back");
        assert!(matches!(breaker.try_acquire(), Err(Error::ProbeLimit { max: 2, .. })));
    });
}

/// Permits taken while closed; another thread opens the circuit while one of them
/// records a success, and the other records a success after: neither closes the
/// circuit or moves its generation.
#[test]
fn stale_success_from_the_closed_generation_leaves_the_circuit_open() {
    static STALE_EXPLORED: StdAtomicBool = StdAtomicBool::new(false);
    check(3, || {
        let (breaker, _clock) = breaker("loom-stale-success", |c| c.threshold(1));
        let generation = breaker.snapshot().generation;
        let racing = breaker.try_acquire().expect("closed");
        let late = breaker.try_acquire().expect("closed");

        // Set once the circuit is open. Loom runs a write before another thread's read
        // only if that read is the object's last access, and the opener reads the state
        // word itself before writing it: this flag, written only by the opener and read
        // only here, makes loom run the whole opening before the success in some
        // executions (checked below). Before the failure the success is a plain one (the
        // count is 0 anyway); after it, stale.
        let opened = Arc::new(AtomicBool::new(false));
        let (other, opened_by_other) = (breaker.clone(), opened.clone());
        let opener = thread::spawn(move || {
            other.try_acquire().expect("only a failure opens").failure();
            opened_by_other.store(true, Ordering::Release);
        });
        if opened.load(Ordering::Acquire) {
            STALE_EXPLORED.store(true, StdOrdering::Relaxed);
        }
        racing.success();
        opener.join().unwrap();
        assert_eq!(breaker.state(), State::Open);
        late.success();

        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.state, State::Open);
        assert_eq!(snapshot.generation, generation + 1);
        assert_eq!(snapshot.transitions, 1);
        assert_eq!(snapshot.open_count, 1);
    });
    assert!(STALE_EXPLORED.load(StdOrdering::Relaxed), "no execution recorded the success after the opening");
}

/// Two probes of one half-open period finish at once, one failing and one
/// succeeding: whichever lands first decides (reopen or close) in one transition, and
/// the other is stale (or, after a close, a call of the new closed period).
#[test]
fn racing_probe_outcomes_leave_half_open_once() {
    static SUCCESS_FIRST: BothWays = BothWays::new();
    check(3, || {
        let (breaker, clock) =
            breaker("loom-probe-outcomes", |c| c.threshold(1).half_open_max_calls(2).success_threshold(1));
        make_half_open(&breaker, &clock);
        let mut events = breaker.subscribe();
        let before = breaker.snapshot();
        let generation = before.generation;

        let other = breaker.clone();
        // Always admitted: as a probe, or (if the success closed the circuit first) as a
        // call of the new closed period.
        let failing = thread::spawn(move || other.try_acquire().expect("admitted").failure());
        let succeeded = match breaker.try_acquire() {
            Ok(permit) => {
                let probe = permit.is_probe();
                permit.success();
                probe
            }
            // The failure reopened the circuit first.
            Err(Error::CircuitOpen { .. }) => false,
            Err(e) => panic!("unexpected rejection {e:?}"),
        };
        failing.join().unwrap();

        let snapshot = breaker.snapshot();
        let seen = transitions(&mut events);
        assert!(seen.len() == 1 || seen.len() == 2, "{seen:?}");
        let (from, to, _, first) = seen[0].clone();
        SUCCESS_FIRST.saw(to == State::Closed);
        assert_eq!((from, first), (State::HalfOpen, generation + 1));
        match to {
            // The success was first; the failure came as a stale probe (nothing), or as
            // a call of the new closed period (one failure: threshold 1 opens again).
            State::Closed => {
                assert!(succeeded);
                if seen.len() == 2 {
                    assert_eq!(seen[1].1, State::Open);
                    assert_eq!(seen[1].2, Reason::ConsecutiveFailures { count: 1, threshold: 1 });
                }
            }
            // The failure was first; the success was stale or rejected.
            State::Open => {
                assert_eq!(seen[0].2, Reason::ProbeFailed);
                assert_eq!(seen.len(), 1, "{seen:?}");
            }
            other => panic!("a probe outcome moved the circuit to {other:?}"),
        }
        assert_eq!(snapshot.transitions, before.transitions + seen.len() as u64);
        assert_eq!(snapshot.generation, generation + seen.len() as u64);
        assert_eq!(snapshot.state, seen.last().map(|t| t.1).unwrap());
    });
    SUCCESS_FIRST.assert_both("the success or the failure first");
}

/// A queued call that leaves (its queue timeout, or a drop) while the place's holder
/// ends and a new call arrives: the new call gets the place, at once or when it is
/// polled again. It was left queued with the place free when the leaver's waiting
/// count fell after the newcomer had joined the queue (a lost hand-over).
#[test]
fn a_call_leaving_the_queue_never_strands_the_next_one() {
    use std::task::{Context, Poll, Waker};
    check(2, || {
        let (breaker, _clock) = breaker("loom-bulkhead-leave", |c| {
            c.max_concurrent(1).queue(2).queue_timeout(Duration::from_secs(1))
        });
        // 'static, so the calls can go to other threads (one small breaker per run).
        let breaker: &'static CircuitBreaker = Box::leak(Box::new(breaker));
        let mut cx = Context::from_waker(Waker::noop());
        let mut holder = Box::pin(breaker.call(std::future::pending::<Result<u32, Error>>()));
        assert!(holder.as_mut().poll(&mut cx).is_pending());
        let mut leaver = Box::pin(breaker.call(async { Ok::<u32, Error>(2) }));
        assert!(leaver.as_mut().poll(&mut cx).is_pending(), "queued behind the holder");
        let leaving = thread::spawn(move || drop(leaver));
        let ending = thread::spawn(move || drop(holder));
        let mut next = Box::pin(breaker.call(async { Ok::<u32, Error>(3) }));
        let first = next.as_mut().poll(&mut cx);
        leaving.join().unwrap();
        ending.join().unwrap();
        match first {
            Poll::Ready(answer) => assert_eq!(answer.ok(), Some(3)),
            Poll::Pending => {
                let again = next.as_mut().poll(&mut cx);
                assert!(matches!(again, Poll::Ready(Ok(3))), "stranded in the queue with the place free");
            }
        }
    });
}
