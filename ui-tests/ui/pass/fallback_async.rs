// An async fallback, with arguments that are `Clone` but not `Copy`: each reaches the
// fallback after the attempt used it.
use breaker_runtime::{Error, circuit_breaker};

#[derive(Clone, Debug, PartialEq)]
struct Key {
    name: String,
}

#[circuit_breaker(service = "ui-fallback-async", fallback = from_cache)]
async fn lookup(key: Key, tags: Vec<String>) -> Result<String, Error> {
    if key.name == "down" {
        return Err(Error::UnknownService { service: key.name.into(), suggestion: None });
    }
    Ok(format!("{}:{}", key.name, tags.join(",")))
}

async fn from_cache(key: Key, tags: Vec<String>) -> Result<String, Error> {
    Ok(format!("cached {}:{}", key.name, tags.len()))
}

fn main() {
    futures::executor::block_on(async {
        let tags = vec!["a".to_owned(), "b".to_owned()];
        let up = lookup(Key { name: "up".into() }, tags.clone()).await.unwrap();
        assert_eq!(up, "up:a,b");
        let down = lookup(Key { name: "down".into() }, tags).await.unwrap();
        assert_eq!(down, "cached down:2");
    });
}
