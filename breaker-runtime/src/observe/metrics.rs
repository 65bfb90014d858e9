//! Every breaker of the registry pushed to the `metrics` facade (feature `metrics`),
//! for programs that already have a recorder (Datadog, StatsD, OpenTelemetry bridges,
//! `metrics-exporter-prometheus`): on a timer, from the breakers' own counters, never
//! from the call path.
//!
//! The names and labels are those of [`prometheus`](super::prometheus) (counters set
//! with `absolute`, so they only grow), except the call-duration histogram: a
//! recorder's histogram takes one value per call, which the exporter does not have, so
//! the percentiles go out as `breaker_latency_percentile_seconds{percentile}` alone.
//!
//! ```no_run
//! # async fn demo() {
//! use std::time::Duration;
//! use breaker_runtime::observe::metrics::MetricsExporter;
//!
//! // After installing a recorder:
//! let task = MetricsExporter::new().interval(Duration::from_secs(15)).label("region", "eu-1").spawn();
//! # drop(task);
//! # }
//! ```

use std::time::Duration;

use metrics::{Label, Unit, counter, describe_counter, describe_gauge, gauge};

use crate::observe::states::{self, one_hot};
use crate::registry::registry;

/// Pushes every breaker's values to the installed `metrics` recorder.
#[derive(Clone, Debug)]
pub struct MetricsExporter {
    interval: Duration,
    labels: Vec<Label>,
}

impl Default for MetricsExporter {
    fn default() -> Self {
        MetricsExporter::new()
    }
}

impl MetricsExporter {
    /// Every 10 seconds, labelled by `service` alone.
    pub fn new() -> MetricsExporter {
        MetricsExporter { interval: Duration::from_secs(10), labels: Vec::new() }
    }

    /// How often [`spawn`](Self::spawn)'s task pushes.
    pub fn interval(mut self, interval: Duration) -> MetricsExporter {
        self.interval = interval.max(Duration::from_millis(10));
        self
    }

    /// A constant label on every metric. One of the exporter's own names (`service`,
    /// `state`, `outcome`, `cause`, `result`, `from`, `to`, `percentile`) becomes
    /// `exported_NAME`, as with the Prometheus rendering; a name given twice keeps its
    /// last value.
    pub fn label(mut self, name: &str, value: &str) -> MetricsExporter {
        const OWN: [&str; 8] = ["service", "state", "outcome", "cause", "result", "from", "to", "percentile"];
        let name = if OWN.contains(&name) { format!("exported_{name}") } else { name.to_owned() };
        self.labels.retain(|label| label.key() != name);
        self.labels.push(Label::new(name, value.to_owned()));
        self
    }

    /// Describes the metrics to the installed recorder (names, units, help). `spawn`
    /// does it; call it yourself if you push with [`export`](Self::export) alone.
    pub fn describe(&self) {
        describe_gauge!("breaker_state", "Circuit state: 1 for the current state, 0 for the others.");
        describe_counter!("breaker_calls_total", "Completed calls through the breaker, by outcome.");
        describe_counter!(
            "breaker_rejections_total",
            "Calls refused without reaching the service, by cause."
        );
        describe_counter!(
            "breaker_transitions_total",
            "State changes of the circuit, by the states left and entered."
        );
        describe_counter!("breaker_opened_total", "Times the circuit opened.");
        describe_gauge!("breaker_failure_rate", "Failure rate of the sliding window, 0 to 1.");
        describe_gauge!("breaker_slow_call_rate", "Slow-call rate of the sliding window, 0 to 1.");
        describe_gauge!(
            "breaker_latency_mean_seconds",
            Unit::Seconds,
            "Mean latency of the calls in the window."
        );
        describe_gauge!(
            "breaker_latency_max_seconds",
            Unit::Seconds,
            "Longest latency of the calls in the window."
        );
        describe_gauge!(
            "breaker_latency_percentile_seconds",
            Unit::Seconds,
            "Percentiles of the time of every completed call since the breaker was built."
        );
        describe_gauge!("breaker_bulkhead_in_use", "Bulkhead places in use.");
        describe_gauge!("breaker_bulkhead_queued", "Calls waiting in the bulkhead's queue.");
        describe_gauge!("breaker_window_calls", "Calls in the sliding window.");
        describe_counter!("breaker_fallback_runs_total", "Fallback chains run, by result.");
        describe_gauge!("breaker_consecutive_failures", "Failures in a row while closed.");
    }

    /// Pushes every breaker's current values once.
    pub fn export(&self) {
        for service in registry().services() {
            let Some(breaker) = registry().breaker(service) else { continue };
            let s = breaker.snapshot();
            let labels_of = |extra: &[(&'static str, &'static str)]| {
                let mut labels = Vec::with_capacity(self.labels.len() + 3);
                labels.push(Label::new("service", service));
                labels.extend(self.labels.iter().cloned());
                labels.extend(extra.iter().map(|&(k, v)| Label::new(k, v)));
                labels
            };
            let labels = |extra: Option<(&'static str, &'static str)>| labels_of(extra.as_slice());
            for (state, value) in one_hot(s.state) {
                gauge!("breaker_state", labels(Some(("state", state)))).set(value);
            }
            for (outcome, n) in [
                ("success", s.calls.successes),
                ("failure", s.calls.failures),
                ("ignored", s.calls.ignored),
                ("timeout", s.calls.timeouts),
            ] {
                counter!("breaker_calls_total", labels(Some(("outcome", outcome)))).absolute(n);
            }
            for (cause, n) in [
                ("open", s.rejections.open),
                ("probe_limit", s.rejections.probe_limit),
                ("bulkhead", s.rejections.bulkhead),
                ("forced_open", s.rejections.forced),
            ] {
                counter!("breaker_rejections_total", labels(Some(("cause", cause)))).absolute(n);
            }
            for (from, to, n) in states::transitions(&s) {
                let pair = [("from", states::label(from)), ("to", states::label(to))];
                counter!("breaker_transitions_total", labels_of(&pair)).absolute(n);
            }
            counter!("breaker_opened_total", labels(None)).absolute(s.open_count);
            gauge!("breaker_failure_rate", labels(None)).set(s.window.failure_rate);
            gauge!("breaker_slow_call_rate", labels(None)).set(s.window.slow_call_rate);
            gauge!("breaker_latency_mean_seconds", labels(None)).set(s.latency.mean.as_secs_f64());
            gauge!("breaker_latency_max_seconds", labels(None)).set(s.latency.max.as_secs_f64());
            for (quantile, value) in [
                ("0.5", s.latency.p50),
                ("0.9", s.latency.p90),
                ("0.99", s.latency.p99),
                ("0.999", s.latency.p999),
            ] {
                gauge!("breaker_latency_percentile_seconds", labels(Some(("percentile", quantile))))
                    .set(value.as_secs_f64());
            }
            gauge!("breaker_bulkhead_in_use", labels(None)).set(f64::from(s.bulkhead.in_use));
            gauge!("breaker_bulkhead_queued", labels(None)).set(f64::from(s.bulkhead.queued));
            gauge!("breaker_window_calls", labels(None)).set(s.window.calls as f64);
            for (result, n) in [("success", s.fallbacks.successes), ("failure", s.fallbacks.failures)] {
                counter!("breaker_fallback_runs_total", labels(Some(("result", result)))).absolute(n);
            }
            gauge!("breaker_consecutive_failures", labels(None)).set(f64::from(s.consecutive_failures));
        }
    }

    /// Describes the metrics, then pushes them now and every `interval` on a tokio
    /// task, until the task is aborted.
    pub fn spawn(self) -> tokio::task::JoinHandle<()> {
        self.describe();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(self.interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                self.export();
            }
        })
    }
}
