use breaker_runtime::circuit_breaker;

#[circuit_breaker(service = "ui")]
async fn fetch(id: u64) -> Result<u64, String> {
    Ok(id)
}

fn main() {}
