use breaker_runtime::{Error, circuit_breaker};

struct Client;

impl Client {
    #[circuit_breaker(service = "ui", fallback = [Self::cached, Self::fetch])]
    async fn fetch(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }

    fn cached(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

fn main() {}
