use breaker_runtime::{Error, Outcome, circuit_breaker};

fn io_errors(_: &std::io::Error) -> Outcome {
    Outcome::Failure
}

#[circuit_breaker(service = "ui", classify = io_errors)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
