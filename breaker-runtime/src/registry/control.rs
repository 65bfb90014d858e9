//! Operating the registry at run time: loading and reloading the configuration file,
//! runtime overrides, and controlling breakers by service name.
//!
//! A new configuration is checked whole before any breaker changes: a file with any
//! problem is rejected, the previous configuration stays, and an event and a log line
//! say why. Applying it keeps every breaker's state and counters.

use std::fmt;
#[cfg(feature = "config-file")]
use std::path::Path;
use std::path::PathBuf;
use std::sync::Arc;

#[cfg(feature = "config-file")]
use super::effective::Source;
use super::effective::{Base, ConfigReport, Layers, ServiceConfig};
#[cfg(feature = "config-file")]
use super::file::{self, ConfigFileError, FileProblem};
use super::layer::ConfigLayer;
use super::{Registry, Service};
use crate::breaker::{CircuitBreaker, State};
use crate::error::{ConfigError, Error};
use crate::sync::unpoisoned;

/// An operator's action on a breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Control {
    /// Reject every call until reset.
    ForceOpen,
    /// Let every call through and record nothing until reset.
    Disable,
    /// Count every call but never change state until reset.
    MetricsOnly,
    /// Close afresh.
    Reset,
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Control::ForceOpen => "force open",
            Control::Disable => "disable",
            Control::MetricsOnly => "metrics only",
            Control::Reset => "reset",
        })
    }
}

/// A subscription to the registry's events, from [`Registry::subscribe`].
pub type RegistryEvents = crate::observe::Subscription<RegistryEvent>;

/// Something that happened to the registry's configuration or was done to a breaker
/// by name. (Each breaker's own transitions are on its [`subscribe`] stream.)
///
/// [`subscribe`]: crate::CircuitBreaker::subscribe
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RegistryEvent {
    /// A configuration was applied; `changed` lists the services whose configuration
    /// changed.
    ConfigApplied {
        /// The file, if the configuration came from one.
        file: Option<PathBuf>,
        /// Services whose configuration changed.
        changed: Vec<&'static str>,
    },
    /// A configuration file was rejected whole; the previous configuration stays.
    #[cfg(feature = "config-file")]
    ConfigRejected {
        /// Why.
        error: ConfigFileError,
    },
    /// A breaker made in code joined the registry
    /// ([`Registry::register`](super::Registry::register)).
    Registered {
        /// Its service.
        service: &'static str,
    },
    /// A breaker was created on demand for a service declared nowhere
    /// ([`Registry::on_demand`](super::Registry::on_demand), which the tower layer and
    /// the reqwest middleware use).
    Created {
        /// Its service.
        service: &'static str,
    },
    /// An on-demand breaker was dropped from the registry to make room for another
    /// (the least recently used goes first; see
    /// [`Registry::set_on_demand_limit`](super::Registry::set_on_demand_limit)).
    Evicted {
        /// Its service.
        service: &'static str,
    },
    /// An operator acted on a breaker.
    Controlled {
        /// The service.
        service: &'static str,
        /// What was done.
        control: Control,
        /// Why, as the operator said.
        reason: Arc<str>,
    },
}

impl Registry {
    /// Subscribes to the registry's events: configurations applied and rejected,
    /// controls by name, breakers registered.
    pub fn subscribe(&self) -> RegistryEvents {
        self.events.subscribe()
    }

    pub(super) fn emit(&self, event: RegistryEvent) {
        self.events.send(event);
    }

    /// The effective configuration of every service, with the layer each value came
    /// from.
    pub fn config_report(&self) -> ConfigReport {
        let layers = unpoisoned(self.layers.lock());
        let services = self.read();
        ConfigReport {
            services: services.iter().map(|(name, service)| layers.resolve(name, service.base())).collect(),
        }
    }

    /// The effective configuration of `service`.
    pub fn config_of(&self, service: &str) -> Result<ServiceConfig, Error> {
        let breaker = self.get(service)?;
        let layers = unpoisoned(self.layers.lock());
        let services = self.read();
        let base = services.get(breaker.service()).map_or(Base::Defaults, Service::base);
        Ok(layers.resolve(breaker.service(), base))
    }

    /// Sets the runtime override of `service`: the highest layer, above the file. The
    /// whole resulting configuration is checked first; an invalid one changes nothing.
    pub fn set_override(&self, service: &str, layer: ConfigLayer) -> Result<(), Error> {
        let breaker = self.get(service)?;
        let mut layers = unpoisoned(self.layers.lock());
        let previous = layers.overrides.insert(breaker.service().to_string(), layer);
        let resolved = self.resolve_all(&layers);
        if let Some(problem) = resolved.iter().find_map(|(_, r)| r.as_ref().err()) {
            let problem = problem.clone();
            match previous {
                Some(previous) => layers.overrides.insert(breaker.service().to_string(), previous),
                None => layers.overrides.remove(breaker.service()),
            };
            return Err(problem.into());
        }
        let changed = self.apply(resolved);
        drop(layers);
        self.announce_applied(None, changed);
        Ok(())
    }

    /// Removes the runtime override of `service`.
    pub fn clear_override(&self, service: &str) -> Result<(), Error> {
        let breaker = self.get(service)?;
        let mut layers = unpoisoned(self.layers.lock());
        if layers.overrides.remove(breaker.service()).is_none() {
            return Ok(());
        }
        let changed = self.apply(self.resolve_all(&layers));
        drop(layers);
        self.announce_applied(None, changed);
        Ok(())
    }

    /// Acts on the breaker of `service`: an event on the breaker's stream (the
    /// transition, with its reason) and on the registry's (with `reason`), and a log line.
    /// A breaker created on demand is kept from then on (never evicted), so that an
    /// operator's decision is not lost with it.
    pub fn control(&self, service: &str, control: Control, reason: &str) -> Result<(), Error> {
        let breaker = self.get(service)?;
        // Asked for by name: no longer evicted.
        let breaker = self.named(breaker.service())?;
        match control {
            Control::ForceOpen => breaker.force_open(),
            Control::Disable => breaker.disable(),
            Control::MetricsOnly => breaker.metrics_only(),
            Control::Reset => breaker.reset(),
        }
        tracing::warn!(service = breaker.service(), %control, reason, "breaker controlled by an operator");
        self.emit(RegistryEvent::Controlled { service: breaker.service(), control, reason: reason.into() });
        Ok(())
    }

    /// Forces the circuit of `service` open (see [`control`](Registry::control)).
    pub fn force_open(&self, service: &str, reason: &str) -> Result<(), Error> {
        self.control(service, Control::ForceOpen, reason)
    }

    /// Disables the breaker of `service` (see [`control`](Registry::control)).
    pub fn disable(&self, service: &str, reason: &str) -> Result<(), Error> {
        self.control(service, Control::Disable, reason)
    }

    /// Puts the breaker of `service` in metrics-only mode (see
    /// [`control`](Registry::control)).
    pub fn metrics_only(&self, service: &str, reason: &str) -> Result<(), Error> {
        self.control(service, Control::MetricsOnly, reason)
    }

    /// Resets the breaker of `service` (see [`control`](Registry::control)).
    pub fn reset(&self, service: &str, reason: &str) -> Result<(), Error> {
        self.control(service, Control::Reset, reason)
    }

    /// Puts the breaker of `service` (an attribute's, say) on `clock`, a
    /// [`ManualClock`](crate::ManualClock) in tests: its recovery timeout, its window,
    /// its latencies and every wait of its calls (timeouts, the bulkhead queue,
    /// fallback timeouts) follow that clock from then on. The breaker starts afresh
    /// (closed, an empty window), keeping its lifetime counters.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use breaker_runtime::{Error, ManualClock, State, circuit_breaker, registry};
    ///
    /// #[circuit_breaker(service = "use-clock-doc", threshold = 1, recovery_timeout = "30s")]
    /// async fn fetch(ok: bool) -> Result<u32, Error> {
    ///     if ok { Ok(1) } else { Err(Error::UnknownService { service: "down".into(), suggestion: None }) }
    /// }
    ///
    /// # futures::executor::block_on(async {
    /// let clock = Arc::new(ManualClock::new());
    /// registry().use_clock("use-clock-doc", clock.clone())?;
    /// let _ = fetch(false).await;
    /// let breaker = registry().get("use-clock-doc")?;
    /// assert_eq!(breaker.state(), State::Open);
    /// clock.advance(Duration::from_secs(30)); // no waiting on real time
    /// assert_eq!(breaker.state(), State::HalfOpen);
    /// assert_eq!(fetch(true).await?, 1);
    /// assert_eq!(breaker.state(), State::Closed);
    /// # Ok::<(), Error>(())
    /// # }).unwrap();
    /// ```
    pub fn use_clock<C: crate::Clock>(&self, service: &str, clock: Arc<C>) -> Result<(), Error> {
        let breaker = self.get(service)?;
        breaker.inner.use_clock(clock);
        Ok(())
    }

    /// The state of every service's breaker.
    pub fn states(&self) -> Vec<(&'static str, State)> {
        self.read().iter().map(|(name, s)| (*name, s.breaker.state())).collect()
    }

    /// Every service's configuration under `layers`, or the first rule a service's
    /// configuration breaks.
    fn resolve_all(&self, layers: &Layers) -> Vec<(CircuitBreaker, Result<ServiceConfig, ConfigError>)> {
        self.read()
            .iter()
            .map(|(name, service)| {
                let resolved = layers.resolve(name, service.base());
                let checked = match resolved.config.validate() {
                    Ok(()) => Ok(resolved),
                    Err(e) => Err(e.for_service(*name)),
                };
                (service.breaker.clone(), checked)
            })
            .collect()
    }

    /// Reconfigures every breaker whose configuration changed; their names.
    fn apply(
        &self,
        resolved: Vec<(CircuitBreaker, Result<ServiceConfig, ConfigError>)>,
    ) -> Vec<&'static str> {
        let mut changed = Vec::new();
        for (breaker, resolved) in resolved {
            let Ok(resolved) = resolved else { continue };
            if breaker.config() != resolved.config && breaker.reconfigure(resolved.config).is_ok() {
                changed.push(breaker.service());
            }
        }
        changed
    }

    fn announce_applied(&self, file: Option<&std::path::Path>, changed: Vec<&'static str>) {
        tracing::info!(changed = ?changed, "configuration applied");
        self.emit(RegistryEvent::ConfigApplied { file: file.map(Into::into), changed });
    }

    pub(super) fn load_from_environment(&self) {
        #[cfg(feature = "config-file")]
        if let Some(path) = std::env::var_os("BREAKER_CONFIG") {
            // A bad file is already logged and announced; the attributes' configuration
            // stays, and calls go on.
            let _ = self.load_config(PathBuf::from(path));
        }
    }
}

#[cfg(feature = "config-file")]
impl Registry {
    /// Loads the configuration file at `path` and applies it: layered over the
    /// attributes, checked whole (syntax, keys, types, ranges, services, and every
    /// service's resulting configuration), then applied to every breaker, keeping
    /// their state. On any problem nothing changes: the error lists every problem with
    /// its file, line and key, and a [`RegistryEvent::ConfigRejected`] and a log line
    /// say why.
    ///
    /// The path is remembered for [`reload`](Registry::reload), even if the file is
    /// rejected: an operator fixes it and reloads.
    pub fn load_config(&self, path: impl AsRef<Path>) -> Result<ConfigReport, ConfigFileError> {
        let path = path.as_ref();
        unpoisoned(self.layers.lock()).path = Some(path.to_path_buf());
        let outcome = self.try_load(path);
        if let Err(error) = &outcome {
            tracing::error!(file = %path.display(), "{error}");
            say_once_without_subscriber(error);
            self.emit(RegistryEvent::ConfigRejected { error: error.clone() });
        }
        outcome
    }

    /// Reads the last loaded file again (see [`load_config`](Registry::load_config)).
    pub fn reload(&self) -> Result<ConfigReport, ConfigFileError> {
        let path = unpoisoned(self.layers.lock()).path.clone();
        match path {
            Some(path) => self.load_config(path),
            None => Err(ConfigFileError {
                problems: vec![FileProblem {
                    file: PathBuf::new(),
                    line: 0,
                    key: None,
                    message: "no configuration file was loaded: call `load_config` first".into(),
                }],
            }),
        }
    }

    fn try_load(&self, path: &Path) -> Result<ConfigReport, ConfigFileError> {
        let text = file::read(path)?;
        let services = self.services();
        let parsed = file::parse(path, &text, &services)?;
        let mut layers = unpoisoned(self.layers.lock());
        let previous = layers.file.replace(parsed);
        let resolved = self.resolve_all(&layers);
        let mut problems: Vec<FileProblem> = resolved
            .iter()
            .filter_map(|(breaker, r)| r.as_ref().err().map(|e| (breaker, e)))
            .map(|(breaker, e)| self.locate(&layers, breaker.service(), e, path))
            .collect();
        problems.extend(self.check_absent(&layers, path));
        if !problems.is_empty() {
            layers.file = previous;
            return Err(ConfigFileError { problems });
        }
        let changed = self.apply(resolved);
        let report = ConfigReport {
            services: self
                .read()
                .iter()
                .map(|(name, service)| layers.resolve(name, service.base()))
                .collect(),
        };
        drop(layers);
        self.announce_applied(Some(path), changed);
        Ok(report)
    }

    /// A problem of a service's layered configuration, at the line of the file that
    /// set the offending key (or the file itself, if the file did not set it).
    /// The problems of the file's sections for services that have no breaker yet
    /// (`unknown_services = "ignore"`: a host that a layer will meet, say), checked as
    /// the configuration such a breaker would get, so that a bad one is refused with
    /// the file rather than when the breaker is made.
    fn check_absent(&self, layers: &Layers, path: &Path) -> Vec<FileProblem> {
        let Some(file) = &layers.file else { return Vec::new() };
        let absent: Vec<&str> = {
            let services = self.read();
            file.services.keys().map(String::as_str).filter(|name| !services.contains_key(name)).collect()
        };
        let mut problems = Vec::new();
        for name in absent {
            // Interned as the breaker's name would be (once per name the file has).
            let name = crate::breaker::name::intern(name);
            if let Err(error) = layers.resolve(name, Base::Defaults).config.validate() {
                problems.push(self.locate(layers, name, &error.for_service(name), path));
            }
        }
        problems
    }

    fn locate(
        &self,
        layers: &Layers,
        service: &'static str,
        error: &ConfigError,
        path: &Path,
    ) -> FileProblem {
        let services = self.read();
        let base = services.get(service).map_or(Base::Defaults, Service::base);
        let resolved = layers.resolve(service, base);
        let source =
            resolved.values.iter().find(|(key, _, _)| *key == error.field).map(|(_, _, s)| s.clone());
        let (file, line) = match source {
            Some(Source::File { origin, .. }) => (origin.file, origin.line),
            _ => (path.to_path_buf(), 0),
        };
        let hint = match source_kind(&resolved, error.field) {
            Some(source) => format!(" (value from {source})"),
            None => String::new(),
        };
        FileProblem {
            file,
            line,
            key: Some(error.field.to_string()),
            message: format!(
                "service `{service}`: `{}` = {}: {}{hint}",
                error.field, error.value, error.rule
            ),
        }
    }
}

#[cfg(feature = "config-file")]
fn source_kind(resolved: &ServiceConfig, key: &str) -> Option<String> {
    resolved.values.iter().find(|(k, _, _)| *k == key).and_then(|(_, _, s)| match s {
        Source::File { .. } => None,
        other => Some(other.to_string()),
    })
}

/// A rejected file is logged with `tracing`; a program that installed no subscriber
/// would never see it (a file named by `BREAKER_CONFIG` is loaded where no caller sees
/// the error). Then the first rejection is also written on stderr, once.
#[cfg(feature = "config-file")]
fn say_once_without_subscriber(error: &ConfigFileError) {
    use std::sync::atomic::{AtomicBool, Ordering};
    static SAID: AtomicBool = AtomicBool::new(false);
    if !tracing::dispatcher::has_been_set() && !SAID.swap(true, Ordering::Relaxed) {
        eprintln!(
            "breaker: {error}\n(said once on stderr because no `tracing` subscriber is installed; \
             install one to see every report)"
        );
    }
}
