// A fallback on a `&self` method: `fallback = Self::cached` receives `&self` and the
// arguments.
use breaker_runtime::{Error, circuit_breaker};

struct Prices {
    last: u64,
}

impl Prices {
    #[circuit_breaker(service = "ui-fallback-method", fallback = Self::cached)]
    async fn price(&self, item: String) -> Result<u64, Error> {
        Err(Error::UnknownService { service: item.into(), suggestion: None })
    }

    async fn cached(&self, item: String) -> Result<u64, Error> {
        Ok(self.last + item.len() as u64)
    }

    #[circuit_breaker(service = "ui-fallback-method", fallback = Prices::cached_sync)]
    async fn price_by_type_path(&self, item: &str) -> Result<u64, Error> {
        let _ = item;
        Err(Error::UnknownService { service: "down".into(), suggestion: None })
    }

    fn cached_sync(&self, item: &str) -> Result<u64, Error> {
        Ok(self.last * item.len() as u64)
    }
}

fn main() {
    let prices = Prices { last: 40 };
    futures::executor::block_on(async {
        assert_eq!(prices.price("ab".to_owned()).await.unwrap(), 42);
        assert_eq!(prices.price_by_type_path("ab").await.unwrap(), 80);
    });
}
