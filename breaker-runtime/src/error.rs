//! The one error type of the crate, [`Error`], and the configuration error it wraps.

use std::fmt;
use std::time::Duration;

/// Why the breaker did not return the protected function's own result.
///
/// Functions protected by `#[circuit_breaker]` return `Result<T, E>` with
/// `E: From<Error>`, so these errors reach callers in the function's own error type.
/// Rejections ([`CircuitOpen`](Error::CircuitOpen), [`ProbeLimit`](Error::ProbeLimit),
/// [`BulkheadFull`](Error::BulkheadFull)) never count as failures of the service.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
// A 64-bit tag keeps every field of every variant 8-byte aligned and written whole.
// With the default 32-bit tag, a `Result<T, Error>` is written in 4-byte pieces and
// read back in 8-byte ones, which stalls the read on the store (a failed store-to-load
// forward). Measured with `benches/tasks.rs`, two runs back to back on one machine:
// with the tag, open rejection 11.0 (futures) / 11.8 (tokio) ns and closed call 9.6 /
// 11.4 ns; without it, 13.1 / 13.4 ns and 11.9 / 15.1 ns. No promise is made about the
// layout; it may change in any release.
#[repr(u64)]
pub enum Error {
    /// The circuit is open: the service failed recently, and calls fail fast until the
    /// recovery timeout has passed. `retry_after` is `None` when an operator forced the
    /// circuit open.
    #[error("circuit `{service}` is open: {}", OpenAdvice(*.retry_after))]
    CircuitOpen {
        /// The service of the breaker.
        service: &'static str,
        /// Time until the breaker lets a probe call through, if it will by itself.
        retry_after: Option<Duration>,
    },

    /// The circuit is half-open and already has as many probe calls in flight as it
    /// admits at once.
    #[error(
        "circuit `{service}` is half-open and already has {max} probe call(s) in flight: \
         retry once the probe has answered, or raise `half_open_max_calls`"
    )]
    ProbeLimit {
        /// The service of the breaker.
        service: &'static str,
        /// The configured `half_open_max_calls`.
        max: u32,
    },

    /// The bulkhead has no free place: `max_concurrent` calls are running and the queue
    /// is full (or the call waited `queue_timeout` in it).
    #[error(
        "bulkhead of `{service}` is full ({max_concurrent} calls running, queue of {queue}): \
         shed load, or raise `max_concurrent`, `queue` or `queue_timeout`"
    )]
    BulkheadFull {
        /// The service of the breaker.
        service: &'static str,
        /// The configured `max_concurrent`.
        max_concurrent: u32,
        /// The configured `queue`.
        queue: u32,
    },

    /// The call took longer than the configured `timeout`; it counts as a failure.
    #[error(
        "call to `{service}` timed out after {timeout:?}: the service is slow or unreachable \
         (raise `timeout` if it is slow but healthy)"
    )]
    Timeout {
        /// The service of the breaker.
        service: &'static str,
        /// The configured `timeout`.
        timeout: Duration,
    },

    /// A fallback was not run because `depth` fallbacks were already running inside each
    /// other: a fallback calls, directly or not, back into a protected function whose
    /// fallback does the same.
    #[error(
        "fallback of `{service}` not run: {depth} fallbacks are already nested \
         (`fallback_depth` = {depth}); check for a fallback that calls back into a protected function"
    )]
    FallbackDepthExceeded {
        /// The service whose fallback was not run.
        service: &'static str,
        /// The configured `fallback_depth`.
        depth: u32,
    },

    /// A configuration was rejected.
    #[error(transparent)]
    InvalidConfig(Box<ConfigError>),

    /// A breaker registered with [`Registry::register`](crate::registry::Registry::register)
    /// has the name of a service the registry already has.
    #[error(
        "service `{service}` already has a breaker ({existing}): a registered breaker needs a name of its own"
    )]
    DuplicateService {
        /// The name both use.
        service: Box<str>,
        /// The breaker already registered under it: where it comes from.
        existing: Box<str>,
    },

    /// No breaker is known by this name.
    #[error("unknown service `{service}`{}", Suggestion(.suggestion.as_deref()))]
    UnknownService {
        /// The name that was asked for.
        service: Box<str>,
        /// The nearest known name, if one is close.
        suggestion: Option<Box<str>>,
    },
}

impl Error {
    /// The service the error is about, if it is about one breaker.
    pub fn service(&self) -> Option<&str> {
        match self {
            Error::CircuitOpen { service, .. }
            | Error::ProbeLimit { service, .. }
            | Error::BulkheadFull { service, .. }
            | Error::Timeout { service, .. }
            | Error::FallbackDepthExceeded { service, .. } => Some(service),
            Error::UnknownService { service, .. } | Error::DuplicateService { service, .. } => Some(service),
            Error::InvalidConfig(e) => e.service.as_deref(),
        }
    }

    /// Whether the breaker refused the call without running it (open circuit, probe
    /// limit, full bulkhead).
    pub fn is_rejection(&self) -> bool {
        matches!(self, Error::CircuitOpen { .. } | Error::ProbeLimit { .. } | Error::BulkheadFull { .. })
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Error {
        Error::InvalidConfig(Box::new(e))
    }
}

/// Lets functions returning `std::io::Result` be protected: a timeout becomes
/// [`TimedOut`](std::io::ErrorKind::TimedOut), anything else
/// [`Other`](std::io::ErrorKind::Other), with the [`Error`] inside.
impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        let kind = match e {
            Error::Timeout { .. } => std::io::ErrorKind::TimedOut,
            _ => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, e)
    }
}

struct OpenAdvice(Option<Duration>);

impl fmt::Display for OpenAdvice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(wait) => {
                write!(f, "calls fail fast for another {wait:.1?}, then a probe call is let through")
            }
            None => f.write_str("it was forced open by an operator; `reset` it to let calls through"),
        }
    }
}

struct Suggestion<'a>(Option<&'a str>);

impl fmt::Display for Suggestion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(name) => write!(f, "; did you mean `{name}`?"),
            None => Ok(()),
        }
    }
}

/// A configuration value that breaks a rule: which field, which value, which rule.
///
/// ```
/// use breaker_runtime::Config;
/// let error = Config::builder().threshold(0).build().unwrap_err();
/// assert_eq!(error.field, "threshold");
/// assert_eq!(error.to_string(), "invalid configuration: `threshold` = 0: must be at least 1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("invalid configuration{}: `{field}` = {value}: {rule}", ForService(.service.as_deref()))]
pub struct ConfigError {
    /// The service whose configuration it is, when known.
    pub service: Option<String>,
    /// The field, named as in the attribute and the configuration file.
    pub field: &'static str,
    /// The offending value, as written.
    pub value: String,
    /// The rule it breaks.
    pub rule: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, value: impl fmt::Display, rule: impl Into<String>) -> ConfigError {
        ConfigError { service: None, field, value: value.to_string(), rule: rule.into() }
    }

    /// The same error, said of `service`.
    pub fn for_service(mut self, service: impl Into<String>) -> ConfigError {
        self.service = Some(service.into());
        self
    }
}

struct ForService<'a>(Option<&'a str>);

impl fmt::Display for ForService<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(service) => write!(f, " for `{service}`"),
            None => Ok(()),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_happened_and_what_to_do() {
        let open =
            Error::CircuitOpen { service: "payments", retry_after: Some(Duration::from_millis(12_300)) };
        assert_eq!(
            open.to_string(),
            "circuit `payments` is open: calls fail fast for another 12.3s, then a probe call is let through"
        );
        let forced = Error::CircuitOpen { service: "payments", retry_after: None };
        assert!(forced.to_string().contains("forced open"));
        let timeout = Error::Timeout { service: "payments", timeout: Duration::from_secs(10) };
        assert!(timeout.to_string().starts_with("call to `payments` timed out after 10s"));
        let unknown =
            Error::UnknownService { service: "paymnts".into(), suggestion: Some("payments".into()) };
        assert_eq!(unknown.to_string(), "unknown service `paymnts`; did you mean `payments`?");
    }

    #[test]
    fn rejections_are_told_apart_from_failures() {
        assert!(Error::ProbeLimit { service: "s", max: 1 }.is_rejection());
        assert!(Error::BulkheadFull { service: "s", max_concurrent: 1, queue: 0 }.is_rejection());
        assert!(!Error::Timeout { service: "s", timeout: Duration::from_secs(1) }.is_rejection());
    }

    #[test]
    fn io_error_keeps_the_kind_and_the_cause() {
        let io: std::io::Error = Error::Timeout { service: "s", timeout: Duration::from_secs(1) }.into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
        let inner = io.get_ref().and_then(|e| e.downcast_ref::<Error>());
        assert_eq!(inner.and_then(Error::service), Some("s"));
    }

    #[test]
    fn error_stays_small() {
        assert!(std::mem::size_of::<Error>() <= 40, "{}", std::mem::size_of::<Error>());
    }
}
