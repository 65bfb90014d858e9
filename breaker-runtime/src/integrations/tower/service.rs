//! [`CircuitBreakerService`]: the layer's service.

use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tower_service::Service;

use crate::breaker::{CircuitBreaker, OwnedSleep, State};
use crate::integrations::judge::Origin;
use crate::registry::OnDemandUse;

use super::error::ServiceError;
use super::future::{Call, ResponseFuture};
use super::layer::{Shared, WhenOpen};
use super::protocol::{Http, Protocol};

/// How often a forced-open circuit is looked at again by a service waiting in
/// [`WhenOpen::Wait`] (a forced-open circuit has no probe time to wake at).
const FORCED_OPEN_RECHECK: Duration = Duration::from_secs(1);

/// A service whose requests go through their service's breaker; made by
/// [`CircuitBreakerLayer`](super::CircuitBreakerLayer), judging responses by protocol
/// `P` ([`Http`] or [`Grpc`](super::Grpc)).
pub struct CircuitBreakerService<S, P = Http> {
    inner: S,
    shared: Arc<Shared>,
    /// Whether `inner` said it is ready (and no call used that readiness yet).
    ready: bool,
    /// [`WhenOpen::Wait`]: the wait until the next probe.
    wait: Option<Pin<Box<OwnedSleep>>>,
    /// By host: the breakers of the last hosts seen.
    hosts: Hosts,
    protocol: PhantomData<fn() -> P>,
}

impl<S, P> CircuitBreakerService<S, P> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> CircuitBreakerService<S, P> {
        CircuitBreakerService {
            inner,
            shared,
            ready: false,
            wait: None,
            hosts: Hosts::default(),
            protocol: PhantomData,
        }
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

impl<S: Clone, P> Clone for CircuitBreakerService<S, P> {
    fn clone(&self) -> Self {
        // A clone has not been polled ready; it knows the hosts this one knows.
        let mut clone = CircuitBreakerService::new(self.inner.clone(), self.shared.clone());
        clone.hosts = self.hosts.clone();
        clone
    }
}

impl<S, B, R, P> Service<http::Request<B>> for CircuitBreakerService<S, P>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone,
    S::Error: fmt::Display + 'static,
    P: Protocol,
{
    type Response = http::Response<P::Body<R>>;
    type Error = ServiceError<S::Error>;
    type Future = ResponseFuture<S, B, P>;

    #[inline(always)]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // With one breaker for every request, its state is known before the request:
        // an open circuit is answered in `call` without waiting for the inner service
        // to be ready (a forced-open breaker cuts callers off even while the inner
        // service is stuck), or, in `Wait` mode, the service waits for the probe time.
        // One load on the way of a closed circuit; the rest out of line.
        if let Some(breaker) = self.shared.fixed {
            if matches!(breaker.peek_state(), State::Open | State::ForcedOpen) || self.wait.is_some() {
                if let Some(open) = self.poll_open(breaker, cx) {
                    return open;
                }
            }
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
        let call = match self.shared.admit(&request, &mut self.hosts) {
            Ok(Some(admission)) => Some(Call::new(admission, origin::<P, B>(&request), &self.shared)),
            Ok(None) => None,
            Err(error) => return ResponseFuture::refused(error, &self.shared),
        };
        // At once if the inner service is ready, else in the future, which waits for
        // it to be ready (the breaker's state was known open when asked, so the inner
        // service was not asked; the circuit let the call through since).
        if std::mem::take(&mut self.ready) {
            ResponseFuture::calling(self.inner.call(request), call)
        } else {
            let clone = self.inner.clone();
            let inner = std::mem::replace(&mut self.inner, clone);
            ResponseFuture::not_ready(inner, request, call)
        }
    }
}

impl<S, P> CircuitBreakerService<S, P> {
    /// `poll_ready` with the fixed breaker open (or a wait left from when it was):
    /// `Some` when that decides readiness, `None` to ask the inner service.
    #[inline(always)]
    fn poll_open<E>(
        &mut self,
        breaker: &'static CircuitBreaker,
        cx: &mut Context<'_>,
    ) -> Option<Poll<Result<(), E>>> {
        if self.shared.when_open != WhenOpen::Wait && !self.shared.observe_only {
            // Answered in `call`, at once.
            return Some(Poll::Ready(Ok(())));
        }
        self.poll_wait(breaker, cx).then_some(Poll::Pending)
    }

    /// [`WhenOpen::Wait`]: whether to stay pending until the next probe time.
    #[inline(never)]
    fn poll_wait(&mut self, breaker: &'static CircuitBreaker, cx: &mut Context<'_>) -> bool {
        if !self.shared.observe_only && matches!(breaker.peek_state(), State::Open | State::ForcedOpen) {
            let until = breaker.until_probe().unwrap_or(FORCED_OPEN_RECHECK);
            if !until.is_zero() {
                let wait = self.wait.get_or_insert_with(|| Box::pin(breaker.sleep_owned(until)));
                if wait.as_mut().poll_elapsed(cx).is_pending() {
                    return true;
                }
                self.wait = None;
                // Looked at again: still open (forced), or time for a probe.
                cx.waker().wake_by_ref();
                return true;
            }
        }
        self.wait = None;
        false
    }
}

/// How many hosts a service remembers, and the longest authority it remembers.
const HOSTS: usize = 4;
const HOST_BYTES: usize = 47;

/// The breakers of the last hosts a by-host service sent requests to, by the request
/// URI's authority as written: a request to one of them skips the host's parsing and
/// the registry's lookup (a shared lock and, for a breaker that is never evicted, a
/// counted reference). An on-demand breaker is remembered with its use, which each
/// request marks (so that the registry still evicts the least recently used), and
/// forgotten once the registry evicted any breaker since it was found.
#[derive(Default)]
pub(crate) struct Hosts {
    hosts: [Option<Host>; HOSTS],
    // The place the next host takes (round robin).
    next: u8,
}

struct Host {
    len: u8,
    authority: [u8; HOST_BYTES],
    breaker: Remembered,
}

/// A remembered breaker.
pub(crate) enum Remembered {
    /// Never evicted.
    Static(&'static CircuitBreaker),
    /// On demand.
    Counted(CircuitBreaker, OnDemandUse),
}

/// A remembered breaker, for one request (without the use stamp `Obtained` carries).
pub(crate) enum Known {
    Static(&'static CircuitBreaker),
    Counted(CircuitBreaker),
}

impl Clone for Hosts {
    /// A clone knows the breakers that are never evicted (copied for nothing); it
    /// learns the others again.
    fn clone(&self) -> Hosts {
        let hosts = self.hosts.each_ref().map(|host| match host {
            Some(Host { len, authority, breaker: Remembered::Static(breaker) }) => {
                Some(Host { len: *len, authority: *authority, breaker: Remembered::Static(breaker) })
            }
            _ => None,
        });
        Hosts { hosts, next: self.next }
    }
}

impl Hosts {
    /// The breaker of requests to `uri`'s authority, if known (and, on demand, still
    /// the registry's).
    #[inline]
    pub(crate) fn get(&mut self, uri: &http::Uri) -> Option<Known> {
        let authority = uri.authority()?.as_str().as_bytes();
        let slot =
            self.hosts.iter_mut().find(|host| host.as_ref().is_some_and(|h| h.authority() == authority))?;
        let stale = matches!(slot, Some(Host { breaker: Remembered::Counted(_, used), .. }) if !used.touch());
        if stale {
            // The registry evicted a breaker since: looked up again.
            *slot = None;
            return None;
        }
        match &slot.as_ref()?.breaker {
            Remembered::Static(breaker) => Some(Known::Static(breaker)),
            Remembered::Counted(breaker, _) => Some(Known::Counted(breaker.clone())),
        }
    }

    /// Remembers that requests to `uri`'s authority go to `breaker` (if it has one
    /// short enough to keep).
    pub(crate) fn learn(&mut self, uri: &http::Uri, breaker: Remembered) {
        let Some(authority) = uri.authority().map(|a| a.as_str().as_bytes()) else { return };
        if authority.len() > HOST_BYTES {
            return;
        }
        let mut host = Host { len: authority.len() as u8, authority: [0; HOST_BYTES], breaker };
        host.authority[..authority.len()].copy_from_slice(authority);
        self.hosts[usize::from(self.next)] = Some(host);
        self.next = (self.next + 1) % HOSTS as u8;
    }
}

impl Host {
    fn authority(&self) -> &[u8] {
        &self.authority[..usize::from(self.len)]
    }
}

/// Where an HTTP request went, to tell a redirect back to it (a loop); nothing for gRPC.
#[inline(always)]
fn origin<P: Protocol, B>(request: &http::Request<B>) -> Origin {
    if P::GRPC {
        return Origin::default();
    }
    let uri = request.uri();
    let (scheme, authority) =
        (Origin::scheme(uri.scheme_str().unwrap_or("")), uri.authority().map_or("", |a| a.as_str()));
    Origin::new(scheme, authority, uri.path_and_query().map_or("/", |p| p.as_str()), request.method())
}

impl<S: fmt::Debug, P> fmt::Debug for CircuitBreakerService<S, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerService")
            .field("inner", &self.inner)
            .field("identify", &self.shared.identify)
            .finish()
    }
}
