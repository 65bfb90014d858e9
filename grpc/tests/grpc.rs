//! The gRPC path of the tower layer, end to end: tonic clients and servers on
//! 127.0.0.1, the layer on the client (and, once, on the server), the breakers read
//! from the registry.
//!
//! Tests in this binary share the registry and run in parallel: each has its own
//! service names. Recovery runs on a manual clock; only the timeout tests use real
//! time (delays under a second). Every test is bounded by `bounded`.

use std::error::Error;
use std::future::Future;
use std::time::{Duration, Instant};

use breaker_grpc::proto::echo_client::EchoClient;
use breaker_grpc::{
    CountRequest, ECHO_SERVICE, LEDGER_SERVICE, SayRequest, TestServer, configure, echo_client, endpoint,
    lazy_channel, ledger_client, manual_clock,
};
use breaker_runtime::integrations::tower::{CircuitBreakerLayer, Grpc, Identify, ServiceError};
use breaker_runtime::{ConfigLayer, State, registry};
use tonic::{Code, Request};

type TestResult = Result<(), Box<dyn Error>>;

/// Runs a test's body, failing it if it takes longer than ten seconds.
async fn bounded(body: impl Future<Output = TestResult>) -> TestResult {
    match tokio::time::timeout(Duration::from_secs(10), body).await {
        Ok(result) => result,
        Err(_) => Err("the test did not finish within 10 s".into()),
    }
}

/// The client layer for one fixed service.
fn layer(service: &str) -> CircuitBreakerLayer<Grpc> {
    CircuitBreakerLayer::grpc().identify(Identify::service(service))
}

fn threshold(n: u32) -> ConfigLayer {
    ConfigLayer {
        threshold: Some(n),
        recovery_timeout: Some(Duration::from_secs(30)),
        ..ConfigLayer::default()
    }
}

#[tokio::test]
async fn unary_ok_counts_one_success_and_the_circuit_stays_closed() -> TestResult {
    bounded(async {
        let service = "grpc-unary-ok";
        let breaker = configure(service, ConfigLayer::default())?;
        let server = TestServer::start().await?;
        let mut client = echo_client(lazy_channel(&server.endpoint()), layer(service));

        let reply = client.say(SayRequest::ok("hello")).await?.into_inner();

        assert_eq!(reply.message, "hello");
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.window.calls, 1, "{snapshot:?}");
        assert_eq!(snapshot.window.successes, 1);
        assert_eq!(snapshot.window.failures, 0);
        assert_eq!(snapshot.state, State::Closed);
        assert_eq!(server.hits(), 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn trailers_only_unavailable_counts_a_failure_and_threshold_of_them_open_the_circuit() -> TestResult {
    bounded(async {
        let service = "grpc-unary-unavailable";
        let breaker = configure(service, threshold(3))?;
        let _clock = manual_clock(service)?;
        let server = TestServer::start().await?;
        let mut client = echo_client(lazy_channel(&server.endpoint()), layer(service));

        for n in 1..=2 {
            let status = client.say(SayRequest::failing(Code::Unavailable)).await.unwrap_err();
            assert_eq!(status.code(), Code::Unavailable);
            assert!(status.message().contains("asked to fail"), "the backend's own status: {status:?}");
            let snapshot = breaker.snapshot();
            assert_eq!(snapshot.window.failures, n);
            assert_eq!(snapshot.consecutive_failures, n as u32);
            assert_eq!(snapshot.state, State::Closed);
        }
        let status = client.say(SayRequest::failing(Code::Unavailable)).await.unwrap_err();
        assert!(status.message().contains("asked to fail"), "the third call still reached the backend");
        assert_eq!(breaker.state(), State::Open);
        assert_eq!(breaker.snapshot().open_count, 1);
        assert_eq!(server.hits(), 3);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn invalid_argument_and_unauthenticated_pass_through_as_ignored() -> TestResult {
    bounded(async {
        let service = "grpc-unary-ignored";
        let breaker = configure(service, threshold(3))?;
        let server = TestServer::start().await?;
        let mut client = echo_client(lazy_channel(&server.endpoint()), layer(service));

        for _ in 0..5 {
            for code in [Code::InvalidArgument, Code::Unauthenticated] {
                let status = client.say(SayRequest::failing(code)).await.unwrap_err();
                assert_eq!(status.code(), code);
                assert!(status.message().contains("asked to fail"), "{status:?}");
            }
        }

        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.window.calls, 10, "{snapshot:?}");
        assert_eq!(snapshot.window.ignored, 10);
        assert_eq!(snapshot.window.failures, 0);
        assert_eq!(snapshot.consecutive_failures, 0);
        assert_eq!(snapshot.state, State::Closed);
        assert_eq!(server.hits(), 10);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_stream_failing_mid_stream_counts_one_failure_and_one_ending_ok_one_success() -> TestResult {
    bounded(async {
        let service = "grpc-stream-outcomes";
        let breaker = configure(service, ConfigLayer::default())?;
        let server = TestServer::start().await?;
        let mut client = echo_client(lazy_channel(&server.endpoint()), layer(service));

        for (end, failures) in [(Code::Internal, 1), (Code::Unavailable, 2)] {
            let mut stream = client.count(CountRequest::new(3, end)).await?.into_inner();
            let mut received = 0;
            let status = loop {
                match stream.message().await {
                    Ok(Some(reply)) => {
                        assert_eq!(reply.seq, received);
                        received += 1;
                        // Head and messages arrived, the status has not: not judged yet.
                        assert_eq!(breaker.snapshot().window.failures, failures - 1);
                    }
                    Ok(None) => return Err("the stream ended OK".into()),
                    Err(status) => break status,
                }
            };
            assert_eq!(received, 3);
            assert_eq!(status.code(), end);
            let snapshot = breaker.snapshot();
            assert_eq!(snapshot.window.calls, failures, "one outcome per stream: {snapshot:?}");
            assert_eq!(snapshot.window.failures, failures);
        }

        let mut stream = client.count(CountRequest::new(5, Code::Ok)).await?.into_inner();
        let mut received = 0;
        while stream.message().await?.is_some() {
            received += 1;
        }
        assert_eq!(received, 5);
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.window.calls, 3, "{snapshot:?}");
        assert_eq!(snapshot.window.successes, 1);
        assert_eq!(snapshot.window.failures, 2);
        assert_eq!(snapshot.state, State::Closed);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_stream_dropped_early_records_nothing_and_gives_back_its_probe_place() -> TestResult {
    bounded(async {
        let service = "grpc-stream-dropped";
        let breaker = configure(
            service,
            ConfigLayer { half_open_max_calls: Some(1), success_threshold: Some(1), ..threshold(1) },
        )?;
        let clock = manual_clock(service)?;
        let server = TestServer::start().await?;
        let mut client = echo_client(lazy_channel(&server.endpoint()), layer(service));
        let slow = || CountRequest::new(1000, Code::Ok).every(Duration::from_millis(20));

        // Closed: a stream read for one message and dropped counts for nothing.
        let mut stream = client.count(slow()).await?.into_inner();
        assert!(stream.message().await?.is_some());
        drop(stream);
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.window.calls, 0, "a dropped stream is not an outcome: {snapshot:?}");
        assert_eq!(snapshot.state, State::Closed);

        // Open, then half-open with one probe place.
        client.say(SayRequest::failing(Code::Unavailable)).await.unwrap_err();
        assert_eq!(breaker.state(), State::Open);
        clock.advance(Duration::from_secs(30));
        assert_eq!(breaker.state(), State::HalfOpen);

        // The probe: a stream, read for one message and held.
        let mut probe = client.count(slow()).await?.into_inner();
        assert!(probe.message().await?.is_some());
        assert_eq!(breaker.snapshot().probes.in_flight, 1);
        let hits = server.hits();
        let refused = client.say(SayRequest::ok("second probe")).await.unwrap_err();
        assert_eq!(refused.code(), Code::Unavailable);
        assert!(refused.message().contains("probe"), "{refused:?}");
        assert_eq!(breaker.snapshot().rejections.probe_limit, 1);
        assert_eq!(server.hits(), hits, "the refused probe did not reach the server");

        // Dropped: its place is free, nothing recorded, still half-open.
        drop(probe);
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.probes.in_flight, 0, "{snapshot:?}");
        assert_eq!(snapshot.probes.successes, 0);
        assert_eq!(snapshot.state, State::HalfOpen);

        // Another probe is admitted (not refused with ProbeLimit) and closes the circuit.
        let reply = client.say(SayRequest::ok("next probe")).await?.into_inner();
        assert_eq!(reply.message, "next probe");
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.rejections.probe_limit, 1);
        assert_eq!(snapshot.state, State::Closed);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn an_open_circuit_reaches_the_client_as_unavailable_without_reaching_the_server() -> TestResult {
    bounded(async {
        let service = "grpc-open-rejects";
        let breaker = configure(service, threshold(1))?;
        let _clock = manual_clock(service)?;
        let server = TestServer::start().await?;
        let mut client = echo_client(lazy_channel(&server.endpoint()), layer(service));
        client.say(SayRequest::failing(Code::Unavailable)).await.unwrap_err();
        assert_eq!(breaker.state(), State::Open);
        let hits = server.hits();

        let status = client.say(SayRequest::ok("refused")).await.unwrap_err();

        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.message().contains("circuit `grpc-open-rejects` is open"), "{status:?}");
        let pushback = status.metadata().get("grpc-retry-pushback-ms").and_then(|v| v.to_str().ok());
        assert_eq!(pushback, Some("30000"), "the time until the probe, on the manual clock");
        let stream = client.count(CountRequest::new(3, Code::Ok)).await.unwrap_err();
        assert_eq!(stream.code(), Code::Unavailable);
        assert_eq!(server.hits(), hits, "no refused call reached the server");
        assert_eq!(breaker.snapshot().rejections.open, 2);
        Ok(())
    })
    .await
}

/// A full bulkhead is this client's own limit, not the service's health: the refusal
/// reaches the client as RESOURCE_EXHAUSTED (not UNAVAILABLE, which a breaker in
/// front would count against the service) and counts as nothing.
#[tokio::test]
async fn a_full_bulkhead_reaches_the_client_as_resource_exhausted() -> TestResult {
    bounded(async {
        let service = "grpc-bulkhead-full";
        let breaker = configure(service, ConfigLayer { max_concurrent: Some(1), ..threshold(1) })?;
        let server = TestServer::start().await?;
        let client = echo_client(lazy_channel(&server.endpoint()), layer(service));
        let mut slow = client.clone();
        let held =
            tokio::spawn(
                async move { slow.say(SayRequest::ok("held").after(Duration::from_millis(500))).await },
            );
        while server.hits() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let status = client.clone().say(SayRequest::ok("turned away")).await.unwrap_err();
        assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
        assert_eq!(breaker.snapshot().rejections.bulkhead, 1);
        held.await??;
        assert_eq!(breaker.state(), State::Closed);
        assert_eq!(breaker.snapshot().window.failures, 0);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_closed_port_counts_as_a_failure() -> TestResult {
    bounded(async {
        let service = "grpc-closed-port";
        let breaker = configure(service, threshold(2))?;
        // A socket bound and never listening: connections are refused, and the port
        // stays ours (a listener bound and dropped could go to another test's server).
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind("127.0.0.1:0".parse().expect("an address"))?;
        let addr = socket.local_addr()?;
        let mut client = echo_client(lazy_channel(&endpoint(addr)), layer(service));

        let status = client.say(SayRequest::ok("nobody")).await.unwrap_err();

        // tonic finds the connect error in the source chain: UNAVAILABLE.
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.window.failures, 1, "{snapshot:?}");
        assert_eq!(snapshot.window.timeouts, 0);
        client.say(SayRequest::ok("nobody")).await.unwrap_err();
        assert_eq!(breaker.state(), State::Open);
        // The transition names the channel's error with the reason under it (the
        // `tonic-transport` feature), not `transport error` alone.
        let last = breaker.snapshot().recent_transitions.last().cloned().expect("a transition");
        let named = last.last_error.expect("a last error");
        assert!(named.starts_with("transport error: "), "{named}");
        assert!(named.to_ascii_lowercase().contains("connection refused"), "{named}");
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_client_deadline_shorter_than_the_breaker_timeout_fires_first_and_counts_as_a_failure() -> TestResult
{
    bounded(async {
        let service = "grpc-client-deadline";
        let breaker = configure(service, ConfigLayer::default())?;
        assert_eq!(breaker.config().timeout, Some(Duration::from_secs(10)));
        let server = TestServer::start().await?;

        // The request's deadline (`grpc-timeout`, which tonic's channel also enforces).
        let mut client = echo_client(lazy_channel(&server.endpoint()), layer(service));
        let mut request = Request::new(SayRequest::ok("slow").after(Duration::from_millis(600)));
        request.set_timeout(Duration::from_millis(100));
        let started = Instant::now();
        let status = client.say(request).await.unwrap_err();
        assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
        // tonic's `TimeoutExpired` becomes CANCELLED, not DEADLINE_EXCEEDED.
        assert_eq!(status.code(), Code::Cancelled, "{status:?}");
        assert!(status.message().contains("Timeout expired"), "{status:?}");
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.window.failures, 1, "{snapshot:?}");
        assert_eq!(snapshot.window.timeouts, 0, "the client's timeout, not the breaker's");

        // The endpoint's timeout: the same.
        let mut client =
            echo_client(lazy_channel(&server.endpoint().timeout(Duration::from_millis(100))), layer(service));
        let status = client.say(SayRequest::ok("slow").after(Duration::from_millis(600))).await.unwrap_err();
        assert_eq!(status.code(), Code::Cancelled, "{status:?}");
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.window.failures, 2, "{snapshot:?}");
        assert_eq!(snapshot.window.timeouts, 0);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn the_breaker_timeout_cuts_a_slow_call_and_counts_a_timed_out_failure() -> TestResult {
    bounded(async {
        let service = "grpc-breaker-timeout";
        let breaker = configure(
            service,
            ConfigLayer { timeout: Some(Duration::from_millis(200)), ..ConfigLayer::default() },
        )?;
        let server = TestServer::start().await?;
        let mut client = echo_client(lazy_channel(&server.endpoint()), layer(service));

        let started = Instant::now();
        let status = client.say(SayRequest::ok("slow").after(Duration::from_millis(600))).await.unwrap_err();
        let elapsed = started.elapsed();

        // Cut at the breaker's 200 ms, before the server's 600 ms answer.
        assert!(elapsed >= Duration::from_millis(190) && elapsed < Duration::from_millis(600), "{elapsed:?}");
        // The gRPC layer answers a call cut by its timeout with a trailers-only
        // DEADLINE_EXCEEDED, as it answers a refusal with UNAVAILABLE.
        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert!(
            status.message().contains("call to `grpc-breaker-timeout` timed out after 200ms"),
            "{status:?}"
        );
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.window.failures, 1, "{snapshot:?}");
        assert_eq!(snapshot.window.timeouts, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn mapping_service_errors_to_status_gives_deadline_exceeded_for_the_breaker_timeout() -> TestResult {
    bounded(async {
        let service = "grpc-breaker-timeout-mapped";
        let breaker = configure(
            service,
            ConfigLayer { timeout: Some(Duration::from_millis(200)), ..ConfigLayer::default() },
        )?;
        let server = TestServer::start().await?;
        let stack = tower::ServiceBuilder::new()
            .map_err(|error: ServiceError<tonic::transport::Error>| tonic::Status::from(error))
            .layer(layer(service))
            .service(lazy_channel(&server.endpoint()));
        let mut client = EchoClient::new(stack);

        let status = client.say(SayRequest::ok("slow").after(Duration::from_millis(600))).await.unwrap_err();

        assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
        assert!(status.message().contains("timed out after 200ms"), "{status:?}");
        assert_eq!(breaker.snapshot().window.timeouts, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_server_side_observe_only_layer_records_but_never_rejects_even_forced_open() -> TestResult {
    bounded(async {
        let service = "grpc-server-observed";
        let breaker = configure(service, threshold(2))?;
        let _clock = manual_clock(service)?;
        let server = TestServer::start_with_layer(layer(service).observe_only()).await?;
        let mut client = EchoClient::new(lazy_channel(&server.endpoint()));

        client.say(SayRequest::ok("seen")).await?;
        assert_eq!(breaker.snapshot().window.successes, 1, "OK in the trailers, seen on the server");
        for _ in 0..3 {
            let status = client.say(SayRequest::failing(Code::Unavailable)).await.unwrap_err();
            assert!(status.message().contains("asked to fail"), "{status:?}");
        }
        let snapshot = breaker.snapshot();
        assert_eq!((snapshot.window.calls, snapshot.window.failures), (4, 3), "{snapshot:?}");
        // Observed, not judged: three failures in a row do not open it (threshold 2).
        assert_eq!(snapshot.state, State::Closed);
        assert_eq!(snapshot.consecutive_failures, 0);

        // Forced open: calls go through to the backend, keep their own answers, and
        // are still counted.
        registry().force_open(service, "grpc observe-only test")?;
        assert_eq!(breaker.state(), State::ForcedOpen);
        assert_eq!(client.say(SayRequest::ok("forced")).await?.into_inner().message, "forced");
        let status = client.say(SayRequest::failing(Code::InvalidArgument)).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("asked to fail"), "the backend's, not the breaker's: {status:?}");
        let status = client.say(SayRequest::failing(Code::Unavailable)).await.unwrap_err();
        assert!(status.message().contains("asked to fail"), "the backend's, not the breaker's: {status:?}");
        let mut stream = client.count(CountRequest::new(2, Code::Ok)).await?.into_inner();
        let mut received = 0;
        while stream.message().await?.is_some() {
            received += 1;
        }
        assert_eq!(received, 2);

        assert_eq!(server.hits(), 8, "every call reached the backend");
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.state, State::ForcedOpen);
        assert_eq!(snapshot.rejections.total(), 0, "{snapshot:?}");
        assert_eq!(snapshot.window.calls, 8, "{snapshot:?}");
        assert_eq!(snapshot.window.successes, 3);
        assert_eq!(snapshot.window.failures, 4);
        assert_eq!(snapshot.window.ignored, 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn a_successful_probe_closes_a_half_open_circuit() -> TestResult {
    bounded(async {
        let service = "grpc-half-open-closes";
        let breaker = configure(service, threshold(2))?;
        let clock = manual_clock(service)?;
        let server = TestServer::start().await?;
        let mut client = echo_client(lazy_channel(&server.endpoint()), layer(service));
        for _ in 0..2 {
            client.say(SayRequest::failing(Code::Unavailable)).await.unwrap_err();
        }
        assert_eq!(breaker.state(), State::Open);

        clock.advance(Duration::from_secs(29));
        assert_eq!(breaker.state(), State::Open);
        let hits = server.hits();
        assert_eq!(client.say(SayRequest::ok("early")).await.unwrap_err().code(), Code::Unavailable);
        assert_eq!(server.hits(), hits);

        clock.advance(Duration::from_secs(1));
        assert_eq!(breaker.state(), State::HalfOpen);
        let reply = client.say(SayRequest::ok("probe")).await?.into_inner();

        assert_eq!(reply.message, "probe");
        let snapshot = breaker.snapshot();
        assert_eq!(snapshot.state, State::Closed, "{snapshot:?}");
        assert_eq!(snapshot.recoveries, 1);
        assert_eq!(server.hits(), hits + 1);
        Ok(())
    })
    .await
}

#[tokio::test]
async fn by_default_each_grpc_service_of_the_path_has_its_own_breaker() -> TestResult {
    bounded(async {
        // The only test that uses the path's names (`echo.v1.Echo`, `echo.v1.Ledger`).
        let server = TestServer::start().await?;
        let channel = lazy_channel(&server.endpoint());
        let mut echo = echo_client(channel.clone(), CircuitBreakerLayer::grpc());
        let mut ledger = ledger_client(channel, CircuitBreakerLayer::grpc());

        for _ in 0..5 {
            echo.say(SayRequest::failing(Code::Unavailable)).await.unwrap_err();
        }
        ledger.balance(SayRequest::ok("42")).await?;

        let echo_breaker = registry().get(ECHO_SERVICE)?;
        let ledger_breaker = registry().get(LEDGER_SERVICE)?;
        assert_eq!(echo_breaker.state(), State::Open, "five failures, the default threshold");
        assert_eq!(ledger_breaker.state(), State::Closed);
        assert_eq!(ledger_breaker.snapshot().window.successes, 1);
        let status = echo.say(SayRequest::ok("refused")).await.unwrap_err();
        assert!(status.message().contains("circuit `echo.v1.Echo` is open"), "{status:?}");
        assert_eq!(ledger.balance(SayRequest::ok("43")).await?.into_inner().message, "43");
        Ok(())
    })
    .await
}
