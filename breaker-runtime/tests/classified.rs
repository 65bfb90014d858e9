//! `#[circuit_breaker]` without `classify =` on functions whose types judge
//! themselves: an HTTP response by its status (a 503 is a failure though it is `Ok`),
//! a `reqwest::Error` for a status by that status, a 429 by the breaker's
//! `too_many_requests` rule, a request the client could not build as no failure. Other
//! types keep the default: `Ok` a success, every `Err` a failure.

mod scripted;

use breaker_runtime::{Error, State, circuit_breaker, registry};
use scripted::server;

#[circuit_breaker(service = "classified-status", threshold = 2)]
async fn status(code: u16) -> Result<http::StatusCode, Error> {
    Ok(http::StatusCode::from_u16(code).unwrap())
}

#[circuit_breaker(service = "classified-response", threshold = 2)]
async fn response(code: u16) -> Result<http::Response<()>, Error> {
    let mut response = http::Response::new(());
    *response.status_mut() = http::StatusCode::from_u16(code).unwrap();
    Ok(response)
}

#[derive(Debug)]
enum Plain {
    Down,
    Breaker(Error),
}

impl From<Error> for Plain {
    fn from(e: Error) -> Self {
        Plain::Breaker(e)
    }
}

#[circuit_breaker(service = "classified-plain", threshold = 2)]
async fn plain(fail: bool) -> Result<u16, Plain> {
    if fail { Err(Plain::Down) } else { Ok(503) }
}

#[circuit_breaker(service = "classified-reqwest", threshold = 2)]
async fn fetch(url: String) -> Result<reqwest::Response, Error> {
    // A transport error would be a failure too; this test's server always answers.
    reqwest::get(url)
        .await
        .map_err(|_| Error::UnknownService { service: "unreachable".into(), suggestion: None })
}

/// `reqwest::Result` cannot carry the breaker's rejection (`reqwest::Error` has no
/// public constructor); `reqwest_middleware::Result` can.
#[circuit_breaker(service = "classified-reqwest-error", threshold = 2)]
async fn fetch_checked(url: String) -> reqwest_middleware::Result<reqwest::Response> {
    Ok(reqwest::get(url).await?.error_for_status()?)
}

/// The HTTP integrations' 429 keys, in the attribute.
#[circuit_breaker(service = "classified-429-keys", too_many_requests = 2, too_many_requests_window = "30s")]
async fn throttled() -> Result<http::StatusCode, Error> {
    Ok(http::StatusCode::TOO_MANY_REQUESTS)
}

#[circuit_breaker(service = "classified-429-off", too_many_requests = "off")]
async fn never_throttled() -> Result<http::StatusCode, Error> {
    Ok(http::StatusCode::OK)
}

/// The same keys judge a 429: ignored until 3 arrive within the window.
#[circuit_breaker(service = "classified-429-rule", threshold = 2, too_many_requests = 3)]
async fn quota(code: u16) -> Result<http::StatusCode, Error> {
    Ok(http::StatusCode::from_u16(code).unwrap())
}

/// With the rule off, no 429 counts.
#[circuit_breaker(service = "classified-429-rule-off", threshold = 1, too_many_requests = "off")]
async fn quota_off() -> reqwest_middleware::Result<http::Response<()>> {
    let mut response = http::Response::new(());
    *response.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
    Ok(response)
}

/// A request the client cannot build (no valid URL): a configuration problem, not the
/// service's.
#[circuit_breaker(service = "classified-reqwest-builder", threshold = 2)]
async fn misconfigured() -> reqwest_middleware::Result<reqwest::Response> {
    Ok(reqwest::get("not a url").await?)
}

#[tokio::test]
async fn a_429_counts_by_the_breakers_rule() {
    let window = |service: &str| registry().get(service).unwrap().snapshot().window;
    for _ in 0..2 {
        assert_eq!(quota(429).await.unwrap(), 429);
    }
    assert_eq!(state("classified-429-rule"), State::Closed);
    assert_eq!((window("classified-429-rule").ignored, window("classified-429-rule").failures), (2, 0));
    quota(429).await.unwrap();
    quota(429).await.unwrap();
    assert_eq!(state("classified-429-rule"), State::Open, "the third and fourth within the window fail");
    for _ in 0..3 {
        assert_eq!(quota_off().await.unwrap().status(), 429);
    }
    assert_eq!(state("classified-429-rule-off"), State::Closed);
    assert_eq!(window("classified-429-rule-off").ignored, 3);
}

/// Every 429 a failure (`too_many_requests = 1`), as a `reqwest::Error`.
#[circuit_breaker(service = "classified-429-named", threshold = 1, too_many_requests = 1)]
async fn throttled_checked(url: String) -> reqwest_middleware::Result<reqwest::Response> {
    Ok(reqwest::get(url).await?.error_for_status()?)
}

/// A 429 the rule makes a failure names its error in the transition it triggers.
#[tokio::test]
async fn a_429_that_opens_the_circuit_is_its_last_error() {
    let server = server().await;
    let error = throttled_checked(format!("http://{}/status/429", server.addr)).await.unwrap_err();
    assert_eq!(error.status(), Some(reqwest::StatusCode::TOO_MANY_REQUESTS));
    let breaker = registry().get("classified-429-named").unwrap();
    assert_eq!(breaker.state(), State::Open);
    let last = breaker.snapshot().recent_transitions.last().cloned().unwrap();
    let named = last.last_error.expect("the 429's error is named");
    assert!(named.contains("429"), "{named}");
}

#[tokio::test]
async fn a_request_the_client_cannot_build_is_not_the_services_failure() {
    for _ in 0..3 {
        let error = misconfigured().await.unwrap_err();
        assert!(matches!(&error, reqwest_middleware::Error::Reqwest(e) if e.is_builder()), "{error:?}");
    }
    assert_eq!(state("classified-reqwest-builder"), State::Closed);
    let window = registry().get("classified-reqwest-builder").unwrap().snapshot().window;
    assert_eq!((window.failures, window.ignored), (0, 3));
}

#[test]
fn the_attribute_takes_the_429_keys() {
    let config = registry().config_of("classified-429-keys").unwrap().config;
    assert_eq!(config.too_many_requests, Some(2));
    assert_eq!(config.too_many_requests_window, std::time::Duration::from_secs(30));
    assert_eq!(registry().config_of("classified-429-off").unwrap().config.too_many_requests, None);
    let _ = (throttled(), never_throttled());
}

fn state(service: &str) -> State {
    registry().get(service).unwrap().state()
}

#[tokio::test]
async fn a_status_code_and_a_response_judge_themselves() {
    for code in [200, 404, 400, 302] {
        assert!(status(code).await.is_ok());
        assert!(response(code).await.is_ok());
    }
    assert_eq!(state("classified-status"), State::Closed);
    let s = registry().get("classified-status").unwrap().snapshot();
    assert_eq!((s.window.successes, s.window.ignored, s.window.failures), (1, 3, 0));
    for _ in 0..2 {
        assert!(status(503).await.is_ok(), "the 503 is still handed back");
        assert!(response(500).await.is_ok());
    }
    assert_eq!(state("classified-status"), State::Open);
    assert_eq!(state("classified-response"), State::Open);
}

#[tokio::test]
async fn other_types_keep_the_default() {
    for _ in 0..5 {
        plain(false).await.unwrap();
    }
    assert_eq!(state("classified-plain"), State::Closed, "an Ok(503) of a plain u16 is a success");
    let _ = plain(true).await;
    let _ = plain(true).await;
    assert_eq!(state("classified-plain"), State::Open);
    assert!(matches!(plain(false).await, Err(Plain::Breaker(Error::CircuitOpen { .. }))));
}

#[tokio::test]
async fn reqwest_responses_and_errors_judge_themselves() {
    let server = server().await;
    let url = |code: u16| format!("http://{}/status/{code}", server.addr);
    for _ in 0..3 {
        assert_eq!(fetch(url(404)).await.unwrap().status(), 404);
        let error = fetch_checked(url(404)).await.unwrap_err();
        assert_eq!(error.status(), Some(reqwest::StatusCode::NOT_FOUND));
    }
    assert_eq!(state("classified-reqwest"), State::Closed);
    assert_eq!(state("classified-reqwest-error"), State::Closed, "a 404 error is the client's");
    for _ in 0..2 {
        assert_eq!(fetch(url(502)).await.unwrap().status(), 502);
        assert!(fetch_checked(url(503)).await.is_err());
    }
    assert_eq!(state("classified-reqwest"), State::Open);
    assert_eq!(state("classified-reqwest-error"), State::Open);
    // The refusal reaches the caller in reqwest-middleware's error.
    let refused = fetch_checked(url(200)).await.unwrap_err();
    assert!(matches!(
        breaker_runtime::integrations::reqwest::breaker_error(&refused),
        Some(Error::CircuitOpen { .. })
    ));
}
