//! Classification: which results count as failures of the service, which as successes,
//! and which pass through without touching the breaker.
//!
//! The default ([`DefaultClassifier`]): `Ok` is a success, every `Err` a failure. A
//! timeout is always a failure and a cancelled call is never recorded at all; no
//! classifier can change that. The [`http`] and [`grpc`] presets turn status codes into
//! outcomes with the design document's tables, without depending on any HTTP or gRPC
//! crate. This module never touches breaker state.

pub mod grpc;
pub mod http;
mod values;

pub use values::{ByBoth, ByError, ByOkValue, ClassifiedError, ClassifiedOk};

/// How a call counts for the breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The service worked: resets the consecutive failures, counts toward closing a
    /// half-open circuit.
    Success,
    /// The service failed: counts toward opening.
    Failure,
    /// The call says nothing about the service's health (a client error, say): counted
    /// in the metrics, ignored by the state machine.
    Ignored,
}

/// Decides the [`Outcome`] of a call from its result.
///
/// Implemented for [`DefaultClassifier`], for any `Fn(&E) -> Outcome` (which sees only
/// errors: `Ok` is a success), and for [`ClassifyResult`] (which sees the whole result).
///
/// ```
/// use breaker_runtime::{Classify, Outcome};
///
/// #[derive(Debug)]
/// enum ApiError { NotFound, Unavailable }
///
/// let classify = |e: &ApiError| match e {
///     ApiError::NotFound => Outcome::Ignored,
///     ApiError::Unavailable => Outcome::Failure,
/// };
/// assert_eq!(Classify::<(), _>::classify(&classify, &Err(ApiError::NotFound)), Outcome::Ignored);
/// assert_eq!(Classify::<(), ApiError>::classify(&classify, &Ok(())), Outcome::Success);
/// ```
pub trait Classify<T, E> {
    /// The outcome of `result`.
    fn classify(&self, result: &Result<T, E>) -> Outcome;

    /// The error of a failure as text for the transition it triggers, if this
    /// classifier can show it (the attribute's can, for an error type that implements
    /// `Display`, with its sources when it implements `Error`).
    #[doc(hidden)]
    fn __display<'e>(&self, error: &'e E) -> Option<crate::__private::Shown<'e>> {
        let _ = error;
        None
    }

    /// Whether `result` is an HTTP 429 this classifier judged by the HTTP table (the
    /// attribute's, for the types that judge themselves): the breaker then judges it
    /// by its `too_many_requests` rule instead, as the HTTP integrations do.
    #[doc(hidden)]
    fn __too_many_requests(&self, result: &Result<T, E>) -> bool {
        let _ = result;
        false
    }
}

/// `Ok` is a success, every `Err` a failure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefaultClassifier;

impl<T, E> Classify<T, E> for DefaultClassifier {
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

impl<T, E, F> Classify<T, E> for F
where
    F: Fn(&E) -> Outcome,
{
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(e) => self(e),
        }
    }
}

/// A classifier that sees the whole result, for `Ok` values that are failures (an HTTP
/// response with status 503, say).
///
/// ```
/// use breaker_runtime::{Classify, ClassifyResult, Outcome, classify::http};
///
/// let by_status = ClassifyResult(|r: &Result<u16, std::io::Error>| match r {
///     Ok(status) => http::status(*status),
///     Err(_) => Outcome::Failure,
/// });
/// assert_eq!(by_status.classify(&Ok(503)), Outcome::Failure);
/// assert_eq!(by_status.classify(&Ok(404)), Outcome::Ignored);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ClassifyResult<F>(pub F);

impl<T, E, F> Classify<T, E> for ClassifyResult<F>
where
    F: Fn(&Result<T, E>) -> Outcome,
{
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        (self.0)(result)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn default_classifier_fails_every_error() {
        assert_eq!(Classify::<u8, ()>::classify(&DefaultClassifier, &Ok(1)), Outcome::Success);
        assert_eq!(Classify::<u8, ()>::classify(&DefaultClassifier, &Err(())), Outcome::Failure);
    }

    #[test]
    fn error_classifier_sees_only_errors() {
        let never_fails = |_: &&str| Outcome::Ignored;
        assert_eq!(Classify::<u8, &str>::classify(&never_fails, &Err("x")), Outcome::Ignored);
        assert_eq!(Classify::<u8, &str>::classify(&never_fails, &Ok(1)), Outcome::Success);
    }
}
