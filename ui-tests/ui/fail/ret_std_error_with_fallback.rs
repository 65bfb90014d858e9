use breaker_runtime::circuit_breaker;

#[circuit_breaker(service = "ui", fallback = cached)]
async fn fetch(id: u64) -> Result<u64, std::fmt::Error> {
    Ok(id)
}

fn cached(id: u64) -> Result<u64, std::fmt::Error> {
    Ok(id)
}

fn main() {}
