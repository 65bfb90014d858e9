use breaker_runtime::circuit_breaker;

#[circuit_breaker(service = "ui")]
async fn fetch(id: u64) -> u32 {
    id as u32
}

fn main() {}
