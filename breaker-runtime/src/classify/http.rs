//! HTTP status classification (design document EC-3 to EC-6, with the resolutions of
//! its contradictions).
//!
//! | status | outcome |
//! |---|---|
//! | 1xx | ignored (informational) |
//! | 2xx | success |
//! | 3xx | ignored (the client follows redirects) |
//! | 408 Request Timeout | failure |
//! | 429 Too Many Requests | failure by default; configurable to ignored |
//! | other 4xx | ignored (the client's fault, the service works) |
//! | 501 Not Implemented | ignored (expected for optional features) |
//! | other 5xx | failure |
//! | anything else | failure (an unknown answer is assumed to be the service's fault) |
//!
//! This table judges responses. Transport errors (connection refused or reset, DNS
//! failure, timeouts) and redirect loops are judged by the client integrations, which
//! see them (`integrations::tower`, `integrations::reqwest`): both are failures.

use super::Outcome;

/// The outcome of an HTTP status code with the default rules.
///
/// ```
/// use breaker_runtime::{Outcome, classify::http};
/// assert_eq!(http::status(503), Outcome::Failure);
/// assert_eq!(http::status(404), Outcome::Ignored);
/// assert_eq!(http::status(200), Outcome::Success);
/// ```
pub fn status(code: u16) -> Outcome {
    HttpClassifier::new().status(code)
}

/// HTTP status rules with the one configurable choice, 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpClassifier {
    too_many_requests: Outcome,
}

impl Default for HttpClassifier {
    fn default() -> Self {
        HttpClassifier::new()
    }
}

impl HttpClassifier {
    /// The default rules: 429 is a failure.
    pub const fn new() -> HttpClassifier {
        HttpClassifier { too_many_requests: Outcome::Failure }
    }

    /// Sets how 429 Too Many Requests counts: [`Outcome::Failure`] (the service is
    /// overloaded) or [`Outcome::Ignored`] (this client is over its quota).
    pub const fn too_many_requests(mut self, outcome: Outcome) -> HttpClassifier {
        self.too_many_requests = outcome;
        self
    }

    /// The outcome of `code`.
    pub const fn status(&self, code: u16) -> Outcome {
        match code {
            100..=199 => Outcome::Ignored,
            200..=299 => Outcome::Success,
            300..=399 => Outcome::Ignored,
            408 => Outcome::Failure,
            429 => self.too_many_requests,
            400..=499 => Outcome::Ignored,
            501 => Outcome::Ignored,
            500..=599 => Outcome::Failure,
            _ => Outcome::Failure,
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use Outcome::*;

    /// Every row of the HTTP table, with the codes the design document names.
    #[test]
    fn every_row_of_the_http_table() {
        let table: &[(u16, Outcome)] = &[
            (100, Ignored),
            (101, Ignored),
            (200, Success),
            (201, Success),
            (204, Success),
            (301, Ignored),
            (302, Ignored),
            (304, Ignored),
            (400, Ignored),
            (401, Ignored),
            (403, Ignored),
            (404, Ignored),
            (408, Failure),
            (409, Ignored),
            (422, Ignored),
            (429, Failure),
            (500, Failure),
            (501, Ignored),
            (502, Failure),
            (503, Failure),
            (504, Failure),
            (599, Failure),
            (0, Failure),
            (99, Failure),
            (600, Failure),
            (999, Failure),
        ];
        for &(code, outcome) in table {
            assert_eq!(status(code), outcome, "status {code}");
        }
    }

    #[test]
    fn too_many_requests_can_be_ignored() {
        let lenient = HttpClassifier::new().too_many_requests(Ignored);
        assert_eq!(lenient.status(429), Ignored);
        assert_eq!(lenient.status(503), Failure);
    }
}
