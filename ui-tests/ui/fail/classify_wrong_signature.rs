use breaker_runtime::{Error, Outcome, circuit_breaker};

fn by_status(status: u16) -> Outcome {
    let _ = status;
    Outcome::Failure
}

#[circuit_breaker(service = "ui", classify = by_status)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
