use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", failure_rate = 0.5, min_calls = -1)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
