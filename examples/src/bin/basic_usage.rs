//! Basic usage: one protected function, its breaker opening after repeated failures,
//! a fallback answering while it is open, and the circuit closing again.
//!
//! `cargo run --bin basic_usage`

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use breaker_runtime::{Error, State, circuit_breaker, registry};

/// The errors of our client, able to carry the breaker's rejections.
#[derive(Debug)]
enum QuoteError {
    Breaker(Error),
    Unavailable,
}

impl From<Error> for QuoteError {
    fn from(e: Error) -> Self {
        QuoteError::Breaker(e)
    }
}

/// Whether the (simulated) pricing service is up.
static PRICING_UP: AtomicBool = AtomicBool::new(true);

/// A call to the pricing service, protected by the `pricing` breaker: three failures in
/// a row open it for 300 ms, and a cached quote answers meanwhile.
#[circuit_breaker(service = "pricing", threshold = 3, recovery_timeout = "300ms", timeout = "100ms", fallback = cached_quote)]
async fn get_quote(item: u32) -> Result<u32, QuoteError> {
    if PRICING_UP.load(Ordering::Relaxed) { Ok(item * 100) } else { Err(QuoteError::Unavailable) }
}

/// The same work without the attribute, for the manual API.
async fn get_quote_uncached(item: u32) -> Result<u32, QuoteError> {
    Ok(item * 100)
}

/// The fallback: same arguments, same return type.
fn cached_quote(_item: u32) -> Result<u32, QuoteError> {
    Ok(99)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let breaker = registry().get("pricing")?; // known before the first call
    println!("pricing is {}; quote = {:?}", breaker.state(), get_quote(7).await);

    PRICING_UP.store(false, Ordering::Relaxed);
    for attempt in 1..=4 {
        let quote = get_quote(7).await;
        println!("attempt {attempt} while pricing is down: {quote:?}, breaker {}", breaker.state());
    }
    assert_eq!(breaker.state(), State::Open);
    println!("open: calls are answered by the fallback without reaching the service");

    PRICING_UP.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(350)).await;
    println!("after the recovery timeout the breaker is {}", breaker.state());
    println!("a probe call goes through: {:?}", get_quote(7).await);
    println!("and the breaker is {}", breaker.state());
    assert_eq!(breaker.state(), State::Closed);

    let snapshot = breaker.snapshot();
    println!(
        "opened {} time(s), {} call(s) rejected, {} answered by the fallback",
        snapshot.open_count,
        snapshot.rejections.total(),
        snapshot.fallbacks.successes
    );
    // Without a fallback, the caller gets the rejection in its own error type.
    breaker.force_open();
    match breaker.call(get_quote_uncached(7)).await {
        Err(QuoteError::Breaker(e)) => println!("a rejection reads: {e}"),
        other => println!("unexpected: {other:?}"),
    }
    breaker.reset();
    Ok(())
}
