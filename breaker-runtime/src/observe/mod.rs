//! What a breaker tells the outside: [events](Event) as they happen, and
//! [snapshots](Snapshot) of its counters on demand.
//!
//! Nothing here may slow the call path: events are built only on transitions, on
//! configuration changes, and for rejections only while someone subscribes.

pub mod diagnosis;
mod events;
pub mod history;
mod journal;
mod snapshot;

pub(crate) use events::{Channel, EventSink};
pub use events::{Event, EventKind, Events, Reason, RecvError, RejectionKind, Subscription, TryRecvError};
pub(crate) use journal::Journal;
pub use journal::{TransitionCount, TransitionRecord};
#[cfg(feature = "dashboard")]
mod dashboard;
#[cfg(feature = "dashboard")]
pub mod endpoints;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(feature = "prometheus")]
pub mod prometheus;
#[cfg(any(feature = "prometheus", feature = "metrics"))]
mod states;

pub use snapshot::{
    BulkheadStats, CallTotals, DurationHistogram, FallbackStats, LatencyStats, ProbeStats, Rejections,
    Snapshot, WindowStats,
};
