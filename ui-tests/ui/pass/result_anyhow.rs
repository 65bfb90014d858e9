// `anyhow::Result<T>`: a rejection arrives as an `anyhow::Error`.
use anyhow::Context;
use breaker_runtime::circuit_breaker;

#[circuit_breaker(service = "ui-anyhow")]
async fn load(text: &str) -> anyhow::Result<u32> {
    let n: u32 = text.parse().context("parsing")?;
    Ok(n)
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(load("42").await.unwrap(), 42);
        assert_eq!(load("x").await.unwrap_err().to_string(), "parsing");
    });
}
