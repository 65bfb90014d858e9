// `"off"` turns a rule or a policy off in the attribute, as in the configuration file.
use breaker_runtime::{Error, circuit_breaker};

fn cached(id: u64) -> Result<u64, Error> {
    Ok(id)
}

#[circuit_breaker(
    service = "ui-off-values",
    threshold = "off",
    failure_rate = 0.5,
    window = "30s",
    timeout = "off",
    max_concurrent = "off",
    slow_call = "off",
    fallback = cached,
    fallback_timeout = "off",
)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

#[circuit_breaker(service = "ui-off-rate", failure_rate = "off", window = "20s", slow_call = "1s")]
async fn slow_only(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {
    let _ = futures::executor::block_on(fetch(1));
    let _ = futures::executor::block_on(slow_only(1));
}
