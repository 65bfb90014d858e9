//! [`ResponseFuture`]: one request through its breaker.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tower_service::Service;

use crate::breaker::{Admission, OwnedSleep, failing};
use crate::classify::Outcome;
use crate::error::Error;
use crate::integrations::judge::{Judge, Origin, Protocol, grpc_status_of_http, note_client_error};

use super::body::ResponseBody;
use super::error::ServiceError;
use super::layer::{Shared, WhenOpen};

pin_project_lite::pin_project! {
    /// The future of [`CircuitBreakerService`](super::CircuitBreakerService): the inner
    /// service's, judged when it answers, or the breaker's refusal.
    pub struct ResponseFuture<S, B>
    where
        S: Service<http::Request<B>>,
    {
        #[pin]
        state: Stage<S, B, S::Future>,
        // The call's admission, until the call is judged (or handed to the body).
        admission: Option<Admission>,
        // The breaker's call timeout, started when the call first waits (boxed: most
        // futures through a client wait, and the timer is most of their size, so a
        // future that answers at once stays small to move).
        timer: Option<Pin<Box<OwnedSleep>>>,
        judge: &'static Judge,
        // Where the request went (HTTP), to tell a redirect loop.
        origin: Origin,
        // The layer's settings, when it has classifiers of the user's.
        custom: Option<Arc<Shared>>,
    }
}

pin_project_lite::pin_project! {
    #[project = StageProj]
    #[project_replace = StageTaken]
    enum Stage<S, B, F> {
        // Waiting for the inner service to be ready: rare (the circuit was open when
        // `poll_ready` asked, and let the call through since), so kept out of the
        // future's own size.
        NotReady { waiting: Box<(S, Option<http::Request<B>>)> },
        // The inner service's future.
        Calling { #[pin] future: F },
        // Answered without the inner service: with the error, or (`respond`) with a
        // response that says it (HTTP 503, gRPC UNAVAILABLE).
        Refused { error: Error, respond: bool },
        Done,
    }
}

impl<S, B, R> ResponseFuture<S, B>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
{
    #[inline(always)]
    fn with(
        stage: Stage<S, B, S::Future>,
        admission: Option<Admission>,
        origin: Origin,
        shared: &Arc<Shared>,
    ) -> Self {
        let timer = None;
        let custom = (shared.classify.is_some() || shared.classify_error.is_some()).then(|| shared.clone());
        ResponseFuture { state: stage, admission, timer, judge: shared.judge, origin, custom }
    }

    #[inline(always)]
    pub(crate) fn calling(
        future: S::Future,
        admission: Option<Admission>,
        origin: Origin,
        shared: &Arc<Shared>,
    ) -> Self {
        ResponseFuture::with(Stage::Calling { future }, admission, origin, shared)
    }

    pub(crate) fn not_ready(
        service: S,
        request: http::Request<B>,
        admission: Option<Admission>,
        origin: Origin,
        shared: &Arc<Shared>,
    ) -> Self {
        let waiting = Box::new((service, Some(request)));
        ResponseFuture::with(Stage::NotReady { waiting }, admission, origin, shared)
    }

    pub(crate) fn refused(error: Error, shared: &Arc<Shared>) -> Self {
        let respond = shared.when_open == WhenOpen::Respond || shared.judge.protocol == Protocol::Grpc;
        let stage = Stage::Refused { error, respond };
        let mut future = ResponseFuture::with(stage, None, Origin::default(), shared);
        future.custom = None;
        future
    }
}

impl<S, B, R> Future for ResponseFuture<S, B>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: 'static,
{
    type Output = Result<http::Response<ResponseBody<R>>, ServiceError<S::Error>>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.state.as_mut().project() {
                StageProj::Calling { future } => {
                    let answer = match future.poll(cx) {
                        Poll::Ready(answer) => answer,
                        Poll::Pending => {
                            if elapsed(this.admission, this.timer, cx) {
                                // Cut by the breaker's timeout: the inner future goes
                                // now, with whatever it holds.
                                this.state.set(Stage::Done);
                                return Poll::Ready(timed_out(this.admission, this.judge.protocol));
                            }
                            return Poll::Pending;
                        }
                    };
                    this.state.set(Stage::Done);
                    return Poll::Ready(match answer {
                        Ok(response) => Ok(judge_response(
                            this.judge,
                            this.origin,
                            this.custom.as_deref(),
                            this.admission,
                            response,
                        )),
                        Err(error) => {
                            if let Some(admission) = this.admission.take() {
                                let outcome =
                                    match this.custom.as_deref().and_then(|s| s.classify_error.as_ref()) {
                                        Some(classify) => classify(&error),
                                        None => Outcome::Failure,
                                    };
                                admission.record(outcome);
                            }
                            Err(ServiceError::Inner(error))
                        }
                    });
                }
                StageProj::NotReady { waiting } => match waiting.0.poll_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        let (service, request) = &mut **waiting;
                        let request = request.take().expect("a request waits for its service");
                        let future = service.call(request);
                        this.state.set(Stage::Calling { future });
                    }
                    Poll::Ready(Err(error)) => {
                        this.state.set(Stage::Done);
                        if let Some(admission) = this.admission.take() {
                            admission.record(Outcome::Failure);
                        }
                        return Poll::Ready(Err(ServiceError::Inner(error)));
                    }
                    Poll::Pending => {
                        if elapsed(this.admission, this.timer, cx) {
                            this.state.set(Stage::Done);
                            return Poll::Ready(timed_out(this.admission, this.judge.protocol));
                        }
                        return Poll::Pending;
                    }
                },
                StageProj::Refused { .. } => {
                    let StageTaken::Refused { error, respond } =
                        this.state.as_mut().project_replace(Stage::Done)
                    else {
                        unreachable!("the stage was Refused")
                    };
                    if respond {
                        return Poll::Ready(Ok(refusal_response(this.judge.protocol, &error)));
                    }
                    return Poll::Ready(Err(ServiceError::Breaker(error)));
                }
                StageProj::Done => panic!("a breaker's response future was polled after it completed"),
            }
        }
    }
}

/// Whether an admitted call's timeout has passed (starting its timer at its first
/// wait).
fn elapsed(
    admission: &Option<Admission>,
    timer: &mut Option<Pin<Box<OwnedSleep>>>,
    cx: &mut Context<'_>,
) -> bool {
    let Some(admission) = admission else { return false };
    if admission.timeout().is_none() {
        return false;
    }
    timer.get_or_insert_with(|| Box::pin(admission.timer())).as_mut().poll_elapsed(cx).is_ready()
}

/// The call timed out: recorded, and the error that says so (for gRPC, a
/// trailers-only DEADLINE_EXCEEDED response, which every gRPC client reads as such).
fn timed_out<R, E>(
    admission: &mut Option<Admission>,
    protocol: Protocol,
) -> Result<http::Response<ResponseBody<R>>, ServiceError<E>> {
    let admission = admission.take().expect("only an admitted call has a timer");
    let error = Error::Timeout {
        service: admission.breaker().service(),
        timeout: admission.timeout().unwrap_or_default(),
    };
    admission.timed_out();
    match protocol {
        Protocol::Grpc => Ok(grpc_answer(GRPC_DEADLINE_EXCEEDED, &error, None)),
        Protocol::Http => Err(ServiceError::Breaker(error)),
    }
}

/// Judges a response (or leaves it to its body, for a gRPC status in the trailers).
#[inline(always)]
fn judge_response<R>(
    judge: &'static Judge,
    origin: &Origin,
    custom: Option<&Shared>,
    admission: &mut Option<Admission>,
    response: http::Response<R>,
) -> http::Response<ResponseBody<R>> {
    let Some(taken) = admission.take() else {
        return response.map(ResponseBody::plain);
    };
    let status = response.status();
    let custom =
        custom.and_then(|s| s.classify.as_ref()).and_then(|classify| classify(status, response.headers()));
    let outcome = match (custom, judge.protocol) {
        (Some(outcome), Protocol::Http) => {
            note_client_error(taken.breaker(), status.as_u16(), outcome);
            outcome
        }
        (Some(outcome), Protocol::Grpc) => outcome,
        (None, Protocol::Http) => {
            judge.http_response(taken.breaker(), origin, status.as_u16(), response.headers())
        }
        (None, Protocol::Grpc) => match response.headers().get("grpc-status") {
            // Trailers-only: the status is in the headers.
            Some(code) => judge.grpc_status(code.as_bytes()),
            None if status != http::StatusCode::OK => judge.grpc.code(grpc_status_of_http(status.as_u16())),
            // The status comes in the trailers: the body reports it.
            None => return response.map(|body| ResponseBody::watched(body, taken, judge)),
        },
    };
    if outcome == Outcome::Failure {
        // A transition this failure triggers names the status.
        failing::during(&failing::HttpStatus(status.as_u16()), || taken.record(outcome));
    } else {
        taken.record(outcome);
    }
    response.map(ResponseBody::plain)
}

/// gRPC status UNAVAILABLE.
const GRPC_UNAVAILABLE: &str = "14";
/// gRPC status DEADLINE_EXCEEDED.
const GRPC_DEADLINE_EXCEEDED: &str = "4";

/// The response that says a call was refused: HTTP 503 with `Retry-After`, or a gRPC
/// trailers-only UNAVAILABLE with the reason in `grpc-message`.
fn refusal_response<R>(protocol: Protocol, error: &Error) -> http::Response<ResponseBody<R>> {
    let retry_after = match error {
        Error::CircuitOpen { retry_after, .. } => *retry_after,
        _ => None,
    };
    if protocol == Protocol::Grpc {
        return grpc_answer(GRPC_UNAVAILABLE, error, retry_after);
    }
    let mut response = http::Response::new(ResponseBody::empty());
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
fn grpc_answer<R>(
    code: &'static str,
    error: &Error,
    retry_after: Option<std::time::Duration>,
) -> http::Response<ResponseBody<R>> {
    let mut response = http::Response::new(ResponseBody::empty());
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
