// `std::io::Result<T>`: a rejection arrives as an `io::Error`.
use breaker_runtime::circuit_breaker;

#[circuit_breaker(service = "ui-io")]
async fn read(text: &str) -> std::io::Result<usize> {
    let n: usize = text.parse().map_err(|_| std::io::Error::other("not a number"))?;
    Ok(n)
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(read("42").await.unwrap(), 42);
        assert_eq!(read("x").await.unwrap_err().to_string(), "not a number");
    });
}
