//! Fallbacks and fallback chains through `call_with_fallback`: when they run, in which
//! order, with which cause, within which time, and how deep they may nest.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use breaker_runtime::fallback::{self, Cause};
use breaker_runtime::{CircuitBreaker, Config, DefaultClassifier, Error, Outcome, State};
use common::*;

type Log = Arc<Mutex<Vec<Seen>>>;

/// A fallback that records its cause and answers `v`.
fn answering(log: &Log, v: u32) -> impl FnOnce(&Cause<CallError>) -> std::future::Ready<CallResult> + use<> {
    let log = log.clone();
    move |cause| {
        log.lock().unwrap().push(seen(cause));
        std::future::ready(Ok(v))
    }
}

fn new_log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn logged(log: &Log) -> Vec<Seen> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn fallback_runs_when_the_circuit_is_open_and_the_call_does_not() {
    let (breaker, _clock) = manual("fb-open", Config::builder().threshold(1).recovery_timeout(secs(30)));
    fail_times(&breaker, 1).await;
    let log = new_log();
    let runs = Arc::new(AtomicUsize::new(0));
    let result = breaker.call_with_fallback(DefaultClassifier, counted_ok(&runs), answering(&log, 99)).await;
    assert_eq!(result, Ok(99));
    assert_eq!(runs.load(Ordering::SeqCst), 0);
    assert_eq!(
        logged(&log),
        vec![Seen::Rejected(Error::CircuitOpen { service: "fb-open", retry_after: Some(secs(30)) })]
    );
    let s = breaker.snapshot();
    assert_eq!((s.fallbacks.runs, s.fallbacks.successes, s.fallbacks.failures), (1, 1, 0));
    assert_eq!(s.rejections.open, 1);
}

#[tokio::test]
async fn fallback_runs_when_the_call_times_out() {
    let (breaker, clock) = manual("fb-timeout", Config::builder().timeout(millis(100)));
    let log = new_log();
    let (result, took) =
        drive(&clock, breaker.call_with_fallback(DefaultClassifier, hanging(), answering(&log, 5))).await;
    assert_eq!((result, took), (Ok(5), millis(100)));
    assert_eq!(
        logged(&log),
        vec![Seen::TimedOut(Error::Timeout { service: "fb-timeout", timeout: millis(100) })]
    );
    let s = breaker.snapshot();
    assert_eq!((s.window.timeouts, s.window.failures), (1, 1), "the timeout still counts as a failure");
}

#[tokio::test]
async fn fallback_runs_on_a_failure_classified_error_which_still_counts() {
    let (breaker, _clock) = manual("fb-failure", Config::builder().threshold(2));
    let log = new_log();
    let result = breaker.call_with_fallback(DefaultClassifier, fail(503), answering(&log, 1)).await;
    assert_eq!(result, Ok(1));
    assert_eq!(logged(&log), vec![Seen::Failed(CallError::Upstream(503))]);
    let s = breaker.snapshot();
    assert_eq!((s.window.failures, s.consecutive_failures), (1, 1), "a fallback does not hide the failure");
}

#[tokio::test]
async fn fallback_does_not_run_on_success() {
    let (breaker, _clock) = manual("fb-success", Config::builder());
    let log = new_log();
    let result = breaker.call_with_fallback(DefaultClassifier, ok(7), answering(&log, 1)).await;
    assert_eq!(result, Ok(7));
    assert!(logged(&log).is_empty());
    assert_eq!(breaker.snapshot().fallbacks.runs, 0);
}

#[tokio::test]
async fn fallback_does_not_run_on_an_ignored_error() {
    let (breaker, _clock) = manual("fb-ignored", Config::builder());
    let log = new_log();
    let not_found_is_fine = |e: &CallError| match e {
        CallError::Upstream(404) => Outcome::Ignored,
        _ => Outcome::Failure,
    };
    let result = breaker.call_with_fallback(not_found_is_fine, fail(404), answering(&log, 1)).await;
    assert_eq!(result, Err(CallError::Upstream(404)));
    assert!(logged(&log).is_empty());
    assert_eq!(breaker.snapshot().fallbacks.runs, 0);
}

#[tokio::test]
async fn fallback_runs_on_probe_limit_and_bulkhead_rejections() {
    let (breaker, clock) =
        manual("fb-probe-limit", Config::builder().threshold(1).recovery_timeout(secs(5)).no_timeout());
    fail_times(&breaker, 1).await;
    clock.advance(secs(5));
    let probe = breaker.try_acquire().expect("probe");
    let log = new_log();
    assert_eq!(breaker.call_with_fallback(DefaultClassifier, ok(1), answering(&log, 2)).await, Ok(2));
    drop(probe);

    let (full, _clock) = manual("fb-bulkhead", Config::builder().max_concurrent(1).no_timeout());
    let mut holder = Box::pin(full.call(hanging()));
    assert!(poll_once(holder.as_mut()).is_pending());
    assert_eq!(full.call_with_fallback(DefaultClassifier, ok(1), answering(&log, 3)).await, Ok(3));
    assert_eq!(
        logged(&log),
        vec![
            Seen::Rejected(Error::ProbeLimit { service: "fb-probe-limit", max: 1 }),
            Seen::Rejected(Error::BulkheadFull { service: "fb-bulkhead", max_concurrent: 1, queue: 0 }),
        ]
    );
}

#[tokio::test]
async fn chain_is_tried_in_order_until_one_answers() {
    let (breaker, _clock) = manual("fb-chain-order", Config::builder());
    let order = Arc::new(Mutex::new(Vec::new()));
    let step = |name: &'static str, answer: CallResult| {
        let order = order.clone();
        move |_: &Cause<CallError>| {
            order.lock().unwrap().push(name);
            std::future::ready(answer)
        }
    };
    let chain = fallback::chain(step("first", Err(CallError::CacheMiss)))
        .or(step("second", Err(CallError::Upstream(502))))
        .or(step("third", Ok(3)))
        .or(step("fourth", Ok(4)));
    let result = breaker.call_with_fallback(DefaultClassifier, fail(500), chain).await;
    assert_eq!(result, Ok(3));
    assert_eq!(*order.lock().unwrap(), vec!["first", "second", "third"]);
    let s = breaker.snapshot();
    assert_eq!((s.fallbacks.runs, s.fallbacks.successes, s.fallbacks.failures), (1, 1, 0));
}

#[tokio::test]
async fn fb18_primary_500_cache_miss_then_static_response() {
    let (breaker, _clock) = manual("fb18-chain", Config::builder());
    let cache_lookups = Arc::new(AtomicUsize::new(0));
    let lookups = cache_lookups.clone();
    let primary = async { Err::<String, _>(CallError::Upstream(500)) };
    let chain = fallback::chain(move |_: &Cause<CallError>| {
        lookups.fetch_add(1, Ordering::SeqCst);
        async { Err(CallError::CacheMiss) }
    })
    .or(|_: &Cause<CallError>| async { Ok(String::from("Service temporarily unavailable")) });
    let response = breaker.call_with_fallback(DefaultClassifier, primary, chain).await;
    assert_eq!(response.as_deref(), Ok("Service temporarily unavailable"));
    assert_eq!(
        format!("Fallback response: {:?}", response.unwrap()),
        r#"Fallback response: "Service temporarily unavailable""#
    );
    assert_eq!(cache_lookups.load(Ordering::SeqCst), 1);
    let s = breaker.snapshot();
    assert_eq!((s.window.failures, s.fallbacks.runs, s.fallbacks.successes), (1, 1, 1));
}

#[tokio::test]
async fn when_every_fallback_fails_the_caller_gets_the_primary_error() {
    let (breaker, _clock) = manual("fb-all-fail", Config::builder());
    let chain = fallback::chain(|_: &Cause<CallError>| async { Err::<u32, _>(CallError::CacheMiss) })
        .or(|_: &Cause<CallError>| async { Err(CallError::Upstream(418)) });
    let result = breaker.call_with_fallback(DefaultClassifier, fail(500), chain).await;
    assert_eq!(result, Err(CallError::Upstream(500)));
    let s = breaker.snapshot();
    assert_eq!((s.fallbacks.runs, s.fallbacks.successes, s.fallbacks.failures), (1, 0, 1));
}

#[tokio::test]
async fn when_every_fallback_fails_a_rejected_caller_gets_the_rejection() {
    let (breaker, _clock) = manual("fb-all-fail-open", Config::builder());
    breaker.force_open();
    let chain = fallback::chain(|_: &Cause<CallError>| async { Err::<u32, _>(CallError::CacheMiss) });
    let result = breaker.call_with_fallback(DefaultClassifier, ok(1), chain).await;
    assert_eq!(
        result,
        Err(CallError::Breaker(Error::CircuitOpen { service: "fb-all-fail-open", retry_after: None }))
    );
}

fn explode() -> CallResult {
    panic!("the cache client panicked")
}

#[tokio::test]
async fn panicking_fallbacks_are_skipped() {
    let (breaker, _clock) = manual("fb-panics", Config::builder());
    let after = Arc::new(AtomicUsize::new(0));
    let reached = after.clone();
    // One panics while building its future, one while running it.
    let chain = fallback::chain(|_: &Cause<CallError>| std::future::ready(explode()))
        .or(|_: &Cause<CallError>| async { explode() })
        .or(move |_: &Cause<CallError>| {
            reached.fetch_add(1, Ordering::SeqCst);
            async { Ok(11) }
        });
    let result = breaker.call_with_fallback(DefaultClassifier, fail(500), chain).await;
    assert_eq!(result, Ok(11));
    assert_eq!(after.load(Ordering::SeqCst), 1);
    assert_eq!(breaker.snapshot().fallbacks.successes, 1);
}

#[tokio::test]
async fn fallback_timeout_is_shared_by_the_chain() {
    // 300 ms for three fallbacks: each gets an equal share of what is left when it
    // starts: 100 ms, then 200/2 = 100 ms, then 100/1 = 100 ms.
    let (breaker, clock) = manual("fb-shared-timeout", Config::builder().fallback_timeout(millis(300)));
    let chain = fallback::chain(|_: &Cause<CallError>| async {
        clock.sleep(secs(3600)).await;
        CallResult::Ok(1)
    })
    .or(|_: &Cause<CallError>| async {
        clock.sleep(millis(101)).await;
        Ok(2)
    })
    .or(|_: &Cause<CallError>| async {
        clock.sleep(millis(10)).await;
        Ok(3)
    });
    let (result, took) = drive(&clock, breaker.call_with_fallback(DefaultClassifier, fail(500), chain)).await;
    assert_eq!((result, took), (Ok(3), millis(210)));
}

#[tokio::test]
async fn fallback_chain_that_runs_out_of_time_returns_the_primary_error() {
    let (breaker, clock) = manual("fb-out-of-time", Config::builder().fallback_timeout(millis(300)));
    let slow = |_: &Cause<CallError>| async {
        clock.sleep(secs(3600)).await;
        CallResult::Ok(1)
    };
    let chain = fallback::chain(slow).or(slow);
    let (result, took) = drive(&clock, breaker.call_with_fallback(DefaultClassifier, fail(500), chain)).await;
    assert_eq!((result, took), (Err(CallError::Upstream(500)), millis(300)));
    assert_eq!(breaker.snapshot().fallbacks.failures, 1);
}

type Nested = Pin<Box<dyn Future<Output = CallResult>>>;

/// A protected call that always fails, whose fallback calls `nested` again one level
/// deeper. Every level logs what its call returned.
fn nested(breaker: CircuitBreaker, level: u32, log: Arc<Mutex<Vec<(u32, CallResult)>>>) -> Nested {
    Box::pin(async move {
        let (inner, inner_log) = (breaker.clone(), log.clone());
        let result = breaker
            .call_with_fallback(DefaultClassifier, fail(500), move |_: &Cause<CallError>| {
                nested(inner, level + 1, inner_log)
            })
            .await;
        log.lock().unwrap().push((level, result.clone()));
        result
    })
}

#[tokio::test]
async fn nested_fallbacks_stop_with_fallback_depth_exceeded_after_fallback_depth_levels() {
    let (breaker, _clock) = manual("fb-depth", Config::builder().threshold(100).fallback_depth(3));
    let log = Arc::new(Mutex::new(Vec::new()));
    let result = nested(breaker.clone(), 0, log.clone()).await;
    // Levels 0, 1 and 2 ran a fallback (depth 1, 2, 3); level 3 may not.
    let exceeded = Err(CallError::Breaker(Error::FallbackDepthExceeded { service: "fb-depth", depth: 3 }));
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            (3, exceeded),
            (2, Err(CallError::Upstream(500))),
            (1, Err(CallError::Upstream(500))),
            (0, Err(CallError::Upstream(500))),
        ]
    );
    assert_eq!(result, Err(CallError::Upstream(500)));
    let s = breaker.snapshot();
    assert_eq!(s.window.failures, 4, "four protected calls ran");
    assert_eq!(
        (s.fallbacks.runs, s.fallbacks.successes, s.fallbacks.failures, s.fallbacks.depth_exceeded),
        (3, 0, 3, 1)
    );
}

#[tokio::test]
async fn fallback_depth_one_allows_exactly_one_level() {
    let (breaker, _clock) = manual("fb-depth-one", Config::builder().threshold(100).fallback_depth(1));
    let log = Arc::new(Mutex::new(Vec::new()));
    let _ = nested(breaker.clone(), 0, log.clone()).await;
    let levels: Vec<_> = log.lock().unwrap().iter().map(|(level, r)| (*level, r.clone())).collect();
    assert_eq!(
        levels,
        vec![
            (1, Err(CallError::Breaker(Error::FallbackDepthExceeded { service: "fb-depth-one", depth: 1 }))),
            (0, Err(CallError::Upstream(500))),
        ]
    );
    assert_eq!((breaker.snapshot().fallbacks.runs, breaker.snapshot().fallbacks.depth_exceeded), (1, 1));
}

#[tokio::test]
async fn sequential_fallbacks_do_not_accumulate_depth() {
    let (breaker, _clock) = manual("fb-depth-sequential", Config::builder().threshold(100).fallback_depth(1));
    for _ in 0..10 {
        let result = breaker
            .call_with_fallback(DefaultClassifier, fail(500), |_: &Cause<CallError>| async {
                CallResult::Ok(1)
            })
            .await;
        assert_eq!(result, Ok(1));
    }
    let s = breaker.snapshot();
    assert_eq!((s.fallbacks.runs, s.fallbacks.successes, s.fallbacks.depth_exceeded), (10, 10, 0));
}

#[tokio::test]
async fn fallback_counters_add_up_across_calls() {
    let (breaker, _clock) = manual("fb-counters", Config::builder().threshold(3));
    let ok_fallback = |_: &Cause<CallError>| async { CallResult::Ok(0) };
    let failing_fallback = |_: &Cause<CallError>| async { CallResult::Err(CallError::CacheMiss) };
    let _ = breaker.call_with_fallback(DefaultClassifier, fail(500), ok_fallback).await;
    let _ = breaker.call_with_fallback(DefaultClassifier, fail(500), failing_fallback).await;
    let _ = breaker.call_with_fallback(DefaultClassifier, ok(1), ok_fallback).await; // no fallback
    let _ = breaker.call_with_fallback(DefaultClassifier, fail(500), ok_fallback).await;
    let _ = breaker.call_with_fallback(DefaultClassifier, fail(500), ok_fallback).await;
    let _ = breaker.call_with_fallback(DefaultClassifier, fail(500), failing_fallback).await; // opens
    assert_eq!(breaker.state(), State::Open);
    let rejected = breaker.call_with_fallback(DefaultClassifier, ok(1), ok_fallback).await;
    assert_eq!(rejected, Ok(0));
    let s = breaker.snapshot();
    assert_eq!((s.fallbacks.runs, s.fallbacks.successes, s.fallbacks.failures), (6, 4, 2));
    assert_eq!((s.window.failures, s.window.successes, s.rejections.open), (5, 1, 1));
}

/// Sets its flag when dropped: what a body holds (a lock guard, a connection).
struct Held(Arc<std::sync::atomic::AtomicBool>);

impl Drop for Held {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_body_cut_by_its_timeout_is_dropped_before_the_first_fallback_starts() {
    let (breaker, clock) = manual("fb-cut-body", Config::builder().timeout(millis(100)));
    let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    let body = {
        let held = Held(released.clone());
        let lock = lock.clone();
        async move {
            let _guard = lock.lock().await;
            let _held = held;
            std::future::pending::<CallResult>().await
        }
    };
    let fallback = {
        let released = released.clone();
        let lock = lock.clone();
        move |_: &Cause<CallError>| async move {
            assert!(released.load(Ordering::SeqCst), "the timed-out body is still alive");
            // The lock the body held is free: this would wait forever otherwise.
            let _guard = lock.lock().await;
            Ok(7)
        }
    };
    // The fallback gets the lock the timed-out body held (it would wait forever, and
    // `drive` would fail, otherwise).
    let (answer, took) = drive(&clock, breaker.call_with_fallback(DefaultClassifier, body, fallback)).await;
    assert_eq!((answer, took), (Ok(7), millis(100)));
}

/// A protected call whose fallback hands the call back to the breaker from another
/// task, carrying the fallback depth across (or not).
fn spawned(breaker: CircuitBreaker, carry: bool) -> Pin<Box<dyn Future<Output = CallResult> + Send>> {
    Box::pin(async move {
        let again = breaker.clone();
        breaker
            .call_with_fallback(DefaultClassifier, fail(500), move |_: &Cause<CallError>| async move {
                let work = spawned(again, carry);
                let handle = if carry {
                    tokio::spawn(fallback::Depth::current().scope(work))
                } else {
                    tokio::spawn(work)
                };
                handle.await.expect("the spawned call does not panic")
            })
            .await
    })
}

#[tokio::test]
async fn fallback_depth_holds_across_tasks_when_the_fallback_carries_it() {
    let (breaker, _clock) = manual("fb-depth-spawn", Config::builder().threshold(1000).fallback_depth(3));
    let answer = tokio::time::timeout(secs(10), spawned(breaker.clone(), true))
        .await
        .expect("the recursion through spawned tasks ended");
    assert_eq!(answer, Err(CallError::Upstream(500)));
    let s = breaker.snapshot();
    assert_eq!((s.fallbacks.runs, s.fallbacks.depth_exceeded), (3, 1), "three levels, then the limit");
    assert_eq!(s.window.failures, 4);
}

#[tokio::test]
async fn a_spawned_task_starts_at_depth_zero_unless_the_depth_is_carried() {
    let (breaker, _clock) = manual("fb-depth-reads", Config::builder().threshold(1000));
    let seen = breaker
        .call_with_fallback(DefaultClassifier, fail(500), |_: &Cause<CallError>| async {
            let here = fallback::Depth::current().get();
            let plain = tokio::spawn(async { fallback::Depth::current().get() }).await.unwrap();
            let carried =
                tokio::spawn(fallback::Depth::current().scope(async { fallback::Depth::current().get() }))
                    .await
                    .unwrap();
            Ok(here * 100 + plain * 10 + carried)
        })
        .await;
    assert_eq!(seen, Ok(101), "inside the fallback 1, in a plain spawned task 0, carried 1");
    assert_eq!(fallback::Depth::current().get(), 0);
}
