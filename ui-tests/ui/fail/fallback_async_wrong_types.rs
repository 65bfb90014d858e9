use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", fallback = cached)]
async fn fetch(id: u64, name: String) -> Result<u64, Error> {
    let _ = name;
    Ok(id)
}

async fn cached(id: u32, name: String) -> Result<u64, Error> {
    let _ = name;
    Ok(id.into())
}

fn main() {}
