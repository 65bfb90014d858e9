use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", half_open_max_calls = 0)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
