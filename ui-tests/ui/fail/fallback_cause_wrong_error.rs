use breaker_runtime::fallback::Cause;
use breaker_runtime::{Error, circuit_breaker};

#[derive(Debug)]
struct Other;

#[circuit_breaker(service = "ui", fallback = cached)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn cached(id: u64, _cause: &Cause<Other>) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
