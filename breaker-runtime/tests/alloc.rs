//! The hot paths allocate nothing (DESIGN.md section 4): a closed call, an open
//! rejection, a half-open probe, and the two-step `try_acquire` + `record`.
//!
//! A counting global allocator counts the allocations of the current thread while a
//! measured section runs (a thread-local switch, so the test harness's other threads
//! and the real clock's background thread are not counted). Each test warms up first
//! (a thread's first call claims its lane; building a breaker allocates), then measures
//! many calls and expects no allocation at all. Futures are polled once with a no-op
//! waker: every call here completes on its first poll.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use breaker_runtime::{CircuitBreaker, Config, Error, ManualClock, Outcome, State};

struct Counting;

thread_local! {
    static MEASURING: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn note_allocation() {
    // `try_with`: the allocator may run while the thread's locals are being destroyed.
    if MEASURING.try_with(Cell::get).unwrap_or(false) {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every method forwards to `System` unchanged; counting touches only
// const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const WARM_UP: usize = 16;
const CALLS: usize = 1000;

/// Allocations made by the current thread while `f` runs.
fn allocations(f: impl FnOnce()) -> u64 {
    ALLOCATIONS.with(|n| n.set(0));
    MEASURING.with(|m| m.set(true));
    f();
    MEASURING.with(|m| m.set(false));
    ALLOCATIONS.with(Cell::get)
}

/// Runs `f` `WARM_UP` times, then counts the allocations of `CALLS` more runs.
fn allocations_per_run(mut f: impl FnMut()) -> u64 {
    for _ in 0..WARM_UP {
        f();
    }
    allocations(|| {
        for _ in 0..CALLS {
            f();
        }
    })
}

/// Polls `future` once; it must complete.
fn ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the call did not complete on its first poll"),
    }
}

fn manual(service: &str, config: Config) -> (CircuitBreaker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let breaker = CircuitBreaker::with_clock(service, config, clock.clone()).expect("valid breaker");
    (breaker, clock)
}

/// The counter does see allocations in the measured section, so a zero below means
/// none were made.
#[test]
fn counting_allocator_counts_an_allocation_in_the_measured_section() {
    let n = allocations_per_run(|| drop(black_box(Box::new(black_box(7u64)))));
    assert_eq!(n, CALLS as u64);
}

#[test]
fn closed_call_with_the_default_config_allocates_nothing() {
    let breaker = CircuitBreaker::new("alloc-closed-defaults", Config::default()).unwrap();
    let n = allocations_per_run(|| {
        let result = ready(breaker.call(async { Ok::<_, Error>(black_box(1)) }));
        assert!(matches!(result, Ok(1)));
    });
    assert_eq!(n, 0, "allocations in {CALLS} closed calls (default config)");
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn closed_call_with_a_minimal_config_allocates_nothing() {
    let config = Config::builder().no_timeout().no_bulkhead().build().unwrap();
    let breaker = CircuitBreaker::new("alloc-closed-minimal", config).unwrap();
    let n = allocations_per_run(|| {
        let result = ready(breaker.call(async { Ok::<_, Error>(black_box(1)) }));
        assert!(matches!(result, Ok(1)));
    });
    assert_eq!(n, 0, "allocations in {CALLS} closed calls (minimal config)");
}

/// Failures below the threshold, and the success that resets their count.
#[test]
fn closed_failures_and_successes_allocate_nothing() {
    let config = Config::builder().threshold(u32::MAX).no_timeout().no_bulkhead().build().unwrap();
    let breaker = CircuitBreaker::new("alloc-closed-failures", config).unwrap();
    let mut i = 0u32;
    let n = allocations_per_run(|| {
        i += 1;
        let fails = i % 3 != 0;
        let result = ready(breaker.call(async move {
            if fails {
                Err(Error::Timeout { service: "upstream", timeout: Duration::from_secs(1) })
            } else {
                Ok(1)
            }
        }));
        assert_eq!(result.is_err(), fails);
    });
    assert_eq!(n, 0, "allocations in {CALLS} closed calls, two in three failing");
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn open_rejection_allocates_nothing() {
    let config = Config::builder().threshold(1).recovery_timeout(Duration::from_secs(30)).build().unwrap();
    let (breaker, _clock) = manual("alloc-open", config);
    breaker.try_acquire().unwrap().failure();
    assert_eq!(breaker.state(), State::Open);
    let n = allocations_per_run(|| {
        let result = ready(breaker.call(async { Ok::<_, Error>(black_box(1)) }));
        assert!(matches!(result, Err(Error::CircuitOpen { retry_after: Some(_), .. })));
    });
    assert_eq!(n, 0, "allocations in {CALLS} open rejections");
    assert_eq!(breaker.snapshot().rejections.open, (WARM_UP + CALLS) as u64);
}

/// A subscriber is told of every rejection; telling it allocates nothing either.
#[test]
fn open_rejection_seen_by_a_subscriber_allocates_nothing() {
    let config = Config::builder().threshold(1).recovery_timeout(Duration::from_secs(30)).build().unwrap();
    let (breaker, _clock) = manual("alloc-open-subscribed", config);
    breaker.try_acquire().unwrap().failure();
    let mut events = breaker.subscribe();
    let n = allocations_per_run(|| {
        let result = ready(breaker.call(async { Ok::<_, Error>(black_box(1)) }));
        assert!(matches!(result, Err(Error::CircuitOpen { .. })));
    });
    assert_eq!(n, 0, "allocations in {CALLS} open rejections with a subscriber");
    assert!(!events.drain().is_empty());
}

#[test]
fn forced_open_rejection_allocates_nothing() {
    let (breaker, _clock) = manual("alloc-forced-open", Config::default());
    breaker.force_open();
    let n = allocations_per_run(|| {
        let result = ready(breaker.call(async { Ok::<_, Error>(black_box(1)) }));
        assert!(matches!(result, Err(Error::CircuitOpen { retry_after: None, .. })));
    });
    assert_eq!(n, 0, "allocations in {CALLS} forced-open rejections");
}

/// A half-open breaker whose probes never close it (the success threshold is out of
/// reach), so every measured call is a probe admitted and recorded, with no transition.
fn half_open(service: &str) -> CircuitBreaker {
    let config = Config::builder()
        .threshold(1)
        .recovery_timeout(Duration::from_secs(1))
        .half_open_max_calls(1)
        .success_threshold(breaker_runtime::defaults::MAX_PROBES)
        .build()
        .unwrap();
    let (breaker, clock) = manual(service, config);
    breaker.try_acquire().unwrap().failure();
    clock.advance(Duration::from_secs(1));
    assert_eq!(breaker.state(), State::HalfOpen);
    breaker
}

#[test]
fn half_open_probe_call_allocates_nothing() {
    let breaker = half_open("alloc-probe-call");
    let n = allocations_per_run(|| {
        let result = ready(breaker.call(async { Ok::<_, Error>(black_box(1)) }));
        assert!(matches!(result, Ok(1)));
    });
    assert_eq!(n, 0, "allocations in {CALLS} probe calls");
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::HalfOpen);
    assert_eq!(snapshot.probes.successes, (WARM_UP + CALLS) as u32);
}

#[test]
fn half_open_probe_limit_rejection_allocates_nothing() {
    let breaker = half_open("alloc-probe-limit");
    let probe = breaker.try_acquire().unwrap();
    assert!(probe.is_probe());
    let n = allocations_per_run(|| {
        let result = ready(breaker.call(async { Ok::<_, Error>(black_box(1)) }));
        assert!(matches!(result, Err(Error::ProbeLimit { .. })));
    });
    assert_eq!(n, 0, "allocations in {CALLS} probe-limit rejections");
    drop(probe);
}

#[test]
fn two_step_permit_allocates_nothing() {
    let config = Config::builder().threshold(u32::MAX).build().unwrap();
    let (breaker, _clock) = manual("alloc-two-step", config);
    let outcomes = [Outcome::Success, Outcome::Failure, Outcome::Ignored];
    let mut i = 0;
    let n = allocations_per_run(|| {
        i += 1;
        let permit = breaker.try_acquire().unwrap();
        permit.record(outcomes[i % outcomes.len()]);
        // Cancelled (dropped unrecorded) permits too.
        drop(breaker.try_acquire().unwrap());
    });
    assert_eq!(n, 0, "allocations in {CALLS} two-step calls");
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn two_step_probe_allocates_nothing() {
    let breaker = half_open("alloc-two-step-probe");
    let mut i = 0;
    let n = allocations_per_run(|| {
        i += 1;
        let probe = breaker.try_acquire().unwrap();
        assert!(probe.is_probe());
        match i % 3 {
            0 => probe.success(),
            1 => probe.ignored(),
            _ => drop(probe),
        }
    });
    assert_eq!(n, 0, "allocations in {CALLS} two-step probes");
    assert_eq!(breaker.state(), State::HalfOpen);
}

/// Pending on its first poll, ready on its second with what its function gives: a call
/// that has to wait.
struct WaitOnce<T>(bool, fn() -> T);

impl<T> Future for WaitOnce<T> {
    type Output = T;

    fn poll(mut self: std::pin::Pin<&mut Self>, _: &mut Context<'_>) -> Poll<T> {
        if std::mem::replace(&mut self.0, true) { Poll::Ready((self.1)()) } else { Poll::Pending }
    }
}

/// What a protected call that waits once returns.
fn one() -> Result<u32, Error> {
    Ok(1)
}

/// Polls `future` until it completes; it must take exactly two polls.
fn after_one_wait<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    let mut future = pin!(future);
    assert!(future.as_mut().poll(&mut cx).is_pending(), "the call waits once");
    match future.as_mut().poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the call did not complete on its second poll"),
    }
}

#[test]
fn a_call_that_waits_with_a_timeout_on_the_manual_clock_allocates_nothing() {
    let config = Config::builder().timeout(Duration::from_secs(1)).build().unwrap();
    let (breaker, clock) = manual("alloc-wait-manual", config);
    let n = allocations_per_run(|| {
        let result = after_one_wait(breaker.call(WaitOnce(false, one)));
        assert!(matches!(result, Ok(1)));
    });
    assert_eq!(n, 0, "allocations in {CALLS} calls that waited with a timeout");
    assert_eq!(clock.sleepers(), 0, "every call left the clock");
}

#[test]
fn a_call_that_waits_with_a_timeout_on_tokios_timer_allocates_nothing() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let _context = runtime.enter();
    let config = Config::builder().timeout(Duration::from_secs(1)).build().unwrap();
    let breaker = CircuitBreaker::new("alloc-wait-tokio", config).unwrap();
    let n = allocations_per_run(|| {
        let result = after_one_wait(breaker.call(WaitOnce(false, one)));
        assert!(matches!(result, Ok(1)));
    });
    assert_eq!(n, 0, "allocations in {CALLS} calls that waited with tokio's timer");
}

#[test]
fn a_call_that_waits_in_the_bulkhead_queue_allocates_nothing() {
    let config = Config::builder()
        .max_concurrent(1)
        .queue(1)
        .queue_timeout(Duration::from_secs(1))
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let (breaker, clock) = manual("alloc-queued", config);
    let mut cx = Context::from_waker(Waker::noop());
    let n = allocations_per_run(|| {
        // One call holds the only place; the next waits in the queue for it.
        let mut holder = pin!(breaker.call(WaitOnce(false, one)));
        assert!(holder.as_mut().poll(&mut cx).is_pending());
        let mut queued = pin!(breaker.call(WaitOnce(false, one)));
        assert!(queued.as_mut().poll(&mut cx).is_pending());
        assert_eq!(breaker.snapshot().bulkhead.queued, 1);
        assert!(matches!(holder.as_mut().poll(&mut cx), Poll::Ready(Ok(1))));
        // The place went to the queued call: it runs (and waits once, with its timeout).
        assert!(queued.as_mut().poll(&mut cx).is_pending());
        assert!(matches!(queued.as_mut().poll(&mut cx), Poll::Ready(Ok(1))));
    });
    assert_eq!(n, 0, "allocations in {CALLS} rounds of a held place and a queued call");
    let s = breaker.snapshot();
    assert_eq!((s.bulkhead.in_use, s.bulkhead.queued, s.rejections.bulkhead), (0, 0, 0));
    assert_eq!(clock.sleepers(), 0);
}

/// The tower layer's closed and open paths, around a service that answers at once.
#[cfg(feature = "tower")]
mod tower_layer {
    use std::convert::Infallible;

    use breaker_runtime::integrations::tower::{CircuitBreakerLayer, Identify, ServiceError};
    use breaker_runtime::{ConfigLayer, registry};
    use tower::{Layer, Service};

    use super::*;

    fn request() -> http::Request<()> {
        // A static URI and no headers: building the request allocates nothing either.
        let mut request = http::Request::new(());
        *request.uri_mut() = http::Uri::from_static("http://alloc-layer-host.test/quote");
        request
    }

    fn answer(
        status: u16,
    ) -> impl Service<http::Request<()>, Response = http::Response<()>, Error = Infallible> + Clone {
        tower::service_fn(move |_: http::Request<()>| async move {
            let mut response = http::Response::new(());
            *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
            Ok::<_, Infallible>(response)
        })
    }

    fn call<S>(service: &mut S) -> Result<S::Response, S::Error>
    where
        S: Service<http::Request<()>>,
    {
        let mut cx = Context::from_waker(Waker::noop());
        assert!(service.poll_ready(&mut cx).is_ready());
        ready(service.call(request()))
    }

    #[test]
    fn the_layers_closed_path_allocates_nothing() {
        let mut fixed =
            CircuitBreakerLayer::new().identify(Identify::service("alloc-layer-closed")).layer(answer(200));
        let n = allocations_per_run(|| assert!(call(&mut fixed).is_ok()));
        assert_eq!(n, 0, "allocations in {CALLS} closed calls through the layer (fixed service)");
        // By host: the breaker is found in the registry on every request.
        let mut by_host = CircuitBreakerLayer::new().layer(answer(200));
        let n = allocations_per_run(|| assert!(call(&mut by_host).is_ok()));
        assert_eq!(n, 0, "allocations in {CALLS} closed calls through the layer (by host)");
        // A failure judged by status, below the threshold.
        let mut failing =
            CircuitBreakerLayer::new().identify(Identify::service("alloc-layer-5xx")).layer(answer(503));
        registry()
            .set_override("alloc-layer-5xx", ConfigLayer { threshold: Some(u32::MAX), ..Default::default() })
            .unwrap();
        let n = allocations_per_run(|| assert_eq!(call(&mut failing).unwrap().status(), 503));
        assert_eq!(n, 0, "allocations in {CALLS} failed calls through the layer");
    }

    /// What an inner service answers after waiting once (as a client's does).
    fn ok() -> Result<http::Response<()>, Infallible> {
        Ok(http::Response::new(()))
    }

    #[test]
    fn a_request_that_waits_with_the_layers_timeout_allocates_nothing() {
        // The defaults: a 10 s timeout, on tokio's timer, started when the request
        // first waits.
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        let _context = runtime.enter();
        let inner = tower::service_fn(|_: http::Request<()>| WaitOnce(false, ok));
        let mut service =
            CircuitBreakerLayer::new().identify(Identify::service("alloc-layer-wait")).layer(inner);
        let mut cx = Context::from_waker(Waker::noop());
        let n = allocations_per_run(|| {
            assert!(service.poll_ready(&mut cx).is_ready());
            let response = after_one_wait(service.call(request()));
            assert_eq!(response.unwrap().status(), 200);
        });
        assert_eq!(n, 0, "allocations in {CALLS} requests that waited with a timeout");
        let snapshot = registry().get("alloc-layer-wait").unwrap().snapshot();
        assert_eq!((snapshot.calls.successes, snapshot.calls.timeouts), ((WARM_UP + CALLS) as u64, 0));
    }

    #[test]
    fn the_layers_open_rejection_allocates_nothing() {
        let mut service =
            CircuitBreakerLayer::new().identify(Identify::service("alloc-layer-open")).layer(answer(200));
        registry().get("alloc-layer-open").unwrap().force_open();
        let n = allocations_per_run(|| {
            assert!(matches!(call(&mut service), Err(ServiceError::Breaker(Error::CircuitOpen { .. }))));
        });
        assert_eq!(n, 0, "allocations in {CALLS} rejections by the layer");
    }
}
