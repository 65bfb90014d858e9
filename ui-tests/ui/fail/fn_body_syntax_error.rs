// A body that is still being typed gets rustc's own error, and nothing else: the
// function is still emitted with its signature.
use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui")]
async fn fetch(id: u64) -> Result<u64, Error> {
    let x = ;
    Ok(id)
}

fn main() {
    let _ = fetch(1);
}
