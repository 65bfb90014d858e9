//! A [`reqwest_middleware::Middleware`] that puts every request through its service's
//! breaker (feature `reqwest`).
//!
//! ```no_run
//! use breaker_runtime::integrations::reqwest::CircuitBreakerMiddleware;
//! use reqwest_middleware::ClientBuilder;
//!
//! # async fn demo() -> Result<(), reqwest_middleware::Error> {
//! let client = ClientBuilder::new(reqwest::Client::new())
//!     // Inside a retry middleware (added before this one), so that every attempt
//!     // is counted and an open circuit stops the retries.
//!     .with(CircuitBreakerMiddleware::new())
//!     .build();
//! let response = client.get("http://127.0.0.1:8080/quote").send().await?;
//! # let _ = response;
//! # Ok(())
//! # }
//! ```
//!
//! The service is the URL's host by default, normalised as
//! [`Identify::host`](crate::integrations::tower::Identify::host) does (lowercased,
//! `www.` removed, aliases); [`CircuitBreakerMiddleware::identify`] takes any
//! [`Identify`] rule, and a request can name its service itself with a [`Service`]
//! extension (`client.get(url).with_extension(Service::new("payments"))`).
//!
//! A response is judged by status like the tower layer's (5xx and 408 failures, 429 by
//! [`TooManyRequests`], other 4xx and 3xx ignored, a redirect back to the request a
//! failure) and still handed back; a `reqwest::Error` (connect, timeout, reset, too
//! many redirects) is a failure. A refused call fails with
//! `reqwest_middleware::Error::Middleware` holding the breaker's [`Error`]: find it with
//! [`breaker_error`]. `reqwest-retry` treats that error as fatal, so an open circuit
//! ends the retries.

use std::borrow::Cow;
use std::future::poll_fn;
use std::pin::pin;
use std::task::Poll;

use reqwest_middleware::{Middleware, Next};

use crate::breaker::{Admission, CircuitBreaker, failing};
use crate::classify::Outcome;
use crate::error::Error;
use crate::integrations::judge::{Judge, Origin};
use crate::integrations::tower::{Identify, RequestHead};
use crate::registry::registry;

pub use crate::integrations::judge::TooManyRequests;

/// The service a request goes to, named by the request itself (a request extension:
/// `RequestBuilder::with_extension(Service::new("payments"))`). It wins over the
/// middleware's own identification.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service(Cow<'static, str>);

impl Service {
    /// The service named `name`.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Service {
        Service(name.into())
    }
}

/// A protected function may return `reqwest_middleware::Result<T>`: the breaker's
/// refusals come back in it as [`Error::Middleware`](reqwest_middleware::Error::Middleware).
/// (`reqwest::Result<T>` cannot carry them: `reqwest::Error` has no public
/// constructor.)
impl From<Error> for reqwest_middleware::Error {
    fn from(error: Error) -> reqwest_middleware::Error {
        reqwest_middleware::Error::middleware(error)
    }
}

/// The breaker's error in a middleware error, if the breaker refused the call (or cut
/// it by its timeout), also when an outer middleware wrapped it (reqwest-retry's
/// "Request failed after N retries").
pub fn breaker_error(error: &reqwest_middleware::Error) -> Option<&Error> {
    match error {
        reqwest_middleware::Error::Middleware(error) => error.downcast_ref::<Error>().or_else(|| {
            // A wrapper's chain holds the inner middleware error, not its cause.
            error.chain().find_map(|cause| match cause.downcast_ref::<reqwest_middleware::Error>() {
                Some(inner) => breaker_error(inner),
                None => cause.downcast_ref::<Error>(),
            })
        }),
        reqwest_middleware::Error::Reqwest(_) => None,
    }
}

/// The middleware; see the [module](self).
#[derive(Clone, Debug)]
pub struct CircuitBreakerMiddleware {
    identify: Identify,
    fixed: Option<&'static CircuitBreaker>,
    judge: Judge,
}

impl Default for CircuitBreakerMiddleware {
    fn default() -> Self {
        CircuitBreakerMiddleware::new()
    }
}

impl CircuitBreakerMiddleware {
    /// A breaker per host.
    pub fn new() -> CircuitBreakerMiddleware {
        CircuitBreakerMiddleware { identify: Identify::host(), fixed: None, judge: Judge::default() }
    }

    /// How the service of a request is found (when the request names none).
    ///
    /// # Panics
    ///
    /// If a fixed service name ([`Identify::service`]) is not a valid service name.
    pub fn identify(mut self, identify: Identify) -> CircuitBreakerMiddleware {
        self.fixed = identify.fixed().map(|name| match registry().named_static(name) {
            Ok(breaker) => breaker,
            Err(error) => panic!("a middleware's service: {error}"),
        });
        self.identify = identify;
        self
    }

    /// How HTTP 429 counts (default: [`TooManyRequests::DEFAULT`]).
    pub fn too_many_requests(mut self, rule: TooManyRequests) -> CircuitBreakerMiddleware {
        self.judge.too_many_requests = rule;
        self
    }

    fn admit(&self, request: &reqwest::Request, extensions: &http::Extensions) -> Result<Admission, Error> {
        if let Some(Service(name)) = extensions.get::<Service>() {
            return registry().on_demand(name)?.admit_into();
        }
        if let Some(fixed) = self.fixed {
            return fixed.admit_static();
        }
        let url = request.url();
        let unknown = || Error::UnknownService {
            service: format!("(none found for {} {url})", request.method()).into(),
            suggestion: None,
        };
        let service = match self.identify.service_of_host(url.host_str().unwrap_or("")) {
            Some(by_host) => by_host.map(Cow::into_owned),
            // Rules that read more than the host see the request as `http` types.
            None => {
                let uri: http::Uri = url.as_str().parse().map_err(|_| unknown())?;
                let head = RequestHead { method: request.method(), uri: &uri, headers: request.headers() };
                self.identify.service_of(&head).map(Cow::into_owned)
            }
        };
        let service = service.ok_or_else(unknown)?;
        // A name no breaker can have (a header's `payments v2`): no service was found.
        let breaker = registry().on_demand(&service).map_err(|_| Error::UnknownService {
            service: format!("({service:?}, no valid service name, for {} {url})", request.method()).into(),
            suggestion: None,
        })?;
        breaker.admit_into()
    }
}

#[async_trait::async_trait]
impl Middleware for CircuitBreakerMiddleware {
    async fn handle(
        &self,
        request: reqwest::Request,
        extensions: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        let admission = self.admit(&request, extensions).map_err(reqwest_middleware::Error::middleware)?;
        let origin = {
            let url = request.url();
            let host = url.host_str().unwrap_or("");
            let authority = match url.port() {
                Some(port) => Cow::Owned(format!("{host}:{port}")),
                None => Cow::Borrowed(host),
            };
            let path = match url.query() {
                Some(query) => Cow::Owned(format!("{}?{query}", url.path())),
                None => Cow::Borrowed(url.path()),
            };
            Origin::new(Origin::scheme(url.scheme()), &authority, &path, request.method())
        };
        let timeout = admission.timeout();
        let timer = admission.timer(timeout.unwrap_or_default());
        let mut timer = pin!(timer);
        let mut run = pin!(next.run(request, extensions));
        let answer = poll_fn(|cx| match run.as_mut().poll(cx) {
            Poll::Ready(answer) => Poll::Ready(Some(answer)),
            Poll::Pending => match timer.as_mut().poll_elapsed(cx) {
                Poll::Ready(()) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        })
        .await;
        match answer {
            Some(answer) => Ok(self.judged(admission, &origin, answer)?),
            None => {
                let service = admission.breaker().service();
                let error = Error::Timeout { service, timeout: timeout.unwrap_or_default() };
                admission.timed_out();
                Err(reqwest_middleware::Error::middleware(error))
            }
        }
    }
}

impl CircuitBreakerMiddleware {
    fn judged(
        &self,
        mut admission: Admission,
        origin: &Origin,
        answer: reqwest_middleware::Result<reqwest::Response>,
    ) -> reqwest_middleware::Result<reqwest::Response> {
        if let Err(reqwest_middleware::Error::Reqwest(error)) = &answer {
            if error.is_builder() {
                // The client could not make the request (a scheme it refuses, an
                // `https_only` client asked for `http`): a configuration problem, not
                // the service's. Logged, and nothing counted (a probe gives its place
                // back).
                tracing::warn!(service = admission.breaker().service(), %error, "request not sent: the client could not build it; not counted");
                drop(admission);
                return answer;
            }
        }
        let outcome = match &answer {
            Ok(response) => self.judge.http_response(
                admission.breaker(),
                origin,
                response.status().as_u16(),
                response.headers(),
            ),
            // Connect, timeout, reset, body, too many redirects; or an inner
            // middleware's error.
            Err(_) => Outcome::Failure,
        };
        match &answer {
            // A transition this failure triggers names the status or the error.
            Ok(response) if outcome == Outcome::Failure => {
                let status = failing::HttpStatus(response.status().as_u16());
                failing::during(&status, || admission.settle(outcome));
            }
            // With its sources: reqwest's own text leaves out the reason under it.
            Err(error) => failing::during(&failing::Shown::Error(error), || admission.settle(outcome)),
            Ok(_) => admission.settle(outcome),
        }
        answer
    }
}
