//! The attribute adds no `Send` bound and removes none: the future of a protected
//! function with a `Send` body is `Send`, so it can be spawned on a multi-thread
//! runtime, with or without fallbacks. (With a fallback and a borrowed argument or
//! `&self`, see `programs/fallback_borrowed_arguments_are_send.rs`, run by
//! `compile_and_run.rs`.)

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use breaker_runtime::{Error, State, circuit_breaker};
use common::{ApiError, breaker};

fn assert_send<T: Send>(_: &T) {}

fn assert_static<T: 'static>(_: &T) {}

static FETCH_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "send-fetch", threshold = 1000, timeout = "5s")]
async fn fetch(id: u64) -> Result<u64, ApiError> {
    FETCH_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::task::yield_now().await;
    Ok(id * 2)
}

static LAZY_RUNS: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "send-lazy")]
async fn lazy(id: u64) -> Result<u64, ApiError> {
    LAZY_RUNS.fetch_add(1, Ordering::SeqCst);
    tokio::task::yield_now().await;
    Ok(id)
}

#[circuit_breaker(service = "send-fallback", threshold = 1, fallback = [cache_miss, cached])]
async fn with_fallback(id: u64) -> Result<u64, ApiError> {
    tokio::task::yield_now().await;
    Err(ApiError::Down(id as u32))
}

async fn cache_miss(id: u64) -> Result<u64, ApiError> {
    tokio::task::yield_now().await;
    Err(ApiError::Down(id as u32))
}

fn cached(id: u64) -> Result<u64, ApiError> {
    Ok(id + 1)
}

struct Client {
    base: u64,
}

impl Client {
    #[circuit_breaker(service = "send-method")]
    async fn get(&self, id: u64) -> Result<u64, ApiError> {
        tokio::task::yield_now().await;
        Ok(self.base + id)
    }
}

#[test]
fn futures_of_protected_functions_with_send_bodies_are_send() {
    let plain = lazy(1);
    assert_send(&plain);
    assert_static(&plain);
    let chained = with_fallback(1);
    assert_send(&chained);
    assert_static(&chained);
    let client = Client { base: 1 };
    let method = client.get(1);
    assert_send(&method);
    // Not polled: creating the futures runs nothing.
    drop((plain, chained, method));
    assert_eq!(LAZY_RUNS.load(Ordering::SeqCst), 0, "creating the future ran the body");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn protected_calls_can_be_spawned_on_a_multi_thread_runtime() {
    let tasks: Vec<_> = (0..64).map(|id| tokio::spawn(fetch(id))).collect();
    for (id, task) in (0..64).zip(tasks) {
        assert_eq!(task.await.expect("the task panicked"), Ok(id * 2));
    }
    assert_eq!(FETCH_RUNS.load(Ordering::SeqCst), 64);
    assert_eq!(breaker("send-fetch").snapshot().window.successes, 64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_spawned_call_with_a_fallback_chain_falls_back_on_another_thread() {
    let first = tokio::spawn(with_fallback(1)).await.unwrap();
    assert_eq!(first, Ok(2));
    assert_eq!(breaker("send-fallback").state(), State::Open);
    let tasks: Vec<_> = (10..20).map(|id| tokio::spawn(with_fallback(id))).collect();
    for (id, task) in (10..20).zip(tasks) {
        assert_eq!(task.await.unwrap(), Ok(id + 1));
    }
    assert_eq!(breaker("send-fallback").snapshot().rejections.open, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_method_call_on_a_shared_client_works() {
    let client = Arc::new(Client { base: 100 });
    let task = tokio::spawn({
        let client = Arc::clone(&client);
        async move { client.get(5).await }
    });
    assert_eq!(task.await.unwrap(), Ok(105));
    breaker("send-method").force_open();
    let task = tokio::spawn(async move { client.get(5).await });
    assert!(matches!(task.await.unwrap(), Err(ApiError::Breaker(Error::CircuitOpen { .. }))));
}

#[circuit_breaker(service = "send-timeout", timeout = "50ms")]
async fn hangs() -> Result<(), ApiError> {
    std::future::pending::<()>().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_call_times_out_on_a_multi_thread_runtime() {
    let result = tokio::time::timeout(Duration::from_secs(5), tokio::spawn(hangs()))
        .await
        .expect("the protected call's own timeout did not fire")
        .unwrap();
    assert_eq!(
        result,
        Err(ApiError::Breaker(Error::Timeout {
            service: "send-timeout",
            timeout: Duration::from_millis(50)
        }))
    );
}
