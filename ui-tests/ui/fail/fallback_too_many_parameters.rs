use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", fallback = cached)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn cached(id: u64, extra: u64, more: bool) -> Result<u64, Error> {
    let _ = (extra, more);
    Ok(id)
}

fn main() {}
