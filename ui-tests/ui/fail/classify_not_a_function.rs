use breaker_runtime::{Error, circuit_breaker};

const LIMIT: u32 = 3;

#[circuit_breaker(service = "ui", classify = LIMIT)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
