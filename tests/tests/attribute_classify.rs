//! `classify = path`: the user's function decides which errors count against the
//! service. Ignored errors reach the caller as they are and never open the circuit.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use breaker_runtime::{Outcome, State, circuit_breaker};
use common::{ApiError, breaker};

fn outages_only(error: &ApiError) -> Outcome {
    match error {
        ApiError::NotFound | ApiError::Parse(_) => Outcome::Ignored,
        _ => Outcome::Failure,
    }
}

static LOOKUP_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "classify-lookup", threshold = 2, classify = outages_only)]
async fn lookup(answer: Result<u32, ApiError>) -> Result<u32, ApiError> {
    LOOKUP_RUNS.fetch_add(1, Ordering::SeqCst);
    answer
}

#[tokio::test]
async fn errors_classified_as_ignored_do_not_count_toward_the_threshold() {
    for _ in 0..10 {
        assert_eq!(lookup(Err(ApiError::NotFound)).await, Err(ApiError::NotFound));
    }
    assert_eq!(LOOKUP_RUNS.load(Ordering::SeqCst), 10);
    assert_eq!(breaker("classify-lookup").state(), State::Closed);
    let snapshot = breaker("classify-lookup").snapshot();
    assert_eq!((snapshot.window.ignored, snapshot.window.failures), (10, 0));
    assert_eq!(snapshot.consecutive_failures, 0);

    let _ = lookup(Err(ApiError::Down(1))).await;
    let _ = lookup(Err(ApiError::Down(1))).await;
    assert_eq!(breaker("classify-lookup").state(), State::Open);
}

#[circuit_breaker(service = "classify-streak", threshold = 2, classify = outages_only)]
async fn streak(answer: Result<u32, ApiError>) -> Result<u32, ApiError> {
    answer
}

#[tokio::test]
async fn an_ignored_error_neither_counts_nor_restarts_the_failure_streak() {
    let _ = streak(Err(ApiError::Down(2))).await;
    let _ = streak(Err(ApiError::NotFound)).await;
    assert_eq!(breaker("classify-streak").snapshot().consecutive_failures, 1);
    let _ = streak(Err(ApiError::Down(2))).await;
    assert_eq!(breaker("classify-streak").state(), State::Open);
}

fn never_fails(_: &std::io::Error) -> Outcome {
    Outcome::Ignored
}

#[circuit_breaker(service = "classify-io", threshold = 1, classify = never_fails)]
async fn tolerant() -> std::io::Result<()> {
    Err(std::io::Error::other("flaky"))
}

#[tokio::test]
async fn a_classifier_over_io_errors_applies_to_an_io_result_function() {
    for _ in 0..3 {
        assert_eq!(tolerant().await.unwrap_err().to_string(), "flaky");
    }
    assert_eq!(breaker("classify-io").state(), State::Closed);
}

#[circuit_breaker(service = "classify-default", threshold = 2)]
async fn unclassified(answer: Result<u32, ApiError>) -> Result<u32, ApiError> {
    answer
}

#[tokio::test]
async fn without_classify_every_error_is_a_failure() {
    let _ = unclassified(Err(ApiError::NotFound)).await;
    let _ = unclassified(Err(ApiError::NotFound)).await;
    assert_eq!(breaker("classify-default").state(), State::Open);
}
