//! tonic: the breaker's errors as `tonic::Status`.

use crate::error::Error;
use crate::integrations::tower::ServiceError;

impl From<Error> for tonic::Status {
    /// UNAVAILABLE for a refused call (open circuit, probe limit, full bulkhead) and an
    /// unknown service, with the service and the time until the next probe in the
    /// message; DEADLINE_EXCEEDED for a call cut by its timeout; INTERNAL otherwise.
    fn from(error: Error) -> tonic::Status {
        let message = error.to_string();
        match error {
            Error::Timeout { .. } => tonic::Status::deadline_exceeded(message),
            Error::CircuitOpen { .. }
            | Error::ProbeLimit { .. }
            | Error::BulkheadFull { .. }
            | Error::UnknownService { .. } => tonic::Status::unavailable(message),
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
