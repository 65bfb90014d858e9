use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", fallback = cached)]
async fn fetch((id, retries): (u64, u32)) -> Result<u64, Error> {
    let _ = retries;
    Ok(id)
}

fn cached(key: (u64, u32)) -> Result<u64, Error> {
    Ok(key.0)
}

fn main() {}
