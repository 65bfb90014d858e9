//! `#[circuit_breaker]` on a function returning `Result<T, tonic::Status>` judges the
//! status by its code without a `classify =`: INVALID_ARGUMENT and NOT_FOUND are the
//! caller's, UNAVAILABLE and INTERNAL the service's; a refusal comes back as
//! UNAVAILABLE.

use breaker_runtime::{State, circuit_breaker, registry};
use tonic::{Code, Status};

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
