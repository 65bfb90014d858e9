//! What a protected function does: opens after its threshold, rejects in the user's
//! error type without running the body, shares its breaker with the other functions of
//! its service, and recovers through half-open.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use breaker_runtime::{Error, EventKind, Reason, State, circuit_breaker, registry};
use common::{ApiError, breaker, recover_quickly, transition_to};

static QUOTE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "basics-quote", threshold = 3)]
async fn quote(ok: bool) -> Result<u64, ApiError> {
    QUOTE_RUNS.fetch_add(1, Ordering::SeqCst);
    if ok { Ok(42) } else { Err(ApiError::Down(1)) }
}

#[tokio::test]
async fn opens_after_threshold_and_calls_while_open_do_not_run_the_body() {
    assert_eq!(quote(true).await, Ok(42));
    for _ in 0..3 {
        assert_eq!(quote(false).await, Err(ApiError::Down(1)));
    }
    assert_eq!(QUOTE_RUNS.load(Ordering::SeqCst), 4);
    assert_eq!(breaker("basics-quote").state(), State::Open);

    for _ in 0..10 {
        let rejected = quote(true).await;
        assert!(
            matches!(rejected, Err(ApiError::Breaker(Error::CircuitOpen { service: "basics-quote", .. }))),
            "{rejected:?}"
        );
    }
    assert_eq!(QUOTE_RUNS.load(Ordering::SeqCst), 4, "a rejected call ran the body");
    let snapshot = breaker("basics-quote").snapshot();
    assert_eq!(snapshot.rejections.open, 10);
    assert_eq!(snapshot.window.failures, 3);
    assert_eq!(snapshot.open_count, 1);
}

static STREAK_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "basics-streak", threshold = 2)]
async fn streak(ok: bool) -> Result<(), ApiError> {
    STREAK_RUNS.fetch_add(1, Ordering::SeqCst);
    if ok { Ok(()) } else { Err(ApiError::Down(2)) }
}

#[tokio::test]
async fn a_success_restarts_the_count_of_consecutive_failures() {
    for _ in 0..5 {
        let _ = streak(false).await;
        assert_eq!(streak(true).await, Ok(()));
    }
    assert_eq!(breaker("basics-streak").state(), State::Closed);
    assert_eq!(breaker("basics-streak").snapshot().consecutive_failures, 0);
    let _ = streak(false).await;
    assert_eq!(breaker("basics-streak").snapshot().consecutive_failures, 1);
    let _ = streak(false).await;
    assert_eq!(breaker("basics-streak").state(), State::Open);
    assert_eq!(STREAK_RUNS.load(Ordering::SeqCst), 12);
}

#[circuit_breaker(service = "basics-rejection", threshold = 1, recovery_timeout = "20s", timeout = "1s")]
async fn rejection(ok: bool) -> Result<u8, ApiError> {
    if ok { Ok(1) } else { Err(ApiError::Down(3)) }
}

#[tokio::test]
async fn a_rejection_reaches_the_caller_in_its_own_error_type() {
    let _ = rejection(false).await;
    match rejection(true).await {
        Err(ApiError::Breaker(Error::CircuitOpen { service, retry_after: Some(wait) })) => {
            assert_eq!(service, "basics-rejection");
            assert!(wait <= std::time::Duration::from_secs(20), "{wait:?}");
            assert!(wait > std::time::Duration::from_secs(10), "{wait:?}");
        }
        other => panic!("expected the user's Breaker(CircuitOpen), got {other:?}"),
    }
}

#[circuit_breaker(service = "basics-forced")]
async fn forced() -> Result<u8, ApiError> {
    Ok(1)
}

#[tokio::test]
async fn a_forced_open_circuit_rejects_without_retry_time_until_reset() {
    assert_eq!(forced().await, Ok(1));
    breaker("basics-forced").force_open();
    let rejected = forced().await;
    assert_eq!(
        rejected,
        Err(ApiError::Breaker(Error::CircuitOpen { service: "basics-forced", retry_after: None }))
    );
    assert_eq!(breaker("basics-forced").snapshot().rejections.forced, 1);
    breaker("basics-forced").reset();
    assert_eq!(forced().await, Ok(1));
}

static SHARED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "basics-shared", threshold = 2)]
async fn shared_read(ok: bool) -> Result<&'static str, ApiError> {
    SHARED_RUNS.fetch_add(1, Ordering::SeqCst);
    if ok { Ok("read") } else { Err(ApiError::Down(4)) }
}

#[circuit_breaker(service = "basics-shared", threshold = 2)]
async fn shared_write(ok: bool) -> Result<&'static str, ApiError> {
    SHARED_RUNS.fetch_add(1, Ordering::SeqCst);
    if ok { Ok("write") } else { Err(ApiError::Down(5)) }
}

#[tokio::test]
async fn two_functions_of_one_service_share_one_breaker() {
    assert_eq!(shared_read(true).await, Ok("read"));
    assert_eq!(shared_write(true).await, Ok("write"));
    // One failure each: together they reach the threshold of 2.
    let _ = shared_read(false).await;
    let _ = shared_write(false).await;
    assert_eq!(breaker("basics-shared").state(), State::Open);
    let runs = SHARED_RUNS.load(Ordering::SeqCst);
    assert!(matches!(shared_read(true).await, Err(ApiError::Breaker(Error::CircuitOpen { .. }))));
    assert!(matches!(shared_write(true).await, Err(ApiError::Breaker(Error::CircuitOpen { .. }))));
    assert_eq!(SHARED_RUNS.load(Ordering::SeqCst), runs);
    assert_eq!(breaker("basics-shared").snapshot().window.calls, 4);
    assert_eq!(registry().definitions_of("basics-shared").len(), 2);
}

static RECOVER_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "basics-recover", threshold = 2)]
async fn recovering(ok: bool) -> Result<u32, ApiError> {
    RECOVER_RUNS.fetch_add(1, Ordering::SeqCst);
    if ok { Ok(7) } else { Err(ApiError::Down(6)) }
}

#[tokio::test]
async fn after_the_recovery_timeout_a_successful_probe_closes_the_circuit() {
    let _ = recovering(false).await;
    let _ = recovering(false).await;
    assert_eq!(breaker("basics-recover").state(), State::Open);

    let mut events = breaker("basics-recover").subscribe();
    recover_quickly("basics-recover");
    let half_open = transition_to(&mut events, State::HalfOpen).await;
    assert!(matches!(
        half_open.kind,
        EventKind::Transition { reason: Reason::RecoveryTimeoutElapsed { .. }, .. }
    ));

    let runs = RECOVER_RUNS.load(Ordering::SeqCst);
    assert_eq!(recovering(true).await, Ok(7), "the probe runs the body");
    assert_eq!(RECOVER_RUNS.load(Ordering::SeqCst), runs + 1);
    assert_eq!(breaker("basics-recover").state(), State::Closed);
    let snapshot = breaker("basics-recover").snapshot();
    assert_eq!((snapshot.recovery_attempts, snapshot.recoveries), (1, 1));
}

#[circuit_breaker(service = "basics-relapse", threshold = 1)]
async fn relapsing(ok: bool) -> Result<u32, ApiError> {
    if ok { Ok(8) } else { Err(ApiError::Down(7)) }
}

#[tokio::test]
async fn a_failed_probe_opens_the_circuit_again() {
    let _ = relapsing(false).await;
    let mut events = breaker("basics-relapse").subscribe();
    recover_quickly("basics-relapse");
    transition_to(&mut events, State::HalfOpen).await;

    assert_eq!(relapsing(false).await, Err(ApiError::Down(7)));
    let reopened = transition_to(&mut events, State::Open).await;
    assert!(matches!(
        reopened.kind,
        EventKind::Transition { from: State::HalfOpen, reason: Reason::ProbeFailed, .. }
    ));
    assert_eq!(breaker("basics-relapse").snapshot().open_count, 2);
}

static RESET_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "basics-reset", threshold = 1)]
async fn after_reset(ok: bool) -> Result<u32, ApiError> {
    RESET_RUNS.fetch_add(1, Ordering::SeqCst);
    if ok { Ok(9) } else { Err(ApiError::Down(8)) }
}

#[tokio::test]
async fn reset_closes_an_open_circuit_for_the_protected_function() {
    let _ = after_reset(false).await;
    assert!(matches!(after_reset(true).await, Err(ApiError::Breaker(Error::CircuitOpen { .. }))));
    breaker("basics-reset").reset();
    assert_eq!(after_reset(true).await, Ok(9));
    assert_eq!(RESET_RUNS.load(Ordering::SeqCst), 2);
    assert_eq!(breaker("basics-reset").state(), State::Closed);
}

static DISABLED_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "basics-disabled", threshold = 1)]
async fn disabled(ok: bool) -> Result<u32, ApiError> {
    DISABLED_RUNS.fetch_add(1, Ordering::SeqCst);
    if ok { Ok(10) } else { Err(ApiError::Down(9)) }
}

#[tokio::test]
async fn a_disabled_breaker_lets_every_call_run_and_never_opens() {
    breaker("basics-disabled").disable();
    for _ in 0..5 {
        assert_eq!(disabled(false).await, Err(ApiError::Down(9)));
    }
    assert_eq!(DISABLED_RUNS.load(Ordering::SeqCst), 5);
    assert_eq!(breaker("basics-disabled").state(), State::Disabled);
}

#[circuit_breaker(service = "basics-io", threshold = 1)]
async fn read_config(path: &str) -> std::io::Result<String> {
    Err(std::io::Error::new(std::io::ErrorKind::NotFound, path.to_string()))
}

#[tokio::test]
async fn an_io_result_function_gets_its_rejection_as_an_io_error_carrying_the_breaker_error() {
    let first = read_config("/etc/app.toml").await.unwrap_err();
    assert_eq!(first.kind(), std::io::ErrorKind::NotFound);
    let rejected = read_config("/etc/app.toml").await.unwrap_err();
    assert_eq!(rejected.kind(), std::io::ErrorKind::Other);
    let inner = rejected.get_ref().and_then(|e| e.downcast_ref::<Error>());
    assert!(matches!(inner, Some(Error::CircuitOpen { service: "basics-io", .. })), "{rejected:?}");
}

#[circuit_breaker(service = "basics-rate", window = "60s", failure_rate = 0.5, min_calls = 4)]
async fn rated(ok: bool) -> Result<(), ApiError> {
    if ok { Ok(()) } else { Err(ApiError::Down(10)) }
}

#[tokio::test]
async fn opens_when_the_windows_failure_rate_is_reached_after_min_calls() {
    let mut events = breaker("basics-rate").subscribe();
    // Alternating: never two failures in a row, so only the rate can open it.
    let _ = rated(true).await;
    let _ = rated(false).await;
    let _ = rated(true).await;
    assert_eq!(breaker("basics-rate").state(), State::Closed, "judged before min_calls");
    let _ = rated(false).await;
    assert_eq!(breaker("basics-rate").state(), State::Open);
    let opened = transition_to(&mut events, State::Open).await;
    match opened.kind {
        EventKind::Transition { reason: Reason::FailureRate { rate, threshold, calls, .. }, .. } => {
            assert_eq!((rate, threshold, calls), (0.5, 0.5, 4));
        }
        other => panic!("expected a failure-rate transition, got {other:?}"),
    }
}

#[circuit_breaker(service = "basics-events", threshold = 2)]
async fn observed(ok: bool) -> Result<(), ApiError> {
    if ok { Ok(()) } else { Err(ApiError::Down(11)) }
}

#[tokio::test]
async fn the_breaker_of_a_protected_function_reports_its_opening_with_the_reason() {
    let mut events = breaker("basics-events").subscribe();
    let _ = observed(false).await;
    let _ = observed(false).await;
    let opened = transition_to(&mut events, State::Open).await;
    assert_eq!(opened.service, "basics-events");
    assert!(
        matches!(
            opened.kind,
            EventKind::Transition {
                from: State::Closed,
                reason: Reason::ConsecutiveFailures { count: 2, threshold: 2 },
                ..
            }
        ),
        "{opened:?}"
    );
}

#[circuit_breaker(service = "basics-probes", threshold = 1, half_open_max_calls = 2, success_threshold = 2)]
async fn probed(ok: bool) -> Result<(), ApiError> {
    if ok { Ok(()) } else { Err(ApiError::Down(12)) }
}

#[tokio::test]
async fn a_half_open_circuit_closes_after_success_threshold_successful_probes() {
    let _ = probed(false).await;
    let mut events = breaker("basics-probes").subscribe();
    recover_quickly("basics-probes");
    transition_to(&mut events, State::HalfOpen).await;
    assert_eq!(probed(true).await, Ok(()));
    let snapshot = breaker("basics-probes").snapshot();
    assert_eq!((snapshot.state, snapshot.probes.successes), (State::HalfOpen, 1));
    assert_eq!(probed(true).await, Ok(()));
    assert_eq!(breaker("basics-probes").state(), State::Closed);
}
