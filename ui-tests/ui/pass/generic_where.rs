// Generic functions: type parameters, bounds in a `where` clause, const generics.
use std::fmt::Display;

use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui-generic")]
async fn describe<T, U>(value: T, extra: U) -> Result<String, Error>
where
    T: Display + Send,
    U: Into<String>,
{
    Ok(format!("{value}{}", extra.into()))
}

#[circuit_breaker(service = "ui-generic")]
async fn first<T: Clone + Default, const N: usize>(items: [T; N]) -> Result<T, Error> {
    Ok(items.first().cloned().unwrap_or_default())
}

struct Store<K> {
    key: K,
}

impl<K: Display + Sync> Store<K> {
    #[circuit_breaker(service = "ui-generic")]
    async fn key(&self) -> Result<String, Error> {
        Ok(self.key.to_string())
    }
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(describe(4, "2").await.unwrap(), "42");
        assert_eq!(first([7, 8, 9]).await.unwrap(), 7);
        assert_eq!(Store { key: 'k' }.key().await.unwrap(), "k");
    });
}
