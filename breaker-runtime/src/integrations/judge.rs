//! How a response is judged: by HTTP status, by gRPC status, and the HTTP 429 rule.
//! Shared by the tower layer and the reqwest middleware.

use std::sync::Mutex;
use std::time::Duration;

use crate::sync::unpoisoned;

use crate::breaker::CircuitBreaker;
use crate::classify::Outcome;
use crate::classify::grpc::GrpcClassifier;
use crate::classify::http::HttpClassifier;

/// How HTTP 429 Too Many Requests counts.
///
/// The default is the windowed rule of the design document: a 429 is the client going
/// over its quota until many arrive in a short time, which says the service is
/// overloaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TooManyRequests {
    /// By the breaker's configuration: its `too_many_requests` (how many 429s, or
    /// "off") and `too_many_requests_window` keys, from the attribute, the file or the
    /// overrides; 5 within 10 seconds by default. The default.
    Configured,
    /// Ignored, until `count` 429s arrive within `within`: from then on (until the
    /// window ends) each 429 is a failure.
    Window {
        /// How many 429s within `within` make them failures.
        count: u32,
        /// The window.
        within: Duration,
    },
    /// Every 429 is a failure.
    Failure,
    /// No 429 ever counts.
    Ignored,
}

impl TooManyRequests {
    /// The default: [`Configured`](TooManyRequests::Configured).
    pub const DEFAULT: TooManyRequests = TooManyRequests::Configured;
}

impl Default for TooManyRequests {
    fn default() -> Self {
        TooManyRequests::DEFAULT
    }
}

/// The judging rules of one layer or middleware.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Judge {
    pub(crate) http: HttpClassifier,
    pub(crate) too_many_requests: TooManyRequests,
    pub(crate) grpc: GrpcClassifier,
}

impl Default for Judge {
    fn default() -> Self {
        Judge {
            http: HttpClassifier::new(),
            too_many_requests: TooManyRequests::DEFAULT,
            grpc: GrpcClassifier::new(),
        }
    }
}

impl Judge {
    /// The one `&'static` copy of these rules, so a response future refers to its
    /// layer's rules with a pointer instead of carrying them. Each distinct set of
    /// rules is kept for the life of the process (a program has a few).
    pub(crate) fn interned(self) -> &'static Judge {
        static JUDGES: Mutex<Vec<&'static Judge>> = Mutex::new(Vec::new());
        let mut judges = unpoisoned(JUDGES.lock());
        if let Some(&judge) = judges.iter().find(|j| ***j == self) {
            return judge;
        }
        let judge: &'static Judge = Box::leak(Box::new(self));
        judges.push(judge);
        judge
    }
}

/// Notes, for the diagnosis, an HTTP client error judged a failure: a 4xx other than
/// 408 (timeout) and 429 (too many requests) says the request was wrong, not the
/// service.
#[inline]
pub(crate) fn note_client_error(breaker: &CircuitBreaker, status: u16, outcome: Outcome) {
    if outcome == Outcome::Failure && (400..500).contains(&status) && status != 408 && status != 429 {
        breaker.count_client_error();
    }
}

/// gRPC status UNKNOWN.
pub(crate) const GRPC_UNKNOWN: i32 = 2;

impl Judge {
    /// The outcome of gRPC status `code`, whose headers or trailers are `fields`:
    /// by the gRPC table, except that a CANCELLED with tonic's `Timeout expired` is a
    /// deadline that passed (tonic's server reports it so), a failure.
    #[inline]
    pub(crate) fn grpc_status(&self, code: i32, fields: &http::HeaderMap) -> Outcome {
        if code == GRPC_CANCELLED
            && fields.get("grpc-message").is_some_and(|m| is_tonic_timeout(m.as_bytes()))
        {
            return Outcome::Failure;
        }
        self.grpc.code(code)
    }

    /// The outcome of an HTTP response for `breaker`, from the request's `origin`:
    /// by status, with a redirect back to the request a failure (a redirect loop).
    #[inline]
    pub(crate) fn http_response(
        &self,
        breaker: &CircuitBreaker,
        origin: &Origin,
        status: u16,
        headers: &http::HeaderMap,
    ) -> Outcome {
        // The common answer first: every 2xx is a success, whatever the rules.
        if (200..300).contains(&status) {
            return Outcome::Success;
        }
        self.http_other(breaker, origin, status, headers)
    }

    /// [`http_response`](Judge::http_response) for a status other than 2xx.
    #[inline(never)]
    fn http_other(
        &self,
        breaker: &CircuitBreaker,
        origin: &Origin,
        status: u16,
        headers: &http::HeaderMap,
    ) -> Outcome {
        if (300..400).contains(&status) {
            if let Some(outcome) = origin.redirect_outcome(status, headers) {
                return outcome;
            }
        }
        let outcome = self.http_status(breaker, status);
        note_client_error(breaker, status, outcome);
        outcome
    }

    /// The outcome of an HTTP status for `breaker`.
    pub(crate) fn http_status(&self, breaker: &CircuitBreaker, status: u16) -> Outcome {
        if status != 429 {
            return self.http.status(status);
        }
        match self.too_many_requests {
            TooManyRequests::Configured => match breaker.too_many_requests_rule() {
                Some((count, within)) => breaker.too_many_requests(count, within),
                None => Outcome::Ignored,
            },
            TooManyRequests::Failure => Outcome::Failure,
            TooManyRequests::Ignored => Outcome::Ignored,
            TooManyRequests::Window { count, within } => breaker.too_many_requests(count, within),
        }
    }
}

/// Where a request went, as fingerprints: enough to tell whether a redirect's
/// `Location` points back to it (a redirect loop), without keeping the URI.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    // 32 bits each keep the response future small; a false loop needs a redirect to
    // another URL of the same scheme and authority whose 31-bit hash is the request's.
    // The scheme and the authority.
    authority: u32,
    // With the path and query; the lowest bit says whether the method was GET or HEAD.
    full: u32,
}

/// [`Origin::full`]'s bit for a GET or HEAD.
const READS: u32 = 1;

impl Origin {
    /// The origin of a `method` request to `scheme` (an [`Origin::scheme`]),
    /// `authority` (may be empty) and `path_and_query`.
    #[inline(always)]
    pub(crate) fn new(scheme: u64, authority: &str, path_and_query: &str, method: &http::Method) -> Origin {
        let authority = fold(mix(scheme, fingerprint(authority.as_bytes())));
        let reads = if *method == http::Method::GET || *method == http::Method::HEAD { READS } else { 0 };
        Origin { authority, full: Origin::place(authority, path_and_query.as_bytes()) | reads }
    }

    /// A scheme, for [`new`](Origin::new): the usual ones told apart without hashing
    /// them (this runs on every HTTP request). `http::Uri` and `url::Url` give it in
    /// lower case.
    #[inline(always)]
    pub(crate) fn scheme(scheme: &str) -> u64 {
        match scheme {
            "http" => 1,
            "https" => 2,
            "" => 0,
            other => fingerprint(other.as_bytes()) | 3,
        }
    }

    /// The fingerprint of a path under an authority's, without the method's bit.
    #[inline]
    fn place(authority: u32, path_and_query: &[u8]) -> u32 {
        fold(mix(u64::from(authority), fingerprint(path_and_query))) & !READS
    }

    /// Whether a `status` redirect to `location` makes this very request again: the
    /// same scheme, authority, path and query, and the same method (after a 301, 302
    /// or 303 a client asks with GET what it asked with another method, as reqwest
    /// and browsers do: a POST answered by `303 See Other` to its own URL is no loop).
    pub(crate) fn is_looped_by(&self, status: u16, location: &[u8]) -> bool {
        if matches!(status, 301..=303) && self.full & READS == 0 {
            return false;
        }
        let full = self.full & !READS;
        if location.starts_with(b"/") && !location.starts_with(b"//") {
            return Origin::place(self.authority, location) == full;
        }
        let Ok(uri) = http::Uri::try_from(location) else { return false };
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else { return false };
        let there = fold(mix(Origin::scheme(scheme), fingerprint(authority.as_str().as_bytes())));
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        there == self.authority && Origin::place(there, path.as_bytes()) == full
    }

    /// Judges a 3xx response: a failure if its `Location` points back to the request.
    pub(crate) fn redirect_outcome(&self, status: u16, headers: &http::HeaderMap) -> Option<Outcome> {
        let location = headers.get(http::header::LOCATION)?;
        self.is_looped_by(status, location.as_bytes()).then_some(Outcome::Failure)
    }
}

/// A fast hash of a few dozen bytes (FxHash's step, eight bytes at a time, the last
/// word overlapping the one before), with the length folded in: it runs on every HTTP
/// request.
#[inline]
fn fingerprint(bytes: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
    let mut hash = bytes.len() as u64;
    if bytes.len() < 8 {
        // Short (a path such as `/quote`): two reads that overlap, no loop.
        let tail = match bytes.len() {
            4.. => {
                let half = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default());
                (u64::from(half(0)) << 32) | u64::from(half(bytes.len() - 4))
            }
            1.. => {
                let byte = |at: usize| u64::from(bytes[at]);
                byte(0) | (byte(bytes.len() / 2) << 8) | (byte(bytes.len() - 1) << 16)
            }
            0 => 0,
        };
        return (hash.rotate_left(5) ^ tail).wrapping_mul(K);
    }
    let mut at = 0;
    while at + 8 < bytes.len() {
        hash = (hash.rotate_left(5) ^ word(at)).wrapping_mul(K);
        at += 8;
    }
    (hash.rotate_left(5) ^ word(bytes.len() - 8)).wrapping_mul(K)
}

/// A 64-bit hash in 32 bits.
fn fold(hash: u64) -> u32 {
    (hash ^ (hash >> 32)) as u32
}

fn mix(a: u64, b: u64) -> u64 {
    (a.rotate_left(5) ^ b).wrapping_mul(0x517c_c1b7_2722_0a95)
}

/// A `grpc-status` value.
fn parse_grpc_status(value: &[u8]) -> Option<i32> {
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

/// gRPC status CANCELLED.
const GRPC_CANCELLED: i32 = 1;

/// Whether a `grpc-message` is tonic's `Timeout expired` (as sent, percent-encoded or
/// not).
pub(crate) fn is_tonic_timeout(message: &[u8]) -> bool {
    message == b"Timeout expired" || message == b"Timeout%20expired"
}

/// The code of a `grpc-status` value; a value that is not a number is UNKNOWN.
pub(crate) fn grpc_code(value: &[u8]) -> i32 {
    parse_grpc_status(value).unwrap_or(GRPC_UNKNOWN)
}

/// The gRPC status a response without `grpc-status` stands for, by its HTTP status, as
/// gRPC's "HTTP to gRPC status code mapping" says (and tonic does): a 200 without a
/// status is UNKNOWN (a proxy may have cut the response short), never OK.
pub(crate) fn grpc_status_of_http(status: u16) -> i32 {
    match status {
        400 => 13,                   // INTERNAL
        401 => 16,                   // UNAUTHENTICATED
        403 => 7,                    // PERMISSION_DENIED
        404 => 12,                   // UNIMPLEMENTED
        429 | 502 | 503 | 504 => 14, // UNAVAILABLE
        _ => GRPC_UNKNOWN,
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_missing_grpc_status_follows_the_http_mapping() {
        assert_eq!(grpc_status_of_http(200), GRPC_UNKNOWN);
        assert_eq!(grpc_status_of_http(503), 14);
        assert_eq!(grpc_status_of_http(401), 16);
        assert_eq!(grpc_status_of_http(404), 12);
        assert_eq!(grpc_status_of_http(400), 13);
        assert_eq!(grpc_status_of_http(418), GRPC_UNKNOWN);
    }

    #[test]
    fn a_location_back_to_the_request_is_a_loop() {
        let origin = Origin::new(Origin::scheme("http"), "api.example:8080", "/a/b?x=1", &http::Method::GET);
        for status in [301, 302, 303, 307, 308] {
            assert!(origin.is_looped_by(status, b"/a/b?x=1"), "{status}");
        }
        assert!(origin.is_looped_by(302, b"http://api.example:8080/a/b?x=1"));
        assert!(!origin.is_looped_by(302, b"/a/b?x=2"));
        assert!(!origin.is_looped_by(302, b"/a/c"));
        assert!(!origin.is_looped_by(302, b"http://other.example:8080/a/b?x=1"));
        assert!(!origin.is_looped_by(302, b"not a uri \x00"));
        // The scheme counts: an upgrade to https (or back) is no loop.
        assert!(!origin.is_looped_by(301, b"https://api.example:8080/a/b?x=1"));
        let https = Origin::new(Origin::scheme("https"), "api.example", "/login", &http::Method::HEAD);
        assert!(!https.is_looped_by(301, b"http://api.example/login"));
        assert!(https.is_looped_by(301, b"https://api.example/login"));
        assert!(https.is_looped_by(301, b"/login"));
        let mut headers = http::HeaderMap::new();
        assert_eq!(origin.redirect_outcome(302, &headers), None);
        headers.insert(http::header::LOCATION, http::HeaderValue::from_static("/a/b?x=1"));
        assert_eq!(origin.redirect_outcome(302, &headers), Some(Outcome::Failure));
    }

    /// After a 301, 302 or 303 a POST is asked again as a GET (Post/Redirect/Get): no
    /// loop; a 307 or 308 keeps the method, and its redirect to itself is one.
    #[test]
    fn a_redirect_that_changes_the_method_is_no_loop() {
        for method in [http::Method::POST, http::Method::PUT, http::Method::DELETE] {
            let origin = Origin::new(Origin::scheme("http"), "shop.example", "/orders", &method);
            for status in [301, 302, 303] {
                assert!(!origin.is_looped_by(status, b"/orders"), "{method} {status}");
            }
            for status in [307, 308] {
                assert!(origin.is_looped_by(status, b"/orders"), "{method} {status}");
            }
        }
    }

    /// Every byte of a short path counts: two paths of up to 7 bytes that differ
    /// anywhere (a redirect from `/quote` to `/quota`) are not a loop.
    #[test]
    fn short_paths_differ_by_any_byte() {
        let paths: Vec<Vec<u8>> = (0..8)
            .flat_map(|len| (0..len).map(move |at| (len, at)))
            .map(|(len, at)| {
                let mut path = b"/abcdefg"[..len].to_vec();
                path[at] ^= 0x20;
                path
            })
            .chain((0..8).map(|len| b"/abcdefg"[..len].to_vec()))
            .collect();
        let mut seen = std::collections::HashSet::new();
        for path in &paths {
            assert!(seen.insert(fingerprint(path)), "{:?} collides", String::from_utf8_lossy(path));
        }
        let origin = Origin::new(Origin::scheme("http"), "api.example", "/quote", &http::Method::GET);
        assert!(origin.is_looped_by(302, b"/quote"));
        assert!(!origin.is_looped_by(302, b"/quota"));
        assert!(!origin.is_looped_by(302, b"/Quote"));
        assert!(!origin.is_looped_by(302, b"/quo"));
    }

    #[test]
    fn grpc_status_values_parse_and_garbage_is_unknown() {
        assert_eq!(parse_grpc_status(b"14"), Some(14));
        assert_eq!(parse_grpc_status(b" 0 "), Some(0));
        assert_eq!(parse_grpc_status(b"x"), None);
        let judge = Judge::default();
        assert_eq!(judge.grpc.code(grpc_code(b"0")), Outcome::Success);
        assert_eq!(judge.grpc.code(grpc_code(b"14")), Outcome::Failure);
        assert_eq!(judge.grpc.code(grpc_code(b"3")), Outcome::Ignored);
        assert_eq!(judge.grpc.code(grpc_code(b"oops")), Outcome::Failure);
    }
}
