//! The breaker: the state machine, its sliding window, its clock, and the public
//! [`CircuitBreaker`] handle.
//!
//! This module owns every decision about admission and state. The hot paths (a closed
//! call, an open rejection) take no lock, allocate nothing, and write no cache line
//! that another thread writes on its own hot path. Transitions are rare and serialise
//! on one mutex; they never run user code and never hold the lock across an `.await`.

mod call;
mod clock;
mod config;
pub(crate) mod failing;
mod key;
mod lanes;
pub(crate) mod latency;
mod machine;
pub(crate) mod name;
#[cfg(feature = "tower")]
mod owned;
mod permit;
mod settings;
mod state;
mod window;

use std::fmt;
use std::sync::{Arc, Weak};

pub use clock::{Clock, Instant, ManualClock, ManualSleep, MonotonicClock, Wake};
pub use config::{Config, ConfigBuilder, defaults};
#[cfg(feature = "config-file")]
pub(crate) use key::Kind;
pub(crate) use key::{Key, Value};
pub use permit::Permit;
pub use state::State;

pub use call::Call;
#[cfg(feature = "tower")]
pub(crate) use owned::Admission;

/// `service`, checked against the rules of [`CircuitBreaker::new`], and interned.
pub(crate) fn checked_name(service: &str) -> Result<&'static str, crate::Error> {
    name::validate(service).map_err(crate::Error::from)?;
    Ok(name::intern(service))
}
pub(crate) use call::{Attempt, Convert, FallbackPolicy, Traced, call_span, protect_with_fallback};
pub(crate) use clock::ClockRef;
#[cfg(feature = "tower")]
pub(crate) use clock::OwnedSleep;

use crate::error::{ConfigError, Error};
use crate::observe::{EventSink, Events, Journal, Snapshot};
use crate::policy::Bulkhead;
use crate::sync::{AtomicBool, AtomicU64, Mutex, lock};

use settings::Settings;
pub(crate) use window::Outcomes;
use window::Window;

/// A circuit breaker for one service.
///
/// Cloning is cheap and gives another handle to the same breaker. Most code does not
/// build breakers by hand: `#[circuit_breaker(service = "...")]` finds the service's
/// breaker in the global registry. Build one directly to protect code the attribute
/// cannot wrap, or in tests.
///
/// ```
/// use breaker_runtime::{CircuitBreaker, Config, Error, State};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let breaker = CircuitBreaker::new("payments", Config::builder().threshold(2).build()?)?;
///
/// async fn charge(ok: bool) -> Result<u32, Error> {
///     if ok { Ok(42) } else { Err(Error::UnknownService { service: "bank".into(), suggestion: None }) }
/// }
///
/// assert_eq!(breaker.call(charge(true)).await?, 42);
/// let _ = breaker.call(charge(false)).await;
/// let _ = breaker.call(charge(false)).await;
/// assert_eq!(breaker.state(), State::Open);
/// // Open: the call is rejected without running.
/// assert!(matches!(breaker.call(charge(true)).await, Err(Error::CircuitOpen { .. })));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    pub(crate) inner: Arc<Inner>,
}

impl Inner {
    /// The configuration as given.
    pub(crate) fn config(&self) -> Config {
        lock(&self.config).clone()
    }
}

/// Counters that change rarely (transitions, fallbacks), shared by all threads.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) transitions: AtomicU64,
    pub(crate) open_count: AtomicU64,
    pub(crate) recovery_attempts: AtomicU64,
    pub(crate) recoveries: AtomicU64,
    pub(crate) fallback_runs: AtomicU64,
    pub(crate) fallback_successes: AtomicU64,
    pub(crate) fallback_failures: AtomicU64,
    pub(crate) fallback_depth_exceeded: AtomicU64,
    /// HTTP client errors (4xx but 408 and 429) the integrations' classification
    /// counted as failures: what the diagnosis calls a classifier that counts 4xx.
    pub(crate) client_errors_failed: AtomicU64,
}

pub(crate) struct Inner {
    pub(crate) service: &'static str,
    pub(crate) clock: ClockRef,
    pub(crate) settings: Settings,
    /// The configuration as given, for inspection; the hot path reads `settings`.
    config: Mutex<Config>,
    /// Generation and state (see [`state::pack`]).
    state: AtomicU64,
    /// Consecutive failures of the current closed generation, tagged with it.
    failures: AtomicU64,
    /// Probes in flight and probe successes of the current half-open generation.
    probes: AtomicU64,
    /// When the circuit last opened (nanoseconds on `clock`).
    opened_at: AtomicU64,
    /// When the state last changed (nanoseconds on `clock`).
    changed_at: AtomicU64,
    /// Set while the window holds too few calls for its rates to be judged: successes
    /// then re-check the rates (a success can bring the count up to `min_calls`).
    rate_armed: AtomicBool,
    /// Deadline of the current recovery wakeup (nanoseconds on `clock`); 0: none.
    timer_deadline: AtomicU64,
    /// Serialises transitions and reconfiguration.
    transition: Mutex<()>,
    /// The HTTP 429 window of the integrations (see `owned::Throttle`).
    #[cfg(feature = "tower")]
    throttle: Mutex<owned::Throttle>,
    pub(crate) window: Window,
    pub(crate) bulkhead: Bulkhead,
    pub(crate) events: EventSink,
    pub(crate) stats: Stats,
    /// Recent transitions and counts by from/to (written under `transition`). A std
    /// mutex even under loom: it is not part of the state machine the models explore.
    pub(crate) journal: std::sync::Mutex<Journal>,
    me: Weak<Inner>,
}

impl CircuitBreaker {
    /// A breaker for `service` on the real clock.
    ///
    /// `service` must be non-empty and made of `A-Z a-z 0-9 _ . -`; the configuration
    /// must pass [`Config::validate`].
    pub fn new(service: &str, config: Config) -> Result<CircuitBreaker, ConfigError> {
        CircuitBreaker::build(service, config, ClockRef::monotonic())
    }

    /// A breaker for `service` on `clock` (a [`ManualClock`] in tests).
    pub fn with_clock<C: Clock>(
        service: &str,
        config: Config,
        clock: Arc<C>,
    ) -> Result<CircuitBreaker, ConfigError> {
        CircuitBreaker::build(service, config, ClockRef::new(clock))
    }

    /// A breaker with the default configuration, whatever `service` is: its name made
    /// valid by replacing what the rules forbid.
    pub(crate) fn fail_safe(service: &str) -> CircuitBreaker {
        let name = name::sanitize(service);
        match CircuitBreaker::new(&name, Config::default()) {
            Ok(breaker) => breaker,
            // `sanitize` returns a valid name and the defaults are valid (tested).
            Err(error) => unreachable!("a sanitized name with the defaults is valid: {error}"),
        }
    }

    fn build(service: &str, config: Config, clock: ClockRef) -> Result<CircuitBreaker, ConfigError> {
        name::validate(service)?;
        config.validate().map_err(|e| e.for_service(service))?;
        let service = name::intern(service);
        let now = clock.recent().as_nanos();
        let inner = Arc::new_cyclic(|me| Inner {
            service,
            clock,
            settings: Settings::new(&config),
            window: Window::new(config.window, config.window_buckets()),
            bulkhead: Bulkhead::new(config.max_concurrent),
            config: Mutex::new(config),
            state: AtomicU64::new(state::pack(machine::FIRST_GENERATION, State::Closed)),
            failures: AtomicU64::new(machine::pack_count(machine::FIRST_GENERATION, 0)),
            probes: AtomicU64::new(0),
            opened_at: AtomicU64::new(0),
            changed_at: AtomicU64::new(now),
            rate_armed: AtomicBool::new(false),
            timer_deadline: AtomicU64::new(0),
            transition: Mutex::new(()),
            #[cfg(feature = "tower")]
            throttle: Mutex::new((clock::Instant::ZERO, 0)),
            events: EventSink::new(),
            stats: Stats::default(),
            journal: std::sync::Mutex::new(Journal::default()),
            me: me.clone(),
        });
        Ok(CircuitBreaker { inner })
    }

    /// HTTP client errors the integrations counted as failures (for the diagnosis).
    pub(crate) fn client_errors_failed(&self) -> u64 {
        self.inner.stats.client_errors_failed.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The breaker's service.
    pub fn service(&self) -> &'static str {
        self.inner.service
    }

    /// The state now. An open circuit whose recovery timeout has passed reads (and
    /// becomes) half-open, whether or not a call has come since.
    pub fn state(&self) -> State {
        self.inner.current_state()
    }

    /// The configuration in force.
    pub fn config(&self) -> Config {
        self.inner.config()
    }

    /// Replaces the configuration, keeping the state and the counters: calls already
    /// admitted finish under the policy they started with; a new window shape starts an
    /// empty window; a changed trip rule restarts the consecutive-failure count so the
    /// change alone cannot open the circuit. An invalid configuration changes nothing.
    pub fn reconfigure(&self, config: Config) -> Result<(), ConfigError> {
        config.validate().map_err(|e| e.for_service(self.inner.service))?;
        self.inner.reconfigure(config);
        Ok(())
    }

    /// Admits one call, or says why not: the two-step form for code that cannot be
    /// wrapped in [`call`](CircuitBreaker::call). Record the outcome on the
    /// [`Permit`]; dropping it unrecorded counts as a cancelled call (nothing is
    /// recorded, and a probe place is given back).
    ///
    /// The two-step form applies no timeout, bulkhead or fallback.
    pub fn try_acquire(&self) -> Result<Permit<'_>, Error> {
        match self.inner.admit() {
            Ok((generation, kind)) => {
                let slow = self.inner.settings.slow_call_nanos();
                Ok(Permit::new(&self.inner, self.inner.ticket(generation, kind, slow)))
            }
            Err(rejected) => Err(rejected),
        }
    }

    /// A copy of the breaker's state and counters.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::of(&self.inner)
    }

    /// Subscribes to the breaker's events: every transition (with its reason),
    /// configuration change, and, while subscribed, every rejection.
    pub fn subscribe(&self) -> Events {
        self.inner.events.subscribe()
    }

    /// Subscribes to the breaker's transitions alone: rejections cost nothing for it,
    /// and no burst of them can push a transition out of its queue.
    #[cfg(feature = "dashboard")]
    pub(crate) fn subscribe_transitions(&self) -> Events {
        self.inner.events.subscribe_transitions()
    }

    /// Forces the circuit open: every call is rejected until [`reset`](Self::reset).
    pub fn force_open(&self) {
        self.inner.control(State::ForcedOpen);
    }

    /// Disables the breaker: every call passes and nothing is recorded, until
    /// [`reset`](Self::reset). Timeout and bulkhead still apply.
    pub fn disable(&self) {
        self.inner.control(State::Disabled);
    }

    /// Metrics-only mode: every call passes, outcomes are counted, the state never
    /// changes by itself, until [`reset`](Self::reset).
    pub fn metrics_only(&self) {
        self.inner.control(State::MetricsOnly);
    }

    /// Closes the circuit afresh: counters of the window, consecutive failures and last
    /// success and failure times are cleared. Lifetime counters are kept.
    pub fn reset(&self) {
        self.inner.control(State::Closed);
    }

    /// Whether `self` and `other` are handles to the same breaker.
    pub fn ptr_eq(&self, other: &CircuitBreaker) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("service", &self.inner.service)
            .field("state", &self.inner.peek_state())
            .finish()
    }
}
