//! `max_concurrent`, `queue` and `queue_timeout`: the bulkhead of a protected function.
//! A full bulkhead rejects in the user's error type without running the body, and a
//! rejection is not a failure. Runs on tokio's paused time (the queue's timer is
//! tokio's).

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use breaker_runtime::{Error, State, circuit_breaker};
use common::{ApiError, breaker};
use tokio::sync::Semaphore;

/// Polls `future` once: the call is admitted and its body starts, or it queues.
fn poll_once<F: Future>(future: &mut Pin<Box<F>>) -> Poll<F::Output> {
    future.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

static SEATED: AtomicUsize = AtomicUsize::new(0);

#[circuit_breaker(service = "bulkhead-no-queue", max_concurrent = 1, threshold = 1)]
async fn seated(hang: bool) -> Result<u32, ApiError> {
    SEATED.fetch_add(1, Ordering::SeqCst);
    if hang {
        std::future::pending::<()>().await;
    }
    Ok(2)
}

#[tokio::test]
async fn a_full_bulkhead_rejects_at_once_without_a_failure_and_a_dropped_call_frees_its_place() {
    let mut holder = Box::pin(seated(true));
    assert!(poll_once(&mut holder).is_pending());
    let rejected = seated(false).await;
    assert_eq!(
        rejected,
        Err(ApiError::Breaker(Error::BulkheadFull {
            service: "bulkhead-no-queue",
            max_concurrent: 1,
            queue: 0
        }))
    );
    assert_eq!(SEATED.load(Ordering::SeqCst), 1, "a rejected call ran the body");
    let snapshot = breaker("bulkhead-no-queue").snapshot();
    assert_eq!((snapshot.rejections.bulkhead, snapshot.window.failures), (1, 0));
    assert_eq!(
        (snapshot.state, snapshot.bulkhead.in_use),
        (State::Closed, 1),
        "threshold 1: the rejection counted"
    );

    drop(holder);
    assert_eq!(breaker("bulkhead-no-queue").snapshot().bulkhead.in_use, 0);
    assert_eq!(seated(false).await, Ok(2));
}

static GATE: Semaphore = Semaphore::const_new(0);

#[circuit_breaker(service = "bulkhead-queue", max_concurrent = 1, queue = 1, queue_timeout = "100ms")]
async fn gated(id: u32) -> Result<u32, ApiError> {
    if id == 0 {
        let _permit = GATE.acquire().await.expect("the gate is never closed");
    }
    Ok(id)
}

#[tokio::test(start_paused = true)]
async fn a_queued_call_runs_when_a_place_frees_and_gives_up_after_the_queue_timeout() {
    let mut running = Box::pin(gated(0));
    assert!(poll_once(&mut running).is_pending(), "the first call holds the only place");

    // Second call: queued; third: the queue is full.
    let mut queued = Box::pin(gated(1));
    assert!(poll_once(&mut queued).is_pending());
    assert_eq!(breaker("bulkhead-queue").snapshot().bulkhead.queued, 1);
    assert_eq!(
        gated(2).await,
        Err(ApiError::Breaker(Error::BulkheadFull {
            service: "bulkhead-queue",
            max_concurrent: 1,
            queue: 1
        }))
    );

    // The queued call gives up after 100ms.
    let started = tokio::time::Instant::now();
    assert!(matches!(queued.await, Err(ApiError::Breaker(Error::BulkheadFull { .. }))));
    assert_eq!(started.elapsed(), Duration::from_millis(100));

    // A queued call gets the place when the running call finishes.
    let waiting = tokio::spawn(gated(3));
    tokio::task::yield_now().await;
    GATE.add_permits(1);
    assert_eq!(running.await, Ok(0));
    assert_eq!(waiting.await.unwrap(), Ok(3));
    let snapshot = breaker("bulkhead-queue").snapshot();
    assert_eq!((snapshot.rejections.bulkhead, snapshot.window.failures), (2, 0));
}
