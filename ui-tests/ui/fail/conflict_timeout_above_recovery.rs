use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", timeout = "1m", recovery_timeout = "30s")]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
