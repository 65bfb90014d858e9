//! `timeout` on the attribute: a slow body is cut at the limit, the caller gets
//! `Error::Timeout` in its own error type, and the timeout counts as a failure. Runs on
//! tokio's paused time: the timer is tokio's, so no test waits for real.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use breaker_runtime::{Error, State, circuit_breaker};
use common::{ApiError, breaker};

static SLOW_FINISHED: AtomicBool = AtomicBool::new(false);

#[circuit_breaker(service = "timeout-slow", timeout = "2s", threshold = 2)]
async fn slow(delay: Duration) -> Result<&'static str, ApiError> {
    tokio::time::sleep(delay).await;
    SLOW_FINISHED.store(true, Ordering::SeqCst);
    Ok("done")
}

#[tokio::test(start_paused = true)]
async fn a_body_slower_than_the_timeout_is_cut_and_returns_timeout_in_the_users_type() {
    let started = tokio::time::Instant::now();
    let result = slow(Duration::from_secs(60)).await;
    assert_eq!(
        result,
        Err(ApiError::Breaker(Error::Timeout { service: "timeout-slow", timeout: Duration::from_secs(2) }))
    );
    assert_eq!(started.elapsed(), Duration::from_secs(2), "the call was not cut at the timeout");
    assert!(!SLOW_FINISHED.load(Ordering::SeqCst), "the body ran to its end");

    let snapshot = breaker("timeout-slow").snapshot();
    assert_eq!((snapshot.window.timeouts, snapshot.window.failures), (1, 1));
    assert_eq!(snapshot.consecutive_failures, 1);

    // A second timeout reaches the threshold of 2.
    let _ = slow(Duration::from_secs(60)).await;
    assert_eq!(breaker("timeout-slow").state(), State::Open);
}

#[circuit_breaker(service = "timeout-fast", timeout = "2s")]
async fn within_limit(delay: Duration) -> Result<u32, ApiError> {
    tokio::time::sleep(delay).await;
    Ok(5)
}

#[tokio::test(start_paused = true)]
async fn a_body_within_the_timeout_answers_and_counts_as_a_success() {
    assert_eq!(within_limit(Duration::from_millis(1_999)).await, Ok(5));
    let snapshot = breaker("timeout-fast").snapshot();
    assert_eq!((snapshot.window.successes, snapshot.window.timeouts), (1, 0));
}

#[circuit_breaker(service = "timeout-default")]
async fn default_limit(delay: Duration) -> Result<u32, ApiError> {
    tokio::time::sleep(delay).await;
    Ok(6)
}

#[tokio::test(start_paused = true)]
async fn without_a_timeout_key_the_default_of_ten_seconds_applies() {
    let started = tokio::time::Instant::now();
    let result = default_limit(Duration::from_secs(3600)).await;
    assert_eq!(
        result,
        Err(ApiError::Breaker(Error::Timeout {
            service: "timeout-default",
            timeout: Duration::from_secs(10)
        }))
    );
    assert_eq!(started.elapsed(), breaker_runtime::defaults::TIMEOUT);
}

#[circuit_breaker(service = "timeout-capped", recovery_timeout = "3s")]
async fn capped(delay: Duration) -> Result<u32, ApiError> {
    tokio::time::sleep(delay).await;
    Ok(7)
}

#[tokio::test(start_paused = true)]
async fn a_defaulted_timeout_is_capped_to_a_shorter_recovery_timeout() {
    let result = capped(Duration::from_secs(5)).await;
    assert_eq!(
        result,
        Err(ApiError::Breaker(Error::Timeout { service: "timeout-capped", timeout: Duration::from_secs(3) }))
    );
}

#[circuit_breaker(service = "timeout-io", timeout = "250ms")]
async fn slow_io() -> std::io::Result<u32> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(8)
}

#[tokio::test(start_paused = true)]
async fn an_io_result_function_times_out_with_kind_timed_out() {
    let error = slow_io().await.unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::TimedOut);
    let inner = error.get_ref().and_then(|e| e.downcast_ref::<Error>());
    assert_eq!(inner, Some(&Error::Timeout { service: "timeout-io", timeout: Duration::from_millis(250) }));
}
