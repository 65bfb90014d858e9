use std::fmt::Display;
use breaker_runtime::circuit_breaker;

struct Client;

impl Client {
    #[circuit_breaker(service = "ui", fallback = Self::cached)]
    async fn get<T: Clone + Send>(&self, key: &'static str, items: Vec<Option<T>>, label: impl Display + Clone, pair: (u8, [u16; 2])) -> std::io::Result<Vec<T>> {
        let _ = (key, items, label, pair);
        Ok(Vec::new())
    }

    fn cached<T>(&self) -> std::io::Result<Vec<T>> {
        Ok(Vec::new())
    }
}

fn main() {}
