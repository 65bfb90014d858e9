use breaker_runtime::{Error, circuit_breaker};

struct Client {
    calls: u64,
}

impl Client {
    #[circuit_breaker(service = "ui", fallback = Self::cached)]
    async fn fetch(&mut self, id: u64) -> Result<u64, Error> {
        self.calls += 1;
        Ok(id)
    }

    fn cached(&mut self, id: u64) -> Result<u64, Error> {
        Ok(id + self.calls)
    }
}

fn main() {}
