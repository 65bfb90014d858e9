//! The reqwest middleware against real servers on 127.0.0.1: the same status rules as
//! the tower layer, the service from the URL's host (or a request extension), inside
//! `reqwest-retry` so every attempt is counted and an open circuit stops the retries.

mod scripted;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use breaker_runtime::integrations::reqwest::{CircuitBreakerMiddleware, Service, breaker_error};
use breaker_runtime::integrations::tower::Identify;
use breaker_runtime::{ConfigLayer, Error, ManualClock, State, registry};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use reqwest_retry::RetryTransientMiddleware;
use reqwest_retry::policies::ExponentialBackoff;
use scripted::{refusing, server};

fn threshold(n: u32) -> ConfigLayer {
    ConfigLayer { threshold: Some(n), recovery_timeout: Some(Duration::from_secs(30)), ..Default::default() }
}

/// A client whose `hosts` resolve to the given loopback addresses.
fn client(
    middleware: CircuitBreakerMiddleware,
    hosts: &[(&str, SocketAddr)],
    retries: u32,
) -> ClientWithMiddleware {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    for (host, addr) in hosts {
        builder = builder.resolve(host, *addr);
    }
    let mut client = ClientBuilder::new(builder.build().unwrap());
    if retries > 0 {
        let policy = ExponentialBackoff::builder()
            .retry_bounds(Duration::from_millis(1), Duration::from_millis(2))
            .build_with_max_retries(retries);
        client = client.with(RetryTransientMiddleware::new_with_policy(policy));
    }
    client.with(middleware).build()
}

fn configured(service: &str, config: ConfigLayer) -> Arc<ManualClock> {
    registry().named(service).unwrap();
    registry().set_override(service, config).unwrap();
    let clock = Arc::new(ManualClock::new());
    registry().use_clock(service, clock.clone()).unwrap();
    clock
}

fn snapshot(service: &str) -> breaker_runtime::Snapshot {
    registry().get(service).unwrap().snapshot()
}

#[tokio::test]
async fn the_service_is_the_host_and_5xx_opens_while_4xx_does_not_count() {
    let server = server().await;
    let host = "quotes.reqwest.test";
    configured(host, threshold(3));
    let client = client(CircuitBreakerMiddleware::new(), &[(host, server.addr)], 0);
    let port = server.addr.port();
    for code in [404, 400, 401] {
        let response = client.get(format!("http://{host}:{port}/status/{code}")).send().await.unwrap();
        assert_eq!(response.status(), code);
    }
    assert_eq!(snapshot(host).window.failures, 0);
    for _ in 0..3 {
        let response = client.get(format!("http://WWW.{host}:{port}/status/500")).send().await;
        assert!(response.is_err() || response.as_ref().unwrap().status() == 500);
    }
    // `www.` and case fold into the host's service (the resolver does not know
    // `www.`: those requests failed to connect, which counts as well).
    assert_eq!(snapshot(host).state, State::Open);
    let hits = server.hits.load(Ordering::SeqCst);
    let refused = client.get(format!("http://{host}:{port}/status/200")).send().await.unwrap_err();
    assert!(matches!(breaker_error(&refused), Some(Error::CircuitOpen { service, .. }) if *service == host));
    assert_eq!(server.hits.load(Ordering::SeqCst), hits);
}

#[tokio::test]
async fn a_post_keeps_its_body_and_headers() {
    let server = server().await;
    let service = "reqwest-post";
    configured(service, threshold(3));
    let client = client(CircuitBreakerMiddleware::new().identify(Identify::service(service)), &[], 0);
    let response = client
        .post(format!("http://{}/echo", server.addr))
        .header("x-test", "kept")
        .body("the request body")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-echo"], "kept");
    assert_eq!(response.text().await.unwrap(), "the request body");
    assert_eq!(snapshot(service).window.successes, 1);
}

#[tokio::test]
async fn every_retry_is_counted_and_an_open_circuit_stops_the_retries() {
    let server = server().await;
    let service = "reqwest-retry";
    configured(service, threshold(3));
    let client = client(CircuitBreakerMiddleware::new().identify(Identify::service(service)), &[], 10);
    let error = client.get(format!("http://{}/status/503", server.addr)).send().await.unwrap_err();
    // Three attempts reached the server and opened the circuit; the fourth was
    // refused, which reqwest-retry does not retry.
    assert_eq!(server.hits.load(Ordering::SeqCst), 3);
    assert!(matches!(breaker_error(&error), Some(Error::CircuitOpen { .. })), "{error:?}");
    let s = snapshot(service);
    assert_eq!((s.window.failures, s.state, s.rejections.open), (3, State::Open, 1));
}

#[tokio::test]
async fn a_refused_connection_counts_and_recovery_closes_the_circuit() {
    let refusing = refusing().await;
    let refused = refusing.addr;
    let server = server().await;
    let service = "reqwest-recovery";
    let clock = configured(service, threshold(1));
    let client = client(CircuitBreakerMiddleware::new().identify(Identify::service(service)), &[], 0);
    let error = client.get(format!("http://{refused}/")).send().await.unwrap_err();
    assert!(breaker_error(&error).is_none(), "the connect error itself: {error:?}");
    assert_eq!(snapshot(service).state, State::Open);
    // The transition names the error that opened it, with the reason under it
    // (reqwest's own text leaves that out).
    let last = snapshot(service).recent_transitions.last().cloned().unwrap();
    let last = last.last_error.expect("a last error");
    assert!(last.starts_with(&format!("{error}: ")), "{last}");
    assert!(last.to_ascii_lowercase().contains("connection refused"), "{last}");
    clock.advance(Duration::from_secs(30));
    let response = client.get(format!("http://{}/status/200", server.addr)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(snapshot(service).state, State::Closed);
}

/// A middleware after the breaker that answers 200 itself, whatever the host.
struct Answer;

#[async_trait::async_trait]
impl reqwest_middleware::Middleware for Answer {
    async fn handle(
        &self,
        _: reqwest::Request,
        _: &mut http::Extensions,
        _: reqwest_middleware::Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        Ok(http::Response::new("answered").into())
    }
}

/// Requests to an IPv6 address go through a breaker of their own (its name the address
/// with `_` for `:`), not refused for the address's characters; a header's invalid name
/// is an unknown service.
#[tokio::test]
async fn an_ipv6_host_gets_a_breaker() {
    let client =
        ClientBuilder::new(reqwest::Client::new()).with(CircuitBreakerMiddleware::new()).with(Answer).build();
    for url in ["http://[::1]:8080/q", "http://[fd00::5]/q"] {
        let response = client.get(url).send().await;
        assert!(response.is_ok(), "{url}: {:?}", response.err());
    }
    assert_eq!(snapshot("__1").window.successes, 1);
    assert_eq!(snapshot("fd00__5").window.successes, 1);
    // A header's name no breaker can have: no service, said so.
    let by_header = CircuitBreakerMiddleware::new().identify(Identify::service_header());
    let client = ClientBuilder::new(reqwest::Client::new()).with(by_header).with(Answer).build();
    let error =
        client.get("http://[::1]/q").header("x-service-name", "payments v2").send().await.unwrap_err();
    match breaker_error(&error) {
        Some(Error::UnknownService { service, .. }) => {
            assert!(service.contains("\"payments v2\", no valid service name"), "{service}")
        }
        other => panic!("expected an unknown service, got {other:?}"),
    }
}

/// A request the client refuses to send (an `https_only` client asked for `http`) is
/// a configuration problem, not the service's: nothing is counted.
#[tokio::test]
async fn a_request_the_client_cannot_build_counts_nothing() {
    let server = server().await;
    let service = "reqwest-builder";
    configured(service, threshold(1));
    let inner = reqwest::Client::builder().https_only(true).build().unwrap();
    let client = ClientBuilder::new(inner)
        .with(CircuitBreakerMiddleware::new().identify(Identify::service(service)))
        .build();
    for _ in 0..3 {
        let error = client.get(format!("http://{}/status/200", server.addr)).send().await.unwrap_err();
        assert!(matches!(&error, reqwest_middleware::Error::Reqwest(e) if e.is_builder()), "{error:?}");
    }
    let s = snapshot(service);
    assert_eq!(s.state, State::Closed);
    assert_eq!((s.window.failures, s.window.ignored, s.window.successes), (0, 0, 0));
}

#[tokio::test]
async fn a_request_extension_names_its_service() {
    let server = server().await;
    configured("reqwest-extension", threshold(5));
    let client = client(CircuitBreakerMiddleware::new(), &[], 0);
    client
        .get(format!("http://{}/status/200", server.addr))
        .with_extension(Service::new("reqwest-extension"))
        .send()
        .await
        .unwrap();
    assert_eq!(snapshot("reqwest-extension").window.successes, 1);
}

#[tokio::test]
async fn a_redirect_loop_is_a_failure_and_the_breakers_timeout_cuts_a_hang() {
    let server = server().await;
    let service = "reqwest-loop";
    let config = ConfigLayer { timeout: Some(Duration::from_millis(300)), ..threshold(5) };
    let clock = configured(service, config);
    let client = client(CircuitBreakerMiddleware::new().identify(Identify::service(service)), &[], 0);
    let looped = client.get(format!("http://{}/loop", server.addr)).send().await.unwrap();
    assert_eq!(looped.status(), 302);
    assert_eq!(snapshot(service).window.failures, 1);
    // Back to the same URL, but not the same request: over https, or as a GET after a
    // POST (Post/Redirect/Get). Neither is a loop.
    let upgraded = client.get(format!("http://{}/upgrade", server.addr)).send().await.unwrap();
    assert_eq!(upgraded.status(), 301);
    let posted = client.post(format!("http://{}/orders", server.addr)).send().await.unwrap();
    assert_eq!(posted.status(), 303);
    let s = snapshot(service);
    assert_eq!((s.window.failures, s.window.ignored), (1, 2));
    let hang = tokio::spawn({
        let client = client.clone();
        let url = format!("http://{}/hang", server.addr);
        async move { client.get(url).send().await }
    });
    while clock.sleepers() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    clock.advance(Duration::from_millis(300));
    let error = tokio::time::timeout(Duration::from_secs(5), hang).await.unwrap().unwrap().unwrap_err();
    assert!(matches!(breaker_error(&error), Some(Error::Timeout { .. })), "{error:?}");
    let s = snapshot(service);
    assert_eq!((s.window.failures, s.window.timeouts), (2, 1));
}

#[tokio::test]
async fn reqwests_own_redirect_limit_is_a_failure() {
    let server = server().await;
    let service = "reqwest-too-many-redirects";
    configured(service, threshold(5));
    // A client that follows redirects (at most 3): `/loop` never ends.
    let inner = reqwest::Client::builder().redirect(reqwest::redirect::Policy::limited(3)).build().unwrap();
    let client = ClientBuilder::new(inner)
        .with(CircuitBreakerMiddleware::new().identify(Identify::service(service)))
        .build();
    let error = client.get(format!("http://{}/loop", server.addr)).send().await.unwrap_err();
    match &error {
        reqwest_middleware::Error::Reqwest(error) => assert!(error.is_redirect(), "{error:?}"),
        other => panic!("expected reqwest's redirect error, got {other:?}"),
    }
    assert_eq!(snapshot(service).window.failures, 1);
}
