//! [`Config`]: every setting of a breaker, its default, its builder and its rules.

use std::time::Duration;

use crate::error::ConfigError;

/// The defaults of [`Config`], as named constants.
pub mod defaults {
    use std::time::Duration;

    /// Consecutive failures that open the circuit.
    pub const THRESHOLD: u32 = 5;
    /// Failure rate that opens the circuit, once a window is configured.
    pub const FAILURE_RATE: f64 = 0.5;
    /// Length of the sliding window.
    pub const WINDOW: Duration = Duration::from_secs(60);
    /// Buckets of the sliding window.
    pub const BUCKETS: u32 = 10;
    /// Calls the window must hold before its rates are judged.
    pub const MIN_CALLS: u32 = 10;
    /// Time from opening to the first probe.
    pub const RECOVERY_TIMEOUT: Duration = Duration::from_secs(30);
    /// Probe calls admitted at once while half-open.
    pub const HALF_OPEN_MAX_CALLS: u32 = 1;
    /// Successful probes needed to close.
    pub const SUCCESS_THRESHOLD: u32 = 1;
    /// Longest a call may take.
    pub const TIMEOUT: Duration = Duration::from_secs(10);
    /// Calls running at once (bulkhead).
    pub const MAX_CONCURRENT: u32 = 100;
    /// Calls waiting for a bulkhead place (0: rejected at once).
    pub const QUEUE: u32 = 0;
    /// Longest wait for a bulkhead place.
    pub const QUEUE_TIMEOUT: Duration = Duration::ZERO;
    /// Slow-call rate that opens the circuit, once `slow_call` is set.
    pub const SLOW_CALL_RATE: f64 = 1.0;
    /// Fallbacks that may run nested inside each other.
    pub const FALLBACK_DEPTH: u32 = 3;
    /// HTTP 429 answers within [`TOO_MANY_REQUESTS_WINDOW`] that make them failures.
    pub const TOO_MANY_REQUESTS: u32 = 5;
    /// The window of [`TOO_MANY_REQUESTS`].
    pub const TOO_MANY_REQUESTS_WINDOW: Duration = Duration::from_secs(10);

    /// Most buckets a window may have.
    pub const MAX_BUCKETS: u32 = 3600;
    /// Most probes or probe successes a half-open circuit can count.
    pub const MAX_PROBES: u32 = u16::MAX as u32;
}

/// Everything a breaker can be told: when to open, how to recover, and the policies
/// applied to each call.
///
/// Build one with [`Config::builder`], or start from [`Config::default`] (the design
/// document's defaults) and set fields. [`CircuitBreaker::new`](crate::CircuitBreaker::new)
/// validates it.
///
/// ```
/// use std::time::Duration;
/// use breaker_runtime::Config;
///
/// let config = Config::builder()
///     .threshold(3)
///     .window(Duration::from_secs(30))
///     .recovery_timeout(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(config.failure_rate, Some(0.5)); // a window turns the rate rule on
/// assert_eq!(config.timeout, Some(Duration::from_secs(5))); // capped to recovery_timeout
/// # Ok::<(), breaker_runtime::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// Consecutive failures that open a closed circuit; `None` turns the rule off.
    pub threshold: Option<u32>,
    /// Failure rate over the window (0 < rate <= 1) that opens a closed circuit, once the
    /// window holds `min_calls` judged calls; `None` turns the rule off.
    pub failure_rate: Option<f64>,
    /// Length of the sliding window.
    pub window: Duration,
    /// Number of buckets of the window; each must cover at least a second.
    pub buckets: u32,
    /// Judged calls (successes and failures) the window needs before its rates apply.
    pub min_calls: u32,
    /// Time an open circuit waits before letting a probe through.
    pub recovery_timeout: Duration,
    /// Probe calls a half-open circuit admits at once.
    pub half_open_max_calls: u32,
    /// Successful probes that close a half-open circuit.
    pub success_threshold: u32,
    /// Longest a call may run; a call that takes longer fails with
    /// [`Error::Timeout`](crate::Error::Timeout) and counts as a failure. `None`: no limit.
    pub timeout: Option<Duration>,
    /// Calls running at once (the bulkhead); `None` turns the bulkhead off.
    pub max_concurrent: Option<u32>,
    /// Calls that may wait for a bulkhead place; 0 rejects at once.
    pub queue: u32,
    /// Longest a call waits in the bulkhead queue.
    pub queue_timeout: Duration,
    /// A call that takes at least this long is slow; `None` turns slow-call detection off.
    pub slow_call: Option<Duration>,
    /// Slow-call rate over the window that opens a closed circuit (with `slow_call`).
    pub slow_call_rate: f64,
    /// Fallbacks that may run nested inside each other before
    /// [`Error::FallbackDepthExceeded`](crate::Error::FallbackDepthExceeded).
    pub fallback_depth: u32,
    /// Time the whole fallback chain may take; `None`: no limit.
    pub fallback_timeout: Option<Duration>,
    /// For the HTTP integrations: HTTP 429 answers are ignored (the client's quota)
    /// until this many arrive within `too_many_requests_window`, then failures (the
    /// service is overloaded); 1: every 429 is a failure; `None`: none is.
    pub too_many_requests: Option<u32>,
    /// The window of `too_many_requests`.
    pub too_many_requests_window: Duration,
    /// A `tracing` span per call of the attribute's functions: the service, the state
    /// at admission, the decision, the outcome and the fallback. Off by default.
    pub trace: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            threshold: Some(defaults::THRESHOLD),
            failure_rate: None,
            window: defaults::WINDOW,
            buckets: defaults::BUCKETS,
            min_calls: defaults::MIN_CALLS,
            recovery_timeout: defaults::RECOVERY_TIMEOUT,
            half_open_max_calls: defaults::HALF_OPEN_MAX_CALLS,
            success_threshold: defaults::SUCCESS_THRESHOLD,
            timeout: Some(defaults::TIMEOUT),
            max_concurrent: Some(defaults::MAX_CONCURRENT),
            queue: defaults::QUEUE,
            queue_timeout: defaults::QUEUE_TIMEOUT,
            slow_call: None,
            slow_call_rate: defaults::SLOW_CALL_RATE,
            fallback_depth: defaults::FALLBACK_DEPTH,
            fallback_timeout: None,
            too_many_requests: Some(defaults::TOO_MANY_REQUESTS),
            too_many_requests_window: defaults::TOO_MANY_REQUESTS_WINDOW,
            trace: false,
        }
    }
}

impl Config {
    /// The buckets the sliding window keeps: `buckets` when a rate rule needs the
    /// window to slide (`failure_rate` or `slow_call`), else one, so a breaker without
    /// rate rules keeps one bucket per lane: its window counts, for snapshots, cover
    /// the current period of `window` (a tumbling window).
    pub(crate) fn window_buckets(&self) -> u32 {
        if self.failure_rate.is_some() || self.slow_call.is_some() { self.buckets } else { 1 }
    }

    /// A builder starting from the defaults.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// A builder starting from this configuration, for changing a few settings with the
    /// builder's rules (a call timeout not set again is capped to the recovery timeout).
    pub fn into_builder(self) -> ConfigBuilder {
        ConfigBuilder { config: self, ..ConfigBuilder::default() }
    }

    /// Checks every rule; the error names the field, the value and the rule broken.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let second = Duration::from_secs(1);
        if self.threshold == Some(0) {
            return Err(ConfigError::new("threshold", 0, "must be at least 1"));
        }
        check_rate("failure_rate", self.failure_rate)?;
        if self.threshold.is_none() && self.failure_rate.is_none() && self.slow_call.is_none() {
            return Err(ConfigError::new(
                "threshold",
                "none",
                "a breaker needs a rule to open by: set `threshold`, `failure_rate` or `slow_call`",
            ));
        }
        if self.buckets == 0 {
            return Err(ConfigError::new("buckets", 0, "must be at least 1"));
        }
        if self.buckets > defaults::MAX_BUCKETS {
            return Err(ConfigError::new(
                "buckets",
                self.buckets,
                format!("must be at most {}", defaults::MAX_BUCKETS),
            ));
        }
        if self.window < second * self.buckets {
            return Err(ConfigError::new(
                "window",
                format!("{:?}", self.window),
                format!(
                    "must give each of the {} buckets at least 1s (window >= {}s)",
                    self.buckets, self.buckets
                ),
            ));
        }
        if self.min_calls == 0 {
            return Err(ConfigError::new("min_calls", 0, "must be at least 1"));
        }
        if self.recovery_timeout.is_zero() {
            return Err(ConfigError::new("recovery_timeout", "0s", "must be greater than 0"));
        }
        check_count("half_open_max_calls", self.half_open_max_calls)?;
        check_count("success_threshold", self.success_threshold)?;
        if let Some(timeout) = self.timeout {
            if timeout.is_zero() {
                return Err(ConfigError::new("timeout", "0s", "must be greater than 0"));
            }
            if timeout > self.recovery_timeout {
                return Err(ConfigError::new(
                    "timeout",
                    format!("{timeout:?}"),
                    format!(
                        "must not be longer than recovery_timeout ({:?}): a call must end before \
                         the circuit may probe again",
                        self.recovery_timeout
                    ),
                ));
            }
        }
        if self.max_concurrent == Some(0) {
            return Err(ConfigError::new("max_concurrent", 0, "must be at least 1"));
        }
        if self.queue > 0 && self.max_concurrent.is_none() {
            return Err(ConfigError::new(
                "queue",
                self.queue,
                "needs `max_concurrent`: the queue is the bulkhead's",
            ));
        }
        if self.queue > 0 && self.queue_timeout.is_zero() {
            return Err(ConfigError::new(
                "queue_timeout",
                "0s",
                "must be greater than 0 when `queue` is set, or queued calls give up at once",
            ));
        }
        if self.slow_call.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::new("slow_call", "0s", "must be greater than 0"));
        }
        check_rate("slow_call_rate", Some(self.slow_call_rate))?;
        if self.fallback_depth == 0 {
            return Err(ConfigError::new("fallback_depth", 0, "must be at least 1"));
        }
        if self.fallback_timeout.is_some_and(|d| d.is_zero()) {
            return Err(ConfigError::new("fallback_timeout", "0s", "must be greater than 0"));
        }
        Ok(())
    }
}

fn check_rate(field: &'static str, rate: Option<f64>) -> Result<(), ConfigError> {
    match rate {
        Some(r) if !(r > 0.0 && r <= 1.0) => {
            Err(ConfigError::new(field, r, "must be greater than 0 and at most 1"))
        }
        _ => Ok(()),
    }
}

fn check_count(field: &'static str, n: u32) -> Result<(), ConfigError> {
    if n == 0 {
        return Err(ConfigError::new(field, 0, "must be at least 1"));
    }
    if n > defaults::MAX_PROBES {
        return Err(ConfigError::new(field, n, format!("must be at most {}", defaults::MAX_PROBES)));
    }
    Ok(())
}

/// Builds a [`Config`] from the defaults; [`build`](ConfigBuilder::build) validates it.
///
/// Two settings follow others unless set themselves, as the attribute's do: a window
/// (`window` or `buckets`) turns the failure-rate rule on at 50%, and the call timeout
/// is capped to `recovery_timeout`.
#[derive(Clone, Debug, Default)]
pub struct ConfigBuilder {
    config: Config,
    timeout_set: bool,
    rate_set: bool,
    window_set: bool,
}

impl ConfigBuilder {
    /// Consecutive failures that open the circuit.
    pub fn threshold(mut self, n: u32) -> Self {
        self.config.threshold = Some(n);
        self
    }

    /// Turns the consecutive-failure rule off (use with a window).
    pub fn no_threshold(mut self) -> Self {
        self.config.threshold = None;
        self
    }

    /// Failure rate over the window that opens the circuit.
    pub fn failure_rate(mut self, rate: f64) -> Self {
        self.config.failure_rate = Some(rate);
        self.rate_set = true;
        self
    }

    /// Length of the sliding window.
    pub fn window(mut self, window: Duration) -> Self {
        self.config.window = window;
        self.window_set = true;
        self
    }

    /// Buckets of the sliding window.
    pub fn buckets(mut self, buckets: u32) -> Self {
        self.config.buckets = buckets;
        self.window_set = true;
        self
    }

    /// Judged calls the window needs before its rates apply.
    pub fn min_calls(mut self, n: u32) -> Self {
        self.config.min_calls = n;
        self
    }

    /// Time from opening to the first probe.
    pub fn recovery_timeout(mut self, d: Duration) -> Self {
        self.config.recovery_timeout = d;
        self
    }

    /// Probe calls admitted at once while half-open.
    pub fn half_open_max_calls(mut self, n: u32) -> Self {
        self.config.half_open_max_calls = n;
        self
    }

    /// Successful probes needed to close.
    pub fn success_threshold(mut self, n: u32) -> Self {
        self.config.success_threshold = n;
        self
    }

    /// Longest a call may take.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.config.timeout = Some(d);
        self.timeout_set = true;
        self
    }

    /// No per-call time limit.
    pub fn no_timeout(mut self) -> Self {
        self.config.timeout = None;
        self.timeout_set = true;
        self
    }

    /// Calls running at once.
    pub fn max_concurrent(mut self, n: u32) -> Self {
        self.config.max_concurrent = Some(n);
        self
    }

    /// No bulkhead.
    pub fn no_bulkhead(mut self) -> Self {
        self.config.max_concurrent = None;
        self
    }

    /// Calls that may wait for a bulkhead place.
    pub fn queue(mut self, n: u32) -> Self {
        self.config.queue = n;
        self
    }

    /// Longest wait for a bulkhead place.
    pub fn queue_timeout(mut self, d: Duration) -> Self {
        self.config.queue_timeout = d;
        self
    }

    /// Calls taking at least `d` are slow.
    pub fn slow_call(mut self, d: Duration) -> Self {
        self.config.slow_call = Some(d);
        self
    }

    /// Slow-call rate that opens the circuit.
    pub fn slow_call_rate(mut self, rate: f64) -> Self {
        self.config.slow_call_rate = rate;
        self
    }

    /// Fallbacks that may run nested inside each other.
    pub fn fallback_depth(mut self, n: u32) -> Self {
        self.config.fallback_depth = n;
        self
    }

    /// Time the whole fallback chain may take.
    pub fn fallback_timeout(mut self, d: Duration) -> Self {
        self.config.fallback_timeout = Some(d);
        self
    }

    /// HTTP 429 answers become failures once `n` arrive within the window (1: every
    /// one is); see [`too_many_requests_window`](Self::too_many_requests_window).
    pub fn too_many_requests(mut self, n: u32) -> Self {
        self.config.too_many_requests = Some(n);
        self
    }

    /// No HTTP 429 answer is a failure.
    pub fn no_too_many_requests(mut self) -> Self {
        self.config.too_many_requests = None;
        self
    }

    /// The window of [`too_many_requests`](Self::too_many_requests).
    pub fn too_many_requests_window(mut self, d: Duration) -> Self {
        self.config.too_many_requests_window = d;
        self
    }

    /// A `tracing` span per call of the attribute's functions (see [`Config::trace`]).
    pub fn trace(mut self, on: bool) -> Self {
        self.config.trace = on;
        self
    }

    /// The configuration, validated.
    pub fn build(self) -> Result<Config, ConfigError> {
        let mut config = self.config;
        if self.window_set && !self.rate_set {
            config.failure_rate = Some(defaults::FAILURE_RATE);
        }
        if !self.timeout_set {
            config.timeout = config.timeout.map(|t| t.min(config.recovery_timeout));
        }
        config.validate()?;
        Ok(config)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn broken(f: impl FnOnce(&mut Config)) -> ConfigError {
        let mut config = Config::default();
        f(&mut config);
        config.validate().expect_err("the rule is broken")
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn defaults_are_the_design_documents() {
        let c = Config::default();
        assert_eq!(c.threshold, Some(5));
        assert_eq!(c.failure_rate, None);
        assert_eq!((c.window, c.buckets, c.min_calls), (secs(60), 10, 10));
        assert_eq!(c.recovery_timeout, secs(30));
        assert_eq!((c.half_open_max_calls, c.success_threshold), (1, 1));
        assert_eq!(c.timeout, Some(secs(10)));
        assert_eq!((c.max_concurrent, c.queue, c.queue_timeout), (Some(100), 0, Duration::ZERO));
        assert_eq!((c.fallback_depth, c.fallback_timeout), (3, None));
        c.validate().expect("the defaults are valid");
    }

    #[test]
    fn threshold_must_be_at_least_one() {
        let e = broken(|c| c.threshold = Some(0));
        assert_eq!((e.field, e.value.as_str(), e.rule.as_str()), ("threshold", "0", "must be at least 1"));
    }

    #[test]
    fn failure_rate_must_be_in_zero_exclusive_to_one() {
        for bad in [0.0, -0.1, 1.01, f64::NAN] {
            assert_eq!(broken(|c| c.failure_rate = Some(bad)).field, "failure_rate");
        }
        Config { failure_rate: Some(1.0), ..Config::default() }.validate().unwrap();
    }

    #[test]
    fn some_rule_must_open_the_circuit() {
        let e = broken(|c| c.threshold = None);
        assert!(e.rule.contains("needs a rule to open by"), "{e}");
        let rate_only = Config { threshold: None, failure_rate: Some(0.5), ..Config::default() };
        rate_only.validate().expect("the rate alone is a rule");
    }

    #[test]
    fn buckets_must_be_between_one_and_the_maximum() {
        assert_eq!(broken(|c| c.buckets = 0).field, "buckets");
        let e = broken(|c| {
            c.buckets = 3601;
            c.window = secs(7200);
        });
        assert_eq!((e.field, e.rule.as_str()), ("buckets", "must be at most 3600"));
    }

    #[test]
    fn each_bucket_must_cover_a_second() {
        let e = broken(|c| c.window = Duration::from_millis(9_500));
        assert_eq!(e.field, "window");
        assert_eq!(e.value, "9.5s");
        assert_eq!(e.rule, "must give each of the 10 buckets at least 1s (window >= 10s)");
    }

    #[test]
    fn min_calls_must_be_at_least_one() {
        assert_eq!(broken(|c| c.min_calls = 0).field, "min_calls");
    }

    #[test]
    fn recovery_timeout_must_be_positive() {
        let e = broken(|c| {
            c.recovery_timeout = Duration::ZERO;
            c.timeout = None;
        });
        assert_eq!(e.field, "recovery_timeout");
    }

    #[test]
    fn probe_counts_must_fit_the_probe_counter() {
        assert_eq!(broken(|c| c.half_open_max_calls = 0).field, "half_open_max_calls");
        assert_eq!(broken(|c| c.half_open_max_calls = 65_536).rule, "must be at most 65535");
        assert_eq!(broken(|c| c.success_threshold = 0).field, "success_threshold");
        assert_eq!(broken(|c| c.success_threshold = 70_000).field, "success_threshold");
    }

    #[test]
    fn timeout_must_be_positive_and_within_recovery_timeout() {
        assert_eq!(broken(|c| c.timeout = Some(Duration::ZERO)).field, "timeout");
        let e = broken(|c| c.timeout = Some(secs(31)));
        assert_eq!((e.field, e.value.as_str()), ("timeout", "31s"));
        assert!(e.rule.starts_with("must not be longer than recovery_timeout (30s)"), "{e}");
    }

    #[test]
    fn bulkhead_rules() {
        assert_eq!(broken(|c| c.max_concurrent = Some(0)).field, "max_concurrent");
        let e = broken(|c| {
            c.max_concurrent = None;
            c.queue = 5;
            c.queue_timeout = secs(1);
        });
        assert_eq!(e.field, "queue");
        assert_eq!(broken(|c| c.queue = 5).field, "queue_timeout");
    }

    #[test]
    fn slow_call_rules() {
        assert_eq!(broken(|c| c.slow_call = Some(Duration::ZERO)).field, "slow_call");
        assert_eq!(broken(|c| c.slow_call_rate = 0.0).field, "slow_call_rate");
    }

    #[test]
    fn fallback_rules() {
        assert_eq!(broken(|c| c.fallback_depth = 0).field, "fallback_depth");
        assert_eq!(broken(|c| c.fallback_timeout = Some(Duration::ZERO)).field, "fallback_timeout");
    }

    #[test]
    fn builder_turns_the_rate_on_with_a_window_and_caps_a_defaulted_timeout() {
        let c = Config::builder().buckets(6).build().unwrap();
        assert_eq!(c.failure_rate, Some(0.5));
        let c = Config::builder().window(secs(30)).failure_rate(0.25).build().unwrap();
        assert_eq!(c.failure_rate, Some(0.25));
        let c = Config::builder().recovery_timeout(secs(4)).build().unwrap();
        assert_eq!(c.timeout, Some(secs(4)));
        let e = Config::builder().recovery_timeout(secs(4)).timeout(secs(8)).build().unwrap_err();
        assert_eq!(e.field, "timeout");
    }
}
