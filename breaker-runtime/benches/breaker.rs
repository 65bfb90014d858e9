//! The cost of a protected call, side by side with the `failsafe` and `recloser` crates
//! and a bare call of the same async function, in one run.
//!
//! Every measured future completes on its first poll, so each iteration polls it once
//! with a no-op waker: no executor cost, only the breaker's. Run with
//! `cargo bench -p breaker-runtime --bench breaker`.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use std::sync::OnceLock;

use breaker_runtime::registry::{ConfigLayer, Off};
use breaker_runtime::{CircuitBreaker, Config, Error, circuit_breaker, registry};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

mod peers;
use peers::{failsafe_breaker, recloser_breaker};

/// The protected work: an async function that answers at once.
async fn work(x: u64) -> Result<u64, Error> {
    Ok(black_box(x))
}

async fn fail(_: u64) -> Result<u64, Error> {
    Err(Error::UnknownService { service: "down".into(), suggestion: None })
}

/// Polls a future that must be ready on its first poll. Always inlined, as the poll of
/// an awaited future is inlined into the `async fn` awaiting it.
#[inline(always)]
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the benchmarked future is not ready on its first poll"),
    }
}

/// Times `iters` calls in a tight loop, each call's future built, polled once and its
/// output handed to `black_box`. Every contender is measured by this same loop, with
/// its own handle (a clone, as a service would hold one) owned by the loop.
macro_rules! calls {
    ($iters:expr, $contender:expr, |$c:tt| $call:expr) => {{
        #[allow(unused_variables)]
        let $c = $contender;
        let start = Instant::now();
        for _ in 0..$iters {
            let _ = black_box(ready($call));
        }
        start.elapsed()
    }};
}

fn minimal() -> Config {
    Config::builder().threshold(5).no_timeout().no_bulkhead().build().unwrap()
}

fn ours(config: Config) -> CircuitBreaker {
    CircuitBreaker::new("bench", config).unwrap()
}

fn closed(c: &mut Criterion) {
    let mut group = c.benchmark_group("closed");
    group.bench_function(BenchmarkId::new("minimal", "bare"), |b| {
        b.iter_custom(|iters| calls!(iters, (), |_| work(black_box(1))))
    });
    let breaker = ours(minimal());
    group.bench_function(BenchmarkId::new("minimal", "breaker"), |b| {
        b.iter_custom(|iters| calls!(iters, breaker.clone(), |c| c.call(work(black_box(1)))))
    });
    let fs = failsafe_breaker();
    group.bench_function(BenchmarkId::new("minimal", "failsafe"), |b| {
        b.iter_custom(|iters| {
            calls!(iters, fs.clone(), |c| failsafe::futures::CircuitBreaker::call(&c, work(black_box(1))))
        })
    });
    let rc = recloser_breaker();
    group.bench_function(BenchmarkId::new("minimal", "recloser"), |b| {
        b.iter_custom(|iters| calls!(iters, rc.clone(), |c| c.call(work(black_box(1)))))
    });

    let windowed = ours(
        Config::builder()
            .threshold(5)
            .window(Duration::from_secs(60))
            .no_timeout()
            .no_bulkhead()
            .build()
            .unwrap(),
    );
    group.bench_function(BenchmarkId::new("window", "breaker"), |b| {
        b.iter_custom(|iters| calls!(iters, windowed.clone(), |c| c.call(work(black_box(1)))))
    });
    let defaults = ours(Config::default());
    group.bench_function(BenchmarkId::new("defaults", "breaker"), |b| {
        b.iter_custom(|iters| calls!(iters, defaults.clone(), |c| c.call(work(black_box(1)))))
    });
    group.finish();
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open");
    let breaker = ours(minimal());
    breaker.force_open();
    let breaker = ours(minimal());
    for _ in 0..5 {
        let _ = ready(breaker.call(fail(0)));
    }
    assert!(matches!(ready(breaker.call(work(1))), Err(Error::CircuitOpen { .. })));
    group.bench_function("breaker", |b| {
        b.iter_custom(|iters| calls!(iters, breaker.clone(), |c| c.call(work(black_box(1)))))
    });

    let fs = failsafe_breaker();
    for _ in 0..5 {
        let _ = ready(failsafe::futures::CircuitBreaker::call(&fs, fail(0)));
    }
    assert!(matches!(
        ready(failsafe::futures::CircuitBreaker::call(&fs, work(1))),
        Err(failsafe::Error::Rejected)
    ));
    group.bench_function("failsafe", |b| {
        b.iter_custom(|iters| {
            calls!(iters, fs.clone(), |c| failsafe::futures::CircuitBreaker::call(&c, work(black_box(1))))
        })
    });

    let rc = recloser_breaker();
    for _ in 0..6 {
        let _ = ready(rc.call(fail(0)));
    }
    assert!(matches!(ready(rc.call(work(1))), Err(recloser::Error::Rejected)));
    group.bench_function("recloser", |b| {
        b.iter_custom(|iters| calls!(iters, rc.clone(), |c| c.call(work(black_box(1)))))
    });
    group.finish();
}

/// Wall time per call with one thread per breaker of `breakers` calling at once (the
/// same breaker may be given more than once: then its threads share it).
fn per_call(breakers: &[&CircuitBreaker], iters: u64) -> Duration {
    let threads = breakers.len();
    let start = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = breakers
        .iter()
        .map(|breaker| {
            let breaker = (*breaker).clone();
            let start = start.clone();
            std::thread::spawn(move || {
                start.wait();
                let began = Instant::now();
                for _ in 0..iters {
                    let _ = black_box(ready(breaker.call(work(black_box(1)))));
                }
                began.elapsed()
            })
        })
        .collect();
    start.wait();
    handles.into_iter().map(|h| h.join().unwrap()).max().unwrap_or_default()
}

/// The same work, protected by the attribute.
#[circuit_breaker(service = "bench-attribute", threshold = 5)]
async fn protected(x: u64) -> Result<u64, Error> {
    Ok(black_box(x))
}

/// The same work, protected by hand the way the attribute does it: a breaker kept in a
/// `static`, the body in an `async move` block.
fn by_hand(x: u64) -> impl Future<Output = Result<u64, Error>> {
    static BREAKER: OnceLock<CircuitBreaker> = OnceLock::new();
    let breaker = BREAKER.get_or_init(|| CircuitBreaker::new("bench-by-hand", minimal()).unwrap());
    breaker.call(async move { Ok(black_box(x)) })
}

fn attribute(c: &mut Criterion) {
    // Both with the minimal configuration: threshold only, no timeout, no bulkhead.
    let minimal_layer = ConfigLayer {
        off: Off::NONE.with("timeout").and_then(|o| o.with("max_concurrent")).unwrap(),
        ..ConfigLayer::EMPTY
    };
    registry().set_override("bench-attribute", minimal_layer).unwrap();
    assert_eq!(registry().breaker("bench-attribute").unwrap().config(), minimal());
    let mut group = c.benchmark_group("attribute");
    group.bench_function("by-hand", |b| b.iter_custom(|iters| calls!(iters, (), |_| by_hand(black_box(1)))));
    group.bench_function("attribute", |b| {
        b.iter_custom(|iters| calls!(iters, (), |_| protected(black_box(1))))
    });
    group.finish();
}

fn contended(c: &mut Criterion) {
    let mut group = c.benchmark_group("contended");
    let breaker = ours(minimal());
    group.bench_function("1-thread", |b| b.iter_custom(|iters| per_call(&[&breaker], iters)));
    group.bench_function("2-threads", |b| b.iter_custom(|iters| per_call(&[&breaker, &breaker], iters)));
    // The control: two threads, each on its own breaker, share nothing. What
    // `2-threads` costs over it is the cost of sharing one breaker.
    let other = ours(minimal());
    group.bench_function("2-threads-2-breakers", |b| {
        b.iter_custom(|iters| per_call(&[&breaker, &other], iters))
    });
    group.finish();
}

criterion_group!(benches, closed, open, contended, attribute);
criterion_main!(benches);
