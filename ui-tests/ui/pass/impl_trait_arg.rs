// `impl Trait` arguments, and an `impl Trait` inside the `Ok` type.
use std::fmt::Display;

use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui-impl-trait")]
async fn total(values: impl IntoIterator<Item = u32>, label: impl Display) -> Result<String, Error> {
    let sum: u32 = values.into_iter().sum();
    Ok(format!("{label}={sum}"))
}

#[circuit_breaker(service = "ui-impl-trait")]
async fn shown(value: u32) -> Result<impl Display, Error> {
    Ok(value + 1)
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(total(vec![1, 2, 3], "sum").await.unwrap(), "sum=6");
        assert_eq!(shown(41).await.unwrap().to_string(), "42");
    });
}
