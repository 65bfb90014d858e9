//! Events: every transition with its reason, configuration changes, and rejections.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use tokio::sync::broadcast;

use crate::breaker::{Config, Instant, State};
use crate::sync::{AtomicUsize, Ordering};

/// Events a subscriber of a breaker can fall behind by before the oldest are dropped
/// (and the subscriber told how many with [`RecvError::Lagged`]).
const CAPACITY: usize = 1024;

/// Something that happened to a breaker.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// The breaker's service.
    pub service: &'static str,
    /// When, on the breaker's monotonic clock.
    pub at: Instant,
    /// When, on the wall clock (for display).
    pub time: SystemTime,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum EventKind {
    /// The breaker changed state.
    Transition {
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
        /// Why.
        reason: Reason,
        /// The generation it entered (every transition starts a new one).
        generation: u64,
    },
    /// A call was rejected (sent only while a subscriber listens).
    Rejected {
        /// Why it was rejected.
        kind: RejectionKind,
    },
    /// The breaker's configuration was replaced.
    ConfigChanged {
        /// The configuration before.
        before: Box<Config>,
        /// The configuration after.
        after: Box<Config>,
    },
}

/// Why a breaker changed state.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Reason {
    /// `count` failures in a row reached `threshold`.
    ConsecutiveFailures {
        /// Failures in a row.
        count: u32,
        /// The configured threshold.
        threshold: u32,
    },
    /// The window's failure rate reached the configured rate.
    FailureRate {
        /// The measured rate.
        rate: f64,
        /// The configured rate.
        threshold: f64,
        /// Judged calls in the window.
        calls: u64,
        /// The window's length.
        window: Duration,
    },
    /// The window's slow-call rate reached the configured rate.
    SlowCallRate {
        /// The measured rate.
        rate: f64,
        /// The configured rate.
        threshold: f64,
        /// Judged calls in the window.
        calls: u64,
        /// The slow-call threshold.
        slow_call: Duration,
    },
    /// The recovery timeout passed: probes may go through.
    RecoveryTimeoutElapsed {
        /// The configured recovery timeout.
        recovery_timeout: Duration,
    },
    /// A probe call failed (or was slow).
    ProbeFailed,
    /// Enough probe calls succeeded.
    ProbesSucceeded {
        /// Successful probes.
        successes: u32,
    },
    /// An operator forced the circuit open.
    ForcedOpen,
    /// An operator disabled the breaker.
    Disabled,
    /// An operator put the breaker in metrics-only mode.
    MetricsOnly,
    /// An operator reset the breaker.
    Reset,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::ConsecutiveFailures { count, threshold } => {
                write!(f, "{count} consecutive failures (threshold {threshold})")
            }
            Reason::FailureRate { rate, threshold, calls, window } => write!(
                f,
                "failure rate {:.1}% over {calls} calls in {window:?} (threshold {:.1}%)",
                rate * 100.0,
                threshold * 100.0
            ),
            Reason::SlowCallRate { rate, threshold, calls, slow_call } => write!(
                f,
                "{:.1}% of {calls} calls slower than {slow_call:?} (threshold {:.1}%)",
                rate * 100.0,
                threshold * 100.0
            ),
            Reason::RecoveryTimeoutElapsed { recovery_timeout } => {
                write!(f, "recovery timeout of {recovery_timeout:?} elapsed")
            }
            Reason::ProbeFailed => f.write_str("probe call failed"),
            Reason::ProbesSucceeded { successes } => write!(f, "{successes} probe call(s) succeeded"),
            Reason::ForcedOpen => f.write_str("forced open by an operator"),
            Reason::Disabled => f.write_str("disabled by an operator"),
            Reason::MetricsOnly => f.write_str("set to metrics-only by an operator"),
            Reason::Reset => f.write_str("reset by an operator"),
        }
    }
}

/// Why a call was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The circuit is open.
    Open,
    /// The circuit is half-open and its probes are all taken.
    ProbeLimit,
    /// The bulkhead is full.
    Bulkhead,
    /// The circuit was forced open.
    Forced,
}

impl RejectionKind {
    pub(crate) const COUNT: usize = 4;

    pub(crate) const fn index(self) -> usize {
        match self {
            RejectionKind::Open => 0,
            RejectionKind::ProbeLimit => 1,
            RejectionKind::Bulkhead => 2,
            RejectionKind::Forced => 3,
        }
    }

    /// The kind's name: `open`, `probe-limit`, `bulkhead` or `forced`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectionKind::Open => "open",
            RejectionKind::ProbeLimit => "probe-limit",
            RejectionKind::Bulkhead => "bulkhead",
            RejectionKind::Forced => "forced",
        }
    }
}

impl fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            EventKind::Transition { from, to, reason, .. } => {
                write!(f, "{}: {from} -> {to} ({reason})", self.service)
            }
            EventKind::Rejected { kind } => write!(f, "{}: call rejected ({kind})", self.service),
            EventKind::ConfigChanged { .. } => write!(f, "{}: configuration changed", self.service),
        }
    }
}

/// The sending side, owned by the breaker. The channel is made by the first
/// subscriber: a breaker nobody watches keeps no event buffer.
pub(crate) struct EventSink {
    channel: OnceLock<Channel<Event>>,
    /// Transitions alone, for watchers that want nothing else (the `/events`
    /// stream): they neither make rejections send events nor lose a transition
    /// behind a burst of rejections.
    transitions: OnceLock<Channel<Event>>,
}

/// A broadcast channel and the count of its subscribers.
pub(crate) struct Channel<T> {
    sender: broadcast::Sender<T>,
    subscribers: Arc<AtomicUsize>,
}

impl<T: Clone> Channel<T> {
    pub(crate) fn new(capacity: usize) -> Channel<T> {
        Channel { sender: broadcast::Sender::new(capacity), subscribers: Arc::new(AtomicUsize::new(0)) }
    }

    pub(crate) fn send(&self, event: T) {
        // An error only means nobody listens.
        let _ = self.sender.send(event);
    }

    pub(crate) fn subscribe(&self) -> Subscription<T> {
        self.subscribers.fetch_add(1, Ordering::Relaxed);
        Subscription { receiver: self.sender.subscribe(), subscribers: self.subscribers.clone() }
    }
}

impl EventSink {
    pub(crate) fn new() -> EventSink {
        EventSink { channel: OnceLock::new(), transitions: OnceLock::new() }
    }

    /// Whether anyone listens: checked before building an event on the rejection
    /// path, where nobody ever subscribed costs one load.
    #[inline]
    pub(crate) fn listening(&self) -> bool {
        self.channel.get().is_some_and(|channel| channel.subscribers.load(Ordering::Relaxed) != 0)
    }

    pub(crate) fn send(&self, event: Event) {
        if let (Some(channel), EventKind::Transition { .. }) = (self.transitions.get(), &event.kind) {
            channel.send(event.clone());
        }
        if let Some(channel) = self.channel.get() {
            channel.send(event);
        }
    }

    pub(crate) fn subscribe(&self) -> Events {
        self.channel.get_or_init(|| Channel::new(CAPACITY)).subscribe()
    }

    /// A subscription to the transitions alone.
    #[cfg(feature = "dashboard")]
    pub(crate) fn subscribe_transitions(&self) -> Events {
        self.transitions.get_or_init(|| Channel::new(CAPACITY)).subscribe()
    }
}

/// A subscription to a breaker's events ([`Events`], from
/// [`CircuitBreaker::subscribe`]) or to the registry's
/// ([`RegistryEvents`](crate::registry::RegistryEvents), from
/// [`Registry::subscribe`](crate::registry::Registry::subscribe)).
///
/// Events are kept for each subscriber until it reads them, up to a capacity (1024 for
/// a breaker, 256 for the registry); a subscriber further behind loses the oldest and
/// is told how many by [`RecvError::Lagged`].
///
/// [`CircuitBreaker::subscribe`]: crate::CircuitBreaker::subscribe
pub struct Subscription<T> {
    receiver: broadcast::Receiver<T>,
    subscribers: Arc<AtomicUsize>,
}

/// A subscription to a breaker's events, from
/// [`CircuitBreaker::subscribe`](crate::CircuitBreaker::subscribe).
pub type Events = Subscription<Event>;

/// Why [`Subscription::recv`] returned no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecvError {
    /// The subscriber fell behind and this many events were dropped; the next call
    /// returns the oldest event still kept.
    #[error("the subscriber fell behind and missed {0} events")]
    Lagged(u64),
    /// The sender (the breaker, the registry) is gone.
    #[error("the breaker is gone")]
    Closed,
}

/// Why [`Subscription::try_recv`] returned no event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TryRecvError {
    /// No event is waiting.
    #[error("no event is waiting")]
    Empty,
    /// See [`RecvError::Lagged`].
    #[error("the subscriber fell behind and missed {0} events")]
    Lagged(u64),
    /// The sender is gone.
    #[error("the breaker is gone")]
    Closed,
}

impl<T: Clone> Subscription<T> {
    /// The next event, waiting for one if need be.
    pub async fn recv(&mut self) -> Result<T, RecvError> {
        self.receiver.recv().await.map_err(|e| match e {
            broadcast::error::RecvError::Lagged(n) => RecvError::Lagged(n),
            broadcast::error::RecvError::Closed => RecvError::Closed,
        })
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.receiver.try_recv().map_err(|e| match e {
            broadcast::error::TryRecvError::Empty => TryRecvError::Empty,
            broadcast::error::TryRecvError::Lagged(n) => TryRecvError::Lagged(n),
            broadcast::error::TryRecvError::Closed => TryRecvError::Closed,
        })
    }

    /// The next event, blocking the thread until there is one: for code outside an
    /// async runtime. Must not be called from async code.
    pub fn blocking_recv(&mut self) -> Result<T, RecvError> {
        self.receiver.blocking_recv().map_err(|e| match e {
            broadcast::error::RecvError::Lagged(n) => RecvError::Lagged(n),
            broadcast::error::RecvError::Closed => RecvError::Closed,
        })
    }

    /// Every event waiting now. Events missed by falling behind are skipped; use
    /// [`try_recv`](Subscription::try_recv) to learn how many.
    pub fn drain(&mut self) -> Vec<T> {
        std::iter::from_fn(|| {
            loop {
                match self.try_recv() {
                    Ok(event) => return Some(event),
                    Err(TryRecvError::Lagged(_)) => continue,
                    Err(_) => return None,
                }
            }
        })
        .collect()
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        self.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription").field("waiting", &self.receiver.len()).finish()
    }
}
