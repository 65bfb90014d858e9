//! Transition and configuration-change log records carry the design's fields
//! (OBS-11), so a JSON `tracing` subscriber gives one structured record each.

mod common;

use breaker_runtime::Config;
use common::*;
use serde_json::Value;

impl Captured {
    fn records(&self) -> Vec<Value> {
        let text = self.text();
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
    }
}

fn logged(f: impl FnOnce()) -> Vec<Value> {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
    tracing::subscriber::with_default(subscriber, f);
    captured.records()
}

#[test]
fn an_opening_is_one_json_record_with_states_trigger_counts_and_limits() {
    let records = logged(|| {
        let (breaker, _clock) = manual("logs-open", Config::builder().threshold(3).recovery_timeout(secs(7)));
        breaker.try_acquire().unwrap().success();
        for _ in 0..3 {
            breaker.try_acquire().unwrap().failure();
        }
    });
    let opened: Vec<&Value> = records.iter().filter(|r| r["fields"]["message"] == "circuit opened").collect();
    assert_eq!(opened.len(), 1, "{records:?}");
    let r = opened[0];
    assert_eq!(r["level"], "WARN");
    let f = &r["fields"];
    assert_eq!(f["service"], "logs-open");
    assert_eq!((f["from"].as_str(), f["to"].as_str()), (Some("closed"), Some("open")));
    assert_eq!(f["trigger"], "3 consecutive failures (threshold 3)");
    assert_eq!(f["consecutive_failures"], 3);
    assert_eq!((f["window_calls"].as_u64(), f["window_failures"].as_u64()), (Some(4), Some(3)));
    assert_eq!(f["failure_rate"], 0.75);
    assert_eq!(f["threshold"], 3);
    assert_eq!(f["recovery_timeout_ms"], 7000);
    assert_eq!(f["generation"], 1, "the first transition");
}

#[test]
fn a_configuration_change_names_each_key_changed_with_both_values() {
    let records = logged(|| {
        let (breaker, _clock) = manual("logs-config", Config::builder().threshold(3));
        let config = Config::builder().threshold(9).build().unwrap();
        breaker.reconfigure(config).unwrap();
    });
    let changed: Vec<&Value> =
        records.iter().filter(|r| r["fields"]["message"] == "configuration changed").collect();
    assert_eq!(changed.len(), 1, "{records:?}");
    let f = &changed[0]["fields"];
    assert_eq!(f["service"], "logs-config");
    assert_eq!(f["state"], "closed");
    assert_eq!(f["changes"], "threshold: 3 -> 9");
}

#[breaker_runtime::circuit_breaker(service = "logs-last-error", threshold = 2)]
async fn refused(port: u16) -> Result<u32, std::io::Error> {
    Err(std::io::Error::new(
        std::io::ErrorKind::ConnectionRefused,
        format!("connection refused on port {port}"),
    ))
}

/// An error type without `Display`.
#[derive(Debug)]
struct Opaque;

impl From<breaker_runtime::Error> for Opaque {
    fn from(_: breaker_runtime::Error) -> Opaque {
        Opaque
    }
}

#[breaker_runtime::circuit_breaker(service = "logs-opaque-error", threshold = 1)]
async fn opaque() -> Result<u32, Opaque> {
    Err(Opaque)
}

#[breaker_runtime::circuit_breaker(service = "logs-timeout-error", threshold = 1, timeout = "50ms")]
async fn hangs() -> Result<u32, breaker_runtime::Error> {
    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
    Ok(1)
}

#[test]
fn the_failure_that_opens_a_circuit_is_named_in_its_record_and_its_log() {
    let records = logged(|| {
        let _ = futures::executor::block_on(refused(8080));
        let _ = futures::executor::block_on(refused(8081)); // opens
    });
    let opened = records
        .iter()
        .find(|r| r["fields"]["service"] == "logs-last-error" && r["fields"]["message"] == "circuit opened")
        .unwrap_or_else(|| panic!("no opening in {records:?}"));
    assert_eq!(opened["fields"]["last_error"], "connection refused on port 8081");
    let breaker = breaker_runtime::registry().get("logs-last-error").unwrap();
    let last = breaker.snapshot().recent_transitions.last().cloned().unwrap();
    assert_eq!(last.last_error.as_deref(), Some("connection refused on port 8081"));
}

#[test]
fn an_error_without_display_opens_without_a_text() {
    let _ = futures::executor::block_on(opaque());
    let breaker = breaker_runtime::registry().get("logs-opaque-error").unwrap();
    let last = breaker.snapshot().recent_transitions.last().cloned().unwrap();
    assert_eq!((last.to, last.last_error), (breaker_runtime::State::Open, None));
}

#[tokio::test(start_paused = true)]
async fn a_timeout_that_opens_a_circuit_is_named() {
    let _ = hangs().await;
    let breaker = breaker_runtime::registry().get("logs-timeout-error").unwrap();
    let last = breaker.snapshot().recent_transitions.last().cloned().unwrap();
    assert_eq!(last.last_error.as_deref(), Some("the call took longer than its timeout of 50ms"));
}

/// An error whose `Display` leaves out its source, as most client errors do.
#[derive(Debug)]
struct Upstream(std::io::Error);

impl std::fmt::Display for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the upstream call failed")
    }
}

impl std::error::Error for Upstream {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl From<breaker_runtime::Error> for Upstream {
    fn from(error: breaker_runtime::Error) -> Upstream {
        Upstream(std::io::Error::other(error))
    }
}

fn upstream_refused() -> Upstream {
    Upstream(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"))
}

#[breaker_runtime::circuit_breaker(service = "logs-error-sources", threshold = 1)]
async fn upstream() -> Result<u32, Upstream> {
    Err(upstream_refused())
}

#[breaker_runtime::circuit_breaker(service = "logs-boxed-error-sources", threshold = 1)]
async fn boxed() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    Err(Box::new(upstream_refused()))
}

#[test]
fn the_error_that_opens_a_circuit_is_named_with_its_sources() {
    let _ = futures::executor::block_on(upstream());
    let _ = futures::executor::block_on(boxed());
    // (`anyhow::Error`: in `ui-tests/tests/last_error.rs`.)
    for service in ["logs-error-sources", "logs-boxed-error-sources"] {
        let breaker = breaker_runtime::registry().get(service).unwrap();
        let last = breaker.snapshot().recent_transitions.last().cloned().unwrap();
        assert_eq!(
            (last.to, last.last_error.as_deref()),
            (breaker_runtime::State::Open, Some("the upstream call failed: connection refused")),
            "{service}"
        );
    }
}
