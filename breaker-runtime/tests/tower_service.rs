//! The tower layer's service contract, around `tower::service_fn`s: readiness never
//! reports an open circuit as an error, a forced-open breaker cuts callers off even
//! while the inner service is not ready, and `WhenOpen::Wait` keeps `poll_ready`
//! pending until the probe time.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use breaker_runtime::integrations::tower::{CircuitBreakerLayer, Identify, ServiceError, WhenOpen};
use breaker_runtime::{ConfigLayer, Error, ManualClock, State, registry};
use tower::{Layer, Service, ServiceExt};

fn ok_service()
-> impl Service<http::Request<()>, Response = http::Response<()>, Error = Infallible, Future: Send> + Clone {
    tower::service_fn(|_: http::Request<()>| async { Ok::<_, Infallible>(http::Response::new(())) })
}

fn failing_service()
-> impl Service<http::Request<()>, Response = http::Response<()>, Error = Infallible> + Clone {
    tower::service_fn(|_: http::Request<()>| async {
        let mut response = http::Response::new(());
        *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        Ok::<_, Infallible>(response)
    })
}

fn configure(service: &str) -> Arc<ManualClock> {
    registry().named(service).unwrap();
    let config = ConfigLayer {
        threshold: Some(1),
        recovery_timeout: Some(Duration::from_secs(10)),
        ..Default::default()
    };
    registry().set_override(service, config).unwrap();
    let clock = Arc::new(ManualClock::new());
    registry().use_clock(service, clock.clone()).unwrap();
    clock
}

fn request() -> http::Request<()> {
    http::Request::get("http://example.test/").body(()).unwrap()
}

#[tokio::test]
async fn an_open_circuit_is_ready_and_rejects_in_call() {
    let _clock = configure("svc-ready");
    let mut service =
        CircuitBreakerLayer::new().identify(Identify::service("svc-ready")).layer(failing_service());
    service.ready().await.unwrap().call(request()).await.unwrap();
    assert_eq!(registry().get("svc-ready").unwrap().state(), State::Open);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(
        matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))),
        "never Ready(Err) for an open circuit"
    );
    let answer = service.call(request()).await;
    assert!(matches!(answer, Err(ServiceError::Breaker(Error::CircuitOpen { .. }))));
}

/// An inner service that is never ready.
#[derive(Clone)]
struct Stuck;

impl Service<http::Request<()>> for Stuck {
    type Response = http::Response<()>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<http::Response<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Pending
    }

    fn call(&mut self, _: http::Request<()>) -> Self::Future {
        panic!("called without being ready")
    }
}

#[tokio::test]
async fn a_forced_open_breaker_cuts_off_callers_of_a_stuck_service() {
    let _clock = configure("svc-stuck");
    let mut service = CircuitBreakerLayer::new().identify(Identify::service("svc-stuck")).layer(Stuck);
    let mut cx = Context::from_waker(Waker::noop());
    assert!(service.poll_ready(&mut cx).is_pending(), "closed: the inner service's readiness");
    registry().force_open("svc-stuck", "test").unwrap();
    assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
    let answer = tokio::time::timeout(Duration::from_secs(1), service.call(request())).await.unwrap();
    assert!(matches!(answer, Err(ServiceError::Breaker(Error::CircuitOpen { retry_after: None, .. }))));
    registry().reset("svc-stuck", "test").unwrap();
}

#[tokio::test]
async fn a_call_admitted_after_an_open_poll_ready_waits_for_the_inner_service() {
    let clock = configure("svc-late");
    let mut service =
        CircuitBreakerLayer::new().identify(Identify::service("svc-late")).layer(failing_service());
    service.ready().await.unwrap().call(request()).await.unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    // Open: ready without asking the inner service.
    assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
    // The probe time comes before the call: the call is admitted, and its future
    // asks the inner service to be ready first.
    clock.advance(Duration::from_secs(10));
    let answer = service.call(request()).await.unwrap();
    assert_eq!(answer.status(), 500);
    assert_eq!(registry().get("svc-late").unwrap().state(), State::Open, "the failed probe reopened it");
}

#[tokio::test]
async fn wait_mode_stays_pending_until_the_probe_time() {
    let clock = configure("svc-wait");
    let layer = CircuitBreakerLayer::new().identify(Identify::service("svc-wait")).when_open(WhenOpen::Wait);
    let mut service = layer.layer(failing_service());
    service.ready().await.unwrap().call(request()).await.unwrap();
    assert_eq!(registry().get("svc-wait").unwrap().state(), State::Open);
    let ready = tokio::spawn(async move {
        service.ready().await.unwrap();
        service
    });
    tokio::task::yield_now().await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!ready.is_finished(), "pending while open");
    clock.advance(Duration::from_secs(10));
    let mut service = tokio::time::timeout(Duration::from_secs(5), ready).await.unwrap().unwrap();
    let answer = service.call(request()).await.unwrap();
    assert_eq!(answer.status(), 500, "the probe went through");
}

#[tokio::test]
async fn observe_only_records_but_never_rejects() {
    let _clock = configure("svc-observe");
    let mut service = CircuitBreakerLayer::new()
        .identify(Identify::service("svc-observe"))
        .observe_only()
        .layer(ok_service());
    registry().force_open("svc-observe", "test").unwrap();
    for _ in 0..3 {
        let answer = service.ready().await.unwrap().call(request()).await;
        assert!(answer.is_ok(), "never rejected");
    }
    let snapshot = registry().get("svc-observe").unwrap().snapshot();
    assert_eq!(snapshot.rejections.total(), 0);
    assert_eq!(snapshot.window.successes, 3, "counted while forced open");
    registry().reset("svc-observe", "test").unwrap();
    // Failures are counted, never judged: the circuit stays closed (threshold 1).
    let mut failing = CircuitBreakerLayer::new()
        .identify(Identify::service("svc-observe"))
        .observe_only()
        .layer(failing_service());
    for _ in 0..3 {
        failing.ready().await.unwrap().call(request()).await.unwrap();
    }
    let snapshot = registry().get("svc-observe").unwrap().snapshot();
    assert_eq!((snapshot.window.failures, snapshot.state), (3, State::Closed));
}

#[tokio::test]
async fn a_classifier_that_counts_4xx_is_found_by_the_diagnosis() {
    use breaker_runtime::classify::Outcome;
    use breaker_runtime::observe::diagnosis::FindingKind;
    let not_found = || {
        tower::service_fn(|_: http::Request<()>| async {
            let mut response = http::Response::new(());
            *response.status_mut() = http::StatusCode::NOT_FOUND;
            Ok::<_, Infallible>(response)
        })
    };
    let findings = |service: &str| -> Vec<FindingKind> {
        registry().diagnose(service).unwrap().findings.iter().map(|f| f.kind).collect()
    };
    // The default classification ignores a 404: nothing to find.
    registry().named("svc-4xx-default").unwrap();
    let mut plain =
        CircuitBreakerLayer::new().identify(Identify::service("svc-4xx-default")).layer(not_found());
    plain.ready().await.unwrap().call(request()).await.unwrap();
    assert!(!findings("svc-4xx-default").contains(&FindingKind::ClientErrorsCounted));
    // A classifier that counts every error status does count it.
    registry().named("svc-4xx-counted").unwrap();
    let mut counting = CircuitBreakerLayer::new()
        .identify(Identify::service("svc-4xx-counted"))
        .classify(|status, _| (status.as_u16() >= 400).then_some(Outcome::Failure))
        .layer(not_found());
    counting.ready().await.unwrap().call(request()).await.unwrap();
    let d = registry().diagnose("svc-4xx-counted").unwrap();
    let finding =
        d.findings.iter().find(|f| f.kind == FindingKind::ClientErrorsCounted).expect("a 4xx finding");
    assert!(finding.seen.starts_with("1 HTTP 4xx"), "{finding}");
}

#[tokio::test]
async fn the_status_that_opens_a_circuit_is_its_last_error() {
    let _clock = configure("svc-last-error");
    let mut service =
        CircuitBreakerLayer::new().identify(Identify::service("svc-last-error")).layer(failing_service());
    service.ready().await.unwrap().call(request()).await.unwrap();
    let breaker = registry().get("svc-last-error").unwrap();
    let last = breaker.snapshot().recent_transitions.last().cloned().unwrap();
    assert_eq!((last.to, last.last_error.as_deref()), (State::Open, Some("HTTP 500")));
}

/// An inner service that fails requests to `remember-c.test` and answers the rest.
fn failing_for_c()
-> impl Service<http::Request<()>, Response = http::Response<()>, Error = Infallible> + Clone {
    tower::service_fn(|request: http::Request<()>| async move {
        let mut response = http::Response::new(());
        if request.uri().host() == Some("remember-c.test") {
            *response.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
        }
        Ok::<_, Infallible>(response)
    })
}

fn get(uri: &str) -> http::Request<()> {
    http::Request::get(uri).body(()).unwrap()
}

/// By host, a service remembers the breakers of the last hosts it saw (those never
/// evicted): with more hosts than it remembers, two spellings of one host, an
/// undeclared host and a clone, every request still counts on its own host's breaker.
#[tokio::test]
async fn by_host_every_request_counts_on_its_hosts_breaker() {
    let declared = ["a", "b", "c", "d", "e", "f"].map(|h| format!("remember-{h}.test"));
    for service in &declared {
        registry().named(service).unwrap();
    }
    let mut service = CircuitBreakerLayer::new().layer(failing_for_c());
    for _ in 0..3 {
        for host in &declared {
            let _ = service.ready().await.unwrap().call(get(&format!("http://{host}/q"))).await.unwrap();
        }
        // Another authority for the same service: upper case, a port.
        let _ = service.ready().await.unwrap().call(get("http://Remember-B.test:8080/q")).await.unwrap();
        let _ = service.ready().await.unwrap().call(get("http://remember-undeclared.test/q")).await.unwrap();
    }
    let mut clone = service.clone();
    let _ = clone.ready().await.unwrap().call(get("http://remember-a.test/q")).await.unwrap();

    let calls = |service: &str| registry().get(service).unwrap().snapshot().calls;
    assert_eq!(calls("remember-a.test").successes, 4);
    assert_eq!(calls("remember-b.test").successes, 6);
    assert_eq!((calls("remember-c.test").successes, calls("remember-c.test").failures), (0, 3));
    for host in ["remember-d.test", "remember-e.test", "remember-f.test", "remember-undeclared.test"] {
        assert_eq!(calls(host).successes, 3, "{host}");
    }
}

/// Every host gets a breaker, also one whose text is no valid service name: an IPv6
/// address (brackets and colons) or a name longer than a service's.
#[tokio::test]
async fn an_ipv6_address_or_a_long_host_gets_a_breaker_of_its_own() {
    let long = format!("{}.long-host.test", "x".repeat(150));
    let mut service = CircuitBreakerLayer::new().layer(ok_service());
    for uri in [
        "http://[::1]:8080/q",
        "http://[2001:DB8::7]/q",
        "http://[2001:db8::7]:9/q",
        &format!("http://{long}/q"),
    ] {
        let response = service.ready().await.unwrap().call(get(uri)).await;
        assert!(response.is_ok(), "{uri}: {:?}", response.err());
    }
    let successes = |service: &str| registry().get(service).unwrap().snapshot().calls.successes;
    assert_eq!(successes("__1"), 1);
    assert_eq!(successes("2001_db8__7"), 2);
    let long_breakers: Vec<_> =
        registry().services().into_iter().filter(|s| s.starts_with("xxxxx")).collect();
    assert_eq!(long_breakers.len(), 1, "{long_breakers:?}");
    assert_eq!(successes(long_breakers[0]), 1);
}

/// A name no breaker can have, from a header, is no service: an `UnknownService` that
/// names it, the default service if there is one, and never a refusal when observing.
#[tokio::test]
async fn an_invalid_name_from_a_header_is_an_unknown_service() {
    let bad = || http::Request::get("/q").header("x-service-name", "payments v2").body(()).unwrap();
    let mut strict = CircuitBreakerLayer::new().identify(Identify::service_header()).layer(ok_service());
    match strict.ready().await.unwrap().call(bad()).await {
        Err(ServiceError::Breaker(Error::UnknownService { service, .. })) => {
            assert!(service.contains("\"payments v2\", no valid service name"), "{service}")
        }
        other => panic!("expected an unknown service, got {other:?}"),
    }
    let mut lenient = CircuitBreakerLayer::new()
        .identify(Identify::service_header())
        .unknown_service(breaker_runtime::integrations::tower::Unknown::Service("svc-header-default".into()))
        .layer(ok_service());
    lenient.ready().await.unwrap().call(bad()).await.unwrap();
    assert_eq!(registry().get("svc-header-default").unwrap().snapshot().calls.successes, 1);
    let mut observer =
        CircuitBreakerLayer::new().identify(Identify::service_header()).observe_only().layer(ok_service());
    observer.ready().await.unwrap().call(bad()).await.unwrap();
    let nothing = http::Request::get("/q").body(()).unwrap();
    observer.ready().await.unwrap().call(nothing).await.unwrap();
}

/// `WhenOpen::Respond` answers refusals with a 503; a request of no known service is
/// not refused by a circuit, and stays the error that says so.
#[tokio::test]
async fn respond_mode_answers_refusals_not_unknown_services() {
    let mut service = CircuitBreakerLayer::new().when_open(WhenOpen::Respond).layer(ok_service());
    let answer = service.ready().await.unwrap().call(http::Request::get("/no-host").body(()).unwrap()).await;
    assert!(matches!(answer, Err(ServiceError::Breaker(Error::UnknownService { .. }))), "{answer:?}");
}

/// A host first met on demand and then declared by name keeps one breaker: the
/// requests before and after count on it.
#[tokio::test]
async fn a_host_declared_after_it_was_met_keeps_its_breaker() {
    let mut service = CircuitBreakerLayer::new().layer(ok_service());
    let _ = service.ready().await.unwrap().call(get("http://promoted.test/")).await.unwrap();
    let before = registry().get("promoted.test").unwrap();
    registry().named("promoted.test").unwrap();
    for _ in 0..2 {
        let _ = service.ready().await.unwrap().call(get("http://promoted.test/")).await.unwrap();
    }
    assert_eq!(before.snapshot().calls.successes, 3);
    assert_eq!(registry().get("promoted.test").unwrap().snapshot().calls.successes, 3);
}

/// An inner service whose answers wait until `true` is sent.
fn held_until_released() -> (
    tokio::sync::watch::Sender<bool>,
    impl Service<http::Request<()>, Response = http::Response<()>, Error = Infallible> + Clone,
) {
    let (release, released) = tokio::sync::watch::channel(false);
    let service = tower::service_fn(move |_: http::Request<()>| {
        let mut released = released.clone();
        async move {
            let _ = released.wait_for(|done| *done).await;
            Ok::<_, Infallible>(http::Response::new(()))
        }
    });
    (release, service)
}

/// An observed call is never cut by the breaker's timeout (a server-side layer only
/// watches); the same call through a protecting layer is.
#[tokio::test]
async fn observe_only_never_times_out() {
    let clock = configure("svc-observe-timeout");
    let timeout = ConfigLayer { timeout: Some(Duration::from_secs(1)), ..Default::default() };
    registry().set_override("svc-observe-timeout", timeout).unwrap();
    let (release, slow) = held_until_released();
    let mut cx = Context::from_waker(Waker::noop());
    let layer = CircuitBreakerLayer::new().identify(Identify::service("svc-observe-timeout"));
    let mut observing = layer.clone().observe_only().layer(slow.clone());
    let mut protecting = layer.layer(slow);
    let mut observed = Box::pin(observing.ready().await.unwrap().call(request()));
    let mut protected = Box::pin(protecting.ready().await.unwrap().call(request()));
    assert!(observed.as_mut().poll(&mut cx).is_pending());
    assert!(protected.as_mut().poll(&mut cx).is_pending());
    clock.advance(Duration::from_secs(2));
    assert!(observed.as_mut().poll(&mut cx).is_pending(), "not cut");
    let cut = protected.as_mut().poll(&mut cx);
    assert!(matches!(cut, Poll::Ready(Err(ServiceError::Breaker(Error::Timeout { .. })))), "cut");
    release.send(true).unwrap();
    assert!(observed.await.is_ok());
}

/// In metrics-only mode (runtime control) a call through the layer is cut by the
/// breaker's timeout, as a `#[circuit_breaker]` call is: the mode stops refusals, not
/// the timeout.
#[tokio::test]
async fn metrics_only_mode_keeps_the_timeout() {
    let clock = configure("svc-metrics-only-timeout");
    let timeout = ConfigLayer { timeout: Some(Duration::from_secs(1)), ..Default::default() };
    registry().set_override("svc-metrics-only-timeout", timeout).unwrap();
    registry().metrics_only("svc-metrics-only-timeout", "a test").unwrap();
    let (_release, slow) = held_until_released();
    let mut cx = Context::from_waker(Waker::noop());
    let mut service =
        CircuitBreakerLayer::new().identify(Identify::service("svc-metrics-only-timeout")).layer(slow);
    let mut call = Box::pin(service.ready().await.unwrap().call(request()));
    assert!(call.as_mut().poll(&mut cx).is_pending());
    clock.advance(Duration::from_secs(1));
    let cut = call.as_mut().poll(&mut cx);
    assert!(matches!(cut, Poll::Ready(Err(ServiceError::Breaker(Error::Timeout { .. })))), "cut");
    let breaker = registry().get("svc-metrics-only-timeout").unwrap();
    assert_eq!(breaker.state(), State::MetricsOnly);
    assert_eq!(breaker.snapshot().window.timeouts, 1);
}

/// A retune reaches a call in flight: its slow-call threshold is the breaker's when it
/// is answered, not when it was admitted.
#[tokio::test]
async fn a_call_in_flight_is_judged_slow_by_the_threshold_when_it_is_answered() {
    let clock = configure("svc-slow-retune");
    let slow_after = |secs| ConfigLayer { slow_call: Some(Duration::from_secs(secs)), ..Default::default() };
    registry().set_override("svc-slow-retune", slow_after(10)).unwrap();
    let (release, waiting) = held_until_released();
    let mut service =
        CircuitBreakerLayer::new().identify(Identify::service("svc-slow-retune")).layer(waiting);
    let mut cx = Context::from_waker(Waker::noop());
    let mut call = Box::pin(service.ready().await.unwrap().call(request()));
    assert!(call.as_mut().poll(&mut cx).is_pending());
    clock.advance(Duration::from_secs(2));
    registry().set_override("svc-slow-retune", slow_after(1)).unwrap();
    release.send(true).unwrap();
    assert!(call.await.is_ok());
    let window = registry().get("svc-slow-retune").unwrap().snapshot().window;
    assert_eq!((window.successes, window.slow), (1, 1), "2 s against the 1 s in force");
}
