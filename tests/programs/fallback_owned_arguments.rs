//! A fallback receives the function's arguments even when the body consumes them:
//! the design asks `Clone` of such arguments (a copy is kept for the fallback), so
//! owned, generic and `impl Trait` arguments that are `Clone` must compile and reach
//! the fallback.

use breaker_runtime::{Error, circuit_breaker};

#[derive(Debug, PartialEq)]
enum ApiError {
    Breaker(Error),
    Down(usize),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Breaker(e)
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Order {
    id: u32,
    lines: Vec<String>,
}

#[circuit_breaker(service = "program-owned-string", fallback = spare)]
async fn greet(name: String) -> Result<String, ApiError> {
    Err(ApiError::Down(name.len()))
}

fn spare(name: String) -> Result<String, ApiError> {
    Ok(format!("spare for {name}"))
}

#[circuit_breaker(service = "program-owned-struct", fallback = summary)]
async fn submit(order: Order, note: &str) -> Result<String, ApiError> {
    let lines = order.lines.len();
    drop(order);
    Err(ApiError::Down(lines + note.len()))
}

fn summary(order: Order, note: &str) -> Result<String, ApiError> {
    Ok(format!("{} {} {note}", order.id, order.lines.join(",")))
}

#[circuit_breaker(service = "program-owned-generic", fallback = described)]
async fn describe<T: std::fmt::Display + Clone>(value: T) -> Result<String, ApiError> {
    Err(ApiError::Down(value.to_string().len()))
}

fn described<T: std::fmt::Display + Clone>(value: T) -> Result<String, ApiError> {
    Ok(format!("cached {value}"))
}

#[circuit_breaker(service = "program-owned-impl", fallback = shouted)]
async fn shout(word: impl AsRef<str> + Clone) -> Result<String, ApiError> {
    Err(ApiError::Down(word.as_ref().len()))
}

fn shouted(word: impl AsRef<str> + Clone) -> Result<String, ApiError> {
    Ok(word.as_ref().to_uppercase())
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        assert_eq!(greet("bob".to_string()).await, Ok("spare for bob".to_string()));
        let order = Order { id: 9, lines: vec!["a".into(), "b".into()] };
        assert_eq!(submit(order, "queued").await, Ok("9 a,b queued".to_string()));
        assert_eq!(describe(String::from("x")).await, Ok("cached x".to_string()));
        assert_eq!(shout(String::from("hey")).await, Ok("HEY".to_string()));
    });
}
