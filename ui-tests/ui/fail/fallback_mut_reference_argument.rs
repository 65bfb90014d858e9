use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", fallback = cached)]
async fn fetch(buffer: &mut Vec<u8>) -> Result<usize, Error> {
    buffer.push(1);
    Ok(buffer.len())
}

fn cached(buffer: &mut Vec<u8>) -> Result<usize, Error> {
    Ok(buffer.len())
}

fn main() {}
