// A sync fallback: it takes the function's arguments and returns its `Result`.
use breaker_runtime::{Error, circuit_breaker};

#[derive(Debug, PartialEq)]
enum QuoteError {
    Breaker,
    Down,
}

impl From<Error> for QuoteError {
    fn from(_: Error) -> Self {
        QuoteError::Breaker
    }
}

#[circuit_breaker(service = "ui-fallback-sync", fallback = cached_quote)]
async fn quote(id: u64, up: bool) -> Result<u64, QuoteError> {
    if !up {
        return Err(QuoteError::Down);
    }
    Ok(id * 2)
}

fn cached_quote(id: u64, _up: bool) -> Result<u64, QuoteError> {
    Ok(id)
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(quote(21, true).await, Ok(42));
        assert_eq!(quote(21, false).await, Ok(21));
    });
}
