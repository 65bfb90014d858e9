// A free function: the attribute keeps its name, arguments and return type.
use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui-free-fn", threshold = 3)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id * 2)
}

fn main() {
    assert_eq!(futures::executor::block_on(fetch(21)).unwrap(), 42);
}
