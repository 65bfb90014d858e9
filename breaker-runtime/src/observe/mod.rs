//! What a breaker tells the outside: [events](Event) as they happen, and
//! [snapshots](Snapshot) of its counters on demand.
//!
//! Nothing here may slow the call path: events are built only on transitions, on
//! configuration changes, and for rejections only while someone subscribes.

mod events;
mod snapshot;

pub(crate) use events::{Channel, EventSink};
pub use events::{Event, EventKind, Events, Reason, RecvError, RejectionKind, Subscription, TryRecvError};
#[cfg(feature = "dashboard")]
pub mod endpoints;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "prometheus")]
pub mod prometheus;
#[cfg(any(feature = "prometheus", feature = "metrics"))]
mod states;

pub use snapshot::{
    BulkheadStats, CallTotals, FallbackStats, LatencyStats, ProbeStats, Rejections, Snapshot, WindowStats,
};
