//! Per-call policies on tokio's paused time: the timeout and the bulkhead with its
//! bounded, timed queue. The breaker's own state runs on a manual clock.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;

use breaker_runtime::{Config, Error, EventKind, Reason, State};
use common::*;
use tokio::sync::Semaphore;

type Pending<'a> = Pin<Box<dyn Future<Output = CallResult> + 'a>>;

/// A call that counts itself as started, then waits for a permit of `gate`.
fn gated(
    gate: &Arc<Semaphore>,
    started: &Arc<AtomicUsize>,
    v: u32,
) -> impl Future<Output = CallResult> + use<> {
    let (gate, started) = (gate.clone(), started.clone());
    async move {
        started.fetch_add(1, Ordering::SeqCst);
        let _permit = gate.acquire().await.expect("the gate stays open");
        Ok(v)
    }
}

// ---- timeout ----------------------------------------------------------------------

#[tokio::test]
async fn call_over_its_timeout_fails_with_timeout_after_exactly_the_limit() {
    let (breaker, clock) = manual("pol-timeout", Config::builder().threshold(5).timeout(millis(250)));
    let mut call = std::pin::pin!(breaker.call(async {
        clock.sleep(secs(3)).await;
        CallResult::Ok(1)
    }));
    assert!(poll_once(call.as_mut()).is_pending());
    clock.advance(millis(249));
    assert!(poll_once(call.as_mut()).is_pending(), "cut before its limit");
    clock.advance(millis(1));
    let result = call.await;
    assert_eq!(
        result,
        Err(CallError::Breaker(Error::Timeout { service: "pol-timeout", timeout: millis(250) }))
    );
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.consecutive_failures, 1);
    assert_eq!((s.window.calls, s.window.failures, s.window.timeouts), (1, 1, 1));
}

#[tokio::test]
async fn call_within_its_timeout_returns_its_answer() {
    let (breaker, clock) = manual("pol-within-timeout", Config::builder().timeout(millis(250)));
    let call = breaker.call(async {
        clock.sleep(millis(249)).await;
        CallResult::Ok(9)
    });
    let result = after(&clock, millis(249), call).await;
    assert_eq!(result, Ok(9));
    assert_eq!(breaker.snapshot().window.timeouts, 0);
}

#[tokio::test]
async fn timeouts_count_toward_the_threshold_and_open_the_circuit() {
    let (breaker, clock) = manual("pol-timeouts-open", Config::builder().threshold(2).timeout(millis(100)));
    let mut events = breaker.subscribe();
    for _ in 0..2 {
        let result = after(&clock, millis(100), breaker.call(hanging())).await;
        assert!(matches!(result, Err(CallError::Breaker(Error::Timeout { .. }))), "{result:?}");
    }
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!((s.window.timeouts, s.window.failures), (2, 2));
    assert_eq!(
        transitions(&events.drain()),
        vec![EventKind::Transition {
            from: State::Closed,
            to: State::Open,
            reason: Reason::ConsecutiveFailures { count: 2, threshold: 2 },
            generation: s.generation,
        }]
    );
}

#[tokio::test(start_paused = true)]
async fn probe_that_times_out_reopens_the_circuit() {
    let (breaker, clock) = manual(
        "pol-probe-timeout",
        Config::builder().threshold(1).timeout(millis(100)).recovery_timeout(secs(5)),
    );
    fail_times(&breaker, 1).await;
    clock.advance(secs(5));
    assert_eq!(breaker.state(), State::HalfOpen);
    let result = after(&clock, millis(100), breaker.call(hanging())).await;
    assert_eq!(
        result,
        Err(CallError::Breaker(Error::Timeout { service: "pol-probe-timeout", timeout: millis(100) }))
    );
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.snapshot().retry_after, Some(secs(5)));
}

#[tokio::test(start_paused = true)]
async fn two_step_permit_can_record_a_timeout() {
    let (breaker, _clock) = manual("pol-permit-timeout", Config::builder().threshold(1));
    breaker.try_acquire().unwrap().timed_out();
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!((s.window.timeouts, s.window.failures), (1, 1));
}

/// Counts its polls; answers on the third.
struct CountedPolls<'a>(&'a AtomicUsize);

impl Future for CountedPolls<'_> {
    type Output = CallResult;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<CallResult> {
        if self.0.fetch_add(1, Ordering::SeqCst) == 2 {
            return Poll::Ready(Ok(3));
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[tokio::test(start_paused = true)]
async fn protected_future_is_polled_once_per_poll_with_or_without_a_timeout() {
    for (name, timeout) in [("pol-polls-timeout", Some(secs(1))), ("pol-polls-no-timeout", None)] {
        let config = Config::builder().threshold(5);
        let config = match timeout {
            Some(limit) => config.timeout(limit),
            None => config.no_timeout(),
        };
        let (breaker, _clock) = manual(name, config);
        let polls = AtomicUsize::new(0);
        let mut call = std::pin::pin!(breaker.call(CountedPolls(&polls)));
        let mut outer = 0;
        let result = std::future::poll_fn(|cx| {
            outer += 1;
            call.as_mut().poll(cx)
        })
        .await;
        assert_eq!(result, Ok(3), "{name}");
        assert_eq!((outer, polls.load(Ordering::SeqCst)), (3, 3), "{name}");
    }
}

// ---- bulkhead ---------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn bulkheads_of_two_services_are_independent() {
    // BH-8: A has 2 places, B has 5; 10 calls to A at once and 5 to B.
    let (a, _ca) = manual("pol-bh8-a", Config::builder().max_concurrent(2).queue(0).no_timeout());
    let (b, _cb) = manual("pol-bh8-b", Config::builder().max_concurrent(5).queue(0).no_timeout());
    let gate = Arc::new(Semaphore::new(0));
    let (started_a, started_b) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut calls_a: Vec<Pending<'_>> =
        (0..10).map(|i| Box::pin(a.call(gated(&gate, &started_a, i))) as Pending<'_>).collect();
    let mut calls_b: Vec<Pending<'_>> =
        (0..5).map(|i| Box::pin(b.call(gated(&gate, &started_b, 100 + i))) as Pending<'_>).collect();

    let mut rejected_a = 0;
    let mut running_a = Vec::new();
    for (i, call) in calls_a.iter_mut().enumerate() {
        match poll_once(call.as_mut()) {
            Poll::Pending => running_a.push(i),
            Poll::Ready(result) => {
                assert_eq!(
                    result,
                    Err(CallError::Breaker(Error::BulkheadFull {
                        service: "pol-bh8-a",
                        max_concurrent: 2,
                        queue: 0
                    }))
                );
                rejected_a += 1;
            }
        }
    }
    for call in calls_b.iter_mut() {
        assert!(poll_once(call.as_mut()).is_pending(), "B's calls all get a place");
    }
    assert_eq!(running_a, vec![0, 1]);
    assert_eq!(rejected_a, 8);
    assert_eq!(started_a.load(Ordering::SeqCst), 2, "rejected calls must not run");
    assert_eq!(started_b.load(Ordering::SeqCst), 5);
    let (sa, sb) = (a.snapshot(), b.snapshot());
    assert_eq!((sa.bulkhead.max_concurrent, sa.bulkhead.in_use, sa.bulkhead.queued), (Some(2), 2, 0));
    assert_eq!((sb.bulkhead.max_concurrent, sb.bulkhead.in_use, sb.bulkhead.queued), (Some(5), 5, 0));
    assert_eq!((sa.rejections.bulkhead, sb.rejections.bulkhead), (8, 0));

    // Let them finish: the running calls answer, and the places come back.
    gate.add_permits(100);
    calls_a.truncate(2); // the 8 rejected calls have completed
    let finished_a = futures::future::join_all(calls_a).await;
    assert_eq!(finished_a, vec![Ok(0), Ok(1)]);
    let finished_b = futures::future::join_all(calls_b).await;
    assert_eq!(finished_b, vec![Ok(100), Ok(101), Ok(102), Ok(103), Ok(104)]);
    assert_eq!((a.snapshot().bulkhead.in_use, b.snapshot().bulkhead.in_use), (0, 0));
    assert_eq!((a.snapshot().window.successes, b.snapshot().window.successes), (2, 5));
}

#[tokio::test(start_paused = true)]
async fn bulkhead_rejection_is_never_a_failure() {
    let (breaker, _clock) =
        manual("pol-bh-not-failure", Config::builder().threshold(1).max_concurrent(1).no_timeout());
    let gate = Arc::new(Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let mut holder = Box::pin(breaker.call(gated(&gate, &started, 1)));
    assert!(poll_once(holder.as_mut()).is_pending());
    for _ in 0..5 {
        let result = breaker.call(ok(2)).await;
        assert_eq!(
            result,
            Err(CallError::Breaker(Error::BulkheadFull {
                service: "pol-bh-not-failure",
                max_concurrent: 1,
                queue: 0
            }))
        );
    }
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed, "threshold 1 and still closed: rejections are not failures");
    assert_eq!(s.consecutive_failures, 0);
    assert_eq!((s.window.calls, s.window.failures), (0, 0));
    assert_eq!(s.rejections.bulkhead, 5);
    assert_eq!(s.last_failure, None);
    gate.add_permits(1);
    assert_eq!(holder.await, Ok(1));
    assert_eq!(breaker.call(ok(3)).await, Ok(3), "the place is free again");
}

#[tokio::test(start_paused = true)]
async fn queued_call_runs_when_a_place_frees_up() {
    let (breaker, _clock) = manual(
        "pol-queue-runs",
        Config::builder().max_concurrent(1).queue(1).queue_timeout(millis(100)).no_timeout(),
    );
    let gate = Arc::new(Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let mut first = Box::pin(breaker.call(gated(&gate, &started, 1)));
    assert!(poll_once(first.as_mut()).is_pending());
    let mut second = Box::pin(breaker.call(gated(&gate, &started, 2)));
    assert!(poll_once(second.as_mut()).is_pending());
    let s = breaker.snapshot();
    assert_eq!((s.bulkhead.in_use, s.bulkhead.queued), (1, 1));
    assert_eq!(started.load(Ordering::SeqCst), 1, "the queued call has not started");
    // A third call finds the queue full and is rejected at once.
    assert_eq!(
        breaker.call(ok(3)).await,
        Err(CallError::Breaker(Error::BulkheadFull {
            service: "pol-queue-runs",
            max_concurrent: 1,
            queue: 1
        }))
    );
    gate.add_permits(2);
    assert_eq!(first.await, Ok(1));
    assert_eq!(second.await, Ok(2));
    let s = breaker.snapshot();
    assert_eq!((s.bulkhead.in_use, s.bulkhead.queued), (0, 0));
    assert_eq!((s.window.successes, s.rejections.bulkhead), (2, 1));
}

#[tokio::test]
async fn queued_call_gives_up_after_queue_timeout_without_counting_a_failure() {
    let (breaker, clock) = manual(
        "pol-queue-timeout",
        Config::builder().threshold(1).max_concurrent(1).queue(4).queue_timeout(millis(100)).no_timeout(),
    );
    let gate = Arc::new(Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let mut holder = Box::pin(breaker.call(gated(&gate, &started, 1)));
    assert!(poll_once(holder.as_mut()).is_pending());
    let mut queued = std::pin::pin!(breaker.call(gated(&gate, &started, 2)));
    assert!(poll_once(queued.as_mut()).is_pending());
    clock.advance(millis(99));
    assert!(poll_once(queued.as_mut()).is_pending(), "it waits its whole queue timeout");
    clock.advance(millis(1));
    let result = queued.await;
    assert_eq!(
        result,
        Err(CallError::Breaker(Error::BulkheadFull {
            service: "pol-queue-timeout",
            max_concurrent: 1,
            queue: 4
        }))
    );
    assert_eq!(started.load(Ordering::SeqCst), 1);
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!((s.bulkhead.queued, s.rejections.bulkhead, s.window.calls), (0, 1, 0));
}

/// The time a call waits in the bulkhead's queue is this side's congestion, not the
/// service's latency: a call that queued 600 ms and then ran at once is not slow.
#[tokio::test]
async fn time_in_the_queue_is_not_the_calls_latency() {
    let (breaker, clock) = manual(
        "pol-queue-latency",
        Config::builder()
            .max_concurrent(1)
            .queue(1)
            .queue_timeout(secs(1))
            .slow_call(millis(500))
            .no_timeout(),
    );
    let gate = Arc::new(Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let mut holder = Box::pin(breaker.call(gated(&gate, &started, 1)));
    assert!(poll_once(holder.as_mut()).is_pending());
    let mut queued = Box::pin(breaker.call(ok(2)));
    assert!(poll_once(queued.as_mut()).is_pending());
    clock.advance(millis(600));
    gate.add_permits(1);
    assert_eq!(holder.await, Ok(1));
    assert_eq!(queued.await, Ok(2));
    let s = breaker.snapshot();
    assert_eq!((s.window.successes, s.window.slow), (2, 1), "only the holder ran 600 ms: {:?}", s.window);
}

#[tokio::test(start_paused = true)]
async fn cancelled_queued_call_leaves_the_queue() {
    let (breaker, _clock) = manual(
        "pol-queue-cancel",
        Config::builder().max_concurrent(1).queue(1).queue_timeout(secs(1)).no_timeout(),
    );
    let gate = Arc::new(Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let mut holder = Box::pin(breaker.call(gated(&gate, &started, 1)));
    assert!(poll_once(holder.as_mut()).is_pending());
    {
        let mut queued = Box::pin(breaker.call(gated(&gate, &started, 2)));
        assert!(poll_once(queued.as_mut()).is_pending());
        assert_eq!(breaker.snapshot().bulkhead.queued, 1);
    }
    assert_eq!(breaker.snapshot().bulkhead.queued, 0);
    // The queue has room again.
    let mut next = Box::pin(breaker.call(gated(&gate, &started, 3)));
    assert!(poll_once(next.as_mut()).is_pending());
    assert_eq!(breaker.snapshot().bulkhead.queued, 1);
    gate.add_permits(2);
    assert_eq!(holder.await, Ok(1));
    assert_eq!(next.await, Ok(3));
}

#[tokio::test(start_paused = true)]
async fn cancelled_running_call_gives_its_bulkhead_place_back() {
    let (breaker, _clock) = manual("pol-bh-cancel", Config::builder().max_concurrent(1).no_timeout());
    {
        let mut call = Box::pin(breaker.call(hanging()));
        assert!(poll_once(call.as_mut()).is_pending());
        assert_eq!(breaker.snapshot().bulkhead.in_use, 1);
    }
    assert_eq!(breaker.snapshot().bulkhead.in_use, 0);
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
}

#[tokio::test(start_paused = true)]
async fn open_circuit_rejects_before_the_bulkhead_is_touched() {
    let (breaker, _clock) =
        manual("pol-open-before-bulkhead", Config::builder().threshold(1).max_concurrent(1).no_timeout());
    let gate = Arc::new(Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    // One call takes the only place, admitted while closed.
    let mut holder = Box::pin(breaker.call(gated(&gate, &started, 1)));
    assert!(poll_once(holder.as_mut()).is_pending());
    // A failure recorded through the two-step API (no bulkhead) opens the circuit.
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), State::Open);
    // Full bulkhead and open circuit: the circuit answers first.
    let result = breaker.call(ok(2)).await;
    assert!(matches!(result, Err(CallError::Breaker(Error::CircuitOpen { .. }))), "{result:?}");
    let s = breaker.snapshot();
    assert_eq!((s.rejections.open, s.rejections.bulkhead), (1, 0));
    assert_eq!(s.bulkhead.in_use, 1);
    gate.add_permits(1);
    assert_eq!(holder.await, Ok(1));
}

#[tokio::test(start_paused = true)]
async fn open_circuit_rejection_does_not_wait_for_the_timeout() {
    let (breaker, _clock) = manual("pol-open-no-wait", Config::builder().threshold(1).timeout(secs(5)));
    fail_times(&breaker, 1).await;
    let mut call = std::pin::pin!(breaker.call(hanging()));
    let result = poll_once(call.as_mut());
    assert!(matches!(result, Poll::Ready(Err(CallError::Breaker(Error::CircuitOpen { .. })))), "{result:?}");
}

#[tokio::test(start_paused = true)]
async fn probe_rejected_by_the_bulkhead_gives_its_probe_place_back() {
    let (breaker, clock) = manual(
        "pol-probe-bulkhead",
        Config::builder().threshold(1).max_concurrent(1).no_timeout().recovery_timeout(secs(5)),
    );
    let gate = Arc::new(Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let mut holder = Box::pin(breaker.call(gated(&gate, &started, 1)));
    assert!(poll_once(holder.as_mut()).is_pending());
    breaker.try_acquire().unwrap().failure();
    clock.advance(secs(5));
    assert_eq!(breaker.state(), State::HalfOpen);
    let result = breaker.call(ok(2)).await;
    assert!(matches!(result, Err(CallError::Breaker(Error::BulkheadFull { .. }))), "{result:?}");
    let s = breaker.snapshot();
    assert_eq!(s.state, State::HalfOpen);
    assert_eq!(s.probes.in_flight, 0, "the probe place was given back");
    gate.add_permits(1);
    assert_eq!(holder.await, Ok(1));
    assert_eq!(breaker.state(), State::HalfOpen, "a call from the closed period does not close it");
    assert_eq!(breaker.call(ok(3)).await, Ok(3));
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test(start_paused = true)]
async fn bulkhead_capacity_follows_reconfiguration() {
    let (breaker, _clock) = manual("pol-bh-resize", Config::builder().max_concurrent(1).no_timeout());
    let gate = Arc::new(Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let mut first = Box::pin(breaker.call(gated(&gate, &started, 1)));
    assert!(poll_once(first.as_mut()).is_pending());
    let mut config = breaker.config();
    config.max_concurrent = Some(2);
    breaker.reconfigure(config).expect("valid");
    let mut second = Box::pin(breaker.call(gated(&gate, &started, 2)));
    assert!(poll_once(second.as_mut()).is_pending(), "the new place is usable");
    assert_eq!(breaker.snapshot().bulkhead.in_use, 2);
    assert_eq!(
        breaker.call(ok(3)).await,
        Err(CallError::Breaker(Error::BulkheadFull {
            service: "pol-bh-resize",
            max_concurrent: 2,
            queue: 0
        }))
    );
    gate.add_permits(2);
    assert_eq!(first.await, Ok(1));
    assert_eq!(second.await, Ok(2));
}

#[tokio::test(start_paused = true)]
async fn without_a_bulkhead_any_number_of_calls_run_at_once() {
    let (breaker, _clock) = manual("pol-no-bulkhead", Config::builder().no_bulkhead().no_timeout());
    let gate = Arc::new(Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let mut calls: Vec<Pending<'_>> =
        (0..500).map(|i| Box::pin(breaker.call(gated(&gate, &started, i))) as Pending<'_>).collect();
    for call in calls.iter_mut() {
        assert!(poll_once(call.as_mut()).is_pending());
    }
    assert_eq!(started.load(Ordering::SeqCst), 500);
    let s = breaker.snapshot();
    assert_eq!((s.bulkhead.max_concurrent, s.rejections.bulkhead), (None, 0));
    gate.add_permits(500);
    let results = futures::future::join_all(calls).await;
    assert!(results.iter().all(Result::is_ok));
}
