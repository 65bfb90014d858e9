use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", failure_rate = "50%")]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
