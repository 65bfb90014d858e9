// `crate = path`: the runtime reached under another name (a renamed dependency or a
// facade crate that re-exports it).
use renamed_breaker::{Error, circuit_breaker};

#[circuit_breaker(service = "ui-renamed", crate = renamed_breaker, fallback = cached)]
async fn fetch(id: u64) -> Result<u64, Error> {
    if id == 0 {
        return Err(Error::UnknownService { service: "down".into(), suggestion: None });
    }
    Ok(id)
}

fn cached(_id: u64) -> Result<u64, Error> {
    Ok(1)
}

mod facade {
    pub use renamed_breaker as breaker;
}

#[circuit_breaker(service = "ui-renamed", crate = crate::facade::breaker)]
async fn through_module(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn main() {
    futures::executor::block_on(async {
        assert_eq!(fetch(5).await.unwrap(), 5);
        assert_eq!(fetch(0).await.unwrap(), 1);
        assert_eq!(through_module(3).await.unwrap(), 3);
    });
}
