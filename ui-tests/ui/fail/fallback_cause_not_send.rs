// Not Send when an argument is not: the fallback with a cause does not hide it.
use std::rc::Rc;

use breaker_runtime::fallback::Cause;
use breaker_runtime::{Error, circuit_breaker};

fn assert_send<T: Send>(_: T) {}

#[circuit_breaker(service = "ui", fallback = cached)]
async fn fetch(id: Rc<u64>) -> Result<u64, Error> {
    Ok(*id)
}

async fn cached(id: Rc<u64>, _cause: &Cause<Error>) -> Result<u64, Error> {
    Ok(*id)
}

fn main() {
    assert_send(fetch(Rc::new(1)));
}
