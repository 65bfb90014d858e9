//! A tower layer that puts HTTP and gRPC calls through circuit breakers (feature
//! `tower`; `tonic` adds the conversions to `tonic::Status`).
//!
//! [`CircuitBreakerLayer`] wraps a client service (hyper-util's, a tonic `Channel`,
//! any `Service<http::Request<B>, Response = http::Response<R>>`): each request goes
//! through the breaker of its service, found by [`Identify`] (the host by default,
//! the gRPC service for [`CircuitBreakerLayer::grpc`]). The breakers are the
//! registry's, shared with `#[circuit_breaker]` functions of the same service, and
//! reached by configuration files and runtime control.
//!
//! ```no_run
//! use breaker_runtime::integrations::tower::CircuitBreakerLayer;
//! use http_body_util::Empty;
//! use hyper_util::client::legacy::Client;
//! use hyper_util::rt::TokioExecutor;
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
//! let mut client = ServiceBuilder::new().layer(CircuitBreakerLayer::new()).service(client);
//! let request = http::Request::get("http://127.0.0.1:8080/health").body(Empty::new())?;
//! let response = client.ready().await?.call(request).await?;
//! println!("{}", response.status());
//! # Ok(())
//! # }
//! ```
//!
//! What an open circuit does, readiness, how responses are judged, timeouts and the
//! bulkhead: see [`CircuitBreakerLayer`].

mod body;
mod error;
mod future;
mod identify;
mod layer;
mod protocol;
mod service;
mod timer;

pub use crate::integrations::judge::TooManyRequests;
pub use body::{GrpcBody, ResponseBody};
pub use error::ServiceError;
pub use future::ResponseFuture;
pub use identify::{Identify, RequestHead};
pub use layer::{CircuitBreakerLayer, Unknown, WhenOpen};
pub use protocol::{Grpc, Http, Protocol};
pub use service::CircuitBreakerService;
