//! Types that say themselves how they count: an `Ok` value that can be a failure (an
//! HTTP response with status 503), an error that can be no failure (a gRPC
//! INVALID_ARGUMENT). `#[circuit_breaker]` without `classify =` judges a function's
//! result by them when its types implement them, and by [`DefaultClassifier`] when not.
//!
//! [`DefaultClassifier`]: super::DefaultClassifier

use super::{Classify, Outcome};

/// An `Ok` value that says how the call counts (HTTP responses by status: a 503 is a
/// failure though it came back as `Ok`).
///
/// ```
/// use breaker_runtime::{Outcome, classify::ClassifiedOk};
///
/// struct Reply { code: u16 }
/// impl ClassifiedOk for Reply {
///     fn outcome(&self) -> Outcome {
///         breaker_runtime::classify::http::status(self.code)
///     }
/// }
/// assert_eq!(Reply { code: 503 }.outcome(), Outcome::Failure);
/// ```
pub trait ClassifiedOk {
    /// How a call that returned this value counts.
    fn outcome(&self) -> Outcome;

    /// Whether this is an HTTP 429 judged by the HTTP table (the breaker's
    /// `too_many_requests` rule judges it instead).
    #[doc(hidden)]
    fn __too_many_requests(&self) -> bool {
        false
    }
}

/// An error that says how the call counts (a gRPC status by its code: NOT_FOUND is
/// no failure of the service, UNAVAILABLE is).
pub trait ClassifiedError {
    /// How a call that failed with this error counts.
    fn outcome(&self) -> Outcome;

    /// Whether this is an HTTP 429 judged by the HTTP table (the breaker's
    /// `too_many_requests` rule judges it instead).
    #[doc(hidden)]
    fn __too_many_requests(&self) -> bool {
        false
    }
}

/// Judges `Ok` values by [`ClassifiedOk`]; every error is a failure.
#[derive(Clone, Copy, Debug, Default)]
pub struct ByOkValue;

impl<T: ClassifiedOk, E> Classify<T, E> for ByOkValue {
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(value) => value.outcome(),
            Err(_) => Outcome::Failure,
        }
    }

    #[inline]
    fn __too_many_requests(&self, result: &Result<T, E>) -> bool {
        result.as_ref().is_ok_and(T::__too_many_requests)
    }
}

/// Judges errors by [`ClassifiedError`]; `Ok` is a success.
#[derive(Clone, Copy, Debug, Default)]
pub struct ByError;

impl<T, E: ClassifiedError> Classify<T, E> for ByError {
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(error) => error.outcome(),
        }
    }

    #[inline]
    fn __too_many_requests(&self, result: &Result<T, E>) -> bool {
        result.as_ref().is_err_and(E::__too_many_requests)
    }
}

/// Judges both: `Ok` values by [`ClassifiedOk`], errors by [`ClassifiedError`].
#[derive(Clone, Copy, Debug, Default)]
pub struct ByBoth;

impl<T: ClassifiedOk, E: ClassifiedError> Classify<T, E> for ByBoth {
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(value) => value.outcome(),
            Err(error) => error.outcome(),
        }
    }

    #[inline]
    fn __too_many_requests(&self, result: &Result<T, E>) -> bool {
        match result {
            Ok(value) => value.__too_many_requests(),
            Err(error) => error.__too_many_requests(),
        }
    }
}

#[cfg(any(feature = "tower", feature = "reqwest"))]
mod http_types {
    use super::{ClassifiedOk, Outcome};

    impl ClassifiedOk for http::StatusCode {
        /// By the HTTP table ([`classify::http`](crate::classify::http)); 429 is a
        /// failure here, and under `#[circuit_breaker]` judged by the breaker's
        /// `too_many_requests` rule, as the HTTP integrations judge it.
        fn outcome(&self) -> Outcome {
            crate::classify::http::status(self.as_u16())
        }

        fn __too_many_requests(&self) -> bool {
            *self == http::StatusCode::TOO_MANY_REQUESTS
        }
    }

    impl<B> ClassifiedOk for http::Response<B> {
        /// By status, as [`http::StatusCode`]'s.
        fn outcome(&self) -> Outcome {
            self.status().outcome()
        }

        fn __too_many_requests(&self) -> bool {
            self.status().__too_many_requests()
        }
    }
}

#[cfg(feature = "reqwest")]
mod reqwest_types {
    use super::{ClassifiedError, ClassifiedOk, Outcome};

    impl ClassifiedOk for reqwest::Response {
        /// By status, as [`http::StatusCode`]'s.
        fn outcome(&self) -> Outcome {
            crate::classify::http::status(self.status().as_u16())
        }

        fn __too_many_requests(&self) -> bool {
            self.status() == reqwest::StatusCode::TOO_MANY_REQUESTS
        }
    }

    impl ClassifiedError for reqwest::Error {
        /// An error for a status (`error_for_status`) by that status; a request the
        /// client could not build (an invalid URL, a scheme it refuses: a configuration
        /// problem, not the service's) ignored; every other error (connect, timeout,
        /// reset, body, too many redirects) a failure.
        fn outcome(&self) -> Outcome {
            match self.status() {
                Some(status) => crate::classify::http::status(status.as_u16()),
                None if self.is_builder() => Outcome::Ignored,
                None => Outcome::Failure,
            }
        }

        fn __too_many_requests(&self) -> bool {
            self.status() == Some(reqwest::StatusCode::TOO_MANY_REQUESTS)
        }
    }

    impl ClassifiedError for reqwest_middleware::Error {
        /// As `reqwest::Error`'s; a middleware's error a failure, the refusal of a
        /// [`CircuitBreakerMiddleware`](crate::integrations::reqwest::CircuitBreakerMiddleware)
        /// in the client among them (as a nested breaker's refusal is under
        /// [`DefaultClassifier`](crate::DefaultClassifier): the call did not reach
        /// its service). A breaker's refusal of its own call never reaches its
        /// classifier.
        fn outcome(&self) -> Outcome {
            match self {
                reqwest_middleware::Error::Reqwest(error) => error.outcome(),
                reqwest_middleware::Error::Middleware(_) => Outcome::Failure,
            }
        }

        fn __too_many_requests(&self) -> bool {
            matches!(self, reqwest_middleware::Error::Reqwest(error) if error.__too_many_requests())
        }
    }
}

#[cfg(feature = "tonic")]
mod tonic_types {
    use super::{ClassifiedError, Outcome};

    impl ClassifiedError for tonic::Status {
        /// By its code, with the gRPC table ([`classify::grpc`](crate::classify::grpc)):
        /// UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL... failures; INVALID_ARGUMENT,
        /// NOT_FOUND, UNAUTHENTICATED... not. A deadline that passed is a failure
        /// though tonic reports it as CANCELLED (`Timeout expired`, for a request's
        /// `set_timeout` or an endpoint's `timeout`): only a caller's own cancellation
        /// is not.
        fn outcome(&self) -> Outcome {
            if self.code() == tonic::Code::Cancelled
                && crate::integrations::judge::is_tonic_timeout(self.message().as_bytes())
            {
                return Outcome::Failure;
            }
            crate::classify::grpc::code(self.code() as i32)
        }
    }
}
