//! What breakers cost at rest, in time: building ten thousand of them (the tower
//! layer of a gateway makes a breaker per host), and reading all their snapshots (what
//! a metrics scrape or the dashboard does). Memory at rest is asserted by
//! `tests/scale.rs`.
//!
//! Run with `cargo bench -p breaker-runtime --bench scale` (`--features prometheus`:
//! also a Prometheus scrape of 1,000 services).

use std::hint::black_box;
use std::time::{Duration, Instant};

use breaker_runtime::{CircuitBreaker, Config};
use criterion::{Criterion, criterion_group, criterion_main};

const BREAKERS: usize = 10_000;

fn scale(c: &mut Criterion) {
    let mut group = c.benchmark_group("scale");
    group.sample_size(20);
    let configs = [
        ("threshold", Config::builder().threshold(5).no_timeout().no_bulkhead().build().unwrap()),
        ("defaults", Config::default()),
        ("window", Config::builder().window(Duration::from_secs(60)).buckets(10).build().unwrap()),
    ];
    for (name, config) in configs {
        let names: Vec<String> = (0..BREAKERS).map(|i| format!("scale-{name}-{i}")).collect();
        group.bench_function(format!("create-10000/{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let started = Instant::now();
                    let breakers: Vec<CircuitBreaker> =
                        names.iter().map(|n| CircuitBreaker::new(n, config.clone()).unwrap()).collect();
                    total += started.elapsed();
                    drop(black_box(breakers));
                }
                total
            })
        });
        let breakers: Vec<CircuitBreaker> =
            names.iter().map(|n| CircuitBreaker::new(n, config.clone()).unwrap()).collect();
        group.bench_function(format!("snapshot-10000/{name}"), |b| {
            b.iter(|| {
                for breaker in &breakers {
                    black_box(breaker.snapshot());
                }
            })
        });
        // A Prometheus scrape of 1,000 services: their snapshots, rendered.
        #[cfg(feature = "prometheus")]
        group.bench_function(format!("prometheus-1000/{name}"), |b| {
            let exposition = breaker_runtime::observe::prometheus::Exposition::new();
            b.iter(|| {
                let snapshots: Vec<_> = breakers[..1000].iter().map(CircuitBreaker::snapshot).collect();
                black_box(exposition.render_snapshots(&snapshots))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, scale);
criterion_main!(benches);
