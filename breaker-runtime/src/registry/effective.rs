//! The effective configuration of a service: the layers applied in order, lowest
//! first, and the layer each value came from.
//!
//! Layers: built-in defaults < the attribute < the file's `[defaults]` < the
//! `[profiles.NAME]` the service selects < `[services.NAME]` < runtime overrides.

use std::collections::BTreeMap;
use std::fmt;

use super::definition::{Definition, Location};
#[cfg(feature = "config-file")]
use super::file::{ConfigFile, Origin};
use super::layer::{ConfigLayer, config_values};
use crate::breaker::Config;

/// Where a value of the effective configuration came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// The built-in default.
    Default,
    /// The attribute at this location.
    Attribute(Location),
    /// The configuration of a breaker registered from code
    /// ([`Registry::register`](super::Registry::register)).
    Registered,
    /// A section of the configuration file (`[defaults]`, `[profiles.NAME]`,
    /// `[services.NAME]`), at this line.
    #[cfg(feature = "config-file")]
    File {
        /// The section, as written: `[services.payments]`.
        section: String,
        /// File and line of the key.
        origin: Origin,
    },
    /// A runtime override set from code.
    Override,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::Attribute(at) => write!(f, "attribute at {at}"),
            Source::Registered => f.write_str("registered breaker"),
            #[cfg(feature = "config-file")]
            Source::File { section, origin } => write!(f, "{section} at {origin}"),
            Source::Override => f.write_str("runtime override"),
        }
    }
}

/// The configuration layers above the attributes.
#[derive(Default)]
pub(crate) struct Layers {
    #[cfg(feature = "config-file")]
    pub(crate) file: Option<ConfigFile>,
    /// The file last asked for, applied or not: what `reload` reads.
    #[cfg(feature = "config-file")]
    pub(crate) path: Option<std::path::PathBuf>,
    pub(crate) overrides: BTreeMap<String, ConfigLayer>,
}

/// A service's configuration, and the source of each key.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ServiceConfig {
    /// The service.
    pub service: &'static str,
    /// The configuration in force.
    pub config: Config,
    /// Every key, its value as written in the attribute, and its source.
    pub values: Vec<(&'static str, String, Source)>,
}

/// What a service's configuration starts from, under the file and the overrides.
#[derive(Clone, Copy)]
pub(crate) enum Base<'a> {
    /// The built-in defaults, then the attribute of this definition.
    Attribute(&'a Definition),
    /// The configuration a breaker registered from code was built with.
    Registered(&'a Config),
    /// The built-in defaults alone.
    Defaults,
}

impl Layers {
    /// The configuration of `service`, from `base` up.
    pub(crate) fn resolve(&self, service: &'static str, base: Base<'_>) -> ServiceConfig {
        let mut config = Config::default();
        let mut sources: BTreeMap<&'static str, Source> = BTreeMap::new();
        let attribute = match base {
            Base::Attribute(definition) => Some(definition),
            Base::Registered(own) => {
                config = own.clone();
                for (key, _) in config_values(own) {
                    sources.insert(key, Source::Registered);
                }
                None
            }
            Base::Defaults => None,
        };
        let mut apply = |layer: &ConfigLayer, source: &dyn Fn(&'static str) -> Source| {
            config = layer.apply(config.clone());
            for (key, _) in layer.keys() {
                sources.insert(key, source(key));
            }
        };
        if let Some(definition) = attribute {
            let at = definition.location();
            apply(&definition.config, &|_| Source::Attribute(at));
        }
        #[cfg(feature = "config-file")]
        if let Some(file) = &self.file {
            let from = |section: String, lines: &BTreeMap<&'static str, usize>| {
                let path = file.path.clone();
                let lines = lines.clone();
                move |key: &'static str| Source::File {
                    section: section.clone(),
                    origin: Origin { file: path.clone(), line: lines.get(key).copied().unwrap_or(0) },
                }
            };
            apply(&file.defaults.layer, &from("[defaults]".into(), &file.defaults.lines));
            if let Some(section) = file.services.get(service) {
                if let Some(profile) =
                    section.profile.as_ref().and_then(|p| file.profiles.get(p).map(|s| (p, s)))
                {
                    apply(&profile.1.layer, &from(format!("[profiles.{}]", profile.0), &profile.1.lines));
                }
                apply(&section.section.layer, &from(format!("[services.{service}]"), &section.section.lines));
            }
        }
        if let Some(layer) = self.overrides.get(service) {
            apply(layer, &|_| Source::Override);
        }
        let values = config_values(&config)
            .into_iter()
            .map(|(key, value)| (key, value, sources.get(key).cloned().unwrap_or(Source::Default)))
            .collect();
        ServiceConfig { service, config, values }
    }
}

/// The effective configuration of every service (see
/// [`Registry::config_report`](super::Registry::config_report)).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ConfigReport {
    /// One entry per service, sorted.
    pub services: Vec<ServiceConfig>,
}

impl fmt::Display for ConfigReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for service in &self.services {
            writeln!(f, "[{}]", service.service)?;
            for (key, value, source) in &service.values {
                writeln!(f, "  {key:<20} = {value:<10}  # {source}")?;
            }
        }
        Ok(())
    }
}
