//! Policies a call goes through after admission: the bulkhead (a concurrency limit
//! with a bounded, timed queue), the per-call timeout, and the fallback chain.
//!
//! Policies never decide the breaker's state; they report to it. A bulkhead rejection
//! is never a failure, a timeout always is, and fallbacks run outside the bulkhead.

pub(crate) mod bulkhead;
pub mod fallback;

pub(crate) use bulkhead::Bulkhead;
