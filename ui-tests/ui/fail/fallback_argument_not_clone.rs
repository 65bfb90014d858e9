use breaker_runtime::{Error, circuit_breaker};

struct Connection;

#[circuit_breaker(service = "ui", fallback = cached)]
async fn fetch(connection: Connection, id: u64) -> Result<u64, Error> {
    let _ = connection;
    Ok(id)
}

fn cached(_connection: Connection, id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {}
