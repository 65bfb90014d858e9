use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker("pricing", threshold = 3)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
