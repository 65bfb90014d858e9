use breaker_runtime::{Error, circuit_breaker};

struct Client;

impl Client {
    #[circuit_breaker(service = "ui", fallback = Self::cached)]
    async fn get(&self, key: &str) -> Result<String, Error> {
        Ok(key.to_owned())
    }

    fn cached(key: &str) -> Result<String, Error> {
        Ok(key.to_owned())
    }
}

fn main() {}
