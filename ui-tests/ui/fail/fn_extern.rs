use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui")]
async extern "C" fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
