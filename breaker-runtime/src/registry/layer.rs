//! [`ConfigLayer`]: the keys one layer of configuration sets (an attribute, a section
//! of a configuration file, a runtime override), applied over the layers below it.

use std::time::Duration;

use crate::breaker::{Config, defaults};

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
    /// Settings this layer turns off (`timeout = "off"` in a file), which also
    /// overrides a value the same layer sets.
    pub off: Off,
}

/// A set of settings a layer turns off: those that have an "off" (`threshold`,
/// `failure_rate`, `timeout`, `max_concurrent`, `slow_call`, `fallback_timeout`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Off(u8);

impl Off {
    /// Nothing off.
    pub const NONE: Off = Off(0);

    /// The keys that can be turned off.
    pub const KEYS: [&'static str; 6] =
        ["threshold", "failure_rate", "timeout", "max_concurrent", "slow_call", "fallback_timeout"];

    fn bit(key: &str) -> Option<u8> {
        Off::KEYS.iter().position(|k| *k == key).map(|i| 1 << i)
    }

    /// The set of `keys`, evaluated at compile time (the attribute's expansion). A key
    /// without an "off" fails the build; the attribute never names one.
    pub(crate) const fn of(keys: &[&str]) -> Off {
        let mut bits = 0;
        let mut k = 0;
        while k < keys.len() {
            let mut i = 0;
            loop {
                assert!(i < Off::KEYS.len(), "this setting has no \"off\"");
                if same(Off::KEYS[i], keys[k]) {
                    bits |= 1 << i;
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
        Off::bit(key).map(|bit| Off(self.0 | bit))
    }

    /// Whether `key` is turned off.
    pub fn contains(self, key: &str) -> bool {
        Off::bit(key).is_some_and(|bit| self.0 & bit != 0)
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
        off: Off::NONE,
    };

    /// `base` with this layer's keys set.
    pub fn apply(&self, base: Config) -> Config {
        let mut c = base;
        let set = |slot: &mut Option<u32>, v: Option<u32>| {
            if v.is_some() {
                *slot = v;
            }
        };
        set(&mut c.threshold, self.threshold);
        if self.failure_rate.is_some() {
            c.failure_rate = self.failure_rate;
        } else if (self.window.is_some() || self.buckets.is_some()) && c.failure_rate.is_none() {
            c.failure_rate = Some(defaults::FAILURE_RATE);
        }
        c.window = self.window.unwrap_or(c.window);
        c.buckets = self.buckets.unwrap_or(c.buckets);
        c.min_calls = self.min_calls.unwrap_or(c.min_calls);
        c.recovery_timeout = self.recovery_timeout.unwrap_or(c.recovery_timeout);
        c.half_open_max_calls = self.half_open_max_calls.unwrap_or(c.half_open_max_calls);
        c.success_threshold = self.success_threshold.unwrap_or(c.success_threshold);
        match self.timeout {
            Some(timeout) => c.timeout = Some(timeout),
            None => c.timeout = c.timeout.map(|t| t.min(c.recovery_timeout)),
        }
        set(&mut c.max_concurrent, self.max_concurrent);
        c.queue = self.queue.unwrap_or(c.queue);
        c.queue_timeout = self.queue_timeout.unwrap_or(c.queue_timeout);
        if self.slow_call.is_some() {
            c.slow_call = self.slow_call;
        }
        c.slow_call_rate = self.slow_call_rate.unwrap_or(c.slow_call_rate);
        c.fallback_depth = self.fallback_depth.unwrap_or(c.fallback_depth);
        if self.fallback_timeout.is_some() {
            c.fallback_timeout = self.fallback_timeout;
        }
        let off = self.off;
        if off.contains("threshold") {
            c.threshold = None;
        }
        if off.contains("failure_rate") {
            c.failure_rate = None;
        }
        if off.contains("timeout") {
            c.timeout = None;
        }
        if off.contains("max_concurrent") {
            c.max_concurrent = None;
            c.queue = 0;
        }
        if off.contains("slow_call") {
            c.slow_call = None;
        }
        if off.contains("fallback_timeout") {
            c.fallback_timeout = None;
        }
        c
    }

    /// The names of the keys whose values differ between `self` and `other`.
    pub fn differences(&self, other: &ConfigLayer) -> Vec<&'static str> {
        let a = self.entries();
        let b = other.entries();
        a.iter().zip(b.iter()).filter(|(x, y)| x.1 != y.1).map(|(x, _)| x.0).collect()
    }

    /// Every key this layer sets, with its value as the attribute writes it.
    pub fn keys(&self) -> Vec<(&'static str, String)> {
        self.entries().into_iter().filter_map(|(key, value)| value.map(|v| (key, v))).collect()
    }

    fn entries(&self) -> [(&'static str, Option<String>); 16] {
        let off = self.off;
        let n = |k: &str, v: Option<u32>| {
            if off.contains(k) { Some("off".into()) } else { v.map(|v| v.to_string()) }
        };
        let f = |k: &str, v: Option<f64>| {
            if off.contains(k) { Some("off".into()) } else { v.map(|v| v.to_string()) }
        };
        let d = |k: &str, v: Option<Duration>| {
            if off.contains(k) { Some("off".into()) } else { v.map(format_duration) }
        };
        [
            ("threshold", n("threshold", self.threshold)),
            ("failure_rate", f("failure_rate", self.failure_rate)),
            ("window", d("window", self.window)),
            ("buckets", n("buckets", self.buckets)),
            ("min_calls", n("min_calls", self.min_calls)),
            ("recovery_timeout", d("recovery_timeout", self.recovery_timeout)),
            ("half_open_max_calls", n("half_open_max_calls", self.half_open_max_calls)),
            ("success_threshold", n("success_threshold", self.success_threshold)),
            ("timeout", d("timeout", self.timeout)),
            ("max_concurrent", n("max_concurrent", self.max_concurrent)),
            ("queue", n("queue", self.queue)),
            ("queue_timeout", d("queue_timeout", self.queue_timeout)),
            ("slow_call", d("slow_call", self.slow_call)),
            ("slow_call_rate", f("slow_call_rate", self.slow_call_rate)),
            ("fallback_depth", n("fallback_depth", self.fallback_depth)),
            ("fallback_timeout", d("fallback_timeout", self.fallback_timeout)),
        ]
    }
}

/// Every key of `config` with its value as the attribute writes it (`"off"` for a
/// setting turned off).
pub(crate) fn config_values(c: &Config) -> [(&'static str, String); 16] {
    let d = |v: Duration| format_duration(v);
    let opt_d = |v: Option<Duration>| v.map_or_else(|| "off".to_string(), format_duration);
    [
        ("threshold", c.threshold.map_or_else(|| "off".into(), |n| n.to_string())),
        ("failure_rate", c.failure_rate.map_or_else(|| "off".into(), |r| r.to_string())),
        ("window", d(c.window)),
        ("buckets", c.buckets.to_string()),
        ("min_calls", c.min_calls.to_string()),
        ("recovery_timeout", d(c.recovery_timeout)),
        ("half_open_max_calls", c.half_open_max_calls.to_string()),
        ("success_threshold", c.success_threshold.to_string()),
        ("timeout", opt_d(c.timeout)),
        ("max_concurrent", c.max_concurrent.map_or_else(|| "off".into(), |n| n.to_string())),
        ("queue", c.queue.to_string()),
        ("queue_timeout", d(c.queue_timeout)),
        ("slow_call", opt_d(c.slow_call)),
        ("slow_call_rate", c.slow_call_rate.to_string()),
        ("fallback_depth", c.fallback_depth.to_string()),
        ("fallback_timeout", opt_d(c.fallback_timeout)),
    ]
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
