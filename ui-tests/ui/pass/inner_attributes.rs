// Inner attributes at the top of a protected body apply to the whole function; outer
// attributes (doc comments, `#[allow]`) stay on it.
use breaker_runtime::{Error, circuit_breaker};

/// Documented.
#[allow(clippy::needless_return)]
#[circuit_breaker(service = "ui-inner-attributes")]
async fn fetch(id: u64) -> Result<u64, Error> {
    #![allow(unused_variables)]
    #![deny(unused_mut)]
    let unused = 1;
    return Ok(id);
}

fn main() {
    let _ = futures::executor::block_on(fetch(1));
}
