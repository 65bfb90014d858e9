//! The breakers where outbound calls are made: a tower layer for HTTP and gRPC
//! clients, and a reqwest middleware. Each sits behind its cargo feature (`tower`,
//! `tonic`, `reqwest`), so the core keeps its dependencies.
//!
//! They share breakers, configuration files and runtime control with
//! `#[circuit_breaker]` functions of the same service name: a layer's service is a
//! name in [`registry()`](crate::registry()), declared by an attribute, registered
//! from code, or created on demand ([`Registry::on_demand`](crate::registry::Registry::on_demand)).

#[cfg(feature = "tower")]
pub(crate) mod judge;
#[cfg(feature = "reqwest")]
pub mod reqwest;
#[cfg(feature = "tonic")]
mod tonic;
#[cfg(feature = "tower")]
pub mod tower;
