// The expansion adds no `Send` bound and takes none away: a body that is `Send` gives
// a `Send` future (with and without fallback, in methods and generic functions), so
// protected functions can be spawned on a multi-threaded runtime.
use std::cell::Cell;
use std::sync::Arc;

use breaker_runtime::{Error, circuit_breaker};

fn assert_send<T: Send>(_: T) {}

async fn yield_once() {}

#[circuit_breaker(service = "ui-send")]
async fn plain(id: u64) -> Result<u64, Error> {
    yield_once().await;
    Ok(id)
}

#[circuit_breaker(service = "ui-send", timeout = "1s", max_concurrent = 2, queue = 1, queue_timeout = "10ms", fallback = [cached, stale])]
async fn with_fallback(name: String, shared: Arc<Vec<u8>>) -> Result<usize, Error> {
    yield_once().await;
    Ok(name.len() + shared.len())
}

fn cached(_name: String, _shared: Arc<Vec<u8>>) -> Result<usize, Error> {
    Ok(0)
}

async fn stale(name: String, _shared: Arc<Vec<u8>>) -> Result<usize, Error> {
    yield_once().await;
    Ok(name.len())
}

struct Client;

impl Client {
    #[circuit_breaker(service = "ui-send", fallback = Self::cached)]
    async fn get(&self, key: &str) -> Result<String, Error> {
        yield_once().await;
        Ok(key.to_owned())
    }

    fn cached(&self, key: &str) -> Result<String, Error> {
        Ok(key.to_owned())
    }
}

// An argument that is `Send` but not `Sync`, kept for a fallback: still `Send`.
#[circuit_breaker(service = "ui-send", fallback = counted)]
async fn with_cell(counter: Cell<u32>) -> Result<u32, Error> {
    yield_once().await;
    Ok(counter.get())
}

fn counted(counter: Cell<u32>) -> Result<u32, Error> {
    Ok(counter.get() + 1)
}

#[circuit_breaker(service = "ui-send")]
async fn generic<T: Send + Clone>(value: T) -> Result<T, Error> {
    yield_once().await;
    Ok(value)
}

fn main() {
    assert_send(plain(1));
    assert_send(with_fallback("x".into(), Arc::new(vec![1])));
    let client = Client;
    assert_send(client.get("k"));
    assert_send(generic(5u8));
    assert_send(with_cell(Cell::new(1)));
    assert_eq!(futures::executor::block_on(with_fallback("ab".into(), Arc::new(vec![1]))).unwrap(), 3);
}
