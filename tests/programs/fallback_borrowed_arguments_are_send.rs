//! The attribute adds no `Send` bound and removes none: with a fallback, the future of
//! a function taking `&self` or a borrowed argument is `Send` when its body is, and can
//! be spawned on a multi-thread runtime.

use std::sync::Arc;

use breaker_runtime::{Error, circuit_breaker, registry};

#[derive(Debug, PartialEq)]
enum ApiError {
    Breaker(Error),
    Down,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Breaker(e)
    }
}

fn assert_send<T: Send>(_: &T) {}

struct Client {
    base: u64,
}

impl Client {
    #[circuit_breaker(service = "program-send-method", fallback = Self::stale)]
    async fn get(&self, id: u64) -> Result<u64, ApiError> {
        tokio::task::yield_now().await;
        Ok(self.base + id)
    }

    fn stale(&self, _id: u64) -> Result<u64, ApiError> {
        Ok(self.base)
    }
}

#[circuit_breaker(service = "program-send-borrowed", fallback = cached_len)]
async fn length(text: &str) -> Result<usize, ApiError> {
    tokio::task::yield_now().await;
    if text.is_empty() { Err(ApiError::Down) } else { Ok(text.len()) }
}

fn cached_len(_text: &str) -> Result<usize, ApiError> {
    Ok(0)
}

fn main() {
    let client = Arc::new(Client { base: 100 });
    let text = String::from("hello");
    assert_send(&client.get(1));
    assert_send(&length(&text));

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async move {
        let task = tokio::spawn({
            let client = Arc::clone(&client);
            async move { client.get(5).await }
        });
        assert_eq!(task.await.unwrap(), Ok(105));
        registry().breaker("program-send-method").unwrap().force_open();
        let task = tokio::spawn(async move { client.get(5).await });
        assert_eq!(task.await.unwrap(), Ok(100), "the fallback answered on another thread");

        let task = tokio::spawn(async move { (length(&text).await, length("").await) });
        assert_eq!(task.await.unwrap(), (Ok(5), Ok(0)));
    });
}
