use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui", treshold = 3)]
async fn fetch(id: u64) -> Result<u64, Error> {
    Ok(id)
}

struct Client;

impl Client {
    #[circuit_breaker(service = "ui", timout = "1s")]
    async fn get(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

fn main() {
    let _ = fetch(1);
    let _ = Client.get(2);
}
