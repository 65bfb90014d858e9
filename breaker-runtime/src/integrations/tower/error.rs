//! [`ServiceError`]: what a protected service's future fails with.

use std::fmt;

use crate::error::Error;

/// The error of a [`CircuitBreakerService`](super::CircuitBreakerService): the
/// breaker's ([`Breaker`](ServiceError::Breaker): the circuit is open, the bulkhead is
/// full, the call timed out) or the inner service's ([`Inner`](ServiceError::Inner)).
///
/// It is an `std::error::Error` when `E` is, so it boxes into tower's `BoxError`; the
/// breaker's error is then found with `downcast_ref::<ServiceError<E>>()` or through
/// [`breaker_error`](ServiceError::breaker_error).
#[derive(Debug)]
#[non_exhaustive]
pub enum ServiceError<E> {
    /// The breaker stopped the call.
    Breaker(Error),
    /// The inner service failed.
    Inner(E),
}

impl<E> ServiceError<E> {
    /// The breaker's error, if the breaker stopped the call.
    pub fn breaker_error(&self) -> Option<&Error> {
        match self {
            ServiceError::Breaker(error) => Some(error),
            ServiceError::Inner(_) => None,
        }
    }

    /// The inner service's error, if it failed.
    pub fn into_inner(self) -> Option<E> {
        match self {
            ServiceError::Inner(error) => Some(error),
            ServiceError::Breaker(_) => None,
        }
    }
}

impl<E: fmt::Display> fmt::Display for ServiceError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::Breaker(error) => error.fmt(f),
            ServiceError::Inner(error) => error.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for ServiceError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServiceError::Breaker(error) => Some(error),
            ServiceError::Inner(error) => Some(error),
        }
    }
}
