//! `#[circuit_breaker]` on a function returning `Result<T, tonic::Status>` judges the
//! status by its code without a `classify =`: INVALID_ARGUMENT and NOT_FOUND are the
//! caller's, UNAVAILABLE and INTERNAL the service's; a refusal comes back as
//! UNAVAILABLE. A deadline that passes is a failure, though tonic reports it as
//! CANCELLED.

use std::time::Duration;

use breaker_grpc::proto::echo_client::EchoClient;
use breaker_grpc::{SayRequest, TestServer, lazy_channel};
use breaker_runtime::{State, circuit_breaker, registry};
use tonic::transport::Channel;
use tonic::{Code, Request, Status};

#[circuit_breaker(service = "grpc-attribute-status", threshold = 2)]
async fn lookup(code: i32) -> Result<u32, Status> {
    match Code::from_i32(code) {
        Code::Ok => Ok(7),
        code => Err(Status::new(code, "scripted")),
    }
}

fn state() -> State {
    registry().get("grpc-attribute-status").unwrap().state()
}

#[tokio::test]
async fn statuses_count_by_their_code() {
    for code in [Code::InvalidArgument, Code::NotFound, Code::Unauthenticated, Code::InvalidArgument] {
        assert_eq!(lookup(code as i32).await.unwrap_err().code(), code);
    }
    assert_eq!(state(), State::Closed, "the caller's mistakes are not the service's failures");
    assert_eq!(lookup(0).await.unwrap(), 7);
    lookup(Code::Unavailable as i32).await.unwrap_err();
    lookup(Code::Internal as i32).await.unwrap_err();
    assert_eq!(state(), State::Open);
    let refused = lookup(0).await.unwrap_err();
    assert_eq!(refused.code(), Code::Unavailable);
    assert!(refused.message().contains("grpc-attribute-status"), "{refused:?}");
}

/// A call with a deadline of `deadline` to a server that answers after 600 ms.
#[circuit_breaker(service = "grpc-attribute-deadline", threshold = 2)]
async fn say_slowly(client: EchoClient<Channel>, deadline: Duration) -> Result<String, Status> {
    let mut client = client;
    let mut request = Request::new(SayRequest::ok("slow").after(Duration::from_millis(600)));
    request.set_timeout(deadline);
    Ok(client.say(request).await?.into_inner().message)
}

#[tokio::test]
async fn a_deadline_that_passes_is_a_failure() {
    let server = TestServer::start().await.unwrap();
    let client = EchoClient::new(lazy_channel(&server.endpoint()));
    for _ in 0..2 {
        let status = tokio::time::timeout(
            Duration::from_secs(5),
            say_slowly(client.clone(), Duration::from_millis(50)),
        )
        .await
        .expect("the deadline ends the call")
        .unwrap_err();
        // tonic's `TimeoutExpired`, as CANCELLED.
        assert_eq!(status.code(), Code::Cancelled, "{status:?}");
    }
    let breaker = registry().get("grpc-attribute-deadline").unwrap();
    assert_eq!(breaker.snapshot().window.failures, 2);
    assert_eq!(breaker.state(), State::Open);
}

/// Holds its one bulkhead place until `release` fires.
#[circuit_breaker(service = "grpc-attribute-bulkhead", max_concurrent = 1)]
async fn held(release: tokio::sync::oneshot::Receiver<()>) -> Result<u32, Status> {
    let _ = release.await;
    Ok(1)
}

#[tokio::test]
async fn a_full_bulkhead_is_resource_exhausted() {
    let (release, wait) = tokio::sync::oneshot::channel();
    let first = tokio::spawn(held(wait));
    let admitted = async {
        while registry().get("grpc-attribute-bulkhead").unwrap().snapshot().bulkhead.in_use == 0 {
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), admitted).await.expect("the first call takes the place");
    let (_other, never) = tokio::sync::oneshot::channel();
    let refused = held(never).await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    release.send(()).unwrap();
    assert_eq!(first.await.unwrap().unwrap(), 1);
}
