use breaker_runtime::circuit_breaker;

#[circuit_breaker(service = "ui")]
pub(crate) struct Client {
    base: u64,
}

fn main() {}
