// Two independent mistakes: two errors, one each.
use breaker_runtime::circuit_breaker;

#[derive(Debug)]
struct MyError;

#[circuit_breaker(service = "ui", fallback = cached)]
async fn fetch(id: u64) -> Result<u64, MyError> {
    Ok(id)
}

fn cached(id: u32) -> Result<u64, MyError> {
    Ok(id.into())
}

fn main() {}
