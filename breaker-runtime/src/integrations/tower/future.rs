//! [`ResponseFuture`]: one request through its breaker.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_service::Service;

use crate::breaker::Admission;
use crate::breaker::failing::Shown;
use crate::classify::Outcome;
use crate::error::Error;
use crate::integrations::judge::{Judge, Origin};

use super::error::ServiceError;
use super::layer::{Shared, WhenOpen};
use super::protocol::sealed::record;
use super::protocol::{Http, Protocol};
use super::timer::CallTimer;

pin_project_lite::pin_project! {
    /// The future of [`CircuitBreakerService`](super::CircuitBreakerService): the inner
    /// service's, judged when it answers, or the breaker's refusal.
    pub struct ResponseFuture<S, B, P = Http>
    where
        S: Service<http::Request<B>>,
    {
        #[pin]
        stage: Stage<S, B, S::Future>,
        protocol: PhantomData<fn() -> P>,
    }
}

pin_project_lite::pin_project! {
    #[project = StageProj]
    #[project_replace = StageTaken]
    enum Stage<S, B, F> {
        // The inner service's future, and the admitted call (`None`: unprotected),
        // judged in place when the inner service answers (moving it out would copy it).
        Calling { #[pin] future: F, call: Option<Call> },
        // Waiting for the inner service to be ready: rare (the circuit was open when
        // `poll_ready` asked, and let the call through since), so kept out of the
        // future's own size.
        NotReady { waiting: Box<(S, Option<http::Request<B>>)>, call: Option<Call> },
        // Answered without the inner service: with the error, or (`respond`) with a
        // response that says it (HTTP 503, gRPC UNAVAILABLE).
        Refused { error: Error, respond: bool },
        Done,
    }
}

/// An admitted call, until it is judged (or handed to the response body). `pub` for
/// the sealed [`Protocol`]'s methods; not reachable from outside.
pub struct Call {
    pub(super) admission: Admission,
    // The breaker's call timeout, started when the call first waits (out of line, in
    // a box the thread uses again: see `timer.rs`).
    timer: Option<CallTimer>,
    pub(super) judge: &'static Judge,
    // Where the request went (HTTP), to tell a redirect loop.
    pub(super) origin: Origin,
    // The layer's settings, when it has classifiers of the user's.
    pub(super) custom: Option<Arc<Shared>>,
}

impl Call {
    #[inline(always)]
    pub(crate) fn new(admission: Admission, origin: Origin, shared: &Arc<Shared>) -> Call {
        let custom = (shared.classify.is_some() || shared.classify_error.is_some()).then(|| shared.clone());
        Call { admission, timer: None, judge: shared.judge, origin, custom }
    }

    /// Whether the call's timeout has passed (its timer starts at the first wait).
    fn elapsed(&mut self, cx: &mut Context<'_>) -> bool {
        if self.timer.is_none() {
            let Some(limit) = self.admission.timeout() else { return false };
            self.timer = Some(CallTimer::start(self.admission.timer(limit), limit));
        }
        self.timer.as_mut().is_some_and(|timer| timer.poll_elapsed(cx))
    }
}

impl<S, B, R, P> ResponseFuture<S, B, P>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    P: Protocol,
{
    #[inline(always)]
    fn with(stage: Stage<S, B, S::Future>) -> Self {
        ResponseFuture { stage, protocol: PhantomData }
    }

    #[inline(always)]
    pub(crate) fn calling(future: S::Future, call: Option<Call>) -> Self {
        ResponseFuture::with(Stage::Calling { future, call })
    }

    pub(crate) fn not_ready(service: S, request: http::Request<B>, call: Option<Call>) -> Self {
        let waiting = Box::new((service, Some(request)));
        ResponseFuture::with(Stage::NotReady { waiting, call })
    }

    pub(crate) fn refused(error: Error, shared: &Shared) -> Self {
        // `Respond` answers refusals; a request of no known service stays an error.
        let respond = P::GRPC || (shared.when_open == WhenOpen::Respond && error.is_rejection());
        ResponseFuture::with(Stage::Refused { error, respond })
    }
}

impl<S, B, R, P> Future for ResponseFuture<S, B, P>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: fmt::Display + 'static,
    P: Protocol,
{
    type Output = Result<http::Response<P::Body<R>>, ServiceError<S::Error>>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut stage = self.project().stage;
        loop {
            match stage.as_mut().project() {
                StageProj::Calling { future, call } => {
                    let answer = match future.poll(cx) {
                        Poll::Ready(answer) => answer,
                        Poll::Pending => {
                            if call.as_mut().is_some_and(|call| call.elapsed(cx)) {
                                // Cut by the breaker's timeout: the inner future goes
                                // now, with whatever it holds.
                                let call = call.take();
                                stage.set(Stage::Done);
                                return Poll::Ready(timed_out::<P, R, S::Error>(call));
                            }
                            return Poll::Pending;
                        }
                    };
                    let answered = answered::<P, R, S::Error>(answer, call);
                    stage.set(Stage::Done);
                    return Poll::Ready(answered);
                }
                StageProj::NotReady { waiting, call } => match waiting.0.poll_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        let (service, request) = &mut **waiting;
                        let request = request.take().expect("a request waits for its service");
                        let future = service.call(request);
                        let call = call.take();
                        stage.set(Stage::Calling { future, call });
                    }
                    Poll::Ready(Err(error)) => {
                        if let Some(call) = call {
                            record(&mut call.admission, Outcome::Failure, &Shown::of(&error));
                        }
                        stage.set(Stage::Done);
                        return Poll::Ready(Err(ServiceError::Inner(error)));
                    }
                    Poll::Pending => {
                        if call.as_mut().is_some_and(|call| call.elapsed(cx)) {
                            let call = call.take();
                            stage.set(Stage::Done);
                            return Poll::Ready(timed_out::<P, R, S::Error>(call));
                        }
                        return Poll::Pending;
                    }
                },
                StageProj::Refused { .. } => {
                    let StageTaken::Refused { error, respond } = stage.as_mut().project_replace(Stage::Done)
                    else {
                        unreachable!("the stage was Refused")
                    };
                    if respond {
                        return Poll::Ready(Ok(refusal_response::<P, R>(&error)));
                    }
                    return Poll::Ready(Err(ServiceError::Breaker(error)));
                }
                StageProj::Done => panic!("a breaker's response future was polled after it completed"),
            }
        }
    }
}

/// The inner service answered: judged in place, when the call was admitted.
#[inline(always)]
fn answered<P: Protocol, R, E: fmt::Display + 'static>(
    answer: Result<http::Response<R>, E>,
    call: &mut Option<Call>,
) -> Result<http::Response<P::Body<R>>, ServiceError<E>> {
    match answer {
        Ok(response) => Ok(P::judge(call, response)),
        Err(error) => {
            if let Some(call) = call {
                let outcome = match call.custom.as_deref().and_then(|s| s.classify_error.as_ref()) {
                    Some(classify) => classify(&error),
                    None => Outcome::Failure,
                };
                // A transition this failure triggers names the error (with its
                // sources, for the types whose sources can be reached).
                record(&mut call.admission, outcome, &Shown::of(&error));
            }
            Err(ServiceError::Inner(error))
        }
    }
}

/// The call timed out: recorded, and the error that says so (for gRPC, a
/// trailers-only DEADLINE_EXCEEDED response, which every gRPC client reads as such).
fn timed_out<P: Protocol, R, E>(call: Option<Call>) -> Result<http::Response<P::Body<R>>, ServiceError<E>> {
    let Call { admission, timer, .. } = call.expect("only an admitted call has a timer");
    let error = Error::Timeout {
        service: admission.breaker().service(),
        timeout: timer.as_ref().map(CallTimer::limit).unwrap_or_default(),
    };
    admission.timed_out();
    if P::GRPC {
        return Ok(grpc_answer::<P, R>(GRPC_DEADLINE_EXCEEDED, &error, None));
    }
    Err(ServiceError::Breaker(error))
}

/// gRPC status UNAVAILABLE.
const GRPC_UNAVAILABLE: &str = "14";
/// gRPC status RESOURCE_EXHAUSTED.
const GRPC_RESOURCE_EXHAUSTED: &str = "8";
/// gRPC status FAILED_PRECONDITION.
const GRPC_FAILED_PRECONDITION: &str = "9";

/// The gRPC status of a call the layer refused, as `tonic::Status::from` gives it:
/// UNAVAILABLE for an open circuit or the probe limit, RESOURCE_EXHAUSTED for a full
/// bulkhead (this client's own limit, not the service's health), FAILED_PRECONDITION
/// for a request of no known service (a configuration problem).
fn grpc_refusal(error: &Error) -> &'static str {
    match error {
        Error::BulkheadFull { .. } => GRPC_RESOURCE_EXHAUSTED,
        Error::UnknownService { .. } | Error::InvalidConfig(_) => GRPC_FAILED_PRECONDITION,
        _ => GRPC_UNAVAILABLE,
    }
}
/// gRPC status DEADLINE_EXCEEDED.
const GRPC_DEADLINE_EXCEEDED: &str = "4";

/// The response that says a call was refused: HTTP 503 with `Retry-After`, or a gRPC
/// trailers-only UNAVAILABLE with the reason in `grpc-message`.
fn refusal_response<P: Protocol, R>(error: &Error) -> http::Response<P::Body<R>> {
    let retry_after = match error {
        Error::CircuitOpen { retry_after, .. } => *retry_after,
        _ => None,
    };
    if P::GRPC {
        return grpc_answer::<P, R>(grpc_refusal(error), error, retry_after);
    }
    let mut response = http::Response::new(P::empty());
    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    let headers = response.headers_mut();
    if let Some(after) = retry_after {
        // Whole seconds, rounded up: a client that waits that long finds a probe.
        let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
        headers.insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
    }
    headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_static("0"));
    response
}

/// A gRPC trailers-only response with status `code` and `error` as its message, and
/// gRPC's retry pushback when the time until a probe is known.
fn grpc_answer<P: Protocol, R>(
    code: &'static str,
    error: &Error,
    retry_after: Option<std::time::Duration>,
) -> http::Response<P::Body<R>> {
    let mut response = http::Response::new(P::empty());
    let headers = response.headers_mut();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/grpc"));
    headers.insert("grpc-status", http::HeaderValue::from_static(code));
    if let Ok(message) = http::HeaderValue::from_str(&percent_encode(&error.to_string())) {
        headers.insert("grpc-message", message);
    }
    if let Some(after) = retry_after {
        // How long a retrying client should wait.
        headers.insert("grpc-retry-pushback-ms", http::HeaderValue::from(after.as_millis() as u64));
    }
    response
}

/// `grpc-message` encoding: bytes outside printable ASCII, and `%`, as `%XX`.
fn percent_encode(message: &str) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(message.len());
    for byte in message.bytes() {
        if (0x20..=0x7e).contains(&byte) && byte != b'%' {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn grpc_messages_are_percent_encoded() {
        assert_eq!(percent_encode("open: 30.0s"), "open: 30.0s");
        assert_eq!(percent_encode("100% → x"), "100%25 %E2%86%92 x");
    }
}
#[cfg(all(test, not(loom)))]
mod sizes {
    use tower_service::Service;

    use super::super::{GrpcBody, ResponseBody};

    fn future_size<S: Service<http::Request<()>, Response = http::Response<()>>>(_: &S) -> usize {
        std::mem::size_of::<super::ResponseFuture<S, ()>>()
    }

    /// What a request through the layer moves around is what its cost is (see
    /// `benches/tower.rs`): a future that answers at once stays small, and an HTTP
    /// response keeps the size of the inner one (the body's wrapper is one tag).
    #[test]
    fn the_future_and_the_response_stay_small() {
        let answer = tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, std::convert::Infallible>(http::Response::new(()))
        });
        assert!(future_size(&answer) <= 88, "{} bytes", future_size(&answer));
        // The admission carries no timeout (read when the call first waits) and no
        // slow-call threshold (read when the outcome is recorded).
        let admission = std::mem::size_of::<crate::breaker::Admission>();
        assert!(admission <= 40, "{admission} bytes");
        let bare = std::mem::size_of::<http::Response<()>>();
        assert!(std::mem::size_of::<http::Response<ResponseBody<()>>>() <= bare + 8);
        assert!(std::mem::size_of::<http::Response<GrpcBody<()>>>() <= bare + 80);
    }
}
