//! [`Registry::diagnose`](crate::registry::Registry::diagnose): what a breaker's
//! counters, transitions and history say about its configuration, as findings from
//! the design's symptom, cause and fix table (OBS-17), each with the value seen and
//! the change to make.

use std::fmt;
use std::time::Duration;

use crate::breaker::{CircuitBreaker, Config, State};
use crate::observe::history::{History, Point};
use crate::observe::{Reason, Snapshot};
use crate::registry::format_duration;

/// A breaker's state and configuration, its recent failure pattern, and what looks
/// wrong.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Diagnosis {
    /// The service.
    pub service: &'static str,
    /// Its snapshot when diagnosed.
    pub snapshot: Snapshot,
    /// Its configuration.
    pub config: Config,
    /// Times the circuit opened in the hour before the snapshot (of the transitions
    /// the breaker remembers: a lower bound past 32).
    pub opens_last_hour: u32,
    /// The finest history tier's points, oldest first (empty while nothing samples the
    /// history).
    pub recent: Vec<Point>,
    /// The failure pattern in words.
    pub pattern: String,
    /// What looks wrong, most serious first; empty when nothing does.
    pub findings: Vec<Finding>,
}

/// One thing that looks wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// Which rule found it.
    pub kind: FindingKind,
    /// What an operator sees.
    pub symptom: String,
    /// The value seen.
    pub seen: String,
    /// The change to make.
    pub change: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (change: {})", self.symptom, self.seen, self.change)
    }
}

/// The rules of the diagnosis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FindingKind {
    /// The threshold opens the circuit on one or two failures.
    BlipThreshold,
    /// The timeout is far above the service's p99: hung calls hold resources long.
    TimeoutAboveP99,
    /// The timeout is below the service's p99: it cuts healthy calls.
    TimeoutBelowP99,
    /// The window sees fewer calls than `min_calls`: the rate rule never judges.
    WindowTooSparse,
    /// HTTP client errors (4xx) are counted as failures.
    ClientErrorsCounted,
    /// Half-open probes keep failing.
    ProbesKeepFailing,
    /// The circuit opens and closes over and over.
    Flapping,
}

impl FindingKind {
    /// The rule's name in JSON (`blip_threshold`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::BlipThreshold => "blip_threshold",
            FindingKind::TimeoutAboveP99 => "timeout_above_p99",
            FindingKind::TimeoutBelowP99 => "timeout_below_p99",
            FindingKind::WindowTooSparse => "window_too_sparse",
            FindingKind::ClientErrorsCounted => "client_errors_counted",
            FindingKind::ProbesKeepFailing => "probes_keep_failing",
            FindingKind::Flapping => "flapping",
        }
    }
}

/// Calls the latency rules need before they judge the p99.
const LATENCY_SAMPLE: u64 = 100;
/// Opens per hour from which a circuit is flapping.
const FLAPPING_OPENS: u32 = 4;

/// Diagnoses `breaker`, with `history`'s points of it.
pub(crate) fn diagnose(breaker: &CircuitBreaker, history: &History) -> Diagnosis {
    let snapshot = breaker.snapshot();
    let config = breaker.config();
    let hour_ago = snapshot.taken_at.checked_sub(Duration::from_secs(3600));
    let opens_last_hour = snapshot
        .recent_transitions
        .iter()
        .filter(|t| t.to == State::Open && hour_ago.is_none_or(|since| t.time >= since))
        .count() as u32;
    let recent = history.points(snapshot.service, 0);
    let mut findings = Vec::new();
    let mut find = |kind, symptom: &str, seen: String, change: String| {
        findings.push(Finding { kind, symptom: symptom.to_owned(), seen, change });
    };

    if opens_last_hour >= FLAPPING_OPENS {
        find(
            FindingKind::Flapping,
            "the circuit is flapping",
            format!("{opens_last_hour} openings in the last hour"),
            format!(
                "raise success_threshold (now {}) or recovery_timeout (now {}), or judge by a failure_rate over a window",
                config.success_threshold,
                format_duration(config.recovery_timeout)
            ),
        );
    }
    let failed_probes = trailing_probe_failures(&snapshot);
    if failed_probes >= 2 {
        let cause = if snapshot.calls.timeouts > 0 {
            format!(
                "{failed_probes} half-open periods in a row failed, and {} calls timed out: probes may time out on a recovering service",
                snapshot.calls.timeouts
            )
        } else {
            format!("{failed_probes} half-open periods in a row failed")
        };
        let timeout = config.timeout.map_or_else(|| "off".to_owned(), format_duration);
        find(
            FindingKind::ProbesKeepFailing,
            "half-open probes keep failing",
            cause,
            format!(
                "give the service longer to recover (recovery_timeout {} now) or probes longer to answer (timeout {timeout} now)",
                format_duration(config.recovery_timeout)
            ),
        );
    }
    if let Some(threshold) = config.threshold.filter(|t| *t <= 2) {
        find(
            FindingKind::BlipThreshold,
            "the circuit opens on a single blip",
            format!("threshold = {threshold}: {threshold} failure(s) in a row open it"),
            "threshold = 5, or a failure_rate over a window with min_calls".to_owned(),
        );
    }
    let count = snapshot.durations.count();
    let p99 = snapshot.latency.p99;
    if let (Some(timeout), true) = (config.timeout, count >= LATENCY_SAMPLE && !p99.is_zero()) {
        let suggested = format_duration(round_up(p99 * 2));
        if timeout > p99 * 4 && timeout - p99 >= Duration::from_millis(100) {
            find(
                FindingKind::TimeoutAboveP99,
                "the timeout is far above the service's latency",
                format!(
                    "timeout {} against a p99 of {} over {count} calls",
                    format_duration(timeout),
                    show(p99)
                ),
                format!("timeout = {suggested} (about twice the p99)"),
            );
        } else if timeout < p99 {
            find(
                FindingKind::TimeoutBelowP99,
                "the timeout cuts healthy calls",
                format!(
                    "timeout {} below a p99 of {} over {count} calls",
                    format_duration(timeout),
                    show(p99)
                ),
                format!("timeout = {suggested} (about twice the p99)"),
            );
        }
    }
    if let Some(rate) = config.failure_rate {
        let judged = snapshot.window.successes + snapshot.window.failures;
        let settled = snapshot.state == State::Closed && snapshot.state_age >= config.window;
        if settled && judged < u64::from(config.min_calls) {
            find(
                FindingKind::WindowTooSparse,
                "the failure-rate rule never judges",
                format!(
                    "{judged} judged calls in the {} window, min_calls {}: a {:.0}% rate cannot open the circuit",
                    format_duration(config.window),
                    config.min_calls,
                    rate * 100.0
                ),
                format!("a longer window, or min_calls = {}", judged.max(1)),
            );
        }
    }
    let client_errors = breaker.client_errors_failed();
    if client_errors > 0 {
        find(
            FindingKind::ClientErrorsCounted,
            "the classifier counts client errors",
            format!("{client_errors} HTTP 4xx responses (not 408 or 429) counted as failures"),
            "count 5xx, 408 and 429 only (the default HTTP classification): a 4xx is the caller's mistake, not the service's"
                .to_owned(),
        );
    }
    let pattern = pattern(&snapshot, &recent);
    Diagnosis { service: snapshot.service, snapshot, config, opens_last_hour, recent, pattern, findings }
}

/// Failed half-open periods at the end of the remembered transitions.
fn trailing_probe_failures(s: &Snapshot) -> usize {
    s.recent_transitions
        .iter()
        .rev()
        .filter(|t| t.from == State::HalfOpen)
        .take_while(|t| t.to == State::Open && t.reason == Reason::ProbeFailed)
        .count()
}

/// The failure pattern in words, from the window and the history.
fn pattern(s: &Snapshot, recent: &[Point]) -> String {
    let total = s.calls.successes + s.calls.failures + s.calls.timeouts;
    if total == 0 {
        return "no calls yet".to_owned();
    }
    let mut out = format!(
        "{} of {total} calls failed ({} of them timeouts) since startup",
        s.calls.failures + s.calls.timeouts,
        s.calls.timeouts
    );
    if !recent.is_empty() {
        let failing = recent.iter().filter(|p| p.failures + p.timeouts > 0).count();
        let interval = recent.last().map_or(Duration::ZERO, |p| p.interval);
        let shape = match (failing, recent.len()) {
            (0, _) => "none failed",
            (f, n) if f == n => "failures in every one: a steady fault",
            (f, n) if f * 4 <= n => "failures in a few: bursts",
            _ => "failures in many: an intermittent fault",
        };
        out.push_str(&format!(
            "; of the last {} intervals of {}, {failing} had failures ({shape})",
            recent.len(),
            show(interval)
        ));
    }
    if s.window.calls > 0 {
        out.push_str(&format!(
            "; the window now: {} calls, failure rate {:.1}%",
            s.window.calls,
            s.window.failure_rate * 100.0
        ));
    }
    out
}

/// A duration rounded up to two significant digits of milliseconds (at least 1 ms).
fn round_up(d: Duration) -> Duration {
    let ms = d.as_nanos().div_ceil(1_000_000).max(1) as u64;
    let scale = 10u64.pow((ms.ilog10()).saturating_sub(1));
    Duration::from_millis(ms.div_ceil(scale) * scale)
}

fn show(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{:.0}µs", d.as_secs_f64() * 1e6)
    } else {
        format_duration(round_up(d))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn suggestions_round_up_to_two_digits() {
        assert_eq!(round_up(Duration::from_micros(1_234)), Duration::from_millis(2));
        assert_eq!(round_up(Duration::from_millis(243)), Duration::from_millis(250));
        assert_eq!(round_up(Duration::from_millis(7)), Duration::from_millis(7));
    }
}
