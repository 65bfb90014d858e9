//! What exporting costs (feature `prometheus`): the closed path of a registered breaker
//! with export off and with export on (another thread rendering every breaker in
//! Prometheus's text format every 10 ms, which reads the breaker's counters while the
//! calls write them), measured in the executor-driven loop of `tasks.rs`; `record`
//! into the latency histogram alone; and a scrape of 1,000 services that have all been
//! called (so each has its histogram).
//!
//! Run with `cargo bench -p breaker-runtime --features prometheus --bench export`.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use breaker_runtime::observe::prometheus::Exposition;
use breaker_runtime::{CircuitBreaker, Config, Error, registry};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

mod executor;
use executor::Executor;

async fn work(x: u64) -> Result<u64, Error> {
    Ok(black_box(x))
}

fn registered(service: &str) -> CircuitBreaker {
    let config = Config::builder().threshold(5).no_timeout().no_bulkhead().build().unwrap();
    let breaker = CircuitBreaker::new(service, config).unwrap();
    registry().register(&breaker).unwrap();
    breaker
}

/// Times `iters` awaited calls of `breaker` in one boxed async block on `executor`.
fn calls(executor: Executor, breaker: &CircuitBreaker, iters: u64) -> Duration {
    let breaker = breaker.clone();
    executor.run(Box::pin(async move {
        let start = Instant::now();
        for _ in 0..iters {
            let _ = black_box(breaker.call(work(black_box(1))).await);
        }
        start.elapsed()
    }))
}

/// A thread rendering the registry every 10 ms until dropped.
struct Scraper {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Scraper {
    fn start() -> Scraper {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (first, scraped) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let exposition = Exposition::new();
            while !flag.load(Ordering::Relaxed) {
                black_box(exposition.render(registry()));
                let _ = first.send(());
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        // Measured only once scraping runs.
        scraped.recv().unwrap();
        Scraper { stop, thread: Some(thread) }
    }
}

impl Drop for Scraper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().unwrap();
        }
    }
}

fn export(c: &mut Criterion) {
    for executor in Executor::ALL {
        let mut group = c.benchmark_group(format!("{}/export", executor.name()));
        let off = registered(&format!("bench-export-off-{}", executor.name()));
        group.bench_function(BenchmarkId::new("closed", "export-off"), |b| {
            b.iter_custom(|iters| calls(executor, &off, iters))
        });
        let on = registered(&format!("bench-export-on-{}", executor.name()));
        let scraper = Scraper::start();
        group.bench_function(BenchmarkId::new("closed", "export-on"), |b| {
            b.iter_custom(|iters| calls(executor, &on, iters))
        });
        drop(scraper);
        group.finish();
    }
    let mut group = c.benchmark_group("histogram");
    let recorder = breaker_runtime::__private::LatencyRecorder::default();
    let mut nanos = 0u64;
    group.bench_function("record", |b| {
        b.iter(|| {
            // Times from 0 to about 4 s, so every branch of the bucket choice runs.
            nanos = (nanos + 7_919_993) & ((1 << 32) - 1);
            recorder.record(black_box(nanos));
        })
    });
    group.finish();

    let mut group = c.benchmark_group("scrape");
    group.sample_size(20);
    let breakers: Vec<CircuitBreaker> = (0..1000).map(|i| registered(&format!("bench-scrape-{i}"))).collect();
    for breaker in &breakers {
        futures::executor::block_on(async {
            for _ in 0..10 {
                let _ = breaker.call(work(1)).await;
            }
        });
    }
    group.bench_function("snapshots-1000-called", |b| {
        b.iter(|| {
            let services = registry().services();
            let snapshots: Vec<_> =
                services.iter().filter_map(|s| registry().breaker(s)).map(|b| b.snapshot()).collect();
            black_box(snapshots.len())
        })
    });
    let exposition = Exposition::new();
    let snapshots: Vec<_> = breakers.iter().map(|b| b.snapshot()).collect();
    group.bench_function("render-1000-called", |b| {
        b.iter(|| black_box(exposition.render_snapshots(&snapshots).len()))
    });
    group.bench_function("prometheus-1000-called", |b| {
        b.iter(|| black_box(exposition.render(registry()).len()))
    });
    group.finish();
}

criterion_group!(benches, export);
criterion_main!(benches);
