// Functions in nested modules, one private to its module; the registry knows each
// with its module path.
mod outer {
    pub mod inner {
        use breaker_runtime::{Error, circuit_breaker};

        #[circuit_breaker(service = "ui-nested")]
        pub async fn fetch(id: u64) -> Result<u64, Error> {
            helper(id).await
        }

        #[circuit_breaker(service = "ui-nested")]
        async fn helper(id: u64) -> Result<u64, Error> {
            Ok(id + 1)
        }
    }
}

fn main() {
    assert_eq!(futures::executor::block_on(outer::inner::fetch(41)).unwrap(), 42);
    let functions: Vec<&str> = breaker_runtime::registry()
        .definitions_of("ui-nested")
        .iter()
        .map(|d| d.function)
        .collect();
    assert!(functions.iter().any(|f| f.ends_with("outer::inner::fetch")), "{functions:?}");
    assert!(functions.iter().any(|f| f.ends_with("outer::inner::helper")), "{functions:?}");
}
