//! Every breaker the program knows: the [`Definition`]s that `#[circuit_breaker]`
//! submits at link time, and one [`CircuitBreaker`] per service.
//!
//! The table is built once, on first use of [`registry()`], from everything `inventory`
//! collected, so the program knows all its breakers, their configuration and their
//! source locations before the first call. A call site also registers itself on its
//! first call, so a definition that the linker dropped cannot break a call. The
//! registry never blocks a call after that first one: each call site keeps its breaker
//! in a `static`.

mod control;
mod definition;
mod effective;
#[cfg(feature = "config-file")]
mod file;
mod layer;
#[cfg(feature = "watch")]
mod watch;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, OnceLock, RwLock};

pub use control::{Control, RegistryEvent, RegistryEvents};
pub use definition::{CallSite, Definition, Location};
pub use effective::{ConfigReport, ServiceConfig, Source};
#[cfg(feature = "config-file")]
pub use file::{ConfigFileError, FileProblem, MAX_FILE_BYTES, Origin};
pub use layer::{ConfigLayer, Off};
pub(crate) use layer::{config_values, format_duration};
#[cfg(feature = "watch")]
pub use watch::ConfigWatcher;

use crate::breaker::CircuitBreaker;
use crate::breaker::Config;
use crate::error::Error;
use crate::observe::Channel;
use crate::sync::unpoisoned;
use effective::{Base, Layers};

inventory::collect!(Definition);

/// The process-wide registry.
///
/// On first use it is built from every definition collected at link time; if the
/// `BREAKER_CONFIG` environment variable names a configuration file, that file is
/// loaded then (a bad file is logged and ignored: the attributes' configuration
/// stays).
pub fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    static ENVIRONMENT: Once = Once::new();
    let registry = REGISTRY.get_or_init(Registry::from_inventory);
    ENVIRONMENT.call_once(|| registry.load_from_environment());
    registry
}

/// The definitions of the program and the breakers of their services.
///
/// # Lock order
///
/// Two locks, always taken in this order, never the other way round:
///
/// 1. `layers`, which also serialises every change of configuration;
/// 2. `services`, read or written.
///
/// A breaker's own locks (its transition lock, then its configuration) come after
/// both. Code that needs `layers` while it holds `services` must drop `services`
/// first: a call site registering late holds `layers` while it writes `services`,
/// and a configuration reader holds `layers` while it reads `services`.
pub struct Registry {
    /// Every definition collected at link time, sorted by service, file, line.
    definitions: Vec<&'static Definition>,
    /// Lock order: second, after `layers`.
    services: RwLock<BTreeMap<&'static str, Service>>,
    conflicts: Vec<Conflict>,
    /// The layers above the attributes; also serialises reconfiguration. Lock order:
    /// first, before `services`.
    layers: Mutex<Layers>,
    events: Channel<RegistryEvent>,
    /// How many on-demand breakers may exist at once.
    on_demand_limit: AtomicUsize,
    /// How many on-demand breakers exist.
    on_demand_count: AtomicUsize,
    /// On-demand breakers evicted so far.
    evictions: AtomicU64,
    /// The on-demand epoch: on-demand breakers created so far. A breaker's last use is
    /// stamped with it (least recently used first).
    ticks: AtomicU64,
}

/// How many breakers [`Registry::on_demand`] keeps at most, unless changed with
/// [`Registry::set_on_demand_limit`].
pub const DEFAULT_ON_DEMAND_LIMIT: usize = 1000;

struct Service {
    breaker: CircuitBreaker,
    /// Definitions of the service, the collected ones first, then any that
    /// registered only on their first call.
    definitions: Vec<&'static Definition>,
    /// For a breaker registered from code: the configuration it was built with.
    registered: Option<Config>,
    /// For a breaker created on demand: when it was last asked for (a tick of
    /// [`Registry::ticks`]), so the least recently used can be evicted.
    on_demand: Option<Arc<AtomicU64>>,
    /// For a breaker that is never evicted, once the tower layer asks: a copy for the
    /// life of the program, which a layer keeps by reference.
    #[cfg(feature = "tower")]
    held: OnceLock<&'static CircuitBreaker>,
}

/// Two call sites that declare one service with different configurations.
///
/// The service uses the configuration of `first` (the first definition by file and
/// line); `second` is ignored.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Conflict {
    /// The service both declare.
    pub service: &'static str,
    /// The definition whose configuration the service uses.
    pub first: &'static Definition,
    /// The definition that declares something else.
    pub second: &'static Definition,
    /// The keys whose values differ.
    pub keys: Vec<&'static str>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "service `{}` is declared with different configurations ({}) at {} and at {}; {} is used",
            self.service,
            self.keys.join(", "),
            self.first.location(),
            self.second.location(),
            self.first.location(),
        )
    }
}

/// The registry's definitions disagree (see [`Registry::ensure_consistent`]).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
#[error("{} conflicting breaker definition(s):\n{}", .conflicts.len(), .conflicts.iter().map(|c| format!("  - {c}")).collect::<Vec<_>>().join("\n"))]
pub struct ConflictError {
    /// Every conflict.
    pub conflicts: Vec<Conflict>,
}

impl Registry {
    fn from_inventory() -> Registry {
        let mut definitions: Vec<&'static Definition> = inventory::iter::<Definition>.into_iter().collect();
        definitions.sort_by_key(|d| (d.service, d.file, d.line, d.column, d.function));
        // One definition per call site; functions generated by one `macro_rules!`
        // invocation share a location but not a name.
        definitions.dedup_by(|a, b| a.same_site(b));
        let mut services: BTreeMap<&'static str, Service> = BTreeMap::new();
        let mut conflicts = Vec::new();
        for &definition in &definitions {
            match services.get_mut(definition.service) {
                Some(service) => {
                    let first = service.definitions[0];
                    let keys = first.config.differences(&definition.config);
                    if !keys.is_empty() {
                        conflicts.push(Conflict {
                            service: definition.service,
                            first,
                            second: definition,
                            keys,
                        });
                    }
                    service.definitions.push(definition);
                }
                None => {
                    services.insert(definition.service, Service::new(definition, &Layers::default()));
                }
            }
        }
        for conflict in &conflicts {
            tracing::warn!(service = conflict.service, "{conflict}");
        }
        Registry {
            definitions,
            services: RwLock::new(services),
            conflicts,
            layers: Mutex::new(Layers::default()),
            events: Channel::new(256),
            on_demand_limit: AtomicUsize::new(DEFAULT_ON_DEMAND_LIMIT),
            on_demand_count: AtomicUsize::new(0),
            evictions: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
        }
    }

    /// Every definition collected at link time, sorted by service, file and line.
    pub fn definitions(&self) -> &[&'static Definition] {
        &self.definitions
    }

    /// The definitions of `service`.
    pub fn definitions_of(&self, service: &str) -> Vec<&'static Definition> {
        self.read().get(service).map(|s| s.definitions.clone()).unwrap_or_default()
    }

    /// Every service, sorted.
    pub fn services(&self) -> Vec<&'static str> {
        self.read().keys().copied().collect()
    }

    /// A snapshot of every breaker, in service order: what an exporter, the history and
    /// the endpoints read.
    pub fn snapshots(&self) -> Vec<crate::observe::Snapshot> {
        self.services().into_iter().filter_map(|s| self.breaker(s)).map(|b| b.snapshot()).collect()
    }

    /// The breaker of `service`, if the service is known.
    pub fn breaker(&self, service: &str) -> Option<CircuitBreaker> {
        self.read().get(service).map(|s| s.breaker.clone())
    }

    /// What `service`'s counters, transitions and history say about its configuration:
    /// its state and configuration, the recent failure pattern, how often it opened
    /// in the last hour, and findings (a threshold that opens on a blip, a timeout far
    /// from the p99, a window too sparse to judge, 4xx counted as failures, probes
    /// that keep failing, flapping), each with the value seen and the change to make.
    /// The history is [`observe::history::history()`](crate::observe::history::history).
    pub fn diagnose(&self, service: &str) -> Result<crate::observe::diagnosis::Diagnosis, Error> {
        let breaker = self.get(service)?;
        Ok(crate::observe::diagnosis::diagnose(&breaker, crate::observe::history::history()))
    }

    /// The breaker of `service`, or an error naming the nearest known service.
    pub fn get(&self, service: &str) -> Result<CircuitBreaker, Error> {
        self.breaker(service).ok_or_else(|| {
            let services = self.services();
            let suggestion = nearest(service, services.iter().copied()).map(Into::into);
            Error::UnknownService { service: service.into(), suggestion }
        })
    }

    /// Registers a breaker made with [`CircuitBreaker::new`] (or `with_clock`), so the
    /// configuration file, runtime overrides, control by name and the reports reach
    /// it, as they reach the attribute's breakers. Its own configuration is its base
    /// layer, under the file and the overrides, which apply to it at once. A name the
    /// registry already has (an attribute's service, or another registered breaker) is
    /// refused with [`Error::DuplicateService`].
    ///
    /// ```
    /// use breaker_runtime::{CircuitBreaker, Config, registry};
    ///
    /// let ledger = CircuitBreaker::new("ledger-doc", Config::builder().threshold(3).build()?)?;
    /// registry().register(&ledger)?;
    /// registry().force_open("ledger-doc", "maintenance")?;
    /// assert_eq!(ledger.state(), breaker_runtime::State::ForcedOpen);
    /// let again = CircuitBreaker::new("ledger-doc", Config::default())?;
    /// assert!(registry().register(&again).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn register(&self, breaker: &CircuitBreaker) -> Result<(), Error> {
        let name = breaker.service();
        {
            // Lock order: `layers`, then `services` (see `Registry`).
            let layers = unpoisoned(self.layers.lock());
            let mut services = unpoisoned(self.services.write());
            if let Some(existing) = services.get(name) {
                let existing = match (existing.registered.is_some(), existing.definitions.first()) {
                    (false, Some(definition)) => format!("the attribute at {}", definition.location()),
                    _ => "a breaker registered from code".to_owned(),
                };
                return Err(Error::DuplicateService { service: name.into(), existing: existing.into() });
            }
            let own = breaker.config();
            let resolved = layers.resolve(name, Base::Registered(&own)).config;
            if resolved != own {
                breaker.reconfigure(resolved).map_err(Error::from)?;
            }
            services.insert(
                name,
                Service {
                    breaker: breaker.clone(),
                    definitions: Vec::new(),
                    registered: Some(own),
                    on_demand: None,
                    #[cfg(feature = "tower")]
                    held: Default::default(),
                },
            );
        }
        tracing::info!(service = name, "breaker registered");
        self.emit(RegistryEvent::Registered { service: name });
        Ok(())
    }

    /// The breaker of `service`, created if no breaker of that name exists: for
    /// services the program does not declare (the tower layer and the reqwest
    /// middleware name services after hosts). A new breaker gets the defaults, under
    /// the configuration file's `[defaults]` and its section for the service, and the
    /// runtime overrides, like any other; it appears in [`services`](Self::services)
    /// and answers control by name.
    ///
    /// At most [`on_demand_limit`](Self::on_demand_limit) such breakers exist at once:
    /// beyond it, the one asked for least recently is dropped from the registry (its
    /// state is lost; a call still holding it finishes on it) and counted in
    /// [`on_demand_evictions`](Self::on_demand_evictions). Declared and registered
    /// breakers are never evicted.
    ///
    /// ```
    /// use breaker_runtime::registry;
    ///
    /// let api = registry().on_demand("api.example.org")?;
    /// assert_eq!(api.service(), "api.example.org");
    /// assert!(registry().on_demand("api.example.org")?.ptr_eq(&api));
    /// assert!(registry().on_demand("not a name").is_err());
    /// # Ok::<(), breaker_runtime::Error>(())
    /// ```
    pub fn on_demand(&self, service: &str) -> Result<CircuitBreaker, Error> {
        self.obtain(service, true)
    }

    /// The breaker of `service`, created with the defaults (under the file and the
    /// overrides) if no breaker of that name exists, like
    /// [`on_demand`](Self::on_demand), but never evicted: for a service a program
    /// names in code (a tower layer's fixed service).
    pub fn named(&self, service: &str) -> Result<CircuitBreaker, Error> {
        self.obtain(service, false)
    }

    /// [`named`](Self::named), as a reference for the life of the program (a named
    /// service is never evicted): what a layer with a fixed service holds, so that a
    /// call through it counts no references. One per service name, kept forever.
    #[cfg(feature = "tower")]
    pub(crate) fn named_static(&self, service: &str) -> Result<&'static CircuitBreaker, Error> {
        let breaker = self.named(service)?;
        let services = self.read();
        let found = services.get(breaker.service()).expect("a named service stays in the registry");
        Ok(found.held())
    }

    /// [`on_demand`](Self::on_demand) for the tower layer, which may keep what it gets:
    /// a breaker that is never evicted (declared, registered, or asked for by name) as
    /// a reference for the life of the program ([`named_static`](Self::named_static)),
    /// any other counted, with its use when the caller will `remember` it (and it was
    /// found rather than created).
    #[cfg(feature = "tower")]
    pub(crate) fn on_demand_or_static(&self, service: &str, remember: bool) -> Result<Obtained, Error> {
        if let Some(found) = self.read().get(service) {
            match &found.on_demand {
                None => return Ok(Obtained::Static(found.held())),
                Some(used) => {
                    self.touch(used);
                    // The count read under the lock evictions take: the breaker is in
                    // the registry as of it.
                    let used = remember.then(|| OnDemandUse {
                        used: used.clone(),
                        evictions: self.evictions.load(Ordering::Relaxed),
                    });
                    return Ok(Obtained::Counted(found.breaker.clone(), used));
                }
            }
        }
        self.on_demand(service).map(|breaker| Obtained::Counted(breaker, None))
    }

    fn obtain(&self, service: &str, evictable: bool) -> Result<CircuitBreaker, Error> {
        if let Some(found) = self.read().get(service) {
            match &found.on_demand {
                Some(used) if evictable => self.touch(used),
                // Asked for by name: it is not evicted from now on (below).
                Some(_) => {}
                None => return Ok(found.breaker.clone()),
            }
            if evictable {
                return Ok(found.breaker.clone());
            }
        }
        let service = crate::breaker::checked_name(service)?;
        let evicted;
        let breaker;
        {
            // Lock order: `layers`, then `services` (see `Registry`).
            let layers = unpoisoned(self.layers.lock());
            let mut services = unpoisoned(self.services.write());
            if let Some(found) = services.get_mut(service) {
                if !evictable && found.on_demand.take().is_some() {
                    self.on_demand_count.fetch_sub(1, Ordering::Relaxed);
                }
                return Ok(found.breaker.clone());
            }
            let config = layers.resolve(service, Base::Defaults).config;
            breaker = CircuitBreaker::new(service, config).unwrap_or_else(|error| {
                tracing::error!(service, %error, "invalid configuration for an on-demand breaker; it gets the defaults");
                CircuitBreaker::fail_safe(service)
            });
            evicted = if evictable { self.make_room(&mut services) } else { None };
            let used =
                evictable.then(|| Arc::new(AtomicU64::new(self.ticks.fetch_add(1, Ordering::Relaxed) + 1)));
            services.insert(
                breaker.service(),
                Service {
                    breaker: breaker.clone(),
                    definitions: Vec::new(),
                    registered: None,
                    on_demand: used,
                    #[cfg(feature = "tower")]
                    held: Default::default(),
                },
            );
            if evictable {
                self.on_demand_count.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(evicted) = evicted {
            tracing::debug!(service = evicted, "on-demand breaker evicted");
            self.emit(RegistryEvent::Evicted { service: evicted });
        }
        tracing::debug!(service = breaker.service(), "breaker created on demand");
        self.emit(RegistryEvent::Created { service: breaker.service() });
        Ok(breaker)
    }

    /// Records a use of an on-demand breaker: it is stamped with the current epoch
    /// (the count of on-demand creations), so eviction takes one not used since the
    /// oldest creation. A use writes only when the epoch moved on since the
    /// breaker's last use: no atomic read-modify-write on a request's path.
    fn touch(&self, used: &AtomicU64) {
        let now = self.ticks.load(Ordering::Relaxed);
        if used.load(Ordering::Relaxed) != now {
            used.store(now, Ordering::Relaxed);
        }
    }

    /// Evicts the least recently used on-demand breaker if the limit is reached.
    fn make_room(&self, services: &mut BTreeMap<&'static str, Service>) -> Option<&'static str> {
        let limit = self.on_demand_limit.load(Ordering::Relaxed).max(1);
        if self.on_demand_count.load(Ordering::Relaxed) < limit {
            return None;
        }
        let oldest = services
            .iter()
            .filter_map(|(name, s)| s.on_demand.as_ref().map(|used| (used.load(Ordering::Relaxed), *name)))
            .min()?
            .1;
        services.remove(oldest);
        self.on_demand_count.fetch_sub(1, Ordering::Relaxed);
        self.evictions.fetch_add(1, Ordering::Relaxed);
        Some(oldest)
    }

    /// How many breakers [`on_demand`](Self::on_demand) keeps at most
    /// ([`DEFAULT_ON_DEMAND_LIMIT`] unless set).
    pub fn on_demand_limit(&self) -> usize {
        self.on_demand_limit.load(Ordering::Relaxed)
    }

    /// Sets how many on-demand breakers may exist at once (at least 1). Lowering it
    /// evicts on the next creation, one at a time, until the count is under it.
    pub fn set_on_demand_limit(&self, limit: usize) {
        self.on_demand_limit.store(limit.max(1), Ordering::Relaxed);
    }

    /// How many on-demand breakers exist now.
    pub fn on_demand_count(&self) -> usize {
        self.on_demand_count.load(Ordering::Relaxed)
    }

    /// How many on-demand breakers have been evicted since the program started.
    pub fn on_demand_evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    /// Call sites that declare one service with different configurations.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    /// Strict mode: an error listing every conflict, with both source locations.
    /// Without it, conflicts are only logged (a warning each, when the registry is
    /// built) and the first definition of each service wins.
    pub fn ensure_consistent(&self) -> Result<(), ConflictError> {
        if self.conflicts.is_empty() {
            Ok(())
        } else {
            Err(ConflictError { conflicts: self.conflicts.clone() })
        }
    }

    /// The breaker a call site uses: its service's, created (and the definition
    /// recorded) if the link-time table missed it.
    pub(crate) fn breaker_for(&self, definition: &'static Definition) -> CircuitBreaker {
        if let Some(service) = self.read().get(definition.service) {
            if service.definitions.iter().any(|d| d.same_site(definition)) {
                return service.breaker.clone();
            }
        }
        // Lock order: `layers`, then `services` (see `Registry`).
        let layers = unpoisoned(self.layers.lock());
        let mut services = unpoisoned(self.services.write());
        if let Some(service) = services.get_mut(definition.service) {
            let first = service.definitions.is_empty();
            if !service.definitions.iter().any(|d| d.same_site(definition)) {
                service.definitions.push(definition);
            }
            // A declared service is never evicted, even if it was first created on
            // demand (a layer asked for it before its call site registered).
            if service.on_demand.take().is_some() {
                self.on_demand_count.fetch_sub(1, Ordering::Relaxed);
            }
            let breaker = service.breaker.clone();
            // Made without an attribute (on demand, or named by a layer): the
            // attribute's keys now apply under the file and the overrides, as they
            // would have had it registered first.
            let retuned = first.then(|| layers.resolve(definition.service, service.base()).config);
            drop(services);
            drop(layers);
            if let Some(config) = retuned {
                if config.validate().is_ok() && breaker.config() != config {
                    let _ = breaker.reconfigure(config);
                }
            }
            return breaker;
        }
        let service = Service::new(definition, &layers);
        let breaker = service.breaker.clone();
        services.insert(definition.service, service);
        breaker
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<&'static str, Service>> {
        unpoisoned(self.services.read())
    }
}

/// A breaker from [`Registry::on_demand_or_static`].
#[cfg(feature = "tower")]
pub(crate) enum Obtained {
    /// Never evicted: kept by reference for the life of the program.
    Static(&'static CircuitBreaker),
    /// On demand: may be evicted. With its use when it was found (not just created).
    Counted(CircuitBreaker, Option<OnDemandUse>),
}

/// How a tower layer that remembers an on-demand breaker tells the registry it uses it
/// (so that the least recently used is still the one evicted), and learns that it may
/// have been evicted since.
#[cfg(feature = "tower")]
pub(crate) struct OnDemandUse {
    used: Arc<AtomicU64>,
    // The registry's evictions when the breaker was found in it.
    evictions: u64,
}

#[cfg(feature = "tower")]
impl OnDemandUse {
    /// Marks a use, unless the registry evicted a breaker since this one was found
    /// (it may be gone): then `false`, and the breaker is to be looked up again. A
    /// request that reads the count just before an eviction finishes on the evicted
    /// breaker, as one that held it already would.
    #[inline]
    pub(crate) fn touch(&self) -> bool {
        let registry = registry();
        if registry.evictions.load(Ordering::Relaxed) != self.evictions {
            return false;
        }
        registry.touch(&self.used);
        true
    }
}

impl Service {
    /// The breaker for the life of the program: only for one that is never evicted
    /// (one copy per service, kept forever).
    #[cfg(feature = "tower")]
    fn held(&self) -> &'static CircuitBreaker {
        debug_assert!(self.on_demand.is_none(), "an evictable breaker is not held forever");
        self.held.get_or_init(|| Box::leak(Box::new(self.breaker.clone())))
    }

    /// What the service's configuration starts from.
    fn base(&self) -> Base<'_> {
        match (&self.registered, self.definitions.first()) {
            (Some(own), _) => Base::Registered(own),
            (None, Some(definition)) => Base::Attribute(definition),
            (None, None) => Base::Defaults,
        }
    }

    /// The service of `definition`, configured by its attribute and `layers`. The
    /// attribute checks its configuration at compile time and files are checked when
    /// loaded, so only a definition built by hand can be invalid: it is logged, and the
    /// service gets the defaults (the breaker fails safe, it never stops a call).
    fn new(definition: &'static Definition, layers: &Layers) -> Service {
        let config = layers.resolve(definition.service, Base::Attribute(definition)).config;
        let breaker = CircuitBreaker::new(definition.service, config).unwrap_or_else(|error| {
            tracing::error!(service = definition.service, at = %definition.location(), %error, "invalid breaker definition; the service gets the default configuration");
            CircuitBreaker::fail_safe(definition.service)
        });
        Service {
            breaker,
            definitions: vec![definition],
            registered: None,
            on_demand: None,
            #[cfg(feature = "tower")]
            held: Default::default(),
        }
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("services", &self.services())
            .field("definitions", &self.definitions.len())
            .field("conflicts", &self.conflicts.len())
            .finish()
    }
}

/// The candidate closest to `name` by edit distance, if it is close enough to be a
/// likely typo.
pub(crate) fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (levenshtein(name, candidate), candidate))
        .filter(|&(distance, candidate)| distance <= (candidate.len().max(name.len()) / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A call site that registers after a layer made its service's breaker (the
    /// link-time table missed it) retunes that breaker with its attribute's keys.
    #[test]
    fn a_late_call_site_retunes_a_breaker_made_on_demand() {
        static LATE: Definition = Definition {
            service: "late-site.test",
            function: "tests::late",
            file: file!(),
            line: 1,
            column: 1,
            config: ConfigLayer { threshold: Some(2), ..ConfigLayer::EMPTY },
            fallbacks: &[],
            classify: None,
        };
        let registry = Registry::from_inventory();
        let made = registry.on_demand("late-site.test").unwrap();
        assert_eq!(made.config().threshold, Some(5));
        let breaker = registry.breaker_for(&LATE);
        assert!(breaker.ptr_eq(&made));
        assert_eq!(made.config().threshold, Some(2), "the attribute's threshold applies");
        assert_eq!(registry.on_demand_count(), 0, "declared: never evicted");
    }

    #[test]
    fn the_on_demand_breaker_evicted_is_one_not_used_since_the_oldest_creation() {
        let registry = Registry::from_inventory();
        registry.set_on_demand_limit(3);
        for host in ["lru-a.test", "lru-b.test", "lru-c.test"] {
            registry.on_demand(host).unwrap();
        }
        // `a`, the oldest, is in use; `b` is not.
        registry.on_demand("lru-a.test").unwrap();
        registry.on_demand("lru-d.test").unwrap();
        assert!(registry.breaker("lru-b.test").is_none(), "the least recently used goes");
        assert!(registry.breaker("lru-a.test").is_some(), "a breaker in use stays");
        // Used again after `d`'s creation, `a` outlives `c`.
        registry.on_demand("lru-a.test").unwrap();
        registry.on_demand("lru-e.test").unwrap();
        assert!(registry.breaker("lru-c.test").is_none());
        assert!(registry.breaker("lru-a.test").is_some());
        assert_eq!((registry.on_demand_count(), registry.on_demand_evictions()), (3, 2));
        // A name asked for as a fixed service is never evicted.
        registry.named("lru-d.test").unwrap();
        for host in ["lru-f.test", "lru-g.test", "lru-h.test"] {
            registry.on_demand(host).unwrap();
        }
        assert!(registry.breaker("lru-d.test").is_some());
        assert_eq!(registry.on_demand_count(), 3);
    }

    #[test]
    fn nearest_name_suggests_typos_only() {
        let names = ["payments", "inventory", "users"];
        assert_eq!(nearest("paymnets", names), Some("payments"));
        assert_eq!(nearest("user", names), Some("users"));
        assert_eq!(nearest("billing", names), None);
    }
}
