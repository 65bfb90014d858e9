use breaker_runtime::circuit_breaker;

#[circuit_breaker(service = "ui")]
async fn fetch<E>(id: u64) -> Result<u64, E> {
    Ok(id)
}

fn main() {}
