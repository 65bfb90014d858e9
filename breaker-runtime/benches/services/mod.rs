//! Inner services the tower benchmarks (`tower.rs`, `instructions.rs`) put the layer
//! around, and the floor its rows are read against.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use breaker_runtime::integrations::tower::ServiceError;
use breaker_runtime::{CircuitBreaker, Config, Outcome, Permit};
use tower::Service;

/// The inner future of a service that waits once (waking itself at once), as a
/// client's does, then answers 200.
pub struct AfterOneWait(bool);

impl Future for AfterOneWait {
    type Output = Result<http::Response<()>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if std::mem::replace(&mut self.0, true) {
            return Poll::Ready(Ok(http::Response::new(())));
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// A service whose futures wait once.
pub fn waiting()
-> impl Service<http::Request<()>, Response = http::Response<()>, Error = Infallible, Future: Send> + Clone {
    tower::service_fn(|_: http::Request<()>| AfterOneWait(false))
}

/// The least a layer around the breaker can do, as the floor the layer's rows are read
/// against: the core's [`Permit`] taken in `call` (no identification, no timeout, no
/// bulkhead), the inner future polled in a future of its own, the response judged
/// 5xx or not and wrapped in a body type of its own (as the layer's is), an error of
/// the inner service a failure; an open circuit answered with the breaker's error
/// without calling the inner service. Nothing else of the layer: no readiness gate, no
/// refusal as a response, no redirect or 429 rule, no last error.
pub struct PermitLayer<S> {
    inner: S,
    breaker: &'static CircuitBreaker,
}

impl<S> PermitLayer<S> {
    /// `inner` through a breaker of its own, with a threshold of 5 and nothing else.
    pub fn new(inner: S) -> PermitLayer<S> {
        let config = Config::builder()
            .threshold(5)
            .recovery_timeout(std::time::Duration::from_secs(3600))
            .no_timeout()
            .no_bulkhead()
            .build()
            .unwrap();
        let breaker = Box::leak(Box::new(CircuitBreaker::new("bench-permit-floor", config).unwrap()));
        PermitLayer { inner, breaker }
    }

    /// Whether its circuit is open.
    pub fn is_open(&self) -> bool {
        self.breaker.state() == breaker_runtime::State::Open
    }
}

/// [`PermitLayer`]'s body: the inner one, or (never made here) one of its own.
pub enum FloorBody<B> {
    Inner(B),
    // As the layer's refusals are (never made here).
    #[allow(dead_code)]
    Own,
}

pin_project_lite::pin_project! {
    /// [`PermitLayer`]'s future.
    #[project = PermitProj]
    pub enum PermitFuture<F> {
        Calling { #[pin] future: F, permit: Option<Permit<'static>> },
        Refused { error: Option<breaker_runtime::Error> },
    }
}

impl<S, B, R> Service<http::Request<B>> for PermitLayer<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
{
    type Response = http::Response<FloorBody<R>>;
    type Error = ServiceError<S::Error>;
    type Future = PermitFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(ServiceError::Inner)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match self.breaker.try_acquire() {
            Ok(permit) => PermitFuture::Calling { future: self.inner.call(request), permit: Some(permit) },
            Err(error) => PermitFuture::Refused { error: Some(error) },
        }
    }
}

impl<F, R, E> Future for PermitFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
{
    type Output = Result<http::Response<FloorBody<R>>, ServiceError<E>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (future, permit) = match self.project() {
            PermitProj::Calling { future, permit } => (future, permit),
            PermitProj::Refused { error } => {
                let error = error.take().expect("polled after it answered");
                return Poll::Ready(Err(ServiceError::Breaker(error)));
            }
        };
        let answer = std::task::ready!(future.poll(cx));
        let permit = permit.take().expect("polled after it answered");
        match answer {
            Ok(response) => {
                let failed = response.status().is_server_error();
                permit.record(if failed { Outcome::Failure } else { Outcome::Success });
                Poll::Ready(Ok(response.map(FloorBody::Inner)))
            }
            Err(error) => {
                permit.failure();
                Poll::Ready(Err(ServiceError::Inner(error)))
            }
        }
    }
}
