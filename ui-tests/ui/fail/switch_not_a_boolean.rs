use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", trace = "yes")]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

#[circuit_breaker(service = "ui", trace = 1)]
async fn other(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
