use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", max_concurrent = 4, queue = 8)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
