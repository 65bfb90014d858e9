//! Circuit breakers for async Rust, applied by annotation.
//!
//! Put [`#[circuit_breaker]`](circuit_breaker) on an `async fn` and every call goes
//! through the breaker of its service: rejected at once while the service is unhealthy,
//! let through carefully when it may have recovered, answered by a fallback meanwhile,
//! and reported as it happens.
//!
//! ```
//! use breaker_runtime::{circuit_breaker, registry, Error, State};
//!
//! #[derive(Debug)]
//! enum QuoteError { Breaker(Error), Upstream }
//!
//! // The error type carries the breaker's own errors: rejections and timeouts.
//! impl From<Error> for QuoteError {
//!     fn from(e: Error) -> Self { QuoteError::Breaker(e) }
//! }
//!
//! #[circuit_breaker(service = "checkout", threshold = 3, recovery_timeout = "5s", fallback = cached_quote)]
//! async fn get_quote(id: u64, healthy: bool) -> Result<u64, QuoteError> {
//!     if healthy { Ok(id * 100) } else { Err(QuoteError::Upstream) }
//! }
//!
//! // Same parameters and return type; sync or async.
//! fn cached_quote(_id: u64, _healthy: bool) -> Result<u64, QuoteError> {
//!     Ok(99)
//! }
//!
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() {
//!     // Every annotated function is known before its first call.
//!     let checkout = registry().get("checkout").unwrap();
//!     assert_eq!(checkout.state(), State::Closed);
//!
//!     for _ in 0..3 {
//!         assert_eq!(get_quote(7, false).await.unwrap(), 99); // failed: the fallback answers
//!     }
//!     assert_eq!(checkout.state(), State::Open);
//!     // While open the body does not run: the fallback answers at once.
//!     assert_eq!(get_quote(7, true).await.unwrap(), 99);
//!     println!("{:?}", checkout.snapshot());
//! }
//! ```
//!
//! The attribute's keys, their defaults and rules, fallbacks and classifiers are
//! described at [`circuit_breaker`]. Underneath, `breaker-runtime` holds the state
//! machines: a [`CircuitBreaker`] per service with a consecutive-failure rule and a
//! time-based sliding window, a recovery timeout and capped half-open probing,
//! classification of outcomes, and the per-call policies (timeout, bulkhead, fallback
//! chain). It reports every transition as an [event] and every counter in a
//! [`Snapshot`]. The [`registry()`] holds every service's breaker, loads configuration
//! files and takes runtime control.
//!
//! A breaker can also be made and used without the attribute:
//!
//! ```
//! use std::time::Duration;
//! use breaker_runtime::{CircuitBreaker, Config, Error, State};
//!
//! async fn fetch_quote(healthy: bool) -> Result<u64, Error> {
//!     if healthy { Ok(1234) } else { Err(Error::Timeout { service: "ledger", timeout: Duration::from_secs(1) }) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::builder()
//!     .threshold(3)
//!     .recovery_timeout(Duration::from_secs(5))
//!     .build()?;
//! let ledger = CircuitBreaker::new("ledger", config)?;
//!
//! for _ in 0..3 {
//!     let _ = ledger.call(fetch_quote(false)).await;
//! }
//! assert_eq!(ledger.state(), State::Open);
//! let rejected = ledger.call(fetch_quote(true)).await;
//! assert!(matches!(rejected, Err(Error::CircuitOpen { .. })));
//! # Ok(())
//! # }
//! ```
//!
//! # Features
//!
//! - `config-file` (on by default): TOML configuration files (`BREAKER_CONFIG`,
//!   [`Registry::load_config`](registry::Registry::load_config)).
//! - `watch`: reload a configuration file whenever it changes.
//! - `tower`: [`integrations::tower`], a tower layer that puts HTTP and gRPC client
//!   calls through the breakers of their services (by host, path, header, gRPC
//!   service), and `ClassifiedOk` for `http::StatusCode` and `http::Response<B>`.
//! - `hyper-util`: under the tower layer, hyper-util's client error, when it opens a
//!   circuit, is named with the errors under it (`client error (Connect): tcp connect
//!   error: ...`), not its text alone.
//! - `tonic`: `tonic::Status` from the breaker's errors, and `ClassifiedError` for
//!   `tonic::Status` (by code), so `#[circuit_breaker]` on a function returning
//!   `Result<T, tonic::Status>` judges it without `classify =`.
//! - `tonic-transport` (`tonic`, with tonic's transport built): as `hyper-util`, for
//!   a tonic `Channel`'s error (`transport error: tcp connect error: ...`).
//! - `prometheus`: `observe::prometheus`, every breaker in Prometheus's text format.
//! - `metrics`: `observe::metrics`, every breaker pushed to the `metrics` facade.
//! - `dashboard`: `observe::endpoints`, the operators' HTTP endpoints (metrics,
//!   health, circuits, guarded control) as an `axum::Router`.
//! - `reqwest`: [`integrations::reqwest`], a `reqwest-middleware` middleware, and
//!   `ClassifiedOk` / `ClassifiedError` for reqwest's response and errors.
//!
//! [event]: Event

#![warn(missing_docs)]

mod breaker;
pub mod classify;
mod error;
#[cfg(any(feature = "tower", feature = "reqwest"))]
pub mod integrations;
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

#[doc = include_str!("attribute.md")]
pub use breaker_macros::circuit_breaker;

/// The README's code blocks, compiled and run as doctests so that none can rot (with
/// the integrations' features, which some blocks use: `--all-features`).
#[cfg(all(doctest, feature = "tower", feature = "reqwest", feature = "dashboard"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
