//! Advanced patterns: a fallback chain, a bulkhead, a failure-rate window, a custom
//! classifier, protected methods, and the events of every transition.
//!
//! `cargo run --bin advanced_patterns`

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use breaker_runtime::{Error, EventKind, Outcome, State, circuit_breaker, registry};

#[derive(Debug)]
enum ApiError {
    Breaker(Error),
    NotFound,
    Server,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Breaker(e)
    }
}

/// A 404 says nothing about the service's health; server errors do.
fn by_kind(error: &ApiError) -> Outcome {
    match error {
        ApiError::NotFound => Outcome::Ignored,
        _ => Outcome::Failure,
    }
}

/// A client with methods protected by breakers.
struct Catalog {
    failing: AtomicU32,
}

impl Catalog {
    /// A fallback chain: the local cache first (which may miss), then a static default.
    #[circuit_breaker(service = "catalog", threshold = 2, recovery_timeout = "1s", classify = by_kind, fallback = [Self::cached_item, Self::default_item])]
    async fn item(&self, id: u32) -> Result<String, ApiError> {
        if id == 404 {
            return Err(ApiError::NotFound);
        }
        if self.failing.load(Ordering::Relaxed) > 0 {
            return Err(ApiError::Server);
        }
        Ok(format!("item {id}"))
    }

    async fn cached_item(&self, id: u32) -> Result<String, ApiError> {
        if id % 2 == 0 { Ok(format!("item {id} (cached)")) } else { Err(ApiError::NotFound) }
    }

    fn default_item(&self, _id: u32) -> Result<String, ApiError> {
        Ok("Service temporarily unavailable".into())
    }
}

/// A bulkhead: at most 2 calls at once, 1 more may wait 20 ms, the rest are rejected
/// (a rejection is not a failure of the service).
#[circuit_breaker(service = "reports", max_concurrent = 2, queue = 1, queue_timeout = "20ms", timeout = "1s")]
async fn report(n: u32) -> Result<u32, ApiError> {
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(n)
}

/// A failure-rate window: opens when half the calls of the last 10 s failed, once at
/// least 10 calls were made, whatever the runs of failures.
#[circuit_breaker(service = "search", threshold = 1000, failure_rate = 0.5, window = "10s", min_calls = 10)]
async fn search(fail: bool) -> Result<u32, ApiError> {
    if fail { Err(ApiError::Server) } else { Ok(1) }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut transitions = Vec::new();
    for service in ["catalog", "reports", "search"] {
        transitions.push(registry().get(service)?.subscribe());
    }

    // Fallback chain and classifier.
    let catalog = Catalog { failing: AtomicU32::new(0) };
    println!("{:?}", catalog.item(1).await);
    println!("404 is ignored by the breaker: {:?}", catalog.item(404).await);
    catalog.failing.store(1, Ordering::Relaxed);
    println!("even id, cache hit: {:?}", catalog.item(2).await);
    println!("odd id, cache miss, static default: {:?}", catalog.item(3).await);
    println!("catalog breaker: {}", registry().get("catalog")?.state());

    // Bulkhead.
    let (a, b, c, d) = tokio::join!(report(1), report(2), report(3), report(4));
    for (n, result) in [a, b, c, d].into_iter().enumerate() {
        match result {
            Ok(v) => println!("report {} ran: {v}", n + 1),
            Err(ApiError::Breaker(e)) => println!("report {} rejected: {e}", n + 1),
            Err(e) => println!("report {} failed: {e:?}", n + 1),
        }
    }
    println!("reports breaker after bulkhead rejections: {}", registry().get("reports")?.state());

    // Failure-rate window: 6 failures and 4 successes interleaved never make 2
    // failures in a row... but 60% of 10 calls opens the window's rule.
    for i in 0..10 {
        let _ = search(i % 5 < 3).await;
    }
    let search_breaker = registry().get("search")?;
    let window = search_breaker.snapshot().window;
    println!(
        "search: {} calls, failure rate {:.0}%, breaker {}",
        window.calls,
        window.failure_rate * 100.0,
        search_breaker.state()
    );
    assert_eq!(search_breaker.state(), State::Open);

    for mut events in transitions {
        for event in events.drain() {
            if let EventKind::Transition { .. } = event.kind {
                println!("event: {event}");
            }
        }
    }
    Ok(())
}
