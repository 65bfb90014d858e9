//! The `metrics` facade exporter pushes every declared breaker, before and after its
//! calls, to the installed recorder (here `metrics-util`'s debugging recorder).

use breaker_runtime::observe::metrics::MetricsExporter;
use breaker_runtime::observe::prometheus::Exposition;
use breaker_runtime::{Error, circuit_breaker, registry};
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

/// Every family of the Prometheus rendering goes to the facade under the same name,
/// but the call-duration histogram (a recorder's histogram takes one value per call,
/// which the exporter does not have): dashboards on those names work with either.
#[test]
fn the_facade_pushes_every_family_of_the_prometheus_rendering() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || MetricsExporter::new().export());
    let pushed: std::collections::BTreeSet<String> =
        snapshotter.snapshot().into_vec().into_iter().map(|(key, ..)| key.key().name().to_owned()).collect();
    let rendered = Exposition::new().render(registry());
    let families: Vec<&str> = rendered
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split(' ').next())
        .filter(|name| *name != "breaker_call_duration_seconds")
        .collect();
    assert!(families.len() > 10, "{rendered}");
    for family in families {
        assert!(pushed.contains(family), "`{family}` is rendered for Prometheus but not pushed: {pushed:?}");
    }
    let snapshot = registry().get("facade-orders").unwrap().snapshot();
    let exporter = MetricsExporter::new();
    let service = ("service", "facade-orders");
    assert_eq!(
        value(&exporter, "breaker_window_calls", &[service]),
        DebugValue::Gauge((snapshot.window.calls as f64).into())
    );
}

/// A constant label named like one of the exporter's own is renamed, and one given
/// twice is pushed once, with its last value: no series with a label repeated.
#[test]
fn constant_labels_never_repeat_a_name() {
    let exporter = MetricsExporter::new().label("service", "mine").label("zone", "a").label("zone", "b");
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || exporter.export());
    for (key, ..) in snapshotter.snapshot().into_vec() {
        let names: Vec<&str> = key.key().labels().map(|l| l.key()).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(names.len(), unique.len(), "{key:?}");
    }
    let service = ("service", "facade-orders");
    let state = ("state", "closed");
    value(&exporter, "breaker_state", &[service, ("exported_service", "mine"), ("zone", "b"), state]);
}
