//! The tower layer's cost, measured as tasks run (as `benches/tasks.rs` does): a loop of
//! `ready().await` + `call(request).await` inside one boxed `async` block, driven by
//! `futures::executor::block_on` and by a tokio current-thread runtime, around a
//! `tower::service_fn` that answers at once. Side by side in the same run: the bare
//! service, a layer that only wraps the response (the floor of any layer that sees
//! it), the least a layer around this crate's breaker can do (`services::PermitLayer`),
//! this crate's layer (a fixed service, the defaults, by host), and
//! `tower-resilience-circuitbreaker`'s layer; and, on tokio, a request whose inner future
//! waits once, bare and through the layer without and with its timeout.
//!
//! Run with `cargo bench -p breaker-runtime --features tower --bench tower`.

use std::convert::Infallible;
use std::hint::black_box;
use std::time::{Duration, Instant};

use breaker_runtime::integrations::tower::{CircuitBreakerLayer, Identify};
use breaker_runtime::registry;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::{Layer, Service, ServiceExt};

mod executor;
use executor::Executor;
mod services;
use services::{PermitLayer, waiting};

const DECLARED: &str = "http://bench-tower-host.test/quote";
/// A host nothing declares: its breaker is created on demand.
const ON_DEMAND: &str = "http://bench-tower-on-demand.test/quote";

/// A request with a static URI: building it allocates nothing.
fn request(uri: &'static str) -> http::Request<()> {
    let mut request = http::Request::new(());
    *request.uri_mut() = http::Uri::from_static(uri);
    request
}

/// The inner service: answers at once, 200 or (`fail`) 503 as an error for the peer
/// that judges by errors.
fn answer()
-> impl Service<http::Request<()>, Response = http::Response<()>, Error = Infallible, Future: Send> + Clone {
    tower::service_fn(|_: http::Request<()>| async { Ok::<_, Infallible>(http::Response::new(())) })
}

fn failing()
-> impl Service<http::Request<()>, Response = http::Response<()>, Error = std::io::Error, Future: Send> + Clone
{
    tower::service_fn(|_: http::Request<()>| async {
        Err::<http::Response<()>, _>(std::io::Error::other("down"))
    })
}

/// A body wrapper that does nothing (for the pass-through layer).
struct Passthrough(());

/// Times `iters` requests through `service` on `executor`.
fn per_call<S>(executor: Executor, service: S, iters: u64) -> Duration
where
    S: Service<http::Request<()>>,
{
    per_call_to(executor, service, iters, DECLARED)
}

/// Times `iters` requests to `uri` through `service` on `executor`.
fn per_call_to<S>(executor: Executor, mut service: S, iters: u64, uri: &'static str) -> Duration
where
    S: Service<http::Request<()>>,
{
    executor.run(Box::pin(async move {
        let start = Instant::now();
        for _ in 0..iters {
            let ready = match service.ready().await {
                Ok(ready) => ready,
                Err(_) => panic!("not ready"),
            };
            let _ = black_box(ready.call(request(uri)).await);
        }
        start.elapsed()
    }))
}

/// The breaker alone (as tower-resilience's is): a threshold of 5, no timeout, no
/// bulkhead.
fn threshold_only(service: &str) {
    let off = breaker_runtime::Off::default().with("timeout").and_then(|o| o.with("max_concurrent")).unwrap();
    let layer = breaker_runtime::ConfigLayer { threshold: Some(5), off, ..Default::default() };
    registry().named(service).unwrap();
    registry().set_override(service, layer).unwrap();
}

/// tower-resilience's layer: its count window of 10 calls, opening at 50% failures
/// once 5 calls were seen (the closest to a threshold of 5).
macro_rules! peer_layer {
    () => {
        tower_resilience_circuitbreaker::CircuitBreakerLayer::builder()
            .failure_rate_threshold(0.5)
            .sliding_window_size(10)
            .minimum_number_of_calls(5)
            .wait_duration_in_open(Duration::from_secs(3600))
            .build()
            .expect("a valid configuration")
    };
}

fn closed(c: &mut Criterion) {
    for executor in Executor::ALL {
        let mut group = c.benchmark_group(format!("{}/layer-closed", executor.name()));
        group.bench_function("bare", |b| b.iter_custom(|iters| per_call(executor, answer(), iters)));
        group.bench_function("passthrough", |b| {
            // The floor of any layer that must see the response: one that wraps the
            // response in a body type of its own and does nothing else.
            let layer = tower::util::MapResponseLayer::new(|r: http::Response<()>| r.map(Passthrough));
            b.iter_custom(|iters| per_call(executor, layer.layer(answer()), iters))
        });
        group.bench_function("permit-floor", |b| {
            // The floor of any layer around this breaker: the core's permit taken and
            // recorded by status, nothing else (see `services::PermitLayer`).
            b.iter_custom(|iters| per_call(executor, PermitLayer::new(answer()), iters))
        });
        group.bench_function("breaker", |b| {
            let layer = CircuitBreakerLayer::new().identify(Identify::service("bench-tower-closed"));
            threshold_only("bench-tower-closed");
            b.iter_custom(|iters| per_call(executor, layer.layer(answer()), iters))
        });
        group.bench_function("breaker-defaults", |b| {
            // The defaults: a 10 s timeout and a bulkhead of 100.
            let layer = CircuitBreakerLayer::new().identify(Identify::service("bench-tower-defaults"));
            b.iter_custom(|iters| per_call(executor, layer.layer(answer()), iters))
        });
        group.bench_function("breaker-by-host", |b| {
            let layer = CircuitBreakerLayer::new();
            registry().named("bench-tower-host.test").unwrap();
            threshold_only("bench-tower-host.test");
            b.iter_custom(|iters| per_call(executor, layer.layer(answer()), iters))
        });
        group.bench_function("breaker-by-host-on-demand", |b| {
            let layer = CircuitBreakerLayer::new();
            b.iter_custom(|iters| per_call_to(executor, layer.layer(answer()), iters, ON_DEMAND))
        });
        group.bench_function("tower-resilience", |b| {
            let layer = peer_layer!();
            b.iter_custom(|iters| per_call(executor, layer.layer(answer()), iters))
        });
        group.finish();
    }
}

/// A request that waits once, on tokio (the breaker's timeout is tokio's timer, started
/// when the request first waits).
fn waits(c: &mut Criterion) {
    let executor = Executor::Tokio;
    let mut group = c.benchmark_group(format!("{}/layer-waits", executor.name()));
    group.bench_function("bare", |b| b.iter_custom(|iters| per_call(executor, waiting(), iters)));
    group.bench_function("breaker", |b| {
        let layer = CircuitBreakerLayer::new().identify(Identify::service("bench-tower-closed"));
        threshold_only("bench-tower-closed");
        b.iter_custom(|iters| per_call(executor, layer.layer(waiting()), iters))
    });
    group.bench_function("breaker-defaults", |b| {
        let layer = CircuitBreakerLayer::new().identify(Identify::service("bench-tower-defaults"));
        b.iter_custom(|iters| per_call(executor, layer.layer(waiting()), iters))
    });
    group.finish();
}

fn open(c: &mut Criterion) {
    for executor in Executor::ALL {
        let mut group = c.benchmark_group(format!("{}/layer-open", executor.name()));
        group.bench_function("breaker", |b| {
            let service = "bench-tower-open";
            let layer = CircuitBreakerLayer::new().identify(Identify::service(service));
            threshold_only(service);
            let mut tripped = layer.layer(failing());
            per_call(executor, &mut tripped, 10);
            assert_eq!(registry().get(service).unwrap().state(), breaker_runtime::State::Open);
            b.iter_custom(|iters| per_call(executor, &mut tripped, iters))
        });
        group.bench_function("permit-floor", |b| {
            let mut tripped = PermitLayer::new(failing());
            per_call(executor, &mut tripped, 10);
            assert!(tripped.is_open());
            b.iter_custom(|iters| per_call(executor, &mut tripped, iters))
        });
        group.bench_function("tower-resilience", |b| {
            let mut tripped = peer_layer!().layer(failing());
            per_call(executor, &mut tripped, 10);
            b.iter_custom(|iters| per_call(executor, &mut tripped, iters))
        });
        group.finish();
    }
}

criterion_group!(benches, closed, waits, open);
criterion_main!(benches);
