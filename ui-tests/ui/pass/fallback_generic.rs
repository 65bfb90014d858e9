// A fallback of a generic function, named with its turbofish.
use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui-fallback-generic", fallback = default_of::<T>)]
async fn parse<T: std::str::FromStr + Default + Clone>(text: String) -> Result<T, Error> {
    text.parse().map_err(|_| Error::UnknownService { service: text.clone().into(), suggestion: None })
}

fn default_of<T: Default>(_text: String) -> Result<T, Error> {
    Ok(T::default())
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(parse::<u32>("42".into()).await.unwrap(), 42);
        assert_eq!(parse::<u32>("x".into()).await.unwrap(), 0);
    });
}
