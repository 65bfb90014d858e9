use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", slow_call_rate = 0.5)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
