use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui-impl-ret-fb", fallback = cached)]
async fn shown(value: u32) -> Result<impl std::fmt::Display, Error> {
    Ok(value + 1)
}

fn cached(value: u32) -> Result<u32, Error> {
    Ok(value)
}

fn main() {
    assert_eq!(futures::executor::block_on(shown(1)).unwrap().to_string(), "2");
}
