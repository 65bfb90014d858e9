//! The state labels of the exporters (Prometheus text, the `metrics` facade).

use crate::breaker::State;

/// Each state's series value for a breaker in `state`: 1 for its own, 0 for the
/// others. Metrics-only mode shows as closed (calls go through), so it has no series.
pub(crate) fn one_hot(state: State) -> impl Iterator<Item = (&'static str, f64)> {
    let current = if state == State::MetricsOnly { State::Closed } else { state };
    State::ALL
        .into_iter()
        .filter(|s| *s != State::MetricsOnly)
        .map(move |s| (label(s), f64::from(u8::from(s == current))))
}

/// Each state's series value with resilience4j's labels, metrics-only a state of its
/// own as resilience4j has it.
pub(crate) fn one_hot_resilience4j(state: State) -> impl Iterator<Item = (&'static str, f64)> {
    State::ALL.into_iter().map(move |s| (label(s), f64::from(u8::from(s == state))))
}

/// The `from`/`to` label of a state in transition counts.
pub(crate) fn label(state: State) -> &'static str {
    match state {
        State::Closed => "closed",
        State::Open => "open",
        State::HalfOpen => "half_open",
        State::ForcedOpen => "forced_open",
        State::Disabled => "disabled",
        State::MetricsOnly => "metrics_only",
    }
}

/// The transitions a breaker makes by itself, exported from startup (at 0) so that a
/// rate over them works from the first one; operators' transitions appear once made.
pub(crate) const AUTOMATIC: [(State, State); 4] = [
    (State::Closed, State::Open),
    (State::Open, State::HalfOpen),
    (State::HalfOpen, State::Closed),
    (State::HalfOpen, State::Open),
];

/// Every from/to pair to export for `snapshot`: the automatic ones, then the others
/// that occurred.
pub(crate) fn transitions(snapshot: &crate::observe::Snapshot) -> Vec<(State, State, u64)> {
    let count = |from, to| {
        snapshot.transitions_by.iter().find(|t| t.from == from && t.to == to).map_or(0, |t| t.count)
    };
    let mut out: Vec<(State, State, u64)> = AUTOMATIC.iter().map(|&(f, t)| (f, t, count(f, t))).collect();
    for t in &snapshot.transitions_by {
        if !AUTOMATIC.contains(&(t.from, t.to)) {
            out.push((t.from, t.to, t.count));
        }
    }
    out
}
