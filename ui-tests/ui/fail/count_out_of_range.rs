use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", threshold = 99999999999, half_open_max_calls = 0, buckets = 4000)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
