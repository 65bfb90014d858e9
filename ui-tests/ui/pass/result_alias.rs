// A crate's own `Result` alias over its own error type.
use breaker_runtime::circuit_breaker;

#[derive(Debug)]
enum MyError {
    Breaker(#[allow(dead_code)] breaker_runtime::Error),
    NotFound,
}

impl From<breaker_runtime::Error> for MyError {
    fn from(error: breaker_runtime::Error) -> Self {
        MyError::Breaker(error)
    }
}

type Result<T> = std::result::Result<T, MyError>;

mod nested {
    pub type Answer = super::Result<u64>;
}

#[circuit_breaker(service = "ui-alias")]
async fn find(id: u64) -> Result<u64> {
    if id == 0 {
        return Err(MyError::NotFound);
    }
    Ok(id)
}

#[circuit_breaker(service = "ui-alias")]
async fn find_again(id: u64) -> nested::Answer {
    find(id).await
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(find_again(7).await.unwrap(), 7);
        assert!(matches!(find(0).await, Err(MyError::NotFound)));
    });
}
