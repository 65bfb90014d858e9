use breaker_runtime::circuit_breaker;

#[derive(Debug)]
struct MyError;

type Result<T> = std::result::Result<T, MyError>;

#[circuit_breaker(service = "ui")]
async fn fetch(id: u64) -> Result<u64> {
    Ok(id)
}

fn main() {}
