// A fallback path with generic arguments, commas and all, alone or in a list.
use breaker_runtime::{Error, circuit_breaker};

fn pick<A: Into<u64>, B: Into<u64>>(id: u64) -> Result<u64, Error> {
    let _ = std::mem::size_of::<(A, B)>();
    Ok(id)
}

#[circuit_breaker(service = "ui-fallback-turbofish", fallback = pick::<u8, u16>)]
async fn one(id: u64) -> Result<u64, Error> {
    Ok(id)
}

#[circuit_breaker(service = "ui-fallback-turbofish-list", fallback = [pick::<u8, u16>, pick::<u32, u8>])]
async fn chain(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {
    let _ = futures::executor::block_on(one(1));
    let _ = futures::executor::block_on(chain(1));
}
