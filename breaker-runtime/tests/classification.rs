//! Classification: custom classifiers, and the HTTP and gRPC presets driving a breaker.

mod common;

use breaker_runtime::classify::grpc::{self, Code, GrpcClassifier};
use breaker_runtime::classify::http::{self, HttpClassifier};
use breaker_runtime::{ClassifyResult, Config, DefaultClassifier, Error, Outcome, State};
use common::*;

fn ignore_all(_: &CallError) -> Outcome {
    Outcome::Ignored
}

#[tokio::test]
async fn ignored_errors_pass_through_to_the_caller_without_counting_toward_the_threshold() {
    let (breaker, _clock) = manual("cls-ignored-closed", Config::builder().threshold(2));
    for _ in 0..10 {
        assert_eq!(breaker.call_with(ignore_all, fail(404)).await, Err(CallError::Upstream(404)));
    }
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.consecutive_failures, 0);
    assert_eq!((s.window.calls, s.window.ignored, s.window.failures, s.window.successes), (10, 10, 0, 0));
    assert_eq!(s.last_failure, None);
    assert_eq!(s.last_success, None);
}

#[tokio::test]
async fn ignored_error_does_not_close_a_half_open_circuit() {
    let (breaker, clock) =
        manual("cls-ignored-half-open", Config::builder().threshold(1).recovery_timeout(secs(5)));
    fail_times(&breaker, 1).await;
    clock.advance(secs(5));
    assert_eq!(breaker.state(), State::HalfOpen);
    let generation = breaker.snapshot().generation;
    assert_eq!(breaker.call_with(ignore_all, fail(400)).await, Err(CallError::Upstream(400)));
    let s = breaker.snapshot();
    assert_eq!(s.state, State::HalfOpen);
    assert_eq!(s.generation, generation);
    assert_eq!((s.probes.in_flight, s.probes.successes), (0, 0), "the probe place was given back");
    // A real success still closes it afterwards.
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn an_ignored_error_does_not_reset_the_consecutive_failures() {
    let (breaker, _clock) = manual("cls-ignored-keeps-run", Config::builder().threshold(3));
    let by_status = |e: &CallError| match e {
        CallError::Upstream(code) => http::status(*code),
        _ => Outcome::Failure,
    };
    assert_eq!(breaker.call_with(by_status, fail(500)).await, Err(CallError::Upstream(500)));
    assert_eq!(breaker.call_with(by_status, fail(404)).await, Err(CallError::Upstream(404)));
    assert_eq!(breaker.call_with(by_status, fail(502)).await, Err(CallError::Upstream(502)));
    assert_eq!(breaker.snapshot().consecutive_failures, 2);
    assert_eq!(breaker.call_with(by_status, fail(503)).await, Err(CallError::Upstream(503)));
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test]
async fn default_classifier_counts_every_error_as_a_failure() {
    let (breaker, _clock) = manual("cls-default", Config::builder().threshold(2));
    assert_eq!(breaker.call_with(DefaultClassifier, fail(404)).await, Err(CallError::Upstream(404)));
    assert_eq!(breaker.call_with(DefaultClassifier, fail(400)).await, Err(CallError::Upstream(400)));
    assert_eq!(breaker.state(), State::Open);
}

/// A response the "HTTP client" returns: `Ok` with a status, even for 5xx.
async fn respond(status: u16) -> CallResult<u16> {
    Ok(status)
}

fn by_http_status(result: &CallResult<u16>) -> Outcome {
    match result {
        Ok(status) => http::status(*status),
        Err(_) => Outcome::Failure,
    }
}

#[tokio::test]
async fn http_5xx_responses_open_the_circuit_and_are_still_returned_to_the_caller() {
    let (breaker, _clock) = manual("cls-http-5xx", Config::builder().threshold(3));
    for status in [500, 502, 503] {
        assert_eq!(breaker.call_with(ClassifyResult(by_http_status), respond(status)).await, Ok(status));
    }
    assert_eq!(breaker.state(), State::Open);
    let s = breaker.snapshot();
    assert_eq!((s.window.calls, s.window.failures), (3, 3));
}

#[tokio::test]
async fn http_4xx_3xx_and_501_pass_through_and_2xx_resets_the_run() {
    let (breaker, _clock) = manual("cls-http-pass", Config::builder().threshold(2));
    let classify = ClassifyResult(by_http_status);
    assert_eq!(breaker.call_with(classify, respond(504)).await, Ok(504));
    for status in [400, 401, 403, 404, 409, 301, 304, 501] {
        assert_eq!(breaker.call_with(classify, respond(status)).await, Ok(status));
    }
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.consecutive_failures, 1, "pass-through statuses neither count nor reset");
    assert_eq!((s.window.ignored, s.window.failures, s.window.successes), (8, 1, 0));
    assert_eq!(breaker.call_with(classify, respond(200)).await, Ok(200));
    assert_eq!(breaker.snapshot().consecutive_failures, 0);
    assert_eq!(breaker.call_with(classify, respond(408)).await, Ok(408));
    assert_eq!(breaker.call_with(classify, respond(429)).await, Ok(429));
    assert_eq!(breaker.state(), State::Open, "408 and 429 are failures by default");
}

#[tokio::test]
async fn http_429_can_be_configured_to_pass_through() {
    let (breaker, _clock) = manual("cls-http-429", Config::builder().threshold(2));
    let lenient = HttpClassifier::new().too_many_requests(Outcome::Ignored);
    let classify = ClassifyResult(move |r: &CallResult<u16>| match r {
        Ok(status) => lenient.status(*status),
        Err(_) => Outcome::Failure,
    });
    for _ in 0..5 {
        assert_eq!(breaker.call_with(classify, respond(429)).await, Ok(429));
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(breaker.snapshot().window.ignored, 5);
}

/// A gRPC status, as a client library would return it.
#[derive(Debug, Clone, PartialEq)]
enum RpcError {
    Status(i32),
    Breaker(Error),
}

impl From<Error> for RpcError {
    fn from(e: Error) -> Self {
        RpcError::Breaker(e)
    }
}

async fn rpc(code: i32) -> Result<&'static str, RpcError> {
    if code == 0 { Ok("reply") } else { Err(RpcError::Status(code)) }
}

fn by_grpc_code(result: &Result<&'static str, RpcError>) -> Outcome {
    match result {
        Ok(_) => grpc::code(0),
        Err(RpcError::Status(code)) => grpc::code(*code),
        Err(RpcError::Breaker(_)) => Outcome::Failure,
    }
}

#[tokio::test]
async fn grpc_client_side_codes_pass_through_and_server_side_codes_open() {
    let (breaker, _clock) = manual("cls-grpc", Config::builder().threshold(3));
    let classify = ClassifyResult(by_grpc_code);
    // CANCELLED, INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, PERMISSION_DENIED,
    // FAILED_PRECONDITION, OUT_OF_RANGE, UNIMPLEMENTED, UNAUTHENTICATED.
    for code in [1, 3, 5, 6, 7, 9, 11, 12, 16] {
        assert_eq!(breaker.call_with(classify, rpc(code)).await, Err(RpcError::Status(code)));
    }
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!((s.window.ignored, s.consecutive_failures), (9, 0));
    // UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL.
    for code in [14, 4, 13] {
        assert_eq!(breaker.call_with(classify, rpc(code)).await, Err(RpcError::Status(code)));
    }
    assert_eq!(breaker.state(), State::Open);
    assert!(matches!(
        breaker.call_with(classify, rpc(0)).await,
        Err(RpcError::Breaker(Error::CircuitOpen { service: "cls-grpc", .. }))
    ));
}

#[tokio::test]
async fn grpc_ok_resets_the_run_of_failures() {
    let (breaker, _clock) = manual("cls-grpc-ok", Config::builder().threshold(2));
    let classify = ClassifyResult(by_grpc_code);
    for code in [2, 0, 8, 0, 10, 0, 15] {
        let _ = breaker.call_with(classify, rpc(code)).await;
    }
    let s = breaker.snapshot();
    assert_eq!(s.state, State::Closed);
    assert_eq!((s.window.failures, s.window.successes, s.consecutive_failures), (4, 3, 1));
}

#[tokio::test]
async fn grpc_per_service_override_changes_how_a_code_counts() {
    let (breaker, _clock) = manual("cls-grpc-override", Config::builder().threshold(2));
    let lenient = GrpcClassifier::new().with_override(Code::ResourceExhausted, Outcome::Ignored).unwrap();
    let classify = ClassifyResult(move |r: &Result<&'static str, RpcError>| match r {
        Ok(_) => Outcome::Success,
        Err(RpcError::Status(code)) => lenient.code(*code),
        Err(RpcError::Breaker(_)) => Outcome::Failure,
    });
    for _ in 0..4 {
        assert_eq!(breaker.call_with(classify, rpc(8)).await, Err(RpcError::Status(8)));
    }
    assert_eq!(breaker.state(), State::Closed);
    assert_eq!(
        GrpcClassifier::new().with_override(Code::Unavailable, Outcome::Ignored).unwrap_err().field,
        "grpc_overrides"
    );
}

#[tokio::test]
async fn a_classifier_can_turn_an_ok_value_into_a_failure() {
    let (breaker, _clock) = manual("cls-ok-as-failure", Config::builder().threshold(2));
    let empty_is_failure = ClassifyResult(|r: &CallResult<Vec<u8>>| match r {
        Ok(body) if body.is_empty() => Outcome::Failure,
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    });
    for _ in 0..2 {
        assert_eq!(breaker.call_with(empty_is_failure, async { Ok(Vec::new()) }).await, Ok(Vec::new()));
    }
    assert_eq!(breaker.state(), State::Open);
}

#[tokio::test]
async fn a_timeout_is_a_failure_whatever_the_classifier_says() {
    let (breaker, clock) = manual("cls-timeout-wins", Config::builder().threshold(1).timeout(millis(50)));
    let result = after(&clock, millis(50), breaker.call_with(ignore_all, hanging())).await;
    assert_eq!(
        result,
        Err(CallError::Breaker(Error::Timeout { service: "cls-timeout-wins", timeout: millis(50) }))
    );
    assert_eq!(breaker.state(), State::Open);
}
