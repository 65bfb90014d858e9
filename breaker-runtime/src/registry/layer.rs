//! [`ConfigLayer`]: the keys one layer of configuration sets (an attribute, a section
//! of a configuration file, a runtime override), applied over the layers below it.

use std::time::Duration;

use crate::breaker::{Config, Key, Value, defaults};

/// The keys one layer of configuration sets; `None` leaves a key to the layers below.
///
/// Applied with the attribute's rules: a layer that sets `window` or `buckets` but no
/// `failure_rate` turns the failure-rate rule on at 50% (if no lower layer set a rate),
/// and a call timeout this layer does not set is capped to the recovery timeout.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ConfigLayer {
    /// See [`Config::threshold`].
    pub threshold: Option<u32>,
    /// See [`Config::failure_rate`].
    pub failure_rate: Option<f64>,
    /// See [`Config::window`].
    pub window: Option<Duration>,
    /// See [`Config::buckets`].
    pub buckets: Option<u32>,
    /// See [`Config::min_calls`].
    pub min_calls: Option<u32>,
    /// See [`Config::recovery_timeout`].
    pub recovery_timeout: Option<Duration>,
    /// See [`Config::half_open_max_calls`].
    pub half_open_max_calls: Option<u32>,
    /// See [`Config::success_threshold`].
    pub success_threshold: Option<u32>,
    /// See [`Config::timeout`].
    pub timeout: Option<Duration>,
    /// See [`Config::max_concurrent`].
    pub max_concurrent: Option<u32>,
    /// See [`Config::queue`].
    pub queue: Option<u32>,
    /// See [`Config::queue_timeout`].
    pub queue_timeout: Option<Duration>,
    /// See [`Config::slow_call`].
    pub slow_call: Option<Duration>,
    /// See [`Config::slow_call_rate`].
    pub slow_call_rate: Option<f64>,
    /// See [`Config::fallback_depth`].
    pub fallback_depth: Option<u32>,
    /// See [`Config::fallback_timeout`].
    pub fallback_timeout: Option<Duration>,
    /// See [`Config::too_many_requests`].
    pub too_many_requests: Option<u32>,
    /// See [`Config::too_many_requests_window`].
    pub too_many_requests_window: Option<Duration>,
    /// See [`Config::trace`].
    pub trace: Option<bool>,
    /// Settings this layer turns off (`timeout = "off"` in a file), which also
    /// overrides a value the same layer sets.
    pub off: Off,
}

/// A set of settings a layer turns off: those that have an "off" (`threshold`,
/// `failure_rate`, `timeout`, `max_concurrent`, `slow_call`, `fallback_timeout`, `too_many_requests`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Off(u32);

/// How many settings have an "off".
const OFF_COUNT: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < Key::ALL.len() {
        if Key::ALL[i].has_off() {
            n += 1;
        }
        i += 1;
    }
    n
};

impl Off {
    /// Nothing off.
    pub const NONE: Off = Off(0);

    /// The keys that can be turned off.
    pub const KEYS: [&'static str; OFF_COUNT] = {
        let mut keys = [""; OFF_COUNT];
        let (mut i, mut n) = (0, 0);
        while i < Key::ALL.len() {
            if Key::ALL[i].has_off() {
                keys[n] = Key::ALL[i].name();
                n += 1;
            }
            i += 1;
        }
        keys
    };

    const fn bit(key: Key) -> u32 {
        1 << key as u32
    }

    /// The set of `keys`, evaluated at compile time (the attribute's expansion). A key
    /// without an "off" fails the build; the attribute never names one.
    pub(crate) const fn of(keys: &[&str]) -> Off {
        let mut bits = 0;
        let mut k = 0;
        while k < keys.len() {
            let mut i = 0;
            loop {
                assert!(i < Key::ALL.len(), "not a setting");
                let key = Key::ALL[i];
                if same(key.name(), keys[k]) {
                    assert!(key.has_off(), "this setting has no \"off\"");
                    bits |= Off::bit(key);
                    break;
                }
                i += 1;
            }
            k += 1;
        }
        Off(bits)
    }

    /// The set with `key` turned off, or `None` if `key` has no "off".
    pub fn with(self, key: &str) -> Option<Off> {
        Key::named(key).filter(|k| k.has_off()).map(|k| self.and(k))
    }

    /// Whether `key` is turned off.
    pub fn contains(self, key: &str) -> bool {
        Key::named(key).is_some_and(|k| self.has(k))
    }

    pub(crate) fn and(self, key: Key) -> Off {
        Off(self.0 | Off::bit(key))
    }

    pub(crate) fn has(self, key: Key) -> bool {
        self.0 & Off::bit(key) != 0
    }
}

/// String equality in a `const fn`.
const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl ConfigLayer {
    /// A layer that sets nothing.
    pub const EMPTY: ConfigLayer = ConfigLayer {
        threshold: None,
        failure_rate: None,
        window: None,
        buckets: None,
        min_calls: None,
        recovery_timeout: None,
        half_open_max_calls: None,
        success_threshold: None,
        timeout: None,
        max_concurrent: None,
        queue: None,
        queue_timeout: None,
        slow_call: None,
        slow_call_rate: None,
        fallback_depth: None,
        fallback_timeout: None,
        too_many_requests: None,
        too_many_requests_window: None,
        trace: None,
        off: Off::NONE,
    };

    /// `base` with this layer's keys set, then the settings it turns off turned off.
    pub fn apply(&self, base: Config) -> Config {
        let mut c = base;
        // A window turns the rate rule on, unless the rate is set (below) or was on.
        let window_without_rate = self.failure_rate.is_none()
            && (self.window.is_some() || self.buckets.is_some())
            && c.failure_rate.is_none();
        for &key in Key::ALL {
            if let Some(value) = self.get(key) {
                let set = c.set(key, value);
                debug_assert!(set, "a layer's value has its key's kind");
            }
        }
        if window_without_rate {
            c.failure_rate = Some(defaults::FAILURE_RATE);
        }
        // A call timeout this layer does not set is capped to the recovery timeout.
        if self.timeout.is_none() {
            c.timeout = c.timeout.map(|t| t.min(c.recovery_timeout));
        }
        for &key in Key::ALL {
            if self.off.has(key) {
                c.turn_off(key);
            }
        }
        if self.off.has(Key::MaxConcurrent) {
            c.queue = 0; // the queue is the bulkhead's
        }
        c
    }

    /// The names of the keys whose values differ between `self` and `other`.
    pub fn differences(&self, other: &ConfigLayer) -> Vec<&'static str> {
        Key::ALL.iter().filter(|&&k| self.written(k) != other.written(k)).map(|k| k.name()).collect()
    }

    /// Every key this layer sets, with its value as the attribute writes it.
    pub fn keys(&self) -> Vec<(&'static str, String)> {
        Key::ALL.iter().filter_map(|&k| self.written(k).map(|v| (k.name(), v))).collect()
    }

    /// The value this layer gives `key`, as the attribute writes it (`"off"` too).
    fn written(&self, key: Key) -> Option<String> {
        if self.off.has(key) { Some("off".into()) } else { self.get(key).map(written) }
    }
}

/// A value as the attribute writes it.
fn written(value: Value) -> String {
    match value {
        Value::Count(n) => n.to_string(),
        Value::Rate(r) => r.to_string(),
        Value::Duration(d) => format_duration(d),
        Value::Switch(on) => on.to_string(),
    }
}

/// Every key of `config` with its value as the attribute writes it (`"off"` for a
/// setting turned off).
pub(crate) fn config_values(c: &Config) -> Vec<(&'static str, String)> {
    Key::ALL.iter().map(|&k| (k.name(), c.get(k).map_or_else(|| "off".into(), written))).collect()
}

/// A duration as the attribute and the configuration file write it (`250ms`, `30s`).
pub(crate) fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if d.subsec_nanos() % 1_000_000 != 0 {
        format!("{}ns", d.as_nanos())
    } else if ms % 3_600_000 == 0 && ms > 0 {
        format!("{}h", ms / 3_600_000)
    } else if ms % 60_000 == 0 && ms > 0 {
        format!("{}m", ms / 60_000)
    } else if ms % 1000 == 0 {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_layer_sets_only_its_keys() {
        let layer = ConfigLayer { threshold: Some(2), ..ConfigLayer::EMPTY };
        let c = layer.apply(Config::default());
        assert_eq!(c.threshold, Some(2));
        assert_eq!(Config { threshold: Some(2), ..Config::default() }, c);
    }

    #[test]
    fn a_window_turns_the_rate_on_and_a_short_recovery_caps_the_timeout() {
        let layer = ConfigLayer {
            window: Some(Duration::from_secs(30)),
            recovery_timeout: Some(Duration::from_secs(5)),
            ..ConfigLayer::EMPTY
        };
        let c = layer.apply(Config::default());
        assert_eq!(c.failure_rate, Some(0.5));
        assert_eq!(c.timeout, Some(Duration::from_secs(5)));
        c.validate().unwrap();
    }

    #[test]
    fn differences_name_the_keys() {
        let a =
            ConfigLayer { threshold: Some(2), timeout: Some(Duration::from_secs(1)), ..ConfigLayer::EMPTY };
        let b =
            ConfigLayer { threshold: Some(3), timeout: Some(Duration::from_secs(1)), ..ConfigLayer::EMPTY };
        assert_eq!(a.differences(&b), ["threshold"]);
        assert_eq!(a.keys(), [("threshold", "2".to_string()), ("timeout", "1s".to_string())]);
    }

    #[test]
    fn durations_read_as_written() {
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(30)), "30s");
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
    }
}
