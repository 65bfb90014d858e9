//! The `state` label of the exporters (Prometheus text, the `metrics` facade).

use crate::breaker::State;

/// The states an exporter writes a series for, with their label, in order.
const STATES: [(State, &str); 5] = [
    (State::Closed, "closed"),
    (State::Open, "open"),
    (State::HalfOpen, "half_open"),
    (State::ForcedOpen, "forced_open"),
    (State::Disabled, "disabled"),
];

/// Each state's series value for a breaker in `state`: 1 for its own, 0 for the
/// others. Metrics-only mode shows as closed: calls go through.
pub(crate) fn one_hot(state: State) -> impl Iterator<Item = (&'static str, f64)> {
    let current = if state == State::MetricsOnly { State::Closed } else { state };
    STATES.into_iter().map(move |(s, label)| (label, f64::from(u8::from(s == current))))
}
