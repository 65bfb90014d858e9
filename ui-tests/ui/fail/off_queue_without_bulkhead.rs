use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", max_concurrent = "off", queue = 4, queue_timeout = "100ms")]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
