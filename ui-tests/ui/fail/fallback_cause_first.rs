use breaker_runtime::fallback::Cause;
use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", fallback = cached)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

async fn cached(_cause: &Cause<Error>, id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
