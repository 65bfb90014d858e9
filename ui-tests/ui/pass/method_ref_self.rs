// A `&self` method, and a `pub` one with doc comments and other attributes kept.
use breaker_runtime::{Error, circuit_breaker};

struct Client {
    base: u64,
}

impl Client {
    /// Documented: the attribute keeps doc comments.
    #[circuit_breaker(service = "ui-method-ref")]
    #[inline]
    pub async fn fetch(&self, id: u64) -> Result<u64, Error> {
        Ok(self.base + id)
    }
}

fn main() {
    let client = Client { base: 40 };
    assert_eq!(futures::executor::block_on(client.fetch(2)).unwrap(), 42);
}
