//! tonic: the breaker's errors as `tonic::Status`.

use crate::error::Error;
use crate::integrations::tower::ServiceError;

impl From<Error> for tonic::Status {
    /// UNAVAILABLE for a call an open circuit or the probe limit refused, with the
    /// service and the time until the next probe in the message; RESOURCE_EXHAUSTED
    /// for a full bulkhead (this client's own limit, which says nothing of the
    /// service's health); DEADLINE_EXCEEDED for a call cut by its timeout;
    /// FAILED_PRECONDITION for an unknown service or an invalid or duplicate
    /// configuration (a configuration problem, which a breaker in front of this one
    /// does not count);
    /// INTERNAL otherwise. The tower layer answers its refusals with the same codes.
    fn from(error: Error) -> tonic::Status {
        let message = error.to_string();
        match error {
            Error::Timeout { .. } => tonic::Status::deadline_exceeded(message),
            Error::CircuitOpen { .. } | Error::ProbeLimit { .. } => tonic::Status::unavailable(message),
            Error::BulkheadFull { .. } => tonic::Status::resource_exhausted(message),
            Error::UnknownService { .. } | Error::InvalidConfig(_) | Error::DuplicateService { .. } => {
                tonic::Status::failed_precondition(message)
            }
            _ => tonic::Status::internal(message),
        }
    }
}

impl<E: Into<Box<dyn std::error::Error + Send + Sync>>> From<ServiceError<E>> for tonic::Status {
    /// The breaker's error as above; the inner service's through
    /// `tonic::Status::from_error` (a transport error is UNAVAILABLE or UNKNOWN, as
    /// tonic reports it).
    fn from(error: ServiceError<E>) -> tonic::Status {
        match error {
            ServiceError::Breaker(error) => error.into(),
            ServiceError::Inner(error) => tonic::Status::from_error(error.into()),
        }
    }
}
