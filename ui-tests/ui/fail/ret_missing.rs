use breaker_runtime::circuit_breaker;

#[circuit_breaker(service = "ui")]
async fn fetch(id: u64) {
    let _ = id;
}

fn main() {}
