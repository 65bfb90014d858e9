//! The gRPC layer's response body on its own, without a network: an inner
//! `tower::service_fn` answers a 200 whose body is a script of frames (and `Pending`
//! polls), as an HTTP/2 body arrives, and the test reads it frame by frame. These pin
//! the rules of `GrpcBody` exactly: the status in the trailers is recorded once,
//! whatever comes before it; the call keeps its probe place until then; an end without
//! a status and a body error are failures; a body dropped early records nothing.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use breaker_grpc::{configure, manual_clock};
use breaker_runtime::integrations::tower::{CircuitBreakerLayer, GrpcBody, Identify};
use breaker_runtime::{ConfigLayer, State};
use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tower::{Layer, Service, ServiceExt};

/// One step of a scripted body.
#[derive(Clone, Debug)]
enum Step {
    /// A poll that returns `Pending` (and wakes the task at once).
    Pending,
    Data(&'static str),
    /// Trailers with this `grpc-status`.
    Status(&'static str),
    /// Trailers with this `grpc-status` and `grpc-message`.
    StatusWith(&'static str, &'static str),
    /// A body error.
    Error,
}

/// A body that plays its script, then ends.
#[derive(Clone, Debug)]
struct Scripted(VecDeque<Step>);

#[derive(Debug)]
struct Reset;

impl std::fmt::Display for Reset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stream reset")
    }
}

impl std::error::Error for Reset {}

impl Body for Scripted {
    type Data = Bytes;
    type Error = Reset;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Reset>>> {
        match self.0.pop_front() {
            None => Poll::Ready(None),
            Some(Step::Pending) => {
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            Some(Step::Data(data)) => Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(data.as_bytes()))))),
            Some(Step::Status(code)) => {
                let mut trailers = http::HeaderMap::new();
                trailers.insert("grpc-status", http::HeaderValue::from_static(code));
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
            Some(Step::StatusWith(code, message)) => {
                let mut trailers = http::HeaderMap::new();
                trailers.insert("grpc-status", http::HeaderValue::from_static(code));
                trailers.insert("grpc-message", http::HeaderValue::from_static(message));
                Poll::Ready(Some(Ok(Frame::trailers(trailers))))
            }
            Some(Step::Error) => Poll::Ready(Some(Err(Reset))),
        }
    }
}

/// The layer for `service` over an inner service that answers `script`; returns the
/// response body.
async fn respond(service: &str, script: &[Step]) -> GrpcBody<Scripted> {
    let body = Scripted(script.iter().cloned().collect());
    let inner = tower::service_fn(move |_: http::Request<()>| {
        let body = body.clone();
        async move { Ok::<_, Infallible>(http::Response::new(body)) }
    });
    let mut stack = CircuitBreakerLayer::grpc().identify(Identify::service(service)).layer(inner);
    let request = http::Request::post("/echo.v1.Echo/Count").body(()).expect("a valid request");
    let ready = stack.ready().await.expect("the inner service is always ready");
    ready.call(request).await.expect("the inner service never fails").into_body()
}

/// The layer for `service` over an inner service that answers a trailers-only
/// response with these headers; returns the response.
async fn respond_trailers_only(
    service: &str,
    headers: &'static [(&'static str, &'static str)],
) -> http::Response<GrpcBody<Scripted>> {
    let inner = tower::service_fn(move |_: http::Request<()>| async move {
        let mut response = http::Response::new(Scripted(VecDeque::new()));
        for (name, value) in headers {
            response.headers_mut().insert(*name, http::HeaderValue::from_static(value));
        }
        Ok::<_, Infallible>(response)
    });
    let mut stack = CircuitBreakerLayer::grpc().identify(Identify::service(service)).layer(inner);
    let request = http::Request::post("/echo.v1.Echo/Say").body(()).expect("a valid request");
    let ready = stack.ready().await.expect("the inner service is always ready");
    ready.call(request).await.expect("the inner service never fails")
}

/// Reads `body` to its end (or its error).
async fn drain(mut body: GrpcBody<Scripted>) {
    while let Some(Ok(_)) = body.frame().await {}
}

fn layer() -> ConfigLayer {
    ConfigLayer {
        threshold: Some(3),
        recovery_timeout: Some(Duration::from_secs(30)),
        ..ConfigLayer::default()
    }
}

#[tokio::test]
async fn a_status_in_the_trailers_after_data_frames_is_recorded() {
    let service = "body-trailers-after-data";
    let breaker = configure(service, layer()).unwrap();
    drain(respond(service, &[Step::Data("a"), Step::Data("b"), Step::Status("13")]).await).await;
    let window = breaker.snapshot().window;
    assert_eq!((window.calls, window.failures), (1, 1), "INTERNAL in the trailers: {window:?}");
}

/// A deadline a tonic server enforced comes as CANCELLED `Timeout expired`: a
/// failure; any other CANCELLED (the caller's) is not.
#[tokio::test]
async fn a_server_enforced_deadline_is_a_failure_and_a_cancellation_is_not() {
    let service = "body-server-deadline";
    let breaker = configure(service, layer()).unwrap();
    drain(respond(service, &[Step::Data("a"), Step::StatusWith("1", "Timeout expired")]).await).await;
    drain(respond(service, &[Step::StatusWith("1", "the caller went away")]).await).await;
    let window = breaker.snapshot().window;
    assert_eq!((window.calls, window.failures, window.ignored), (2, 1, 1), "{window:?}");
}

/// The same in a trailers-only response (the status in the headers).
#[tokio::test]
async fn a_server_enforced_deadline_in_the_headers_is_a_failure() {
    let service = "body-server-deadline-headers";
    let breaker = configure(service, layer()).unwrap();
    let timed_out = &[("grpc-status", "1"), ("grpc-message", "Timeout expired")];
    drain(respond_trailers_only(service, timed_out).await.into_body()).await;
    assert_eq!(breaker.snapshot().window.failures, 1);
}

#[tokio::test]
async fn an_ok_status_after_a_pending_poll_is_recorded() {
    let service = "body-trailers-after-pending";
    let breaker = configure(service, layer()).unwrap();
    drain(respond(service, &[Step::Pending, Step::Data("a"), Step::Status("0")]).await).await;
    let window = breaker.snapshot().window;
    assert_eq!((window.calls, window.successes), (1, 1), "OK in the trailers: {window:?}");
}

#[tokio::test]
async fn a_probe_keeps_its_place_until_its_trailers() {
    let service = "body-probe-place";
    let breaker = configure(service, ConfigLayer { half_open_max_calls: Some(1), ..layer() }).unwrap();
    let clock = manual_clock(service).unwrap();
    for _ in 0..3 {
        drain(respond(service, &[Step::Status("14")]).await).await;
    }
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(30));

    let mut body =
        respond(service, &[Step::Data("a"), Step::Pending, Step::Data("b"), Step::Status("0")]).await;
    body.frame().await.expect("a frame").expect("data");
    assert_eq!(breaker.snapshot().probes.in_flight, 1, "the probe runs until its status arrives");
    drain(body).await;
    assert_eq!(breaker.state(), State::Closed, "the probe's OK closes the circuit");
}

#[tokio::test]
async fn a_body_ending_without_a_status_after_data_is_a_failure() {
    let service = "body-end-without-status";
    let breaker = configure(service, layer()).unwrap();
    drain(respond(service, &[Step::Data("a")]).await).await;
    let window = breaker.snapshot().window;
    assert_eq!((window.calls, window.failures), (1, 1), "no status: UNKNOWN: {window:?}");
}

#[tokio::test]
async fn a_body_error_after_data_is_a_failure() {
    let service = "body-error-after-data";
    let breaker = configure(service, layer()).unwrap();
    drain(respond(service, &[Step::Data("a"), Step::Error]).await).await;
    let window = breaker.snapshot().window;
    assert_eq!((window.calls, window.failures), (1, 1), "a reset stream: {window:?}");
}

#[tokio::test]
async fn a_body_ending_at_once_without_a_status_is_a_failure() {
    // The same rule with no frame before the end.
    let service = "body-empty-without-status";
    let breaker = configure(service, layer()).unwrap();
    drain(respond(service, &[]).await).await;
    let window = breaker.snapshot().window;
    assert_eq!((window.calls, window.failures), (1, 1), "{window:?}");
}

#[tokio::test]
async fn a_body_dropped_before_its_end_records_nothing() {
    let service = "body-dropped";
    let breaker = configure(service, layer()).unwrap();
    let mut body = respond(service, &[Step::Data("a"), Step::Data("b"), Step::Status("13")]).await;
    body.frame().await.expect("a frame").expect("data");
    drop(body);
    assert_eq!(breaker.snapshot().window.calls, 0);
}

#[tokio::test]
async fn a_200_without_any_status_that_ends_at_its_head_is_a_failure_through_tonic() {
    // A proxy's bare `200` with END_STREAM on its headers: no `grpc-status` anywhere.
    // tonic's client sees `is_end_stream()` at once and never polls the body.
    let service = "body-bare-200";
    let breaker = configure(service, layer()).unwrap();
    let inner = tower::service_fn(|_: http::Request<tonic::body::Body>| async {
        Ok::<_, Infallible>(http::Response::new(http_body_util::Empty::<Bytes>::new()))
    });
    let stack = CircuitBreakerLayer::grpc().identify(Identify::service(service)).layer(inner);
    let mut client = breaker_grpc::proto::echo_client::EchoClient::new(stack);

    let status = client.say(breaker_grpc::SayRequest::ok("x")).await.unwrap_err();

    assert_ne!(status.code(), tonic::Code::Ok);
    let window = breaker.snapshot().window;
    assert_eq!(
        (window.calls, window.failures),
        (1, 1),
        "no status: UNKNOWN, a failure: {window:?} ({status:?})"
    );
}

#[tokio::test]
async fn the_grpc_status_that_opens_a_circuit_is_its_last_error() {
    let service = "body-last-error";
    let breaker = configure(service, layer()).unwrap();
    for _ in 0..3 {
        drain(respond(service, &[Step::Data("a"), Step::Status("14")]).await).await;
    }
    let last = breaker.snapshot().recent_transitions.last().cloned().expect("a transition");
    assert_eq!((last.to, last.last_error.as_deref()), (State::Open, Some("gRPC status 14 UNAVAILABLE")));
}

#[tokio::test]
async fn a_stream_error_that_opens_a_circuit_is_its_last_error() {
    let service = "body-last-error-reset";
    let breaker = configure(service, layer()).unwrap();
    for _ in 0..3 {
        drain(respond(service, &[Step::Data("a"), Step::Error]).await).await;
    }
    let last = breaker.snapshot().recent_transitions.last().cloned().expect("a transition");
    assert_eq!(
        (last.to, last.last_error.as_deref()),
        (State::Open, Some("the response stream failed: stream reset"))
    );
}

#[tokio::test]
async fn a_trailers_only_status_that_opens_a_circuit_is_its_last_error() {
    let service = "headers-last-error";
    let breaker = configure(service, layer()).unwrap();
    for _ in 0..3 {
        let response = respond_trailers_only(service, &[("grpc-status", "4")]).await;
        assert_eq!(response.headers()["grpc-status"], "4", "the status reaches the caller");
    }
    let last = breaker.snapshot().recent_transitions.last().cloned().expect("a transition");
    assert_eq!((last.to, last.last_error.as_deref()), (State::Open, Some("gRPC status 4 DEADLINE_EXCEEDED")));
}
