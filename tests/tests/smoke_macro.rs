use breaker_runtime::{Error, circuit_breaker, registry};

#[derive(Debug)]
enum PayError {
    Breaker(#[allow(dead_code)] Error),
    Down,
}
impl From<Error> for PayError {
    fn from(e: Error) -> Self {
        PayError::Breaker(e)
    }
}

#[circuit_breaker(service = "smoke-pay", threshold = 2, fallback = cached)]
async fn quote(id: u64, ok: bool) -> Result<u64, PayError> {
    if !ok {
        return Err(PayError::Down);
    }
    Ok(id * 2)
}

fn cached(id: u64, _ok: bool) -> Result<u64, PayError> {
    Ok(id)
}

#[circuit_breaker(service = "smoke-io", timeout = "1s")]
async fn read_it(x: &str) -> std::io::Result<usize> {
    let n: usize = x.parse().map_err(|_| std::io::Error::other("nan"))?;
    Ok(n)
}

#[tokio::test]
async fn smoke() {
    assert_eq!(quote(21, true).await.unwrap(), 42);
    assert_eq!(quote(5, false).await.unwrap(), 5);
    assert!(matches!(PayError::from(Error::ProbeLimit { service: "x", max: 1 }), PayError::Breaker(_)));
    assert_eq!(read_it("7").await.unwrap(), 7);
    let services = registry().services();
    assert!(services.contains(&"smoke-pay"), "{services:?}");
    let d = registry().definitions_of("smoke-pay");
    eprintln!("{:?}", d);
}
