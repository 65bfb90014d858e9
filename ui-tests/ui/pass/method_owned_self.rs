// A method taking `self` by value, and an associated function without `self`.
use breaker_runtime::{Error, circuit_breaker};

struct Request {
    body: String,
}

impl Request {
    #[circuit_breaker(service = "ui-method-owned")]
    async fn new(body: &str) -> Result<Request, Error> {
        Ok(Request { body: body.to_owned() })
    }

    #[circuit_breaker(service = "ui-method-owned")]
    async fn send(self) -> Result<usize, Error> {
        Ok(self.body.len())
    }
}

fn main() {
    futures::executor::block_on(async {
        let request = Request::new("hello").await.unwrap();
        assert_eq!(request.send().await.unwrap(), 5);
    });
}
