//! Circuit breakers for async Rust, applied by annotation.
//!
//! `breaker-runtime` holds the state machines: a [`CircuitBreaker`] per service with a
//! consecutive-failure rule and a time-based sliding window, a recovery timeout and
//! capped half-open probing, classification of outcomes, and the per-call policies
//! (timeout, bulkhead, fallback chain). It reports every transition as an [event] and
//! every counter in a [`Snapshot`].
//!
//! ```
//! use std::time::Duration;
//! use breaker_runtime::{CircuitBreaker, Config, Error, State};
//!
//! #[derive(Debug)]
//! enum QuoteError { Breaker(Error), Upstream }
//! impl From<Error> for QuoteError {
//!     fn from(e: Error) -> Self { QuoteError::Breaker(e) }
//! }
//!
//! async fn fetch_quote(healthy: bool) -> Result<u64, QuoteError> {
//!     if healthy { Ok(1234) } else { Err(QuoteError::Upstream) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::builder()
//!     .threshold(3)
//!     .recovery_timeout(Duration::from_secs(5))
//!     .build()?;
//! let payments = CircuitBreaker::new("payments", config)?;
//!
//! for _ in 0..3 {
//!     let _ = payments.call(fetch_quote(false)).await;
//! }
//! assert_eq!(payments.state(), State::Open);
//! // While open, calls fail fast without reaching the service.
//! let rejected = payments.call(fetch_quote(true)).await;
//! assert!(matches!(rejected, Err(QuoteError::Breaker(Error::CircuitOpen { .. }))));
//! # Ok(())
//! # }
//! ```
//!
//! [event]: Event

#![warn(missing_docs)]

mod breaker;
pub mod classify;
mod error;
pub mod observe;
pub mod policy;
pub mod registry;
mod sync;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use breaker::{
    Call, CircuitBreaker, Clock, Config, ConfigBuilder, Instant, ManualClock, ManualSleep, MonotonicClock,
    Permit, State, Wake, defaults,
};
pub use classify::{Classify, ClassifyResult, DefaultClassifier, Outcome};
pub use error::{ConfigError, Error};
pub use observe::{Event, EventKind, Events, Reason, RejectionKind, Snapshot};
pub use policy::fallback;
pub use registry::{ConfigLayer, Off, registry};

/// Protects an async function with the circuit breaker of its service.
///
/// See the crate documentation and the README for every key.
pub use breaker_macros::circuit_breaker;
