//! The configuration an attribute declares is the configuration its breaker runs with;
//! keys not given take `breaker_runtime::defaults`; and the limits the macro checks at
//! compile time are the runtime's (a value the macro accepts is one the runtime
//! accepts, and the runtime refuses the next value past the limit).

mod common;

use std::time::Duration;

use breaker_runtime::{Config, circuit_breaker, defaults, registry};
use common::{ApiError, breaker};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn millis(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[circuit_breaker(
    service = "config-every-key",
    threshold = 3,
    failure_rate = 0.25,
    window = "20s",
    buckets = 4,
    min_calls = 7,
    recovery_timeout = "45s",
    half_open_max_calls = 2,
    success_threshold = 3,
    timeout = "1500ms",
    max_concurrent = 8,
    queue = 2,
    queue_timeout = "250ms",
    slow_call = "2s",
    slow_call_rate = 0.75,
    fallback = every_key_fallback,
    fallback_depth = 2,
    fallback_timeout = "300ms",
)]
async fn every_key() -> Result<(), ApiError> {
    Ok(())
}

fn every_key_fallback() -> Result<(), ApiError> {
    Ok(())
}

#[test]
fn every_key_of_the_attribute_reaches_the_breaker() {
    let expected = Config::builder()
        .threshold(3)
        .failure_rate(0.25)
        .window(secs(20))
        .buckets(4)
        .min_calls(7)
        .recovery_timeout(secs(45))
        .half_open_max_calls(2)
        .success_threshold(3)
        .timeout(millis(1500))
        .max_concurrent(8)
        .queue(2)
        .queue_timeout(millis(250))
        .slow_call(secs(2))
        .slow_call_rate(0.75)
        .fallback_depth(2)
        .fallback_timeout(millis(300))
        .build()
        .unwrap();
    assert_eq!(breaker("config-every-key").config(), expected);
    let definition = registry().definitions_of("config-every-key")[0];
    assert_eq!(definition.fallbacks, ["every_key_fallback"]);
    assert_eq!(definition.classify, None);
    let _ = every_key;
}

#[circuit_breaker(service = "config-defaults")]
async fn defaults_only() -> Result<(), ApiError> {
    Ok(())
}

#[test]
fn a_definition_with_only_a_service_gets_the_default_configuration() {
    let config = breaker("config-defaults").config();
    assert_eq!(config, Config::default());
    assert_eq!(config.threshold, Some(defaults::THRESHOLD));
    assert_eq!(config.failure_rate, None);
    assert_eq!(
        (config.window, config.buckets, config.min_calls),
        (defaults::WINDOW, defaults::BUCKETS, defaults::MIN_CALLS)
    );
    assert_eq!(config.recovery_timeout, defaults::RECOVERY_TIMEOUT);
    assert_eq!(
        (config.half_open_max_calls, config.success_threshold),
        (defaults::HALF_OPEN_MAX_CALLS, defaults::SUCCESS_THRESHOLD)
    );
    assert_eq!(config.timeout, Some(defaults::TIMEOUT));
    assert_eq!(config.max_concurrent, Some(defaults::MAX_CONCURRENT));
    assert_eq!((config.queue, config.queue_timeout), (defaults::QUEUE, defaults::QUEUE_TIMEOUT));
    assert_eq!((config.slow_call, config.slow_call_rate), (None, defaults::SLOW_CALL_RATE));
    assert_eq!((config.fallback_depth, config.fallback_timeout), (defaults::FALLBACK_DEPTH, None));
    let _ = defaults_only;
}

#[test]
fn the_defaults_are_the_design_documents() {
    // The macro's compile-time rules assume these (see the tests below).
    assert_eq!(defaults::THRESHOLD, 5);
    assert_eq!(defaults::WINDOW, secs(60));
    assert_eq!(defaults::BUCKETS, 10);
    assert_eq!(defaults::MIN_CALLS, 10);
    assert_eq!(defaults::RECOVERY_TIMEOUT, secs(30));
    assert_eq!(defaults::TIMEOUT, secs(10));
    assert_eq!(defaults::MAX_BUCKETS, 3600);
    assert_eq!(defaults::MAX_PROBES, 65_535);
}

#[circuit_breaker(service = "config-window", window = "30s")]
async fn windowed() -> Result<(), ApiError> {
    Ok(())
}

#[circuit_breaker(service = "config-buckets", buckets = 6)]
async fn bucketed() -> Result<(), ApiError> {
    Ok(())
}

#[circuit_breaker(service = "config-rate", failure_rate = 0.3, min_calls = 20)]
async fn rated() -> Result<(), ApiError> {
    Ok(())
}

#[test]
fn a_window_turns_the_failure_rate_on_at_one_half_unless_a_rate_is_given() {
    let windowed_config = breaker("config-window").config();
    assert_eq!((windowed_config.failure_rate, windowed_config.window), (Some(0.5), secs(30)));
    assert_eq!(windowed_config.threshold, Some(defaults::THRESHOLD), "the threshold stays on");
    assert_eq!(breaker("config-buckets").config().failure_rate, Some(defaults::FAILURE_RATE));
    let rated_config = breaker("config-rate").config();
    assert_eq!((rated_config.failure_rate, rated_config.min_calls), (Some(0.3), 20));
    assert_eq!(rated_config.window, defaults::WINDOW);
    let _ = (windowed, bucketed, rated);
}

#[circuit_breaker(service = "config-short-recovery", recovery_timeout = "4s")]
async fn short_recovery() -> Result<(), ApiError> {
    Ok(())
}

#[circuit_breaker(service = "config-explicit-timeout", recovery_timeout = "4s", timeout = "3s")]
async fn explicit_timeout() -> Result<(), ApiError> {
    Ok(())
}

#[test]
fn a_defaulted_timeout_is_capped_to_the_recovery_timeout_and_an_explicit_one_kept() {
    assert_eq!(breaker("config-short-recovery").config().timeout, Some(secs(4)));
    assert_eq!(breaker("config-explicit-timeout").config().timeout, Some(secs(3)));
    let _ = (short_recovery, explicit_timeout);
}

// The boundary values the macro accepts, one per rule that depends on a default.

/// `timeout` may equal the default `recovery_timeout` (30s).
#[circuit_breaker(service = "config-edge-timeout", timeout = "30s")]
async fn edge_timeout() -> Result<(), ApiError> {
    Ok(())
}

/// `window` alone must give each of the default 10 buckets a second.
#[circuit_breaker(service = "config-edge-window", window = "10s")]
async fn edge_window() -> Result<(), ApiError> {
    Ok(())
}

/// `buckets` alone must fit the default 60s window at a second each.
#[circuit_breaker(service = "config-edge-buckets", buckets = 60)]
async fn edge_buckets() -> Result<(), ApiError> {
    Ok(())
}

/// The most buckets and probes the macro accepts.
#[circuit_breaker(
    service = "config-edge-max",
    window = "1h",
    buckets = 3600,
    half_open_max_calls = 65535,
    success_threshold = 65535
)]
async fn edge_max() -> Result<(), ApiError> {
    Ok(())
}

/// The smallest values the macro accepts.
#[circuit_breaker(
    service = "config-edge-min",
    threshold = 1,
    failure_rate = 1.0,
    min_calls = 1,
    recovery_timeout = "1ns",
    timeout = "1ns",
    max_concurrent = 1
)]
async fn edge_min() -> Result<(), ApiError> {
    Ok(())
}

#[test]
fn values_at_the_macros_limits_are_valid_at_run_time_with_the_same_meaning() {
    let timeout = breaker("config-edge-timeout").config();
    assert_eq!((timeout.timeout, timeout.recovery_timeout), (Some(secs(30)), secs(30)));
    let window = breaker("config-edge-window").config();
    assert_eq!((window.window, window.buckets), (secs(10), 10));
    let buckets = breaker("config-edge-buckets").config();
    assert_eq!((buckets.window, buckets.buckets), (secs(60), 60));
    let max = breaker("config-edge-max").config();
    assert_eq!((max.buckets, max.half_open_max_calls, max.success_threshold), (3600, 65_535, 65_535));
    let min = breaker("config-edge-min").config();
    assert_eq!((min.threshold, min.failure_rate, min.min_calls), (Some(1), Some(1.0), 1));
    assert_eq!(
        (min.recovery_timeout, min.timeout, min.max_concurrent),
        (Duration::from_nanos(1), Some(Duration::from_nanos(1)), Some(1))
    );
    for config in [timeout, window, buckets, max, min] {
        config.validate().expect("a configuration the macro accepted");
    }
    let _ = (edge_timeout, edge_window, edge_buckets, edge_max, edge_min);
}

#[test]
fn the_runtime_refuses_the_first_values_past_the_macros_limits() {
    let field = |config: Config| config.validate().expect_err("past the limit").field;
    let mut past = Config::default();
    past.timeout = Some(secs(30) + Duration::from_nanos(1));
    assert_eq!(field(past), "timeout");
    let mut past = Config::default();
    past.window = secs(10) - Duration::from_nanos(1);
    assert_eq!(field(past), "window");
    let mut past = Config::default();
    past.buckets = 61;
    assert_eq!(field(past), "window");
    let mut past = Config::default();
    past.window = secs(7200);
    past.buckets = 3601;
    assert_eq!(field(past), "buckets");
    let mut past = Config::default();
    past.half_open_max_calls = 65_536;
    assert_eq!(field(past), "half_open_max_calls");
    let mut past = Config::default();
    past.success_threshold = 65_536;
    assert_eq!(field(past), "success_threshold");
    let mut past = Config::default();
    past.threshold = Some(0);
    assert_eq!(field(past), "threshold");
    let mut past = Config::default();
    past.failure_rate = Some(1.0 + f64::EPSILON);
    assert_eq!(field(past), "failure_rate");
}

#[circuit_breaker(
    service = "config-off",
    threshold = "off",
    window = "20s",
    timeout = "off",
    max_concurrent = "off",
    slow_call = "off",
    fallback = off_fallback,
    fallback_timeout = "off",
)]
async fn everything_off() -> Result<(), ApiError> {
    Ok(())
}

fn off_fallback() -> Result<(), ApiError> {
    Ok(())
}

#[circuit_breaker(service = "config-off-rate", failure_rate = "off", window = "20s", slow_call = "1s")]
async fn rate_off() -> Result<(), ApiError> {
    Ok(())
}

#[test]
fn off_in_the_attribute_turns_rules_and_policies_off_as_in_the_file() {
    let c = breaker("config-off").config();
    assert_eq!(c.threshold, None, "no consecutive-failure rule");
    assert_eq!(c.failure_rate, Some(defaults::FAILURE_RATE), "the window's rate rule opens it");
    assert_eq!((c.timeout, c.max_concurrent, c.slow_call, c.fallback_timeout), (None, None, None, None));
    let c = breaker("config-off-rate").config();
    assert_eq!((c.failure_rate, c.slow_call), (None, Some(secs(1))), "a window for the slow-call rate only");
    assert_eq!(c.threshold, Some(defaults::THRESHOLD));
    let report = registry().config_of("config-off").unwrap();
    let timeout = report.values.iter().find(|(key, _, _)| *key == "timeout").unwrap();
    assert_eq!(timeout.1, "off");
    assert!(timeout.2.to_string().starts_with("attribute at "), "{}", timeout.2);
    let _ = (everything_off(), rate_off());
}
