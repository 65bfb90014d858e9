// `impl Trait` arguments with a fallback (generic fallback with `impl Trait` too).
use std::fmt::Display;

use breaker_runtime::fallback::Cause;
use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui-impl-fb", fallback = fb)]
async fn total(values: impl IntoIterator<Item = u32> + Clone, label: impl Display + Clone) -> Result<String, Error> {
    let sum: u32 = values.into_iter().sum();
    Err(Error::UnknownService { service: format!("{label}={sum}").into(), suggestion: None })
}

fn fb(values: impl IntoIterator<Item = u32>, label: impl Display, _cause: &Cause<Error>) -> Result<String, Error> {
    Ok(format!("fb {label} {}", values.into_iter().count()))
}

fn main() {
    let s = futures::executor::block_on(total(vec![1, 2], "x")).unwrap();
    assert_eq!(s, "fb x 2");
}
