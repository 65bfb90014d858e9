//! The client side: three services, each called through `#[circuit_breaker]`.

use std::sync::OnceLock;

use breaker_runtime::{Error, Outcome, circuit_breaker};

/// What a call to the flaky service can end with.
#[derive(Debug)]
pub enum CallError {
    /// The breaker answered instead of the service.
    Breaker(#[allow(dead_code, reason = "read through Debug when a call is logged")] Error),
    /// The service answered with an error status.
    Status(u16),
    /// The request did not get an answer.
    Transport,
}

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        CallError::Breaker(e)
    }
}

static BASE: OnceLock<(String, reqwest::Client)> = OnceLock::new();

pub fn connect(base: String) {
    let _ = BASE.set((base, reqwest::Client::new()));
}

async fn get<T: serde::de::DeserializeOwned>(path: &str) -> Result<T, CallError> {
    let (base, client) = BASE.get().ok_or(CallError::Transport)?;
    let response = client.get(format!("{base}{path}")).send().await.map_err(|_| CallError::Transport)?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(CallError::Status(status));
    }
    response.json().await.map_err(|_| CallError::Transport)
}

/// Quotes: the design document's manual scenario. Three failures open the circuit; a
/// cached quote answers while it is open.
#[circuit_breaker(service = "quotes", threshold = 3, recovery_timeout = "2s", timeout = "250ms", fallback = cached_quote)]
pub async fn quote(id: u64) -> Result<u64, CallError> {
    let _ = id;
    get("/quote").await
}

fn cached_quote(_id: u64) -> Result<u64, CallError> {
    Ok(10_000)
}

/// Inventory: a bulkhead of 3 calls at once, with 2 more waiting at most 50 ms.
#[circuit_breaker(
    service = "inventory",
    threshold = 5,
    recovery_timeout = "2s",
    timeout = "250ms",
    max_concurrent = 3,
    queue = 2,
    queue_timeout = "50ms"
)]
pub async fn stock(sku: u32) -> Result<u32, CallError> {
    let _ = sku;
    get("/stock").await
}

/// Recommendations: opened by the failure rate over a 5 s window (not by a run of
/// failures), with a chain of two fallbacks.
#[circuit_breaker(
    service = "recommendations",
    threshold = 1000,
    failure_rate = 0.5,
    window = "5s",
    buckets = 5,
    min_calls = 20,
    recovery_timeout = "2s",
    timeout = "250ms",
    classify = by_status,
    fallback = [personal_cache, popular_items]
)]
pub async fn recommend(user: u32) -> Result<Vec<u32>, CallError> {
    let _ = user;
    get("/recommendations").await
}

/// A 404 says nothing about the service's health; everything else is a failure.
fn by_status(error: &CallError) -> Outcome {
    match error {
        CallError::Status(404) => Outcome::Ignored,
        _ => Outcome::Failure,
    }
}

async fn personal_cache(_user: u32) -> Result<Vec<u32>, CallError> {
    Err(CallError::Status(404))
}

fn popular_items(_user: u32) -> Result<Vec<u32>, CallError> {
    Ok(vec![1, 2, 3])
}
