use std::rc::Rc;

use breaker_runtime::{Error, circuit_breaker};

fn assert_send<T: Send>(_: T) {}

async fn yield_once() {}

#[circuit_breaker(service = "ui")]
async fn fetch(id: u64) -> Result<u64, Error> {
    let local = Rc::new(id);
    yield_once().await;
    Ok(*local)
}

fn main() {
    assert_send(fetch(1));
}
