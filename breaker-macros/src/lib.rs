//! Implementation detail of `breaker-runtime`: the `#[circuit_breaker]` attribute.
//! Depend on `breaker-runtime` and use `breaker_runtime::circuit_breaker` instead.
