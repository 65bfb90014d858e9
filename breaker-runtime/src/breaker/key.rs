//! The configuration keys, generated from the one table of `breaker-macros` (whose
//! attribute checks the same keys with the same ranges): [`Key`], what each takes, and
//! the key-by-key access to [`Config`] and [`ConfigLayer`] that the configuration file,
//! the layers and the reports use. Every match here is exhaustive and generated, and
//! `Config`'s and `ConfigLayer`'s fields are checked against the table at compile time:
//! a key cannot be forgotten in one place, or matched by a misspelt string.

use std::time::Duration;

use super::config::Config;
use crate::registry::ConfigLayer;

/// What a key takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(feature = "config-file"), allow(dead_code, reason = "the file reader parses by kind"))]
pub(crate) enum Kind {
    /// A whole number in `min..=max`.
    Count { min: u32, max: u32 },
    /// A number in `(0, 1]`.
    Rate,
    /// A duration, written as a string.
    Duration,
    /// `true` or `false`.
    Switch,
}

/// A value of a key, typed by its kind.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value {
    Count(u32),
    Rate(f64),
    Duration(Duration),
    Switch(bool),
}

macro_rules! kind {
    (count($min:literal, $max:literal)) => {
        Kind::Count { min: $min, max: $max }
    };
    (rate) => {
        Kind::Rate
    };
    (duration) => {
        Kind::Duration
    };
    (switch) => {
        Kind::Switch
    };
}

/// The `Value` variant of a kind.
macro_rules! variant {
    (count) => {
        Value::Count
    };
    (rate) => {
        Value::Rate
    };
    (duration) => {
        Value::Duration
    };
    (switch) => {
        Value::Switch
    };
}

/// A pattern matching a `Value` of a kind, binding it to `$v`.
macro_rules! value_of {
    (count, $v:ident) => {
        Value::Count($v)
    };
    (rate, $v:ident) => {
        Value::Rate($v)
    };
    (duration, $v:ident) => {
        Value::Duration($v)
    };
    (switch, $v:ident) => {
        Value::Switch($v)
    };
}

/// A `Config` field as an `Option`: `None` when it is turned off (keys with an "off"
/// are `Option`s in `Config`).
macro_rules! config_value {
    (off, $field:expr) => {
        $field
    };
    (on, $field:expr) => {
        Some($field)
    };
}

macro_rules! config_set {
    (off, $field:expr, $v:expr) => {
        $field = Some($v)
    };
    (on, $field:expr, $v:expr) => {
        $field = $v
    };
}

macro_rules! config_off {
    (off, $field:expr) => {{
        $field = None;
        true
    }};
    (on, $field:expr) => {
        false
    };
}

macro_rules! has_off {
    (off) => {
        true
    };
    (on) => {
        false
    };
}

macro_rules! key_table {
    ($($name:ident $variant:ident $kind:ident $(($min:literal, $max:literal))? $off:ident;)*) => {
        /// A configuration key: a setting of the attribute, the file and the layers.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub(crate) enum Key {
            $($variant,)*
        }

        impl Key {
            /// Every key, in the order of the table (and of the README).
            pub(crate) const ALL: &'static [Key] = &[$(Key::$variant,)*];

            /// The key's name, as the attribute and the file write it.
            pub(crate) const fn name(self) -> &'static str {
                match self {
                    $(Key::$variant => stringify!($name),)*
                }
            }

            /// The key named `name`.
            pub(crate) fn named(name: &str) -> Option<Key> {
                match name {
                    $(stringify!($name) => Some(Key::$variant),)*
                    _ => None,
                }
            }

            /// What the key takes.
            #[cfg_attr(not(feature = "config-file"), allow(dead_code, reason = "the file reader parses by kind"))]
            pub(crate) const fn kind(self) -> Kind {
                match self {
                    $(Key::$variant => kind!($kind $(($min, $max))?),)*
                }
            }

            /// Whether `"off"` turns the key's rule or policy off.
            pub(crate) const fn has_off(self) -> bool {
                match self {
                    $(Key::$variant => has_off!($off),)*
                }
            }
        }

        impl ConfigLayer {
            /// The value this layer sets for `key`, if it sets one.
            pub(crate) fn get(&self, key: Key) -> Option<Value> {
                match key {
                    $(Key::$variant => self.$name.map(variant!($kind)),)*
                }
            }

            /// Sets `key` to `value`; `false` (and nothing set) if the value is of
            /// another kind than the key takes.
            #[cfg_attr(not(feature = "config-file"), allow(dead_code, reason = "the file reader sets keys"))]
            pub(crate) fn set(&mut self, key: Key, value: Value) -> bool {
                match (key, value) {
                    $((Key::$variant, value_of!($kind, v)) => {
                        self.$name = Some(v);
                        true
                    })*
                    _ => false,
                }
            }
        }

        impl Config {
            /// The value of `key`; `None` if it is turned off.
            pub(crate) fn get(&self, key: Key) -> Option<Value> {
                match key {
                    $(Key::$variant => config_value!($off, self.$name).map(variant!($kind)),)*
                }
            }

            /// Sets `key` to `value`; `false` (and nothing set) if the value is of
            /// another kind than the key takes.
            pub(crate) fn set(&mut self, key: Key, value: Value) -> bool {
                match (key, value) {
                    $((Key::$variant, value_of!($kind, v)) => {
                        config_set!($off, self.$name, v);
                        true
                    })*
                    _ => false,
                }
            }

            /// Turns `key` off; `false` (and nothing changed) if it has no "off".
            pub(crate) fn turn_off(&mut self, key: Key) -> bool {
                match key {
                    $(Key::$variant => config_off!($off, self.$name),)*
                }
            }
        }

        /// `Config` and `ConfigLayer` have exactly the table's keys as fields (plus the
        /// layer's `off`): a field missing or added is a compile error here.
        #[allow(dead_code)]
        fn fields_follow_the_table(config: &Config, layer: &ConfigLayer) {
            let Config { $($name: _,)* } = config;
            let ConfigLayer { $($name: _,)* off: _ } = layer;
        }
    };
}

breaker_macros::__config_keys!(key_table);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_follow_the_readme() {
        for &key in Key::ALL {
            assert_eq!(Key::named(key.name()), Some(key));
        }
        assert_eq!(Key::ALL.first().map(|k| k.name()), Some("threshold"));
        assert_eq!(Key::named("treshold"), None);
        let off: Vec<&str> = Key::ALL.iter().filter(|k| k.has_off()).map(|k| k.name()).collect();
        assert_eq!(
            off,
            [
                "threshold",
                "failure_rate",
                "timeout",
                "max_concurrent",
                "slow_call",
                "fallback_timeout",
                "too_many_requests"
            ]
        );
    }

    #[test]
    fn every_key_reads_back_what_was_set_in_a_layer_and_a_config() {
        for &key in Key::ALL {
            let value = match key.kind() {
                Kind::Count { max, .. } => Value::Count(max.min(7)),
                Kind::Rate => Value::Rate(0.25),
                Kind::Duration => Value::Duration(Duration::from_millis(1500)),
                Kind::Switch => Value::Switch(true),
            };
            let mut layer = ConfigLayer::EMPTY;
            assert!(layer.set(key, value), "{key:?}");
            assert_eq!(layer.get(key), Some(value));
            assert!(!layer.set(key, Value::Rate(2.0)) || key.kind() == Kind::Rate);
            let mut config = Config::default();
            assert!(config.set(key, value));
            assert_eq!(config.get(key), Some(value));
            assert_eq!(config.turn_off(key), key.has_off());
            if key.has_off() {
                assert_eq!(config.get(key), None);
            }
        }
    }
}
