//! The cost of a protected call measured the way a task runs: the calls are awaited in
//! a loop inside one boxed `async` block, and that block is driven by an executor,
//! `futures::executor::block_on` and a tokio current-thread runtime's `block_on`, so
//! the loop's state lives in the task's future and every call is polled the way a real
//! task polls it. Each contender (a bare call of the same async function, this crate,
//! `failsafe`, `recloser`) is timed by the same loop, in the same run.
//!
//! Run with `cargo bench -p breaker-runtime --bench tasks`. The README's headline
//! table comes from here.

use std::future::Future;
use std::hint::black_box;
use std::sync::{Arc, Barrier, OnceLock};
use std::time::{Duration, Instant};

use breaker_runtime::{CircuitBreaker, Config, Error, circuit_breaker};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

mod executor;
use executor::Executor;

mod peers;
use peers::{failsafe_breaker, recloser_breaker};

/// The protected work: an async function that answers at once.
async fn work(x: u64) -> Result<u64, Error> {
    Ok(black_box(x))
}

async fn fail(_: u64) -> Result<u64, Error> {
    Err(Error::UnknownService { service: "down".into(), suggestion: None })
}

/// Times `iters` awaited calls in a loop inside one boxed async block on `executor`;
/// `$c` is the contender's handle, owned by the block (a clone, as a service holds one).
macro_rules! task {
    ($executor:expr, $iters:expr, $contender:expr, |$c:tt| $call:expr) => {{
        #[allow(unused_variables)]
        let $c = $contender;
        let iters = $iters;
        $executor.run(Box::pin(async move {
            let start = Instant::now();
            for _ in 0..iters {
                let _ = black_box($call.await);
            }
            start.elapsed()
        }))
    }};
}

fn threshold_only() -> Config {
    Config::builder().threshold(5).no_timeout().no_bulkhead().build().unwrap()
}

fn ours(service: &str, config: Config) -> CircuitBreaker {
    CircuitBreaker::new(service, config).unwrap()
}

/// The attribute with its defaults (a 10 s timeout, a bulkhead of 100).
#[circuit_breaker(service = "bench-tasks-attribute", threshold = 5)]
async fn protected(x: u64) -> Result<u64, Error> {
    Ok(black_box(x))
}

/// The same protected by hand the way the attribute does it: a breaker in a `static`,
/// the body in an `async move` block.
fn by_hand(x: u64) -> impl Future<Output = Result<u64, Error>> {
    static BREAKER: OnceLock<CircuitBreaker> = OnceLock::new();
    let breaker =
        BREAKER.get_or_init(|| ours("bench-tasks-by-hand", Config::builder().threshold(5).build().unwrap()));
    breaker.call(async move { Ok(black_box(x)) })
}

fn closed(c: &mut Criterion) {
    for executor in Executor::ALL {
        let mut group = c.benchmark_group(format!("{}/closed", executor.name()));
        group.bench_function(BenchmarkId::new("threshold", "bare"), |b| {
            b.iter_custom(|iters| task!(executor, iters, (), |_| work(black_box(1))))
        });
        let breaker = ours("bench-tasks-threshold", threshold_only());
        group.bench_function(BenchmarkId::new("threshold", "breaker"), |b| {
            b.iter_custom(|iters| task!(executor, iters, breaker.clone(), |c| c.call(work(black_box(1)))))
        });
        let fs = failsafe_breaker();
        group.bench_function(BenchmarkId::new("threshold", "failsafe"), |b| {
            b.iter_custom(|iters| {
                task!(executor, iters, fs.clone(), |c| failsafe::futures::CircuitBreaker::call(
                    &c,
                    work(black_box(1))
                ))
            })
        });
        let rc = recloser_breaker();
        group.bench_function(BenchmarkId::new("threshold", "recloser"), |b| {
            b.iter_custom(|iters| task!(executor, iters, rc.clone(), |c| c.call(work(black_box(1)))))
        });
        let defaults = ours("bench-tasks-defaults", Config::default());
        group.bench_function(BenchmarkId::new("defaults", "breaker"), |b| {
            b.iter_custom(|iters| task!(executor, iters, defaults.clone(), |c| c.call(work(black_box(1)))))
        });
        group.bench_function(BenchmarkId::new("attribute", "by-hand"), |b| {
            b.iter_custom(|iters| task!(executor, iters, (), |_| by_hand(black_box(1))))
        });
        group.bench_function(BenchmarkId::new("attribute", "attribute"), |b| {
            b.iter_custom(|iters| task!(executor, iters, (), |_| protected(black_box(1))))
        });
        group.finish();
    }
}

fn open(c: &mut Criterion) {
    for executor in Executor::ALL {
        let mut group = c.benchmark_group(format!("{}/open", executor.name()));
        group.bench_function("bare", |b| {
            b.iter_custom(|iters| task!(executor, iters, (), |_| work(black_box(1))))
        });
        let breaker = ours("bench-tasks-open", threshold_only());
        executor.run(Box::pin(async {
            for _ in 0..5 {
                let _ = breaker.call(fail(0)).await;
            }
            assert!(matches!(breaker.call(work(1)).await, Err(Error::CircuitOpen { .. })));
        }));
        group.bench_function("breaker", |b| {
            b.iter_custom(|iters| task!(executor, iters, breaker.clone(), |c| c.call(work(black_box(1)))))
        });
        let fs = failsafe_breaker();
        executor.run(Box::pin(async {
            for _ in 0..5 {
                let _ = failsafe::futures::CircuitBreaker::call(&fs, fail(0)).await;
            }
        }));
        group.bench_function("failsafe", |b| {
            b.iter_custom(|iters| {
                task!(executor, iters, fs.clone(), |c| failsafe::futures::CircuitBreaker::call(
                    &c,
                    work(black_box(1))
                ))
            })
        });
        let rc = recloser_breaker();
        executor.run(Box::pin(async {
            for _ in 0..6 {
                let _ = rc.call(fail(0)).await;
            }
            assert!(matches!(rc.call(work(1)).await, Err(recloser::Error::Rejected)));
        }));
        group.bench_function("recloser", |b| {
            b.iter_custom(|iters| task!(executor, iters, rc.clone(), |c| c.call(work(black_box(1)))))
        });
        group.finish();
    }
}

/// Per-call time with one thread per entry of `breakers` calling at once, each driving
/// its loop as a task on `executor` (its own tokio runtime per thread for tokio).
fn per_call(executor: Executor, breakers: &[&CircuitBreaker], iters: u64) -> Duration {
    let start = Arc::new(Barrier::new(breakers.len() + 1));
    let handles: Vec<_> = breakers
        .iter()
        .map(|breaker| {
            let breaker = (*breaker).clone();
            let start = start.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                start.wait();
                let task = async move {
                    let began = Instant::now();
                    for _ in 0..iters {
                        let _ = black_box(breaker.call(work(black_box(1))).await);
                    }
                    began.elapsed()
                };
                match executor {
                    Executor::Futures => futures::executor::block_on(Box::pin(task)),
                    Executor::Tokio => runtime.block_on(Box::pin(task)),
                }
            })
        })
        .collect();
    start.wait();
    handles.into_iter().map(|h| h.join().unwrap()).max().unwrap_or_default()
}

fn contended(c: &mut Criterion) {
    for executor in Executor::ALL {
        let mut group = c.benchmark_group(format!("{}/contended", executor.name()));
        let breaker = ours("bench-tasks-contended", threshold_only());
        group.bench_function("1-thread", |b| b.iter_custom(|iters| per_call(executor, &[&breaker], iters)));
        group.bench_function("2-threads", |b| {
            b.iter_custom(|iters| per_call(executor, &[&breaker, &breaker], iters))
        });
        let other = ours("bench-tasks-contended-other", threshold_only());
        group.bench_function("2-threads-2-breakers", |b| {
            b.iter_custom(|iters| per_call(executor, &[&breaker, &other], iters))
        });
        group.finish();
    }
}

criterion_group!(benches, closed, open, contended);
criterion_main!(benches);
