//! [`CircuitBreakerService`]: the layer's service.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tower_service::Service;

use crate::breaker::{Admission, OwnedSleep, State};
use crate::integrations::judge::{Origin, Protocol};

use super::ResponseBody;
use super::error::ServiceError;
use super::future::ResponseFuture;
use super::identify::RequestHead;
use super::layer::{CircuitBreakerLayer, Shared, WhenOpen};

/// How often a forced-open circuit is looked at again by a service waiting in
/// [`WhenOpen::Wait`] (a forced-open circuit has no probe time to wake at).
const FORCED_OPEN_RECHECK: Duration = Duration::from_secs(1);

/// A service whose requests go through their service's breaker; made by
/// [`CircuitBreakerLayer`].
pub struct CircuitBreakerService<S> {
    inner: S,
    shared: Arc<Shared>,
    /// Whether `inner` said it is ready (and no call used that readiness yet).
    ready: bool,
    /// [`WhenOpen::Wait`]: the wait until the next probe.
    wait: Option<Pin<Box<OwnedSleep>>>,
}

impl<S> CircuitBreakerService<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> CircuitBreakerService<S> {
        CircuitBreakerService { inner, shared, ready: false, wait: None }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: Clone> Clone for CircuitBreakerService<S> {
    fn clone(&self) -> Self {
        // A clone has not been polled ready.
        CircuitBreakerService {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
            ready: false,
            wait: None,
        }
    }
}

impl<S, B, R> Service<http::Request<B>> for CircuitBreakerService<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone,
    S::Error: 'static,
{
    type Response = http::Response<ResponseBody<R>>;
    type Error = ServiceError<S::Error>;
    type Future = ResponseFuture<S, B>;

    #[inline(always)]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // With one breaker for every request, its state is known before the request:
        // an open circuit is answered in `call` without waiting for the inner service
        // to be ready (a forced-open breaker cuts callers off even while the inner
        // service is stuck), or, in `Wait` mode, the service waits for the probe time.
        if let (Some(breaker), false) = (&self.shared.fixed, self.shared.observe_only) {
            if matches!(breaker.peek_state(), State::Open | State::ForcedOpen) {
                if self.shared.when_open != WhenOpen::Wait {
                    return Poll::Ready(Ok(()));
                }
                let until = breaker.until_probe().unwrap_or(FORCED_OPEN_RECHECK);
                if !until.is_zero() {
                    let wait = self.wait.get_or_insert_with(|| Box::pin(breaker.sleep_owned(until)));
                    if wait.as_mut().poll_elapsed(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.wait = None;
                    // Looked at again: still open (forced), or time for a probe.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
            }
            self.wait = None;
        }
        if self.ready {
            return Poll::Ready(Ok(()));
        }
        match self.inner.poll_ready(cx) {
            Poll::Ready(Ok(())) => {
                self.ready = true;
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(ServiceError::Inner(error))),
            Poll::Pending => Poll::Pending,
        }
    }

    #[inline(always)]
    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match CircuitBreakerLayer::admit(&self.shared, &RequestHead::of(&request)) {
            Ok(admission) => forward(self, admission, request),
            Err(error) => ResponseFuture::refused(error, &self.shared),
        }
    }
}

/// Hands the request to the inner service: at once if it is ready, else in the
/// future, which waits for it to be ready (the breaker's state was known open when
/// asked, so the inner service was not asked; the circuit let it through since).
#[inline(always)]
fn forward<S, B, R>(
    service: &mut CircuitBreakerService<S>,
    admission: Option<Admission>,
    request: http::Request<B>,
) -> ResponseFuture<S, B>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone,
{
    // A redirect back to the request is a loop: remember where it went (HTTP).
    let origin = match (&admission, service.shared.judge.protocol) {
        (Some(_), Protocol::Http) => {
            let uri = request.uri();
            let authority = uri.authority().map_or("", |a| a.as_str());
            Origin::new(authority, uri.path_and_query().map_or("/", |p| p.as_str()))
        }
        _ => Origin::default(),
    };
    if std::mem::take(&mut service.ready) {
        let future = service.inner.call(request);
        ResponseFuture::calling(future, admission, origin, &service.shared)
    } else {
        let clone = service.inner.clone();
        let inner = std::mem::replace(&mut service.inner, clone);
        ResponseFuture::not_ready(inner, request, admission, origin, &service.shared)
    }
}

impl<S: fmt::Debug> fmt::Debug for CircuitBreakerService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerService")
            .field("inner", &self.inner)
            .field("identify", &self.shared.identify)
            .finish()
    }
}
