//! Dropping a protected call's future before it completes cancels the call: nothing is
//! recorded, a probe place is given back, and cancellation is never a failure. A body
//! that panics is treated the same way, and its panic reaches the caller.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use breaker_runtime::{Error, State, circuit_breaker};
use common::{ApiError, breaker, recover_quickly, transition_to};

/// Polls `future` once: the call is admitted and its body starts.
fn poll_once<F: Future>(future: &mut Pin<Box<F>>) -> Poll<F::Output> {
    future.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

static STARTED: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "cancel-closed", threshold = 1)]
async fn never_answers(fail: bool) -> Result<(), ApiError> {
    STARTED.fetch_add(1, Ordering::SeqCst);
    if fail {
        return Err(ApiError::Down(0));
    }
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test]
async fn dropping_a_call_mid_flight_records_nothing() {
    let before = breaker("cancel-closed").snapshot();
    for _ in 0..5 {
        let mut call = Box::pin(never_answers(false));
        assert!(poll_once(&mut call).is_pending());
        drop(call);
    }
    assert_eq!(STARTED.load(Ordering::SeqCst), 5, "the bodies did not start");
    let after = breaker("cancel-closed").snapshot();
    assert_eq!(after.window, before.window, "a cancelled call was recorded");
    assert_eq!(after.consecutive_failures, 0);
    assert_eq!(after.state, State::Closed, "threshold 1: a cancellation counted as a failure");
    assert_eq!(after.bulkhead.in_use, 0, "a cancelled call kept its bulkhead place");
    assert_eq!(after.last_failure, None);
}

#[circuit_breaker(service = "cancel-timeout", threshold = 1, timeout = "1s")]
async fn slow_with_timeout() -> Result<(), ApiError> {
    tokio::time::sleep(Duration::from_secs(30)).await;
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn dropping_a_call_waiting_on_its_timeout_records_nothing() {
    let mut call = Box::pin(slow_with_timeout());
    assert!(poll_once(&mut call).is_pending());
    drop(call);
    tokio::time::advance(Duration::from_secs(5)).await;
    let snapshot = breaker("cancel-timeout").snapshot();
    assert_eq!((snapshot.window.calls, snapshot.window.timeouts), (0, 0));
    assert_eq!(snapshot.state, State::Closed);
}

static PROBES: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "cancel-probe", threshold = 1)]
async fn probe(hang: bool, ok: bool) -> Result<u32, ApiError> {
    PROBES.fetch_add(1, Ordering::SeqCst);
    if hang {
        std::future::pending::<()>().await;
    }
    if ok { Ok(1) } else { Err(ApiError::Down(1)) }
}

#[tokio::test]
async fn a_dropped_probe_gives_its_place_back_and_decides_nothing() {
    let _ = probe(false, false).await;
    let mut events = breaker("cancel-probe").subscribe();
    recover_quickly("cancel-probe");
    transition_to(&mut events, State::HalfOpen).await;

    // The one probe place (half_open_max_calls = 1) is taken by a hanging call.
    let mut hanging = Box::pin(probe(true, true));
    assert!(poll_once(&mut hanging).is_pending());
    assert_eq!(breaker("cancel-probe").snapshot().probes.in_flight, 1);
    let refused = probe(false, true).await;
    assert_eq!(refused, Err(ApiError::Breaker(Error::ProbeLimit { service: "cancel-probe", max: 1 })));

    drop(hanging);
    let snapshot = breaker("cancel-probe").snapshot();
    assert_eq!(snapshot.state, State::HalfOpen, "a cancelled probe decided the state");
    assert_eq!(snapshot.probes.in_flight, 0, "a cancelled probe kept its place");

    let runs = PROBES.load(Ordering::SeqCst);
    assert_eq!(probe(false, true).await, Ok(1), "the place was not given back");
    assert_eq!(PROBES.load(Ordering::SeqCst), runs + 1);
    assert_eq!(breaker("cancel-probe").state(), State::Closed);
}

#[circuit_breaker(service = "cancel-fallback", threshold = 1, fallback = never_needed)]
async fn hanging_with_fallback() -> Result<u32, ApiError> {
    std::future::pending::<()>().await;
    Ok(0)
}

static FALLBACK_RUNS: AtomicUsize = AtomicUsize::new(0);

fn never_needed() -> Result<u32, ApiError> {
    FALLBACK_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(1)
}

#[tokio::test]
async fn dropping_a_call_with_a_fallback_runs_no_fallback_and_records_nothing() {
    let mut call = Box::pin(hanging_with_fallback());
    assert!(poll_once(&mut call).is_pending());
    drop(call);
    assert_eq!(FALLBACK_RUNS.load(Ordering::SeqCst), 0);
    let snapshot = breaker("cancel-fallback").snapshot();
    assert_eq!((snapshot.window.calls, snapshot.fallbacks.runs), (0, 0));
    assert_eq!(snapshot.state, State::Closed);
}

#[circuit_breaker(service = "cancel-panic", threshold = 1)]
async fn panics(after_yield: bool) -> Result<u32, ApiError> {
    if after_yield {
        tokio::task::yield_now().await;
    }
    panic!("the protected body panics (expected by the test)");
}

#[tokio::test]
async fn a_panicking_body_reaches_the_caller_and_records_nothing() {
    for after_yield in [false, true] {
        let joined = tokio::spawn(panics(after_yield)).await;
        assert!(joined.expect_err("the panic was swallowed").is_panic());
    }
    let snapshot = breaker("cancel-panic").snapshot();
    assert_eq!((snapshot.window.calls, snapshot.window.failures), (0, 0));
    assert_eq!(snapshot.state, State::Closed);
}

#[circuit_breaker(service = "cancel-panic-probe", threshold = 1)]
async fn panicking_probe(panic: bool, after_yield: bool) -> Result<u32, ApiError> {
    if after_yield {
        tokio::task::yield_now().await;
    }
    if panic {
        panic!("the probe panics (expected by the test)");
    }
    Err(ApiError::Down(0))
}

#[tokio::test]
async fn a_panicking_probe_gives_its_place_back() {
    let _ = panicking_probe(false, false).await;
    let mut events = breaker("cancel-panic-probe").subscribe();
    recover_quickly("cancel-panic-probe");
    transition_to(&mut events, State::HalfOpen).await;

    for after_yield in [false, true] {
        assert!(tokio::spawn(panicking_probe(true, after_yield)).await.unwrap_err().is_panic());
        let snapshot = breaker("cancel-panic-probe").snapshot();
        assert_eq!(
            (snapshot.state, snapshot.probes.in_flight),
            (State::HalfOpen, 0),
            "after_yield: {after_yield}"
        );
    }
    // The place is free: the next probe runs, and its failure reopens the circuit.
    assert_eq!(panicking_probe(false, false).await, Err(ApiError::Down(0)));
    transition_to(&mut events, State::Open).await;
}
