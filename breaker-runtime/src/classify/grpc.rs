//! gRPC status classification: the design document's 17-code table (EC-7), with the
//! per-service overrides of EC-8.
//!
//! | code | outcome | overridable |
//! |---|---|---|
//! | OK | success | no |
//! | CANCELLED | ignored | yes |
//! | UNKNOWN | failure (logged for investigation) | yes |
//! | INVALID_ARGUMENT | ignored | yes |
//! | DEADLINE_EXCEEDED | failure | no |
//! | NOT_FOUND | ignored | yes |
//! | ALREADY_EXISTS | ignored | yes |
//! | PERMISSION_DENIED | ignored | yes |
//! | RESOURCE_EXHAUSTED | failure | yes |
//! | FAILED_PRECONDITION | ignored | yes |
//! | ABORTED | failure | yes |
//! | OUT_OF_RANGE | ignored | yes |
//! | UNIMPLEMENTED | ignored | yes |
//! | INTERNAL | failure | yes |
//! | UNAVAILABLE | failure | no |
//! | DATA_LOSS | failure | yes |
//! | UNAUTHENTICATED | ignored | yes |
//!
//! A code outside 0..=16 is a failure.

use std::fmt;

use super::Outcome;
use crate::error::ConfigError;

/// A gRPC status code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
#[allow(missing_docs)]
pub enum Code {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

impl Code {
    /// Every code, in numeric order.
    pub const ALL: [Code; 17] = [
        Code::Ok,
        Code::Cancelled,
        Code::Unknown,
        Code::InvalidArgument,
        Code::DeadlineExceeded,
        Code::NotFound,
        Code::AlreadyExists,
        Code::PermissionDenied,
        Code::ResourceExhausted,
        Code::FailedPrecondition,
        Code::Aborted,
        Code::OutOfRange,
        Code::Unimplemented,
        Code::Internal,
        Code::Unavailable,
        Code::DataLoss,
        Code::Unauthenticated,
    ];

    /// The code with numeric value `value`, if there is one.
    pub fn from_i32(value: i32) -> Option<Code> {
        usize::try_from(value).ok().and_then(|i| Code::ALL.get(i).copied())
    }

    /// The code's name as gRPC writes it (`UNAVAILABLE`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Code::Ok => "OK",
            Code::Cancelled => "CANCELLED",
            Code::Unknown => "UNKNOWN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::AlreadyExists => "ALREADY_EXISTS",
            Code::PermissionDenied => "PERMISSION_DENIED",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            Code::Aborted => "ABORTED",
            Code::OutOfRange => "OUT_OF_RANGE",
            Code::Unimplemented => "UNIMPLEMENTED",
            Code::Internal => "INTERNAL",
            Code::Unavailable => "UNAVAILABLE",
            Code::DataLoss => "DATA_LOSS",
            Code::Unauthenticated => "UNAUTHENTICATED",
        }
    }

    /// The default outcome of the code.
    pub const fn default_outcome(self) -> Outcome {
        match self {
            Code::Ok => Outcome::Success,
            Code::Cancelled
            | Code::InvalidArgument
            | Code::NotFound
            | Code::AlreadyExists
            | Code::PermissionDenied
            | Code::FailedPrecondition
            | Code::OutOfRange
            | Code::Unimplemented
            | Code::Unauthenticated => Outcome::Ignored,
            Code::Unknown
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Aborted
            | Code::Internal
            | Code::Unavailable
            | Code::DataLoss => Outcome::Failure,
        }
    }

    /// Whether a service may override the code's outcome. OK, DEADLINE_EXCEEDED and
    /// UNAVAILABLE mean the same thing for every service and are fixed.
    pub const fn overridable(self) -> bool {
        !matches!(self, Code::Ok | Code::DeadlineExceeded | Code::Unavailable)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of a numeric gRPC status code with the default table.
///
/// ```
/// use breaker_runtime::{Outcome, classify::grpc};
/// assert_eq!(grpc::code(14), Outcome::Failure); // UNAVAILABLE
/// assert_eq!(grpc::code(3), Outcome::Ignored); // INVALID_ARGUMENT
/// ```
pub fn code(value: i32) -> Outcome {
    GrpcClassifier::new().code(value)
}

/// The gRPC table with a service's overrides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrpcClassifier {
    outcomes: [Outcome; 17],
}

impl Default for GrpcClassifier {
    fn default() -> Self {
        GrpcClassifier::new()
    }
}

impl GrpcClassifier {
    /// The default table.
    pub fn new() -> GrpcClassifier {
        GrpcClassifier { outcomes: Code::ALL.map(Code::default_outcome) }
    }

    /// The table with `code` counted as `outcome`; an error if the code is fixed.
    ///
    /// ```
    /// use breaker_runtime::{Outcome, classify::grpc::{Code, GrpcClassifier}};
    /// let lenient = GrpcClassifier::new().with_override(Code::ResourceExhausted, Outcome::Ignored)?;
    /// assert_eq!(lenient.code(8), Outcome::Ignored);
    /// assert!(GrpcClassifier::new().with_override(Code::Unavailable, Outcome::Ignored).is_err());
    /// # Ok::<(), breaker_runtime::ConfigError>(())
    /// ```
    pub fn with_override(mut self, code: Code, outcome: Outcome) -> Result<GrpcClassifier, ConfigError> {
        if !code.overridable() {
            return Err(ConfigError::new(
                "grpc_overrides",
                code,
                "cannot be overridden: OK, DEADLINE_EXCEEDED and UNAVAILABLE are fixed",
            ));
        }
        self.outcomes[code as usize] = outcome;
        Ok(self)
    }

    /// The outcome of the numeric code `value`.
    pub fn code(&self, value: i32) -> Outcome {
        match Code::from_i32(value) {
            Some(code) => {
                if code == Code::Unknown {
                    tracing::info!(target: "breaker::classify", "gRPC status UNKNOWN counted as {:?}; worth investigating", self.outcomes[code as usize]);
                }
                self.outcomes[code as usize]
            }
            None => Outcome::Failure,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use Outcome::*;

    /// Every row of the 17-code table (design document L5405-5422).
    #[test]
    fn every_row_of_the_grpc_table() {
        let table = [
            (0, Success),
            (1, Ignored),
            (2, Failure),
            (3, Ignored),
            (4, Failure),
            (5, Ignored),
            (6, Ignored),
            (7, Ignored),
            (8, Failure),
            (9, Ignored),
            (10, Failure),
            (11, Ignored),
            (12, Ignored),
            (13, Failure),
            (14, Failure),
            (15, Failure),
            (16, Ignored),
        ];
        for (value, outcome) in table {
            assert_eq!(code(value), outcome, "code {value} ({:?})", Code::from_i32(value));
        }
        assert_eq!(code(-1), Failure);
        assert_eq!(code(17), Failure);
    }

    #[test]
    fn only_three_codes_are_fixed() {
        let fixed: Vec<_> = Code::ALL.into_iter().filter(|c| !c.overridable()).collect();
        assert_eq!(fixed, [Code::Ok, Code::DeadlineExceeded, Code::Unavailable]);
        let e = GrpcClassifier::new().with_override(Code::DeadlineExceeded, Ignored).unwrap_err();
        assert_eq!(e.value, "DEADLINE_EXCEEDED");
    }

    #[test]
    fn overrides_apply_per_classifier() {
        let strict = GrpcClassifier::new().with_override(Code::NotFound, Failure).unwrap();
        assert_eq!(strict.code(5), Failure);
        assert_eq!(code(5), Ignored);
    }
}
