// Fallbacks that take the cause as their last parameter: sync and async, free
// functions and methods, with borrowed and owned arguments, mixed in one chain with
// fallbacks that do not take it.
use std::sync::atomic::{AtomicU32, Ordering};

use breaker_runtime::fallback::Cause;
use breaker_runtime::{Error, circuit_breaker};

static SEEN: AtomicU32 = AtomicU32::new(0);

#[derive(Debug, PartialEq)]
enum MyError {
    Breaker(String),
    Down(u64),
}

impl From<Error> for MyError {
    fn from(e: Error) -> Self {
        MyError::Breaker(e.to_string())
    }
}

#[circuit_breaker(service = "ui-cause-1", fallback = cached)]
async fn fetch(id: u64) -> Result<u64, MyError> {
    Err(MyError::Down(id))
}

fn cached(id: u64, cause: &Cause<MyError>) -> Result<u64, MyError> {
    match cause {
        Cause::Failed(MyError::Down(n)) => Ok(id + n),
        _ => Ok(0),
    }
}

#[circuit_breaker(service = "ui-cause-2", fallback = cached_async)]
async fn fetch_async(id: u64, key: &str) -> Result<String, MyError> {
    let _ = key;
    Err(MyError::Down(id))
}

async fn yield_once() {}

async fn cached_async(id: u64, key: &str, cause: &Cause<MyError>) -> Result<String, MyError> {
    yield_once().await;
    // The cause is borrowed across an await.
    let failed = matches!(cause, Cause::Failed(_));
    Ok(format!("{key}:{id}:{failed}"))
}

// A chain: the first ignores the cause and fails, the second reads it.
#[circuit_breaker(service = "ui-cause-3", fallback = [plain, with_cause, never])]
async fn chained(key: String) -> Result<String, MyError> {
    Err(MyError::Down(key.len() as u64))
}

fn plain(_key: String) -> Result<String, MyError> {
    SEEN.fetch_add(1, Ordering::Relaxed);
    Err(MyError::Down(0))
}

async fn with_cause(key: String, cause: &Cause<MyError>) -> Result<String, MyError> {
    SEEN.fetch_add(1, Ordering::Relaxed);
    Ok(format!("{key} after {:?}", cause.is_rejection()))
}

fn never(_key: String, _cause: &Cause<MyError>) -> Result<String, MyError> {
    unreachable!()
}

// `io::Result` alias, method with `&self`, generic function: all with a cause.
struct Store {
    base: usize,
}

impl Store {
    #[circuit_breaker(service = "ui-cause-4", fallback = Self::from_cache)]
    async fn read(&self, key: &str) -> std::io::Result<usize> {
        Err(std::io::Error::other(key.to_owned()))
    }

    async fn from_cache(&self, key: &str, cause: &Cause<std::io::Error>) -> std::io::Result<usize> {
        let n = match cause {
            Cause::Failed(e) => e.to_string().len(),
            _ => 0,
        };
        Ok(self.base + key.len() + n)
    }
}

#[circuit_breaker(service = "ui-cause-5", fallback = default_of::<T>)]
async fn parse<T: std::str::FromStr + Default + Clone + Send>(text: String) -> Result<T, Error> {
    text.parse().map_err(|_| Error::UnknownService { service: text.clone().into(), suggestion: None })
}

fn default_of<T: Default>(_text: String, cause: &Cause<Error>) -> Result<T, Error> {
    assert!(!cause.is_rejection());
    Ok(T::default())
}

#[circuit_breaker(service = "ui-cause-open", threshold = 1, fallback = seen_cause)]
async fn opens(id: u64) -> Result<String, Error> {
    Err(Error::UnknownService { service: format!("down{id}").into(), suggestion: None })
}

async fn seen_cause(_id: u64, cause: &Cause<Error>) -> Result<String, Error> {
    yield_once().await;
    Ok(match cause {
        Cause::Rejected(e) => format!("rejected: {e}"),
        Cause::TimedOut(_) => "timed out".into(),
        Cause::Failed(e) => format!("failed: {e}"),
    })
}

fn main() {
    futures::executor::block_on(async {
        let first = opens(1).await.unwrap();
        assert!(first.starts_with("failed"), "{first}");
        let second = opens(2).await.unwrap();
        assert!(second.starts_with("rejected"), "{second}");
        println!("{first} / {second}");
        let _ = (first, second);
        assert_eq!(fetch(2).await, Ok(4));
        assert_eq!(fetch_async(3, "k").await.unwrap(), "k:3:true");
        assert_eq!(chained("abc".into()).await.unwrap(), "abc after false");
        assert_eq!(SEEN.load(Ordering::Relaxed), 2);
        let store = Store { base: 10 };
        assert_eq!(store.read("ab").await.unwrap(), 10 + 2 + 2);
        assert_eq!(parse::<u32>("x".into()).await.unwrap(), 0);
        assert_eq!(parse::<u32>("7".into()).await.unwrap(), 7);
    });
}
