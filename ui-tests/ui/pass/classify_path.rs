// `classify = path`: errors classified as ignored are returned as they are and do not
// count as failures.
use breaker_runtime::{Error, Outcome, circuit_breaker};

#[derive(Debug, PartialEq)]
enum HttpError {
    Status(u16),
    Breaker,
}

impl From<Error> for HttpError {
    fn from(_: Error) -> Self {
        HttpError::Breaker
    }
}

fn server_errors_only(error: &HttpError) -> Outcome {
    match error {
        HttpError::Status(status) if *status >= 500 => Outcome::Failure,
        _ => Outcome::Ignored,
    }
}

mod policy {
    pub fn every_error(_: &super::HttpError) -> breaker_runtime::Outcome {
        breaker_runtime::Outcome::Failure
    }
}

#[circuit_breaker(service = "ui-classify", threshold = 1, classify = server_errors_only)]
async fn get(status: u16) -> Result<u16, HttpError> {
    if status >= 400 {
        return Err(HttpError::Status(status));
    }
    Ok(status)
}

#[circuit_breaker(service = "ui-classify-module", classify = policy::every_error, fallback = zero)]
async fn get_or_zero(status: u16) -> Result<u16, HttpError> {
    Err(HttpError::Status(status))
}

fn zero(_status: u16) -> Result<u16, HttpError> {
    Ok(0)
}

fn main() {
    futures::executor::block_on(async {
        // A 404 is ignored: it does not open the circuit (threshold = 1).
        assert_eq!(get(404).await, Err(HttpError::Status(404)));
        assert_eq!(get(404).await, Err(HttpError::Status(404)));
        assert_eq!(get(200).await, Ok(200));
        assert_eq!(get_or_zero(503).await, Ok(0));
    });
}
