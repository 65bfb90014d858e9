use breaker_runtime::circuit_breaker;

#[circuit_breaker(service = "ui", fallback = cached)]
async fn fetch(id: u64) -> u32 {
    id as u32
}

fn cached(id: u64) -> u32 {
    id as u32
}

fn main() {}
