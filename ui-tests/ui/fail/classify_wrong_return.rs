use breaker_runtime::{Error, circuit_breaker};

fn is_failure(_: &Error) -> bool {
    true
}

#[circuit_breaker(service = "ui", classify = is_failure)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
