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
//! | `breaker_transitions_total{from,to}` | counter | state changes; the four a breaker makes by itself from startup, operators' ones once made |
//! | `breaker_opened_total` | counter | times the circuit opened |
//! | `breaker_failure_rate`, `breaker_slow_call_rate` | gauge | the window's rates, 0 to 1 |
//! | `breaker_window_calls` | gauge | calls in the window |
//! | `breaker_latency_mean_seconds`, `breaker_latency_max_seconds` | gauge | the window's latency |
//! | `breaker_call_duration_seconds` | histogram | every completed call's time; bounds 1 ms to 65.536 s, doubling |
//! | `breaker_latency_percentile_seconds{percentile}` | gauge | `0.5`, `0.9`, `0.99`, `0.999` of every call since startup |
//! | `breaker_bulkhead_in_use`, `breaker_bulkhead_queued` | gauge | |
//! | `breaker_fallback_runs_total{result}` | counter | `success`, `failure` |
//! | `breaker_consecutive_failures` | gauge | |
//!
//! With [`Naming::Resilience4j`] the rendering has the names and labels of
//! resilience4j's Micrometer binding instead (label `name` for the service), so
//! dashboards made for it work unchanged:
//!
//! | name | type | |
//! |---|---|---|
//! | `resilience4j_circuitbreaker_state{state}` | gauge | `closed`, `open`, `half_open`, `forced_open`, `disabled`, `metrics_only` |
//! | `resilience4j_circuitbreaker_calls_seconds{kind}` | summary (`_count`, `_sum`) | `successful`, `failed` (timeouts included), `ignored` |
//! | `resilience4j_circuitbreaker_calls_seconds_max{kind}` | gauge | the window's longest call (the same for every kind) |
//! | `resilience4j_circuitbreaker_not_permitted_calls_total{kind="not_permitted"}` | counter | every rejection |
//! | `resilience4j_circuitbreaker_buffered_calls{kind}` | gauge | the window's `successful` and `failed` calls |
//! | `resilience4j_circuitbreaker_failure_rate`, `..._slow_call_rate` | gauge | percent; -1 while the window holds fewer than `min_calls` judged calls |
//!
//! resilience4j's `slow_calls{kind}` is not rendered: the window counts slow calls
//! without splitting them by outcome.

use std::fmt::Write;

use crate::observe::Snapshot;
use crate::observe::states::{self, one_hot, one_hot_resilience4j};
use crate::registry::Registry;

/// Whose metric names and labels a rendering uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Naming {
    /// `breaker_*`, labelled by `service` (the default).
    #[default]
    Native,
    /// resilience4j's Micrometer names (`resilience4j_circuitbreaker_*`), labelled by
    /// `name`.
    Resilience4j,
}

/// How a rendering is labelled and named.
#[derive(Clone, Debug, Default)]
pub struct Exposition {
    labels: Vec<(String, String)>,
    naming: Naming,
}

impl Exposition {
    /// Series labelled by `service` alone, native names.
    pub fn new() -> Exposition {
        Exposition::default()
    }

    /// Adds a constant label to every series (`region="eu-1"`). A name that is not a
    /// valid Prometheus label name has its other characters replaced by `_`; one of
    /// the exposition's own (`service`, `state`, `outcome`, `cause`, `result`, `from`,
    /// `to`, `le`, `percentile`, and with resilience4j's names `name` and `kind`) becomes
    /// `exported_NAME`, as Prometheus renames clashing labels. A name given twice keeps
    /// its last value.
    pub fn label(mut self, name: &str, value: &str) -> Exposition {
        self.labels.push((label_name(name), value.to_owned()));
        self
    }

    /// Renders with `naming`'s names and labels.
    pub fn naming(mut self, naming: Naming) -> Exposition {
        self.naming = naming;
        self
    }

    /// Every breaker of `registry`, in the text format (version 0.0.4).
    pub fn render(&self, registry: &Registry) -> String {
        self.render_snapshots(&registry.snapshots())
    }

    /// These snapshots in the text format.
    pub fn render_snapshots(&self, snapshots: &[Snapshot]) -> String {
        let mut out = String::with_capacity(512 + snapshots.len() * 4096);
        let bases: Vec<String> = snapshots.iter().map(|s| self.base(s)).collect();
        let mut writer = Writer { out: &mut out, bases: &bases, snapshots };
        match self.naming {
            Naming::Native => writer.native(),
            Naming::Resilience4j => writer.resilience4j(),
        }
        out
    }

    /// The labels every series of `snapshot` carries, written out once.
    fn base(&self, snapshot: &Snapshot) -> String {
        let (own, reserved): (&str, &[&str]) = match self.naming {
            Naming::Native => (
                "service",
                &["service", "state", "outcome", "cause", "result", "from", "to", "le", "percentile"],
            ),
            Naming::Resilience4j => ("name", &["name", "state", "kind"]),
        };
        // Each name once (a name given twice keeps its last value): Prometheus refuses
        // a series with a label repeated.
        let mut labels: Vec<(String, &str)> = Vec::with_capacity(self.labels.len());
        for (name, value) in &self.labels {
            let name =
                if reserved.contains(&name.as_str()) { format!("exported_{name}") } else { name.clone() };
            match labels.iter_mut().find(|(known, _)| *known == name) {
                Some(known) => known.1 = value,
                None => labels.push((name, value)),
            }
        }
        let mut base = format!("{own}=\"{}\"", escape(snapshot.service));
        for (name, value) in labels {
            let _ = write!(base, ",{name}=\"{}\"", escape(value));
        }
        base
    }
}

/// One rendering in progress.
struct Writer<'a> {
    out: &'a mut String,
    /// Each snapshot's labels, written once.
    bases: &'a [String],
    snapshots: &'a [Snapshot],
}

type Each<'f> = &'f dyn Fn(&mut Series<'_>, &Snapshot);

impl Writer<'_> {
    /// One metric family: its HELP and TYPE, then every breaker's series.
    fn family(&mut self, name: &str, kind: &str, help: &str, each: Each<'_>) {
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
        for (snapshot, base) in self.snapshots.iter().zip(self.bases) {
            let mut series = Series { out: self.out, name, base };
            each(&mut series, snapshot);
        }
    }

    fn native(&mut self) {
        self.family(
            "breaker_state",
            "gauge",
            "Circuit state: 1 for the current state, 0 for the others.",
            &|s, snap| {
                for (state, value) in one_hot(snap.state) {
                    s.write(&[("state", state)], value);
                }
            },
        );
        self.family(
            "breaker_calls_total",
            "counter",
            "Completed calls through the breaker, by outcome.",
            &|s, snap| {
                s.write(&[("outcome", "success")], snap.calls.successes as f64);
                s.write(&[("outcome", "failure")], snap.calls.failures as f64);
                s.write(&[("outcome", "ignored")], snap.calls.ignored as f64);
                s.write(&[("outcome", "timeout")], snap.calls.timeouts as f64);
            },
        );
        self.family(
            "breaker_rejections_total",
            "counter",
            "Calls refused without reaching the service, by cause.",
            &|s, snap| {
                s.write(&[("cause", "open")], snap.rejections.open as f64);
                s.write(&[("cause", "probe_limit")], snap.rejections.probe_limit as f64);
                s.write(&[("cause", "bulkhead")], snap.rejections.bulkhead as f64);
                s.write(&[("cause", "forced_open")], snap.rejections.forced as f64);
            },
        );
        self.family(
            "breaker_transitions_total",
            "counter",
            "State changes of the circuit, by the states left and entered.",
            &|s, snap| {
                for (from, to, count) in states::transitions(snap) {
                    s.write(&[("from", states::label(from)), ("to", states::label(to))], count as f64);
                }
            },
        );
        self.family("breaker_opened_total", "counter", "Times the circuit opened.", &|s, snap| {
            s.write(&[], snap.open_count as f64);
        });
        self.family(
            "breaker_failure_rate",
            "gauge",
            "Failure rate of the sliding window, 0 to 1.",
            &|s, snap| {
                s.write(&[], snap.window.failure_rate);
            },
        );
        self.family(
            "breaker_slow_call_rate",
            "gauge",
            "Slow-call rate of the sliding window, 0 to 1.",
            &|s, snap| {
                s.write(&[], snap.window.slow_call_rate);
            },
        );
        self.family("breaker_window_calls", "gauge", "Calls in the sliding window.", &|s, snap| {
            s.write(&[], snap.window.calls as f64);
        });
        self.family(
            "breaker_latency_mean_seconds",
            "gauge",
            "Mean latency of the calls in the window.",
            &|s, snap| {
                s.write(&[], snap.latency.mean.as_secs_f64());
            },
        );
        self.family(
            "breaker_latency_max_seconds",
            "gauge",
            "Longest latency of the calls in the window.",
            &|s, snap| {
                s.write(&[], snap.latency.max.as_secs_f64());
            },
        );
        self.family(
            "breaker_call_duration_seconds",
            "histogram",
            "Time of every completed call since the breaker was built.",
            &|s, snap| {
                let mut cumulative = 0;
                let mut bounds = bucket_bounds().iter();
                for (k, (upper, n)) in snap.durations.buckets().enumerate() {
                    cumulative += n;
                    // Every fourth of the breaker's bounds, so each is exact: the
                    // doublings 1 ms, 2 ms, 4 ms, ... 65.536 s.
                    if upper.is_some() && k % 4 == 0 {
                        if let Some(le) = bounds.next() {
                            s.write_named("_bucket", &[("le", le)], cumulative as f64);
                        }
                    }
                }
                s.write_named("_bucket", &[("le", "+Inf")], cumulative as f64);
                s.write_named("_sum", &[], snap.durations.sum().as_secs_f64());
                s.write_named("_count", &[], cumulative as f64);
            },
        );
        self.family(
            "breaker_latency_percentile_seconds",
            "gauge",
            "Percentiles of the time of every completed call since the breaker was built.",
            &|s, snap| {
                s.write(&[("percentile", "0.5")], snap.latency.p50.as_secs_f64());
                s.write(&[("percentile", "0.9")], snap.latency.p90.as_secs_f64());
                s.write(&[("percentile", "0.99")], snap.latency.p99.as_secs_f64());
                s.write(&[("percentile", "0.999")], snap.latency.p999.as_secs_f64());
            },
        );
        self.family("breaker_bulkhead_in_use", "gauge", "Bulkhead places in use.", &|s, snap| {
            s.write(&[], f64::from(snap.bulkhead.in_use));
        });
        self.family(
            "breaker_bulkhead_queued",
            "gauge",
            "Calls waiting in the bulkhead's queue.",
            &|s, snap| {
                s.write(&[], f64::from(snap.bulkhead.queued));
            },
        );
        self.family(
            "breaker_fallback_runs_total",
            "counter",
            "Fallback chains run, by result.",
            &|s, snap| {
                s.write(&[("result", "success")], snap.fallbacks.successes as f64);
                s.write(&[("result", "failure")], snap.fallbacks.failures as f64);
            },
        );
        self.family(
            "breaker_consecutive_failures",
            "gauge",
            "Failures in a row while closed.",
            &|s, snap| {
                s.write(&[], f64::from(snap.consecutive_failures));
            },
        );
    }

    fn resilience4j(&mut self) {
        self.family(
            "resilience4j_circuitbreaker_state",
            "gauge",
            "The states of the circuit breaker",
            &|s, snap| {
                for (state, value) in one_hot_resilience4j(snap.state) {
                    s.write(&[("state", state)], value);
                }
            },
        );
        self.family(
            "resilience4j_circuitbreaker_calls_seconds",
            "summary",
            "Total number of calls which failed or succeeded",
            &|s, snap| {
                let c = &snap.calls;
                for (kind, count, time) in [
                    ("successful", c.successes, c.success_time),
                    ("failed", c.failures + c.timeouts, c.failure_time + c.timeout_time),
                    ("ignored", c.ignored, c.ignored_time),
                ] {
                    s.write_named("_count", &[("kind", kind)], count as f64);
                    s.write_named("_sum", &[("kind", kind)], time.as_secs_f64());
                }
            },
        );
        self.family(
            "resilience4j_circuitbreaker_calls_seconds_max",
            "gauge",
            "The longest call of the sliding window",
            &|s, snap| {
                for kind in ["successful", "failed", "ignored"] {
                    s.write(&[("kind", kind)], snap.latency.max.as_secs_f64());
                }
            },
        );
        self.family(
            "resilience4j_circuitbreaker_not_permitted_calls_total",
            "counter",
            "Total number of not permitted calls",
            &|s, snap| {
                s.write(&[("kind", "not_permitted")], snap.rejections.total() as f64);
            },
        );
        self.family(
            "resilience4j_circuitbreaker_buffered_calls",
            "gauge",
            "The number of buffered calls stored in the ring buffer",
            &|s, snap| {
                s.write(&[("kind", "successful")], snap.window.successes as f64);
                s.write(&[("kind", "failed")], snap.window.failures as f64);
            },
        );
        let judged = |snap: &Snapshot| {
            snap.window.successes + snap.window.failures >= u64::from(snap.window.min_calls)
        };
        self.family(
            "resilience4j_circuitbreaker_failure_rate",
            "gauge",
            "The failure rate of the circuit breaker",
            &|s, snap| {
                s.write(&[], if judged(snap) { snap.window.failure_rate * 100.0 } else { -1.0 });
            },
        );
        self.family(
            "resilience4j_circuitbreaker_slow_call_rate",
            "gauge",
            "The slow call of the circuit breaker",
            &|s, snap| {
                s.write(&[], if judged(snap) { snap.window.slow_call_rate * 100.0 } else { -1.0 });
            },
        );
    }
}

/// The `le` labels of the exported histogram buckets, formatted once.
fn bucket_bounds() -> &'static [String] {
    static BOUNDS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    BOUNDS.get_or_init(|| {
        crate::observe::DurationHistogram::default()
            .buckets()
            .enumerate()
            .filter_map(|(k, (upper, _))| upper.filter(|_| k % 4 == 0))
            .map(|upper| upper.as_secs_f64().to_string())
            .collect()
    })
}

/// One family's series of one breaker.
struct Series<'a> {
    out: &'a mut String,
    name: &'a str,
    base: &'a str,
}

impl Series<'_> {
    fn write(&mut self, labels: &[(&str, &str)], value: f64) {
        self.write_named("", labels, value);
    }

    /// A series of the family whose name has `suffix` (`_bucket`, `_sum`, `_count`).
    fn write_named(&mut self, suffix: &str, labels: &[(&str, &str)], value: f64) {
        // Pieces pushed as they are: a scrape of 1,000 services writes 50,000 lines.
        let out = &mut *self.out;
        out.push_str(self.name);
        out.push_str(suffix);
        out.push('{');
        out.push_str(self.base);
        for (name, v) in labels {
            out.push(',');
            out.push_str(name);
            out.push_str("=\"");
            out.push_str(v);
            out.push('"');
        }
        out.push_str("} ");
        // Counts are whole: written as integers (faster, and as Prometheus prints them).
        if value.fract() == 0.0 && (0.0..9.0e15).contains(&value) {
            push_integer(out, value as u64);
        } else {
            let _ = write!(out, "{value}");
        }
        out.push('\n');
    }
}

/// Appends the decimal digits of `n`.
fn push_integer(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or("0"));
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> std::borrow::Cow<'_, str> {
    if !value.contains(['\\', '"', '\n']) {
        return std::borrow::Cow::Borrowed(value);
    }
    std::borrow::Cow::Owned(value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n"))
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
    fn integers_are_written_whole() {
        for n in [0u64, 7, 10, 1_234_567_890, u64::MAX] {
            let mut out = String::new();
            push_integer(&mut out, n);
            assert_eq!(out, n.to_string());
        }
    }

    /// A label given twice, or twice once renamed (`service` is `exported_service`),
    /// is written once, with its last value.
    #[test]
    fn a_label_is_written_once() {
        let exposition = Exposition::new()
            .label("region", "a")
            .label("region", "b")
            .label("exported_service", "x")
            .label("service", "y");
        let snapshot =
            crate::CircuitBreaker::new("labels-once", crate::Config::default()).unwrap().snapshot();
        let rendered = exposition.render_snapshots(&[snapshot]);
        let line = rendered.lines().find(|l| l.starts_with("breaker_opened_total{")).unwrap();
        assert_eq!(
            line,
            "breaker_opened_total{service=\"labels-once\",region=\"b\",exported_service=\"y\"} 0"
        );
    }

    #[test]
    fn label_values_and_names_are_made_valid() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(label_name("cluster-name"), "cluster_name");
        assert_eq!(label_name("1st"), "_1st");
        assert_eq!(label_name(""), "_");
    }
}
