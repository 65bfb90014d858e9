//! `fallback = ...`: what the caller gets when the breaker rejects a call or the body
//! fails. A fallback takes the function's arguments; it may be sync or async; a chain is
//! tried in order; a panicking fallback is skipped.

mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use breaker_runtime::{Error, Outcome, State, circuit_breaker};
use common::{ApiError, breaker};

static PRICE_RUNS: AtomicUsize = AtomicUsize::new(0);
static CACHED_PRICE_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "fallback-open", threshold = 1, fallback = cached_price)]
async fn price(item: u32, ok: bool) -> Result<u32, ApiError> {
    PRICE_RUNS.fetch_add(1, Ordering::SeqCst);
    if ok { Ok(item * 100) } else { Err(ApiError::Down(1)) }
}

fn cached_price(item: u32, _ok: bool) -> Result<u32, ApiError> {
    CACHED_PRICE_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(item * 10)
}

#[tokio::test]
async fn the_fallback_answers_while_open_and_the_body_does_not_run() {
    assert_eq!(price(3, true).await, Ok(300));
    assert_eq!(CACHED_PRICE_RUNS.load(Ordering::SeqCst), 0, "a success ran the fallback");
    assert_eq!(price(3, false).await, Ok(30), "the failing call falls back");
    assert_eq!(breaker("fallback-open").state(), State::Open);

    for item in 1..=4 {
        assert_eq!(price(item, true).await, Ok(item * 10), "the fallback gets the call's arguments");
    }
    assert_eq!(PRICE_RUNS.load(Ordering::SeqCst), 2, "a rejected call ran the body");
    assert_eq!(CACHED_PRICE_RUNS.load(Ordering::SeqCst), 5);
    let snapshot = breaker("fallback-open").snapshot();
    assert_eq!((snapshot.fallbacks.runs, snapshot.fallbacks.successes), (5, 5));
    assert_eq!(snapshot.rejections.open, 4);
}

#[circuit_breaker(service = "fallback-failing-body", threshold = 100, fallback = spare)]
async fn failing_body(name: &str) -> Result<String, ApiError> {
    Err(ApiError::Down(name.len() as u32))
}

fn spare(name: &str) -> Result<String, ApiError> {
    Ok(format!("spare for {name}"))
}

#[tokio::test]
async fn a_failing_body_falls_back_while_the_circuit_stays_closed() {
    assert_eq!(failing_body("bob").await, Ok("spare for bob".to_string()));
    let snapshot = breaker("fallback-failing-body").snapshot();
    assert_eq!(snapshot.state, State::Closed);
    assert_eq!(snapshot.window.failures, 1, "the failure is recorded even though the fallback answered");
}

static CHAIN_ORDER: Mutex<Vec<&str>> = Mutex::new(Vec::new());

#[circuit_breaker(service = "fallback-chain", fallback = [from_replica, from_cache, from_default])]
async fn chained(key: u32) -> Result<String, ApiError> {
    CHAIN_ORDER.lock().unwrap().push("body");
    Err(ApiError::Down(key))
}

fn from_replica(key: u32) -> Result<String, ApiError> {
    CHAIN_ORDER.lock().unwrap().push("replica");
    Err(ApiError::Down(key + 1))
}

async fn from_cache(key: u32) -> Result<String, ApiError> {
    CHAIN_ORDER.lock().unwrap().push("cache");
    Ok(format!("cached {key}"))
}

fn from_default(_key: u32) -> Result<String, ApiError> {
    CHAIN_ORDER.lock().unwrap().push("default");
    Ok("default".to_string())
}

#[tokio::test]
async fn a_chain_is_tried_in_order_until_one_answers() {
    assert_eq!(chained(5).await, Ok("cached 5".to_string()));
    assert_eq!(*CHAIN_ORDER.lock().unwrap(), ["body", "replica", "cache"]);
}

#[circuit_breaker(service = "fallback-sync", fallback = sync_answer)]
async fn with_sync_fallback(x: u32) -> Result<u32, ApiError> {
    Err(ApiError::Down(x))
}

fn sync_answer(x: u32) -> Result<u32, ApiError> {
    Ok(x + 1)
}

#[circuit_breaker(service = "fallback-async", fallback = async_answer)]
async fn with_async_fallback(x: u32) -> Result<u32, ApiError> {
    Err(ApiError::Down(x))
}

async fn async_answer(x: u32) -> Result<u32, ApiError> {
    tokio::task::yield_now().await;
    Ok(x + 2)
}

#[tokio::test]
async fn sync_and_async_fallbacks_both_answer() {
    assert_eq!(with_sync_fallback(1).await, Ok(2));
    assert_eq!(with_async_fallback(1).await, Ok(3));
}

#[circuit_breaker(service = "fallback-all-fail", fallback = [refuse_once, refuse_again])]
async fn nobody_answers(x: u32) -> Result<u32, ApiError> {
    Err(ApiError::Down(x))
}

fn refuse_once(_x: u32) -> Result<u32, ApiError> {
    Err(ApiError::Down(100))
}

async fn refuse_again(_x: u32) -> Result<u32, ApiError> {
    Err(ApiError::Down(200))
}

#[tokio::test]
async fn when_every_fallback_fails_the_caller_gets_the_original_error() {
    assert_eq!(nobody_answers(7).await, Err(ApiError::Down(7)));
    let snapshot = breaker("fallback-all-fail").snapshot();
    assert_eq!((snapshot.fallbacks.runs, snapshot.fallbacks.failures), (1, 1));
}

#[circuit_breaker(service = "fallback-all-fail-open", threshold = 1, fallback = refuse_once)]
async fn nobody_answers_while_open(x: u32) -> Result<u32, ApiError> {
    Err(ApiError::Down(x))
}

#[tokio::test]
async fn when_the_fallback_fails_on_a_rejection_the_caller_gets_the_rejection() {
    let _ = nobody_answers_while_open(1).await;
    let result = nobody_answers_while_open(1).await;
    assert!(
        matches!(
            result,
            Err(ApiError::Breaker(Error::CircuitOpen { service: "fallback-all-fail-open", .. }))
        ),
        "{result:?}"
    );
}

static AFTER_PANIC: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "fallback-panic-sync", fallback = [panics_at_once, answers_after_panic])]
async fn sync_panic(x: u32) -> Result<u32, ApiError> {
    Err(ApiError::Down(x))
}

fn panics_at_once(_x: u32) -> Result<u32, ApiError> {
    panic!("the sync fallback panics (expected by the test)")
}

#[circuit_breaker(service = "fallback-panic-async", fallback = [panics_when_polled, answers_after_panic])]
async fn async_panic(x: u32) -> Result<u32, ApiError> {
    Err(ApiError::Down(x))
}

async fn panics_when_polled(_x: u32) -> Result<u32, ApiError> {
    tokio::task::yield_now().await;
    panic!("the async fallback panics (expected by the test)")
}

fn answers_after_panic(x: u32) -> Result<u32, ApiError> {
    AFTER_PANIC.fetch_add(1, Ordering::SeqCst);
    Ok(x * 3)
}

#[tokio::test]
async fn a_panicking_fallback_is_skipped_and_the_next_one_answers() {
    assert_eq!(sync_panic(2).await, Ok(6));
    assert_eq!(async_panic(3).await, Ok(9));
    assert_eq!(AFTER_PANIC.load(Ordering::SeqCst), 2);
}

fn ignore_not_found(error: &ApiError) -> Outcome {
    if *error == ApiError::NotFound { Outcome::Ignored } else { Outcome::Failure }
}

static IGNORED_FALLBACK_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "fallback-ignored", classify = ignore_not_found, fallback = count_fallback)]
async fn find(found: bool) -> Result<u32, ApiError> {
    if found { Ok(1) } else { Err(ApiError::NotFound) }
}

fn count_fallback(_found: bool) -> Result<u32, ApiError> {
    IGNORED_FALLBACK_RUNS.fetch_add(1, Ordering::SeqCst);
    Ok(0)
}

#[tokio::test]
async fn an_ignored_error_is_returned_as_it_is_without_running_the_fallback() {
    assert_eq!(find(false).await, Err(ApiError::NotFound));
    assert_eq!(IGNORED_FALLBACK_RUNS.load(Ordering::SeqCst), 0);
}

#[circuit_breaker(service = "fallback-timeout", timeout = "1s", fallback = quick_answer)]
async fn too_slow(x: u32) -> Result<u32, ApiError> {
    tokio::time::sleep(Duration::from_secs(30)).await;
    Ok(x)
}

fn quick_answer(x: u32) -> Result<u32, ApiError> {
    Ok(x + 1000)
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_call_falls_back() {
    let started = tokio::time::Instant::now();
    assert_eq!(too_slow(1).await, Ok(1001));
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(breaker("fallback-timeout").snapshot().window.timeouts, 1);
}

#[circuit_breaker(service = "fallback-depth", fallback = nested_fallback)]
async fn outer(x: u32) -> Result<u32, ApiError> {
    Err(ApiError::Down(x))
}

async fn nested_fallback(x: u32) -> Result<u32, ApiError> {
    // A fallback calling back into the protected function: the depth limit (3 by
    // default) ends the recursion.
    Box::pin(outer(x + 1)).await
}

#[tokio::test]
async fn a_fallback_recursing_into_its_function_stops_at_the_depth_limit() {
    let result = tokio::time::timeout(Duration::from_secs(5), outer(0)).await.expect("the recursion ended");
    // Three fallbacks nest (the default `fallback_depth`); the fourth is refused with
    // `FallbackDepthExceeded`, which fails each fallback in turn, so every level gives
    // its caller its own original error.
    assert_eq!(result, Err(ApiError::Down(0)));
    let fallbacks = breaker("fallback-depth").snapshot().fallbacks;
    assert_eq!((fallbacks.runs, fallbacks.depth_exceeded, fallbacks.failures), (3, 1, 3));
}

#[circuit_breaker(
    service = "fallback-time-limit",
    fallback = [slow_replica, fast_default],
    fallback_timeout = "1s"
)]
async fn limited(x: u32) -> Result<u32, ApiError> {
    Err(ApiError::Down(x))
}

async fn slow_replica(x: u32) -> Result<u32, ApiError> {
    tokio::time::sleep(Duration::from_secs(60)).await;
    Ok(x)
}

fn fast_default(_x: u32) -> Result<u32, ApiError> {
    Ok(0)
}

#[tokio::test(start_paused = true)]
async fn a_fallback_slower_than_its_share_of_fallback_timeout_is_skipped() {
    let started = tokio::time::Instant::now();
    assert_eq!(limited(5).await, Ok(0));
    // Two fallbacks share 1s: the first gets half of it.
    assert_eq!(started.elapsed(), Duration::from_millis(500));
}
