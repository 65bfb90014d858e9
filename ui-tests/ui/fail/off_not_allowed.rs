use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", buckets = "off", recovery_timeout = "off")]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
