// A `&mut self` method (no fallback): the body may change `self`.
use breaker_runtime::{Error, circuit_breaker};

struct Counter {
    calls: u32,
}

impl Counter {
    #[circuit_breaker(service = "ui-method-mut")]
    async fn bump(&mut self, by: u32) -> Result<u32, Error> {
        self.calls += by;
        Ok(self.calls)
    }
}

fn main() {
    let mut counter = Counter { calls: 0 };
    futures::executor::block_on(async {
        assert_eq!(counter.bump(1).await.unwrap(), 1);
        assert_eq!(counter.bump(2).await.unwrap(), 3);
    });
    assert_eq!(counter.calls, 3);
}
