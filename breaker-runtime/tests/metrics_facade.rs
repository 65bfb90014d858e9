//! The `metrics` facade exporter pushes every declared breaker, before and after its
//! calls, to the installed recorder (here `metrics-util`'s debugging recorder).

use breaker_runtime::observe::metrics::MetricsExporter;
use breaker_runtime::{Error, circuit_breaker};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};

#[circuit_breaker(service = "facade-orders", threshold = 1)]
async fn orders(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::UnknownService { service: "down".into(), suggestion: None }) } else { Ok(1) }
}

/// The value of `name` with these labels (and `service`), from a fresh export.
fn value(exporter: &MetricsExporter, name: &str, labels: &[(&str, &str)]) -> DebugValue {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || exporter.export());
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .find(|(key, ..)| {
            let key = key.key();
            key.name() == name
                && labels.iter().all(|(k, v)| key.labels().any(|l| l.key() == *k && l.value() == *v))
        })
        .map(|(.., value)| value)
        .unwrap_or_else(|| panic!("no {name} {labels:?}"))
}

#[tokio::test]
async fn every_breaker_is_pushed_with_counters_that_follow_its_calls() {
    let exporter = MetricsExporter::new().label("region", "eu-1");
    let service = ("service", "facade-orders");
    let region = ("region", "eu-1");
    assert_eq!(
        value(&exporter, "breaker_state", &[service, region, ("state", "closed")]),
        DebugValue::Gauge(1.0.into())
    );
    assert_eq!(
        value(&exporter, "breaker_calls_total", &[service, ("outcome", "success")]),
        DebugValue::Counter(0)
    );
    orders(false).await.unwrap();
    let _ = orders(true).await;
    let _ = orders(false).await; // refused
    assert_eq!(
        value(&exporter, "breaker_calls_total", &[service, ("outcome", "success")]),
        DebugValue::Counter(1)
    );
    assert_eq!(
        value(&exporter, "breaker_calls_total", &[service, ("outcome", "failure")]),
        DebugValue::Counter(1)
    );
    assert_eq!(
        value(&exporter, "breaker_rejections_total", &[service, ("cause", "open")]),
        DebugValue::Counter(1)
    );
    assert_eq!(
        value(&exporter, "breaker_state", &[service, ("state", "open")]),
        DebugValue::Gauge(1.0.into())
    );
    assert_eq!(
        value(&exporter, "breaker_state", &[service, ("state", "closed")]),
        DebugValue::Gauge(0.0.into())
    );
}
