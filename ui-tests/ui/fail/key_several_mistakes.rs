use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "pay ments", treshold = 3, timeout = "10 parsecs", failure_rate = 2)]
fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
