//! Helpers shared by the behavioural tests: a user's error type, calls that succeed or
//! fail on demand, breakers on a manual clock, and event filters.
//!
//! Everything here goes through the crate's public API only.

#![allow(dead_code)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use breaker_runtime::fallback::Cause;
use breaker_runtime::{
    CircuitBreaker, Clock, Config, ConfigBuilder, Error, Event, EventKind, Instant, ManualClock,
};

/// The error type of the "user's" protected functions.
#[derive(Debug, Clone, PartialEq)]
pub enum CallError {
    /// The breaker's own error (rejection, timeout, depth limit).
    Breaker(Error),
    /// The downstream answered with this HTTP-like status.
    Upstream(u16),
    /// A cache lookup found nothing.
    CacheMiss,
}

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        CallError::Breaker(e)
    }
}

pub type CallResult<T = u32> = Result<T, CallError>;

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The instant `d` after a manual clock's origin.
pub fn at(d: Duration) -> Instant {
    Instant::from_nanos(u64::try_from(d.as_nanos()).expect("test durations fit in u64"))
}

/// A breaker for `service` on a fresh manual clock.
pub fn manual(service: &str, config: ConfigBuilder) -> (CircuitBreaker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let config = config.build().expect("the test configuration is valid");
    let breaker = CircuitBreaker::with_clock(service, config, clock.clone()).expect("the breaker is built");
    (breaker, clock)
}

/// A breaker for `service` on a fresh manual clock, from a ready configuration.
pub fn manual_with(service: &str, config: Config) -> (CircuitBreaker, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new());
    let breaker = CircuitBreaker::with_clock(service, config, clock.clone()).expect("the breaker is built");
    (breaker, clock)
}

/// The wall-clock time a manual clock shows for the instant `d` after its origin.
pub fn wall(clock: &ManualClock, d: Duration) -> SystemTime {
    clock.system_time(at(d))
}

/// A call that succeeds with `v`.
pub async fn ok(v: u32) -> CallResult {
    Ok(v)
}

/// A call that fails with status `code`.
pub async fn fail(code: u16) -> CallResult {
    Err(CallError::Upstream(code))
}

/// A call that counts how often its body ran, then succeeds.
pub fn counted_ok(runs: &Arc<AtomicUsize>) -> impl Future<Output = CallResult> {
    let runs = runs.clone();
    async move {
        runs.fetch_add(1, Ordering::SeqCst);
        Ok(1)
    }
}

/// A call that counts how often its body ran, then fails with 500.
pub fn counted_fail(runs: &Arc<AtomicUsize>) -> impl Future<Output = CallResult> {
    let runs = runs.clone();
    async move {
        runs.fetch_add(1, Ordering::SeqCst);
        Err(CallError::Upstream(500))
    }
}

/// A call that takes `d` on the manual clock (it advances the clock while running),
/// then answers `result`.
pub fn taking(clock: &Arc<ManualClock>, d: Duration, result: CallResult) -> impl Future<Output = CallResult> {
    let clock = clock.clone();
    async move {
        clock.advance(d);
        result
    }
}

/// A call that never answers.
pub fn hanging() -> impl Future<Output = CallResult> {
    std::future::pending()
}

/// Drives `breaker` through `n` failed calls.
pub async fn fail_times(breaker: &CircuitBreaker, n: usize) {
    for _ in 0..n {
        let result = breaker.call(fail(500)).await;
        assert!(result.is_err(), "a failing call returned {result:?}");
    }
}

/// Polls `future` once with a waker that does nothing.
pub fn poll_once<F: Future + ?Sized>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// The kinds of `events`, in order.
pub fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind.clone()).collect()
}

/// The transitions among `events`, in order.
pub fn transitions(events: &[Event]) -> Vec<EventKind> {
    events.iter().filter(|e| matches!(e.kind, EventKind::Transition { .. })).map(|e| e.kind.clone()).collect()
}

/// What a fallback saw of its cause, owned (a fallback's future cannot borrow it).
#[derive(Debug, Clone, PartialEq)]
pub enum Seen {
    Rejected(Error),
    TimedOut(Error),
    Failed(CallError),
}

pub fn seen(cause: &Cause<CallError>) -> Seen {
    match cause {
        Cause::Rejected(e) => Seen::Rejected(e.clone()),
        Cause::TimedOut(e) => Seen::TimedOut(e.clone()),
        Cause::Failed(e) => Seen::Failed(e.clone()),
    }
}

/// Polls `future` once (it must be waiting then), advances `clock` by `d`, and awaits
/// it: how a test drives a call that waits on the manual clock (a timeout, a queue).
pub async fn after<F: Future>(clock: &ManualClock, d: Duration, future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    assert!(poll_once(future.as_mut()).is_pending(), "the future finished before the clock moved");
    clock.advance(d);
    future.await
}

/// Runs `future` to its end on the manual clock alone: polls it, and each time it
/// waits, advances `clock` to the next deadline it (or anything) waits for, as tokio's
/// paused time does. Returns its output and the time that passed on the clock. Fails
/// if the future waits while nothing waits on the clock (it would never end).
pub async fn drive<F: Future>(clock: &ManualClock, future: F) -> (F::Output, Duration) {
    let started = clock.now();
    let mut future = std::pin::pin!(future);
    for _ in 0..10_000 {
        if let Poll::Ready(output) = poll_once(future.as_mut()) {
            return (output, clock.now() - started);
        }
        let next = clock.next_deadline().expect("the future waits, but nothing waits on the clock");
        clock.advance_to(next);
    }
    panic!("the future did not end in 10,000 steps of the clock");
}

/// A writer that keeps what a `tracing` subscriber writes, for tests of logs and spans.
#[derive(Clone, Default)]
pub struct Captured(pub Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// What was written, one JSON record per line.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}
