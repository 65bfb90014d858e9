// A type of another crate that has no `From<breaker_runtime::Error>`: the macro cannot
// tell it from a local type, so the general text (which covers both) is used.
use breaker_runtime::circuit_breaker;

#[circuit_breaker(service = "ui")]
async fn fetch(id: u64) -> Result<u64, futures::future::Aborted> {
    Ok(id)
}

fn main() {}
