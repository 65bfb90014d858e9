//! Every breaker of the registry in Prometheus's text exposition format (feature
//! `prometheus`), read from the breakers' own counters when rendered: nothing is
//! recorded per call for it.
//!
//! Every service the program declares has its series from startup, before its first
//! call (the registry knows them at link time); on-demand breakers of the integrations
//! join when they are created.
//!
//! ```
//! use breaker_runtime::observe::prometheus::Exposition;
//! use breaker_runtime::{circuit_breaker, Error};
//!
//! #[circuit_breaker(service = "prometheus-doc", threshold = 3)]
//! async fn quote() -> Result<u32, Error> {
//!     Ok(7)
//! }
//!
//! let text = Exposition::new().label("region", "eu-1").render(breaker_runtime::registry());
//! // Before any call: the service is there, closed.
//! assert!(text.contains(r#"breaker_state{service="prometheus-doc",region="eu-1",state="closed"} 1"#));
//! # let _ = quote;
//! ```
//!
//! The series (labels: `service`, the constant labels, and the one named):
//!
//! | name | type | |
//! |---|---|---|
//! | `breaker_state{state}` | gauge | one series per state, the current one at 1 |
//! | `breaker_calls_total{outcome}` | counter | completed calls: `success`, `failure`, `ignored`, `timeout` |
//! | `breaker_rejections_total{cause}` | counter | `open`, `probe_limit`, `bulkhead`, `forced_open` |
//! | `breaker_transitions_total` | counter | state changes |
//! | `breaker_opened_total` | counter | times the circuit opened |
//! | `breaker_failure_rate`, `breaker_slow_call_rate` | gauge | the window's rates, 0 to 1 |
//! | `breaker_window_calls` | gauge | calls in the window |
//! | `breaker_latency_mean_seconds`, `breaker_latency_max_seconds` | gauge | the window's latency |
//! | `breaker_bulkhead_in_use`, `breaker_bulkhead_queued` | gauge | |
//! | `breaker_fallback_runs_total{result}` | counter | `success`, `failure` |
//! | `breaker_consecutive_failures` | gauge | |

use std::fmt::Write;

use crate::observe::Snapshot;
use crate::observe::states::one_hot;
use crate::registry::Registry;

/// How a rendering is labelled.
#[derive(Clone, Debug, Default)]
pub struct Exposition {
    labels: Vec<(String, String)>,
}

impl Exposition {
    /// Series labelled by `service` alone.
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Adds a constant label to every series (`region="eu-1"`). A name that is not a
    /// valid Prometheus label name has its other characters replaced by `_`; one of
    /// the exposition's own (`service`, `state`, `outcome`, `cause`, `result`)
    /// becomes `exported_NAME`, as Prometheus renames clashing labels.
    pub fn label(mut self, name: &str, value: &str) -> Exposition {
        let mut name = label_name(name);
        if ["service", "state", "outcome", "cause", "result"].contains(&name.as_str()) {
            name = format!("exported_{name}");
        }
        self.labels.push((name, value.to_owned()));
        self
    }

    /// Every breaker of `registry`, in the text format (version 0.0.4).
    pub fn render(&self, registry: &Registry) -> String {
        let snapshots: Vec<Snapshot> = registry
            .services()
            .into_iter()
            .filter_map(|s| registry.breaker(s))
            .map(|b| b.snapshot())
            .collect();
        self.render_snapshots(&snapshots)
    }

    /// These snapshots in the text format.
    pub fn render_snapshots(&self, snapshots: &[Snapshot]) -> String {
        let mut out = String::with_capacity(512 + snapshots.len() * 2048);
        let mut family = |name: &str, kind: &str, help: &str, each: &dyn Fn(&mut Series<'_>, &Snapshot)| {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for snapshot in snapshots {
                let mut series = Series { out: &mut out, name, base: self.base(snapshot) };
                each(&mut series, snapshot);
            }
        };
        family(
            "breaker_state",
            "gauge",
            "Circuit state: 1 for the current state, 0 for the others.",
            &|s, snap| {
                for (state, value) in one_hot(snap.state) {
                    s.write(Some(("state", state)), value);
                }
            },
        );
        family(
            "breaker_calls_total",
            "counter",
            "Completed calls through the breaker, by outcome.",
            &|s, snap| {
                s.write(Some(("outcome", "success")), snap.calls.successes as f64);
                s.write(Some(("outcome", "failure")), snap.calls.failures as f64);
                s.write(Some(("outcome", "ignored")), snap.calls.ignored as f64);
                s.write(Some(("outcome", "timeout")), snap.calls.timeouts as f64);
            },
        );
        family(
            "breaker_rejections_total",
            "counter",
            "Calls refused without reaching the service, by cause.",
            &|s, snap| {
                s.write(Some(("cause", "open")), snap.rejections.open as f64);
                s.write(Some(("cause", "probe_limit")), snap.rejections.probe_limit as f64);
                s.write(Some(("cause", "bulkhead")), snap.rejections.bulkhead as f64);
                s.write(Some(("cause", "forced_open")), snap.rejections.forced as f64);
            },
        );
        family("breaker_transitions_total", "counter", "State changes of the circuit.", &|s, snap| {
            s.write(None, snap.transitions as f64);
        });
        family("breaker_opened_total", "counter", "Times the circuit opened.", &|s, snap| {
            s.write(None, snap.open_count as f64);
        });
        family("breaker_failure_rate", "gauge", "Failure rate of the sliding window, 0 to 1.", &|s, snap| {
            s.write(None, snap.window.failure_rate);
        });
        family(
            "breaker_slow_call_rate",
            "gauge",
            "Slow-call rate of the sliding window, 0 to 1.",
            &|s, snap| {
                s.write(None, snap.window.slow_call_rate);
            },
        );
        family("breaker_window_calls", "gauge", "Calls in the sliding window.", &|s, snap| {
            s.write(None, snap.window.calls as f64);
        });
        family(
            "breaker_latency_mean_seconds",
            "gauge",
            "Mean latency of the calls in the window.",
            &|s, snap| {
                s.write(None, snap.latency.mean.as_secs_f64());
            },
        );
        family(
            "breaker_latency_max_seconds",
            "gauge",
            "Longest latency of the calls in the window.",
            &|s, snap| {
                s.write(None, snap.latency.max.as_secs_f64());
            },
        );
        family("breaker_bulkhead_in_use", "gauge", "Bulkhead places in use.", &|s, snap| {
            s.write(None, f64::from(snap.bulkhead.in_use));
        });
        family("breaker_bulkhead_queued", "gauge", "Calls waiting in the bulkhead's queue.", &|s, snap| {
            s.write(None, f64::from(snap.bulkhead.queued));
        });
        family("breaker_fallback_runs_total", "counter", "Fallback chains run, by result.", &|s, snap| {
            s.write(Some(("result", "success")), snap.fallbacks.successes as f64);
            s.write(Some(("result", "failure")), snap.fallbacks.failures as f64);
        });
        family("breaker_consecutive_failures", "gauge", "Failures in a row while closed.", &|s, snap| {
            s.write(None, f64::from(snap.consecutive_failures));
        });
        out
    }

    /// The labels every series of `snapshot` carries, written out once.
    fn base(&self, snapshot: &Snapshot) -> String {
        let mut base = format!("service=\"{}\"", escape(snapshot.service));
        for (name, value) in &self.labels {
            let _ = write!(base, ",{name}=\"{}\"", escape(value));
        }
        base
    }
}

/// One family's series of one breaker.
struct Series<'a> {
    out: &'a mut String,
    name: &'a str,
    base: String,
}

impl Series<'_> {
    fn write(&mut self, label: Option<(&str, &str)>, value: f64) {
        let _ = match label {
            Some((name, v)) => writeln!(self.out, "{}{{{},{name}=\"{v}\"}} {value}", self.name, self.base),
            None => writeln!(self.out, "{}{{{}}} {value}", self.name, self.base),
        };
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn label_name(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn label_values_and_names_are_made_valid() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(label_name("cluster-name"), "cluster_name");
        assert_eq!(label_name("1st"), "_1st");
        assert_eq!(label_name(""), "_");
    }
}
