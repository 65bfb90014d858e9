use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", fallback = [cached, stale])]
async fn fetch(id: u64, key: &str) -> Result<u64, Error> {
    let _ = key;
    Ok(id)
}

fn cached(id: u64, _key: &str) -> Result<u64, Error> {
    Ok(id)
}

async fn stale(key: &str) -> Result<u64, Error> {
    Ok(key.len() as u64)
}

fn main() {}
