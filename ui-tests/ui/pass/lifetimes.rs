// Borrowed arguments and results: named and elided lifetimes, in and out.
use breaker_runtime::{Error, circuit_breaker};

#[circuit_breaker(service = "ui-lifetimes")]
async fn first_word<'a>(text: &'a str) -> Result<&'a str, Error> {
    Ok(text.split(' ').next().unwrap_or(text))
}

#[circuit_breaker(service = "ui-lifetimes")]
async fn longest<'a, 'b: 'a>(a: &'a str, b: &'b str) -> Result<&'a str, Error> {
    Ok(if a.len() >= b.len() { a } else { b })
}

#[circuit_breaker(service = "ui-lifetimes")]
async fn elided(text: &str) -> Result<&str, Error> {
    Ok(text.trim())
}

struct Parser<'s> {
    source: &'s str,
}

impl<'s> Parser<'s> {
    #[circuit_breaker(service = "ui-lifetimes")]
    async fn rest(&self, from: usize) -> Result<&'s str, Error> {
        Ok(&self.source[from..])
    }
}

fn main() {
    let owned = String::from("hello world");
    futures::executor::block_on(async {
        assert_eq!(first_word(&owned).await.unwrap(), "hello");
        assert_eq!(longest("ab", "abc").await.unwrap(), "abc");
        assert_eq!(elided("  x ").await.unwrap(), "x");
        let parser = Parser { source: &owned };
        assert_eq!(parser.rest(6).await.unwrap(), "world");
    });
}
