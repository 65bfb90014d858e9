// A fallback chain mixing sync and async fallbacks, tried in order until one answers.
use std::sync::atomic::{AtomicU32, Ordering};

use breaker_runtime::{Error, circuit_breaker};

static TRIED: AtomicU32 = AtomicU32::new(0);

fn fail() -> Error {
    Error::UnknownService { service: "down".into(), suggestion: None }
}

#[circuit_breaker(service = "ui-fallback-chain", fallback = [from_cache, from_replica, default_value])]
async fn read(key: &str) -> Result<String, Error> {
    let _ = key;
    Err(fail())
}

fn from_cache(_key: &str) -> Result<String, Error> {
    TRIED.fetch_add(1, Ordering::Relaxed);
    Err(fail())
}

async fn from_replica(key: &str) -> Result<String, Error> {
    TRIED.fetch_add(1, Ordering::Relaxed);
    Ok(format!("replica {key}"))
}

fn default_value(_key: &str) -> Result<String, Error> {
    unreachable!("the replica answered")
}

mod cache {
    pub async fn fetch(key: &str) -> Result<String, breaker_runtime::Error> {
        Ok(format!("module {key}"))
    }
}

#[circuit_breaker(service = "ui-fallback-chain", fallback = [cache::fetch, default_value])]
async fn read_through_module(key: &str) -> Result<String, Error> {
    let _ = key;
    Err(fail())
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(read("k").await.unwrap(), "replica k");
        assert_eq!(TRIED.load(Ordering::Relaxed), 2);
        assert_eq!(read_through_module("k").await.unwrap(), "module k");
    });
}
