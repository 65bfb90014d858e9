// `Send` exactly when the body and the arguments are, with fallbacks taking the
// cause, with borrowed arguments; and spawnable (`'static`) when they are owned.
use std::cell::Cell;
use std::sync::Arc;

use breaker_runtime::fallback::Cause;
use breaker_runtime::{Error, circuit_breaker};

fn assert_send<T: Send>(_: T) {}
fn spawn_like<F: std::future::Future + Send + 'static>(f: F) -> F { f }

async fn yield_once() {}

#[circuit_breaker(service = "ui-send-cause", fallback = [sync_cause, async_cause, plain_async])]
async fn borrowed(key: &str, tag: &String, id: u64) -> Result<String, Error> {
    yield_once().await;
    Ok(format!("{key}{tag}{id}"))
}

fn sync_cause(key: &str, _tag: &String, _id: u64, _cause: &Cause<Error>) -> Result<String, Error> {
    Ok(key.to_owned())
}

async fn async_cause(key: &str, tag: &String, id: u64, cause: &Cause<Error>) -> Result<String, Error> {
    yield_once().await;
    let _ = cause.breaker_error();
    Ok(format!("{key}{tag}{id}"))
}

async fn plain_async(key: &str, _tag: &String, _id: u64) -> Result<String, Error> {
    yield_once().await;
    Ok(key.to_owned())
}

#[circuit_breaker(service = "ui-send-cause", fallback = owned_cause)]
async fn owned(name: String, shared: Arc<Vec<u8>>) -> Result<usize, Error> {
    yield_once().await;
    Ok(name.len() + shared.len())
}

async fn owned_cause(name: String, _shared: Arc<Vec<u8>>, cause: &Cause<Error>) -> Result<usize, Error> {
    yield_once().await;
    let _ = cause;
    Ok(name.len())
}

// Send but not Sync argument, kept for a fallback that takes the cause.
#[circuit_breaker(service = "ui-send-cause", fallback = counted)]
async fn with_cell(counter: Cell<u32>) -> Result<u32, Error> {
    yield_once().await;
    Ok(counter.get())
}

async fn counted(counter: Cell<u32>, _cause: &Cause<Error>) -> Result<u32, Error> {
    yield_once().await;
    Ok(counter.get() + 1)
}

struct Client;

impl Client {
    #[circuit_breaker(service = "ui-send-cause", fallback = Self::cached)]
    async fn get(&self, key: &str) -> Result<String, Error> {
        yield_once().await;
        Ok(key.to_owned())
    }

    async fn cached(&self, key: &str, _cause: &Cause<Error>) -> Result<String, Error> {
        yield_once().await;
        Ok(key.to_owned())
    }
}

#[circuit_breaker(service = "ui-send-cause", fallback = generic_cached::<T>)]
async fn generic<T: Send + Sync + Clone + Default>(value: T, key: &str) -> Result<T, Error> {
    yield_once().await;
    let _ = key;
    Ok(value)
}

async fn generic_cached<T: Default>(_value: T, _key: &str, _cause: &Cause<Error>) -> Result<T, Error> {
    Ok(T::default())
}

fn main() {
    let tag = String::from("t");
    assert_send(borrowed("k", &tag, 1));
    assert_send(owned("x".into(), Arc::new(vec![1])));
    let _ = spawn_like(owned("x".into(), Arc::new(vec![1])));
    assert_send(with_cell(Cell::new(1)));
    let client = Client;
    assert_send(client.get("k"));
    assert_send(generic(5u8, "k"));
    let _ = spawn_like(async move {
        let client = Client;
        let s = String::from("k");
        let _ = client.get(&s).await;
        let t = String::from("t");
        let _ = borrowed(&s, &t, 2).await;
    });
    assert_eq!(futures::executor::block_on(borrowed("a", &tag, 1)).unwrap(), "at1");
    // A real `tokio::spawn` (`Send + 'static`), with owned arguments and a fallback taking the cause.
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let n = rt.block_on(async { tokio::spawn(owned("abc".into(), Arc::new(vec![1, 2]))).await.unwrap().unwrap() });
    assert_eq!(n, 5);
}
