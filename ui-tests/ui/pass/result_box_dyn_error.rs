use breaker_runtime::circuit_breaker;

#[circuit_breaker(service = "ui")]
async fn fetch(id: u64) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    Ok(id)
}

fn main() { let _ = fetch(1); }
