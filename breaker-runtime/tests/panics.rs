//! A panic inside a protected call (its body or its classifier) propagates to the
//! caller, counts for nothing, and gives back every place the call held: a probe place
//! of a half-open circuit, a bulkhead place. The breaker's own state never blocks
//! traffic because user code panicked.

mod common;

use std::panic::AssertUnwindSafe;

use breaker_runtime::{Config, Error, Outcome, Permit, State};
use common::*;
use futures::FutureExt;

/// A classifier that panics on every error, as a buggy user classifier might.
fn panicking(_: &CallError) -> Outcome {
    panic!("the classifier has a bug")
}

#[tokio::test]
async fn a_classifier_panicking_on_a_probe_gives_the_probe_place_back() {
    let (breaker, clock) =
        manual("panic-classify-probe", Config::builder().threshold(1).recovery_timeout(secs(5)));
    fail_times(&breaker, 1).await;
    clock.advance(secs(5));
    assert_eq!(breaker.state(), State::HalfOpen);

    let call = breaker.call_with(panicking, fail(500));
    let caught = AssertUnwindSafe(call).catch_unwind().await;
    assert!(caught.is_err(), "the classifier's panic reaches the caller");

    // The panicking probe counted for nothing: still half-open, and its place is free.
    assert_eq!(breaker.state(), State::HalfOpen);
    let s = breaker.snapshot();
    assert_eq!(s.probes.in_flight, 0, "the probe place came back");
    assert_eq!(s.rejections.probe_limit, 0);
    assert_eq!(breaker.call(ok(1)).await, Ok(1), "the next call is admitted as a probe");
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn a_classifier_panicking_in_a_closed_circuit_counts_for_nothing_and_frees_its_bulkhead_place() {
    let config = Config::builder().threshold(1).max_concurrent(1);
    let (breaker, _clock) = manual("panic-classify-bulkhead", config);
    let caught = AssertUnwindSafe(breaker.call_with(panicking, fail(500))).catch_unwind().await;
    assert!(caught.is_err());
    let s = breaker.snapshot();
    assert_eq!((s.window.calls, s.consecutive_failures, s.bulkhead.in_use), (0, 0, 0));
    assert_eq!(breaker.state(), State::Closed, "a call that counts for nothing cannot open the circuit");
    assert_eq!(breaker.call(ok(2)).await, Ok(2), "the bulkhead place came back");
}

#[tokio::test]
async fn a_body_panicking_after_it_waited_gives_its_probe_and_bulkhead_places_back() {
    let config = Config::builder().threshold(1).recovery_timeout(secs(5)).max_concurrent(1);
    let (breaker, clock) = manual("panic-body-later", config);
    fail_times(&breaker, 1).await;
    clock.advance(secs(5));
    let body = async {
        tokio::task::yield_now().await;
        panic!("the body has a bug");
        #[allow(unreachable_code)]
        Ok::<u32, CallError>(0)
    };
    let caught = AssertUnwindSafe(breaker.call(body)).catch_unwind().await;
    assert!(caught.is_err());
    let s = breaker.snapshot();
    assert_eq!((s.state, s.probes.in_flight, s.bulkhead.in_use), (State::HalfOpen, 0, 0));
    assert_eq!(breaker.call(ok(3)).await, Ok(3));
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn a_panicking_classifier_with_a_fallback_still_frees_the_probe_place() {
    let (breaker, clock) =
        manual("panic-classify-fallback", Config::builder().threshold(1).recovery_timeout(secs(5)));
    fail_times(&breaker, 1).await;
    clock.advance(secs(5));
    let call = breaker.call_with_fallback(
        panicking,
        fail(500),
        |_: &breaker_runtime::fallback::Cause<CallError>| async { Ok(9) },
    );
    assert!(AssertUnwindSafe(call).catch_unwind().await.is_err());
    assert_eq!(breaker.snapshot().probes.in_flight, 0);
    assert_eq!(breaker.call(ok(4)).await, Ok(4));
}

#[test]
fn code_panicking_while_it_holds_a_permit_gives_the_probe_place_back() {
    let (breaker, clock) = manual("panic-permit", Config::builder().threshold(1).recovery_timeout(secs(5)));
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(5));
    let caught = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let _permit: Permit<'_> = breaker.try_acquire().unwrap();
        panic!("the protected work has a bug");
    }));
    assert!(caught.is_err());
    assert!(breaker.try_acquire().is_ok(), "the probe place came back");
    assert!(!matches!(breaker.try_acquire(), Err(Error::CircuitOpen { .. })));
}

/// An error whose `Display` fails (`to_string` then panics), as a buggy user type's
/// might.
#[derive(Debug)]
enum Grumpy {
    Down,
    Refused(Error),
}

impl std::fmt::Display for Grumpy {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Err(std::fmt::Error)
    }
}

impl From<Error> for Grumpy {
    fn from(error: Error) -> Grumpy {
        Grumpy::Refused(error)
    }
}

#[breaker_runtime::circuit_breaker(
    service = "panic-display",
    threshold = 1,
    recovery_timeout = "5s",
    half_open_max_calls = 1
)]
async fn grumpy(fail: bool) -> Result<u32, Grumpy> {
    if fail { Err(Grumpy::Down) } else { Ok(6) }
}

/// A failure whose error cannot be shown still opens the circuit (the transition
/// names it as such), and a failed probe of it gives its place back: the next probe
/// runs instead of a `ProbeLimit` for good.
#[tokio::test]
async fn an_error_whose_display_panics_still_opens_and_frees_its_probe() {
    let clock = std::sync::Arc::new(breaker_runtime::ManualClock::new());
    breaker_runtime::registry().use_clock("panic-display", clock.clone()).unwrap();
    assert!(matches!(grumpy(true).await, Err(Grumpy::Down)));
    let breaker = breaker_runtime::registry().get("panic-display").unwrap();
    assert_eq!(breaker.state(), State::Open);
    let named = breaker.snapshot().recent_transitions.last().cloned().unwrap().last_error.unwrap();
    assert!(named.contains("could not be shown"), "{named}");
    clock.advance(secs(5));
    assert!(matches!(grumpy(true).await, Err(Grumpy::Down)), "the probe fails");
    assert_eq!(breaker.state(), State::Open);
    clock.advance(secs(5));
    assert_eq!(grumpy(false).await.ok(), Some(6), "the next probe runs");
    if let Err(Grumpy::Refused(refused)) = grumpy(false).await {
        panic!("refused after the probe closed the circuit: {refused}");
    }
}
