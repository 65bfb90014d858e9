// Every key at once, with valid values; the definition records them.
use breaker_runtime::{Error, Outcome, circuit_breaker};

fn every_error(_: &Error) -> Outcome {
    Outcome::Failure
}

fn cached(id: u64) -> Result<u64, Error> {
    Ok(id)
}

async fn stale(id: u64) -> Result<u64, Error> {
    Ok(id + 1)
}

#[circuit_breaker(
    service = "ui-every-key",
    threshold = 3,
    failure_rate = 0.25,
    window = "30s",
    buckets = 30,
    min_calls = 20,
    recovery_timeout = "1m",
    half_open_max_calls = 2,
    success_threshold = 2,
    timeout = "1.5s",
    max_concurrent = 8,
    queue = 16,
    queue_timeout = "250ms",
    slow_call = "800ms",
    slow_call_rate = 1,
    fallback_depth = 2,
    fallback_timeout = "100ms",
    too_many_requests = 3,
    too_many_requests_window = "20s",
    trace = true,
    fallback = [cached, stale],
    classify = every_error,
    crate = breaker_runtime,
)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {
    assert_eq!(futures::executor::block_on(fetch(42)).unwrap(), 42);
    let definitions = breaker_runtime::registry().definitions_of("ui-every-key");
    assert_eq!(definitions.len(), 1);
    let definition = definitions[0];
    assert_eq!(definition.fallbacks, ["cached", "stale"]);
    assert_eq!(definition.classify, Some("every_error"));
    let text = format!("{:?}", definition.config);
    for expected in ["threshold: Some(3)", "buckets: Some(30)", "timeout: Some(1.5s)", "queue_timeout: Some(250ms)", "trace: Some(true)"] {
        assert!(text.contains(expected), "{expected} missing from {text}");
    }
}
