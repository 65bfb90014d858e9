//! [`CircuitBreakerLayer`]: how a stack gets its breakers.

use std::any::Any;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use tower_layer::Layer;

use crate::breaker::{Admission, CircuitBreaker};
use crate::classify::Outcome;
use crate::classify::grpc::GrpcClassifier;
use crate::classify::http::HttpClassifier;
use crate::integrations::judge::{Judge, TooManyRequests};
use crate::registry::{Obtained, registry};

use super::identify::{Identify, RequestHead};
use super::protocol::{Grpc, Http, Protocol};
use super::service::{CircuitBreakerService, Hosts, Known, Remembered};

/// What a layer does with a call its breaker refuses (the circuit is open, the probe
/// limit is reached, the bulkhead is full).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WhenOpen {
    /// The call's future fails at once with [`ServiceError::Breaker`](super::ServiceError::Breaker)
    /// (for gRPC: a trailers-only response with `grpc-status` 14 UNAVAILABLE). The
    /// default. `poll_ready` stays ready: a balancer that saw an error there would drop
    /// the endpoint for good.
    Reject,
    /// HTTP: the call's future answers a synthesized `503 Service Unavailable` with a
    /// `Retry-After` header (seconds until the next probe, when known) instead of an
    /// error. A request whose service is not known still fails with
    /// [`Error::UnknownService`](crate::Error::UnknownService). For gRPC it is the same
    /// as `Reject`.
    Respond,
    /// With a fixed service ([`Identify::service`]): `poll_ready` stays `Pending` while
    /// the circuit is open, and wakes the task when a probe is let through; for
    /// endpoints under `tower::balance`, which then routes around this one. A call made
    /// anyway is rejected as with `Reject`.
    Wait,
}

/// What to do with a request whose service cannot be told: no host, no header, or a
/// name no breaker can have (`x-service-name: payments v2`). A host always has one: an
/// IPv6 address or an overlong name is made a valid name (`[::1]` is `__1`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unknown {
    /// Fail the call with [`Error::UnknownService`](crate::Error::UnknownService). The default.
    Reject,
    /// Send it through this service's breaker.
    Service(String),
    /// Send it unprotected.
    Bypass,
}

/// A user's judgement of a response, before the layer's own.
pub(crate) type ResponseClassifier =
    Arc<dyn Fn(http::StatusCode, &http::HeaderMap) -> Option<Outcome> + Send + Sync>;

/// A user's judgement of an inner service's error.
pub(crate) type ErrorClassifier = Arc<dyn Fn(&dyn Any) -> Outcome + Send + Sync>;

/// The layer's settings, shared by its services.
#[derive(Clone)]
pub(crate) struct Shared {
    pub(crate) identify: Identify,
    /// The breaker of a fixed service (`Identify::service`, `Unknown::Service`).
    pub(crate) fixed: Option<&'static CircuitBreaker>,
    pub(crate) unknown: Unknown,
    pub(crate) unknown_breaker: Option<&'static CircuitBreaker>,
    pub(crate) judge: &'static Judge,
    pub(crate) when_open: WhenOpen,
    pub(crate) observe_only: bool,
    pub(crate) classify: Option<ResponseClassifier>,
    pub(crate) classify_error: Option<ErrorClassifier>,
}

impl Shared {
    /// Admits a request through its service's breaker: `Ok(None)` if it goes
    /// unprotected. By host, a request to an authority in `hosts` goes straight to its
    /// breaker, and one whose breaker is never evicted is added to them.
    #[inline(always)]
    pub(crate) fn admit<B>(
        &self,
        request: &http::Request<B>,
        hosts: &mut Hosts,
    ) -> Result<Option<Admission>, crate::Error> {
        if let Some(fixed) = &self.fixed {
            return admit(fixed, self.observe_only).map(Some);
        }
        let head = &RequestHead::of(request);
        if !self.identify.by_host() {
            return self.admit_identified(head, None);
        }
        match hosts.get(head.uri) {
            Some(Known::Static(breaker)) => admit(breaker, self.observe_only).map(Some),
            Some(Known::Counted(breaker)) => self.admit_counted(breaker).map(Some),
            None => self.admit_identified(head, Some(hosts)),
        }
    }

    /// Admits a request through the breaker of the service it is identified as; by
    /// host, its breaker goes into `hosts`.
    #[inline(never)]
    fn admit_identified(
        &self,
        head: &RequestHead<'_>,
        hosts: Option<&mut Hosts>,
    ) -> Result<Option<Admission>, crate::Error> {
        let breaker = match self.identify.service_of(head) {
            Some(service) => match registry().on_demand_or_static(&service, hosts.is_some()) {
                Ok(Obtained::Static(breaker)) => {
                    if let Some(hosts) = hosts {
                        hosts.learn(head.uri, Remembered::Static(breaker));
                    }
                    return admit(breaker, self.observe_only).map(Some);
                }
                Ok(Obtained::Counted(breaker, used)) => {
                    if let (Some(hosts), Some(used)) = (hosts, used) {
                        hosts.learn(head.uri, Remembered::Counted(breaker.clone(), used));
                    }
                    breaker
                }
                // A name no breaker can have (a header's `payments v2`, a closure's):
                // no service was found.
                Err(_) => return self.unknown(head, Some(&service)),
            },
            None => return self.unknown(head, None),
        };
        self.admit_counted(breaker).map(Some)
    }

    /// A request whose service is not known (`invalid`: identification gave a name that
    /// is no valid service name), by [`Unknown`]. An observing layer never refuses one.
    #[cold]
    fn unknown(
        &self,
        head: &RequestHead<'_>,
        invalid: Option<&str>,
    ) -> Result<Option<Admission>, crate::Error> {
        match (&self.unknown, &self.unknown_breaker) {
            (Unknown::Service(_), Some(breaker)) => admit(breaker, self.observe_only).map(Some),
            (Unknown::Bypass, _) | (Unknown::Service(_), None) => Ok(None),
            (Unknown::Reject, _) if self.observe_only => Ok(None),
            (Unknown::Reject, _) => {
                let (method, uri) = (head.method, head.uri);
                let service = match invalid {
                    Some(name) => format!("({name:?}, no valid service name, for {method} {uri})"),
                    None => format!("(none found for {method} {uri})"),
                };
                Err(crate::Error::UnknownService { service: service.into(), suggestion: None })
            }
        }
    }

    /// Admits a request through an on-demand breaker.
    fn admit_counted(&self, breaker: CircuitBreaker) -> Result<Admission, crate::Error> {
        if self.observe_only { Ok(breaker.observe_owned()) } else { breaker.admit_into() }
    }
}

/// A tower [`Layer`] that puts every request through its service's breaker.
///
/// For any `Service<http::Request<B>, Response = http::Response<R>>` whose error
/// implements `Display` (any `std::error::Error`, and tower's `BoxError`): hyper-util's
/// client, a tonic `Channel`, an axum router, a `tower::service_fn`. An error that
/// opens a circuit is its transition's last error, as its `Display` shows it.
///
/// The breakers are the registry's: a service declared by `#[circuit_breaker]` or
/// registered from code is shared with those; any other is created on demand
/// ([`Registry::on_demand`](crate::registry::Registry::on_demand)), so configuration
/// files and runtime control reach it by name. By host, each service remembers the
/// breakers of the last four hosts it sent requests to, so that a request to one of
/// them skips the host's parsing and the registry's lookup.
///
/// ```
/// use breaker_runtime::integrations::tower::{CircuitBreakerLayer, Identify};
/// use tower_layer::Layer;
///
/// // Per host, for an HTTP client:
/// let per_host = CircuitBreakerLayer::new();
/// // One named service, for a gRPC channel:
/// let grpc = CircuitBreakerLayer::grpc().identify(Identify::service("inventory-doc"));
/// # let _ = (per_host, grpc);
/// ```
///
/// A response is judged when its head arrives (HTTP: by status, see
/// [`classify::http`](crate::classify::http); 429 by [`TooManyRequests`]), or for gRPC
/// when its status arrives: in the headers (a trailers-only response) or in the
/// trailers, which the response body reports as it is read. A body dropped before its
/// end records nothing and gives back a probe place. A response judged a failure is
/// still handed to the caller. An error of the inner service (connection refused or
/// reset, DNS, the client's timeout) is a failure.
///
/// The breaker's `timeout` runs from the call until the response head (gRPC: also
/// until then, not for the whole stream); when it passes, the inner future is dropped
/// and the call fails with [`Error::Timeout`](crate::Error::Timeout). A client's own
/// timeout shorter than it fires first, and counts as a failure too. The timeout and
/// the slow-call threshold a call is held to are the breaker's when the call first
/// waits and when it is answered: a retune reaches calls in flight. Its bulkhead
/// (`max_concurrent`) applies without a queue: a full bulkhead refuses the call at
/// once; put `tower::buffer` or `tower::limit` in front to queue.
///
/// The protocol `P` is a type, [`Http`] ([`new`](CircuitBreakerLayer::new), the
/// default) or [`Grpc`] ([`grpc`](CircuitBreakerLayer::grpc)): it decides how responses
/// are judged and the body type the service's responses have
/// ([`ResponseBody`](super::ResponseBody) or [`GrpcBody`](super::GrpcBody)).
pub struct CircuitBreakerLayer<P = Http> {
    shared: Arc<Shared>,
    protocol: PhantomData<fn() -> P>,
}

impl<P> Clone for CircuitBreakerLayer<P> {
    fn clone(&self) -> Self {
        CircuitBreakerLayer { shared: self.shared.clone(), protocol: PhantomData }
    }
}

impl Default for CircuitBreakerLayer {
    fn default() -> Self {
        CircuitBreakerLayer::new()
    }
}

impl CircuitBreakerLayer {
    /// An HTTP layer: a breaker per host ([`Identify::host`]), responses judged by
    /// status.
    pub fn new() -> CircuitBreakerLayer {
        CircuitBreakerLayer::with(Identify::host())
    }

    /// A gRPC layer: a breaker per gRPC service ([`Identify::grpc_service`]),
    /// responses judged by `grpc-status`.
    pub fn grpc() -> CircuitBreakerLayer<Grpc> {
        CircuitBreakerLayer::with(Identify::grpc_service())
    }
}

impl<P: Protocol> CircuitBreakerLayer<P> {
    fn with(identify: Identify) -> CircuitBreakerLayer<P> {
        let fixed = identify.fixed().map(named);
        let shared = Shared {
            identify,
            fixed,
            unknown: Unknown::Reject,
            unknown_breaker: None,
            judge: Judge::default().interned(),
            when_open: WhenOpen::Reject,
            observe_only: false,
            classify: None,
            classify_error: None,
        };
        CircuitBreakerLayer { shared: Arc::new(shared), protocol: PhantomData }
    }

    fn shared(&mut self) -> &mut Shared {
        Arc::make_mut(&mut self.shared)
    }

    fn judge(&mut self, change: impl FnOnce(&mut Judge)) {
        let mut judge = *self.shared.judge;
        change(&mut judge);
        self.shared().judge = judge.interned();
    }

    /// How the service of a request is found.
    ///
    /// # Panics
    ///
    /// If a fixed service name ([`Identify::service`]) is not a valid service name.
    pub fn identify(mut self, identify: Identify) -> CircuitBreakerLayer<P> {
        let fixed = identify.fixed().map(named);
        let shared = self.shared();
        shared.identify = identify;
        shared.fixed = fixed;
        self
    }

    /// How HTTP 429 counts (default: [`TooManyRequests::DEFAULT`], the windowed rule).
    pub fn too_many_requests(mut self, rule: TooManyRequests) -> CircuitBreakerLayer<P> {
        self.judge(|j| j.too_many_requests = rule);
        self
    }

    /// The HTTP status table (its 429 setting is replaced by
    /// [`too_many_requests`](Self::too_many_requests)).
    pub fn http_classifier(mut self, classifier: HttpClassifier) -> CircuitBreakerLayer<P> {
        self.judge(|j| j.http = classifier);
        self
    }

    /// The gRPC status table, with a service's overrides.
    pub fn grpc_classifier(mut self, classifier: GrpcClassifier) -> CircuitBreakerLayer<P> {
        self.judge(|j| j.grpc = classifier);
        self
    }

    /// Judges responses first by `classify`, from their status and headers:
    /// `Some(outcome)` decides, `None` leaves the response to the layer's rules.
    pub fn classify<F>(mut self, classify: F) -> CircuitBreakerLayer<P>
    where
        F: Fn(http::StatusCode, &http::HeaderMap) -> Option<Outcome> + Send + Sync + 'static,
    {
        self.shared().classify = Some(Arc::new(classify));
        self
    }

    /// Judges errors of the inner service by `classify` instead of counting each as a
    /// failure. It sees the inner service's error type, to downcast to
    /// (`error.downcast_ref::<hyper_util::client::legacy::Error>()`, say).
    pub fn classify_error<F>(mut self, classify: F) -> CircuitBreakerLayer<P>
    where
        F: Fn(&dyn Any) -> Outcome + Send + Sync + 'static,
    {
        self.shared().classify_error = Some(Arc::new(classify));
        self
    }

    /// What a refused call gets (default [`WhenOpen::Reject`]).
    pub fn when_open(mut self, when_open: WhenOpen) -> CircuitBreakerLayer<P> {
        self.shared().when_open = when_open;
        self
    }

    /// What a request whose service cannot be told gets (default [`Unknown::Reject`]).
    ///
    /// # Panics
    ///
    /// If [`Unknown::Service`] names an invalid service name.
    pub fn unknown_service(mut self, unknown: Unknown) -> CircuitBreakerLayer<P> {
        let breaker = match &unknown {
            Unknown::Service(name) => Some(named(name)),
            _ => None,
        };
        let shared = self.shared();
        shared.unknown = unknown;
        shared.unknown_breaker = breaker;
        self
    }

    /// Observes without ever refusing a call: each call's outcome and latency are
    /// counted in its breaker's window and metrics, as in metrics-only mode, but never
    /// judged (they do not open the circuit), and the circuit's state, even forced
    /// open, refuses nothing. No timeout and no bulkhead apply; a request whose service
    /// cannot be told passes unobserved, even with [`Unknown::Reject`]. For a
    /// server-side stack, which reports how its own service answers.
    pub fn observe_only(mut self) -> CircuitBreakerLayer<P> {
        self.shared().observe_only = true;
        self
    }
}

#[inline(always)]
fn admit(breaker: &'static CircuitBreaker, observe_only: bool) -> Result<Admission, crate::Error> {
    if observe_only { Ok(breaker.observe_owned()) } else { breaker.admit_static() }
}

/// The registry's breaker of a fixed service, created if none is declared.
fn named(service: &str) -> &'static CircuitBreaker {
    match registry().named_static(service) {
        Ok(breaker) => breaker,
        Err(error) => panic!("a layer's service: {error}"),
    }
}

impl<S, P> Layer<S> for CircuitBreakerLayer<P> {
    type Service = CircuitBreakerService<S, P>;

    fn layer(&self, inner: S) -> CircuitBreakerService<S, P> {
        CircuitBreakerService::new(inner, self.shared.clone())
    }
}

impl<P: Protocol> fmt::Debug for CircuitBreakerLayer<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerLayer")
            .field("identify", &self.shared.identify)
            .field("protocol", &P::NAME)
            .field("when_open", &self.shared.when_open)
            .field("unknown", &self.shared.unknown)
            .field("observe_only", &self.shared.observe_only)
            .finish()
    }
}
