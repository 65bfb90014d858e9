use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui-basic", threshold = 3)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {
    let _ = fetch(1);
}
