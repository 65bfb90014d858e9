//! The tower layer around a real HTTP client (hyper-util's) talking to real servers on
//! 127.0.0.1: an axum server scripted per request by its path, a port that refuses,
//! and a server that drops the connection. Recovery runs on a manual clock.
//!
//! Each test has services of its own (the registry is the process's), named by a
//! fixed service or by host names that a resolver maps to 127.0.0.1.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use breaker_runtime::integrations::tower::{
    CircuitBreakerLayer, Identify, ResponseBody, ServiceError, TooManyRequests, WhenOpen,
};
use breaker_runtime::{ConfigLayer, Error, ManualClock, State, registry};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, Service, ServiceExt};

mod scripted;

use scripted::{dropping, refusing, server};

/// Resolves the test's host names to loopback ports.
#[derive(Clone)]
struct Hosts(Arc<HashMap<String, SocketAddr>>);

impl Service<Name> for Hosts {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let found = self.0.get(&name.as_str().to_ascii_lowercase()).copied();
        Box::pin(async move {
            found.map(|a| vec![a].into_iter()).ok_or_else(|| std::io::Error::other("unknown test host"))
        })
    }
}

type Inner = Client<HttpConnector<Hosts>, Full<Bytes>>;
type Protected = breaker_runtime::integrations::tower::CircuitBreakerService<Inner>;
type Answer = Result<http::Response<ResponseBody<Incoming>>, ServiceError<hyper_util::client::legacy::Error>>;

fn client(layer: CircuitBreakerLayer, hosts: &[(&str, SocketAddr)]) -> Protected {
    let hosts = Hosts(Arc::new(hosts.iter().map(|(h, a)| (h.to_string(), *a)).collect()));
    let connector = HttpConnector::new_with_resolver(hosts);
    let client = Client::builder(TokioExecutor::new()).build(connector);
    layer.layer(client)
}

async fn send(client: &mut Protected, request: http::Request<Full<Bytes>>) -> Answer {
    let ready = tokio::time::timeout(Duration::from_secs(5), client.ready()).await.expect("ready in time");
    let ready = ready.unwrap_or_else(|e| panic!("poll_ready failed: {e}"));
    tokio::time::timeout(Duration::from_secs(5), ready.call(request)).await.expect("answered in time")
}

fn get_req(url: &str) -> http::Request<Full<Bytes>> {
    http::Request::get(url).body(Full::new(Bytes::new())).unwrap()
}

/// A GET of `url` through a layer for `service` (configured by `config`) around
/// hyper-util's client inside `tower::timeout` (`limit`), whose errors are tower's
/// `BoxError`.
async fn through_timeout(
    service: &str,
    config: ConfigLayer,
    limit: Duration,
    url: &str,
) -> Result<http::Response<ResponseBody<Incoming>>, ServiceError<tower::BoxError>> {
    let layer = CircuitBreakerLayer::new().identify(Identify::service(service));
    registry().set_override(service, config).unwrap();
    let inner = tower::timeout::Timeout::new(Client::builder(TokioExecutor::new()).build_http(), limit);
    let mut client = layer.layer(inner);
    let call = client.ready().await.unwrap().call(get_req(url));
    tokio::time::timeout(Duration::from_secs(5), call).await.expect("answered in time")
}

/// A layer for one fixed service, configured for the test, on a manual clock.
fn fixed(service: &str, config: ConfigLayer) -> (CircuitBreakerLayer, Arc<ManualClock>) {
    let layer = CircuitBreakerLayer::new().identify(Identify::service(service));
    registry().set_override(service, config).unwrap();
    let clock = Arc::new(ManualClock::new());
    registry().use_clock(service, clock.clone()).unwrap();
    (layer, clock)
}

fn threshold(n: u32) -> ConfigLayer {
    ConfigLayer { threshold: Some(n), recovery_timeout: Some(Duration::from_secs(30)), ..Default::default() }
}

fn snapshot(service: &str) -> breaker_runtime::Snapshot {
    registry().get(service).unwrap().snapshot()
}

#[tokio::test]
async fn get_and_post_pass_through_with_their_bodies_and_headers() {
    let server = server().await;
    let (layer, _clock) = fixed("http-pass", threshold(3));
    let mut client = client(layer, &[]);
    let ok = send(&mut client, get_req(&format!("http://{}/status/200", server.addr))).await.unwrap();
    assert_eq!(ok.status(), 200);
    let post = http::Request::post(format!("http://{}/echo", server.addr))
        .header("x-test", "kept")
        .body(Full::new(Bytes::from_static(b"the request body")))
        .unwrap();
    let echoed = send(&mut client, post).await.unwrap();
    assert_eq!(echoed.headers()["x-echo"], "kept");
    let body = echoed.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"the request body");
    let s = snapshot("http-pass");
    assert_eq!((s.window.successes, s.window.failures), (2, 0));
}

#[tokio::test]
async fn server_errors_open_the_circuit_and_still_reach_the_caller() {
    let server = server().await;
    let (layer, _clock) = fixed("http-5xx", threshold(3));
    let mut client = client(layer, &[]);
    for _ in 0..3 {
        let answer = send(&mut client, get_req(&format!("http://{}/status/503", server.addr))).await;
        assert_eq!(answer.unwrap().status(), 503, "a 5xx is handed back to the caller");
    }
    assert_eq!(snapshot("http-5xx").state, State::Open);
    let hits = server.hits.load(Ordering::SeqCst);
    let refused = send(&mut client, get_req(&format!("http://{}/status/200", server.addr))).await;
    match refused {
        Err(ServiceError::Breaker(Error::CircuitOpen { service, retry_after })) => {
            assert_eq!(service, "http-5xx");
            assert_eq!(retry_after, Some(Duration::from_secs(30)));
        }
        other => panic!("expected an open-circuit error, got {other:?}"),
    }
    assert_eq!(server.hits.load(Ordering::SeqCst), hits, "the open circuit did not reach the server");
    // 501 does not count.
    assert_eq!(breaker_runtime::classify::http::status(501), breaker_runtime::Outcome::Ignored);
}

#[tokio::test]
async fn client_errors_redirects_and_501_do_not_count() {
    let server = server().await;
    let (layer, _clock) = fixed("http-4xx", threshold(2));
    let mut client = client(layer, &[]);
    for code in [404, 400, 401, 403, 409, 501, 302, 404, 400] {
        let answer = send(&mut client, get_req(&format!("http://{}/status/{code}", server.addr))).await;
        assert_eq!(answer.unwrap().status(), code);
    }
    let s = snapshot("http-4xx");
    assert_eq!(s.state, State::Closed);
    assert_eq!((s.window.failures, s.window.ignored), (0, 9));
    // 408 is a failure.
    send(&mut client, get_req(&format!("http://{}/status/408", server.addr))).await.unwrap();
    assert_eq!(snapshot("http-4xx").window.failures, 1);
}

#[tokio::test]
async fn too_many_requests_count_only_once_many_arrive_within_the_window() {
    let server = server().await;
    let (layer, clock) = fixed("http-429", threshold(100));
    let layer =
        layer.too_many_requests(TooManyRequests::Window { count: 3, within: Duration::from_secs(10) });
    let mut client = client(layer, &[]);
    let url = format!("http://{}/status/429", server.addr);
    send(&mut client, get_req(&url)).await.unwrap();
    send(&mut client, get_req(&url)).await.unwrap();
    assert_eq!(snapshot("http-429").window.failures, 0, "two 429s in the window are the client's quota");
    send(&mut client, get_req(&url)).await.unwrap();
    assert_eq!(snapshot("http-429").window.failures, 1, "the third within 10 s is a failure");
    // A new window: the count starts again.
    clock.advance(Duration::from_secs(11));
    send(&mut client, get_req(&url)).await.unwrap();
    let s = snapshot("http-429");
    assert_eq!((s.window.failures, s.window.ignored), (1, 3));
}

#[tokio::test]
async fn too_many_requests_always_or_never() {
    let server = server().await;
    let url = format!("http://{}/status/429", server.addr);
    let (always, _c1) = fixed("http-429-always", threshold(100));
    let mut always = client(always.too_many_requests(TooManyRequests::Failure), &[]);
    send(&mut always, get_req(&url)).await.unwrap();
    assert_eq!(snapshot("http-429-always").window.failures, 1);
    let (never, _c2) = fixed("http-429-never", threshold(100));
    let mut never = client(never.too_many_requests(TooManyRequests::Ignored), &[]);
    for _ in 0..10 {
        send(&mut never, get_req(&url)).await.unwrap();
    }
    assert_eq!(snapshot("http-429-never").window.failures, 0);
}

#[tokio::test]
async fn a_refused_connection_and_a_dropped_one_are_failures() {
    let refusing = refusing().await;
    let refused = refusing.addr;
    let dropped = dropping().await;
    let (layer, _clock) = fixed("http-transport", threshold(2));
    let mut client = client(layer, &[]);
    let answer = send(&mut client, get_req(&format!("http://{refused}/"))).await;
    match answer {
        Err(ServiceError::Inner(error)) => assert!(error.is_connect(), "{error:?}"),
        other => panic!("expected a connect error, got {other:?}"),
    }
    assert_eq!(snapshot("http-transport").window.failures, 1);
    let answer = send(&mut client, get_req(&format!("http://{dropped}/"))).await;
    let Err(ServiceError::Inner(error)) = answer else {
        panic!("expected a transport error, got {answer:?}")
    };
    let s = snapshot("http-transport");
    assert_eq!((s.window.failures, s.state), (2, State::Open));
    // The transition names the client's error that opened the circuit: with the
    // `hyper-util` feature, with the reason under it (hyper's), else its text alone.
    let last = s.recent_transitions.last().cloned().expect("a transition");
    assert_eq!(last.to, State::Open);
    let named = last.last_error.expect("a last error");
    if cfg!(feature = "hyper-util") {
        let reason = std::error::Error::source(&error).expect("hyper-util's error has a source").to_string();
        assert_eq!(named, format!("{error}: {reason}"));
    } else {
        assert_eq!(named, error.to_string());
    }
}

#[tokio::test]
async fn a_boxed_inner_error_that_opens_a_circuit_is_named_with_its_sources() {
    let refusing = refusing().await;
    let service = "http-error-sources";
    // `tower::timeout` boxes the client's error (tower's `BoxError`), whose sources
    // the layer can reach.
    let url = format!("http://{}/", refusing.addr);
    let answer = through_timeout(service, threshold(1), Duration::from_secs(5), &url).await;
    let Err(ServiceError::Inner(error)) = answer else { panic!("expected a connect error, got {answer:?}") };
    let s = snapshot(service);
    assert_eq!(s.state, State::Open);
    let last = s.recent_transitions.last().cloned().expect("a transition").last_error.expect("a last error");
    // hyper-util's text (`client error (Connect)`), then the reason under it.
    assert!(last.starts_with(&format!("{error}: ")), "{last}");
    assert!(last.to_ascii_lowercase().contains("connection refused"), "{last}");
}

#[tokio::test]
async fn the_circuit_half_opens_and_closes() {
    let server = server().await;
    let config = ConfigLayer { success_threshold: Some(2), half_open_max_calls: Some(2), ..threshold(1) };
    let (layer, clock) = fixed("http-recovery", config);
    let mut client = client(layer, &[]);
    send(&mut client, get_req(&format!("http://{}/status/500", server.addr))).await.unwrap();
    assert_eq!(snapshot("http-recovery").state, State::Open);
    clock.advance(Duration::from_secs(30));
    assert_eq!(snapshot("http-recovery").state, State::HalfOpen);
    send(&mut client, get_req(&format!("http://{}/status/200", server.addr))).await.unwrap();
    assert_eq!(snapshot("http-recovery").state, State::HalfOpen, "one probe of two");
    send(&mut client, get_req(&format!("http://{}/status/204", server.addr))).await.unwrap();
    assert_eq!(snapshot("http-recovery").state, State::Closed);
}

#[tokio::test]
async fn two_hosts_get_two_independent_breakers() {
    let server = server().await;
    let hosts = [
        ("alpha.tower-http.test", server.addr),
        ("beta.tower-http.test", server.addr),
        ("www.beta.tower-http.test", server.addr),
    ];
    let layer = CircuitBreakerLayer::new();
    let mut client = client(layer, &hosts);
    let port = server.addr.port();
    for name in ["alpha.tower-http.test", "beta.tower-http.test"] {
        // Created on demand at the first request: the defaults, threshold 5.
        send(&mut client, get_req(&format!("http://{name}:{port}/status/200"))).await.unwrap();
    }
    registry().set_override("alpha.tower-http.test", threshold(2)).unwrap();
    for _ in 0..2 {
        send(&mut client, get_req(&format!("http://ALPHA.tower-http.test:{port}/status/502"))).await.unwrap();
    }
    assert_eq!(snapshot("alpha.tower-http.test").state, State::Open);
    assert_eq!(snapshot("beta.tower-http.test").state, State::Closed);
    let beta =
        send(&mut client, get_req(&format!("http://www.beta.tower-http.test:{port}/status/200"))).await;
    assert_eq!(beta.unwrap().status(), 200, "`www.` and case do not make another service");
    assert_eq!(snapshot("beta.tower-http.test").window.successes, 2);
    let alpha = send(&mut client, get_req(&format!("http://alpha.tower-http.test:{port}/status/200"))).await;
    assert!(matches!(alpha, Err(ServiceError::Breaker(Error::CircuitOpen { .. }))));
}

#[tokio::test]
async fn a_configuration_file_retunes_a_layers_service_and_control_by_name_reaches_it() {
    let server = server().await;
    let layer = CircuitBreakerLayer::new().identify(Identify::service("http-file"));
    let mut client = client(layer, &[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("breaker.toml");
    // Other tests' services are not in this file: it only names this one.
    std::fs::write(&path, "unknown_services = \"ignore\"\n[services.http-file]\nthreshold = 1\n").unwrap();
    registry().load_config(&path).unwrap();
    assert_eq!(registry().config_of("http-file").unwrap().config.threshold, Some(1));
    send(&mut client, get_req(&format!("http://{}/status/500", server.addr))).await.unwrap();
    assert_eq!(snapshot("http-file").state, State::Open, "one failure opens it, as the file says");
    registry().reset("http-file", "test").unwrap();
    registry().force_open("http-file", "maintenance").unwrap();
    let answer = send(&mut client, get_req(&format!("http://{}/status/200", server.addr))).await;
    assert!(matches!(answer, Err(ServiceError::Breaker(Error::CircuitOpen { retry_after: None, .. }))));
    registry().reset("http-file", "test").unwrap();
    let answer = send(&mut client, get_req(&format!("http://{}/status/200", server.addr))).await;
    assert_eq!(answer.unwrap().status(), 200);
}

#[tokio::test]
async fn the_breakers_timeout_cuts_a_hanging_call_on_its_clock() {
    let server = server().await;
    let config = ConfigLayer { timeout: Some(Duration::from_millis(500)), ..threshold(5) };
    let (layer, clock) = fixed("http-timeout", config);
    let mut client = client(layer, &[]);
    let request = get_req(&format!("http://{}/hang", server.addr));
    let call = tokio::spawn(async move { send(&mut client, request).await });
    // Once the call waits on the clock, move the clock past its timeout.
    while clock.sleepers() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    clock.advance(Duration::from_millis(500));
    match call.await.unwrap() {
        Err(ServiceError::Breaker(Error::Timeout { service, timeout })) => {
            assert_eq!((service, timeout), ("http-timeout", Duration::from_millis(500)));
        }
        other => panic!("expected the breaker's timeout, got {other:?}"),
    }
    let s = snapshot("http-timeout");
    assert_eq!((s.window.failures, s.window.timeouts), (1, 1));
}

#[tokio::test]
async fn a_clients_timeout_inside_the_layer_fires_first_and_counts_as_a_failure() {
    let server = server().await;
    let service = "http-client-timeout";
    // The breaker's timeout is 10 s (the default); the client's own is 50 ms.
    let url = format!("http://{}/hang", server.addr);
    let answer = through_timeout(service, threshold(5), Duration::from_millis(50), &url).await;
    match answer {
        Err(ServiceError::Inner(error)) => assert!(error.is::<tower::timeout::error::Elapsed>(), "{error:?}"),
        other => panic!("expected the client's timeout, got {other:?}"),
    }
    let s = snapshot(service);
    assert_eq!((s.window.failures, s.window.timeouts), (1, 0), "a failure, not the breaker's own timeout");
}

#[tokio::test]
async fn an_open_circuit_can_answer_503_with_retry_after() {
    let server = server().await;
    let (layer, _clock) = fixed("http-respond", threshold(1));
    let mut client = client(layer.when_open(WhenOpen::Respond), &[]);
    send(&mut client, get_req(&format!("http://{}/status/500", server.addr))).await.unwrap();
    let hits = server.hits.load(Ordering::SeqCst);
    let answer = send(&mut client, get_req(&format!("http://{}/status/200", server.addr))).await.unwrap();
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.headers()["retry-after"], "30");
    assert_eq!(server.hits.load(Ordering::SeqCst), hits);
    let body = answer.into_body().collect().await.unwrap().to_bytes();
    assert!(body.is_empty());
}

#[tokio::test]
async fn an_unknown_service_is_an_error_or_goes_to_a_default() {
    // No host at all: a relative URI without a Host header.
    let service =
        tower::service_fn(|_: http::Request<()>| async { Ok::<_, Infallible>(http::Response::new(())) });
    let mut strict = CircuitBreakerLayer::new().layer(service);
    let answer = strict.ready().await.unwrap().call(http::Request::get("/x").body(()).unwrap()).await;
    match answer {
        Err(ServiceError::Breaker(Error::UnknownService { service, .. })) => {
            assert!(service.contains("/x"), "{service}")
        }
        other => panic!("expected an unknown service, got {other:?}"),
    }
    let mut lenient = CircuitBreakerLayer::new()
        .unknown_service(breaker_runtime::integrations::tower::Unknown::Service("http-default".into()))
        .layer(service);
    lenient.ready().await.unwrap().call(http::Request::get("/x").body(()).unwrap()).await.unwrap();
    assert_eq!(snapshot("http-default").window.successes, 1);
}

#[tokio::test]
async fn a_redirect_back_to_the_request_is_a_failure_and_others_are_ignored() {
    let server = server().await;
    let (layer, _clock) = fixed("http-redirect", threshold(5));
    let mut client = client(layer, &[]);
    let looped = send(&mut client, get_req(&format!("http://{}/loop", server.addr))).await.unwrap();
    assert_eq!(looped.status(), 302, "handed back to the caller");
    assert_eq!(snapshot("http-redirect").window.failures, 1);
    send(&mut client, get_req(&format!("http://{}/elsewhere", server.addr))).await.unwrap();
    let s = snapshot("http-redirect");
    assert_eq!((s.window.failures, s.window.ignored), (1, 1));
    // Back to the same URL, but not the same request: over https, or as a GET after a
    // POST (Post/Redirect/Get).
    let upgraded = send(&mut client, get_req(&format!("http://{}/upgrade", server.addr))).await.unwrap();
    assert_eq!(upgraded.headers()["location"], format!("https://{}/upgrade", server.addr));
    let post = http::Request::post(format!("http://{}/orders", server.addr)).body(Full::default()).unwrap();
    assert_eq!(send(&mut client, post).await.unwrap().status(), 303);
    let s = snapshot("http-redirect");
    assert_eq!((s.window.failures, s.window.ignored), (1, 3));
}

#[tokio::test]
async fn the_429_rule_comes_from_the_services_configuration() {
    let server = server().await;
    let url = format!("http://{}/status/429", server.addr);
    // Two within 30 s, set as any key is (here an override; the file and the attribute
    // have the same keys).
    let config = ConfigLayer {
        too_many_requests: Some(2),
        too_many_requests_window: Some(Duration::from_secs(30)),
        ..threshold(100)
    };
    let (layer, clock) = fixed("http-429-configured", config);
    let mut client = client(layer, &[]);
    let config = registry().get("http-429-configured").unwrap().config();
    assert_eq!(
        (config.too_many_requests, config.too_many_requests_window),
        (Some(2), Duration::from_secs(30))
    );
    send(&mut client, get_req(&url)).await.unwrap();
    assert_eq!(snapshot("http-429-configured").window.failures, 0);
    clock.advance(Duration::from_secs(20));
    send(&mut client, get_req(&url)).await.unwrap();
    let w = snapshot("http-429-configured").window;
    assert_eq!(w.failures, 1, "the second within 30 s: {w:?}");
    // Off in a configuration file (under the overrides, which are cleared): no 429
    // counts.
    registry().clear_override("http-429-configured").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("breaker.toml");
    let text = "unknown_services = \"ignore\"\n[services.http-429-configured]\ntoo_many_requests = \"off\"\n";
    std::fs::write(&path, text).unwrap();
    registry().load_config(&path).unwrap();
    for _ in 0..5 {
        send(&mut client, get_req(&url)).await.unwrap();
    }
    assert_eq!(snapshot("http-429-configured").window.failures, 1);
}
