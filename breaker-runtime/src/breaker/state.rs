//! [`State`], and how the state word packs it with the generation.

use std::fmt;

/// The state of a breaker.
///
/// The three states of the design document, plus the three an operator can put a
/// breaker in at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Calls pass; outcomes are counted; enough failures open the circuit.
    Closed,
    /// Calls are rejected at once until the recovery timeout has passed.
    Open,
    /// A few probe calls pass; their outcome closes or reopens the circuit.
    HalfOpen,
    /// Forced open by an operator: every call is rejected until reset.
    ForcedOpen,
    /// Disabled by an operator: every call passes and nothing is counted.
    Disabled,
    /// Every call passes; outcomes are counted but never change the state.
    MetricsOnly,
}

impl State {
    /// The state's name: `closed`, `open`, `half-open`, `forced-open`, `disabled` or
    /// `metrics-only`.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
            State::ForcedOpen => "forced-open",
            State::Disabled => "disabled",
            State::MetricsOnly => "metrics-only",
        }
    }

    /// Every state, in declaration order.
    pub const ALL: [State; 6] =
        [State::Closed, State::Open, State::HalfOpen, State::ForcedOpen, State::Disabled, State::MetricsOnly];

    pub(crate) const fn tag(self) -> u64 {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
            State::ForcedOpen => 3,
            State::Disabled => 4,
            State::MetricsOnly => 5,
        }
    }

    pub(crate) const fn from_tag(tag: u64) -> State {
        match tag {
            0 => State::Closed,
            1 => State::Open,
            2 => State::HalfOpen,
            3 => State::ForcedOpen,
            4 => State::Disabled,
            _ => State::MetricsOnly,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Bits of the state word below the generation: the state's tag.
pub(crate) const STATE_BITS: u32 = 8;
/// The state tag of a state word.
pub(crate) const STATE_MASK: u64 = (1 << STATE_BITS) - 1;

/// The state word: generation in the high 56 bits, state tag in the low 8. Every
/// transition increments the generation.
pub(crate) const fn pack(generation: u64, state: State) -> u64 {
    (generation << STATE_BITS) | state.tag()
}

pub(crate) const fn unpack(word: u64) -> (u64, State) {
    (word >> STATE_BITS, State::from_tag(word & STATE_MASK))
}

/// The low 32 bits of a generation, which tag the consecutive-failure counter and the
/// probe counter so outcomes of another generation cannot touch them. Wrapping needs
/// 2^32 transitions during one call.
pub(crate) const fn short(generation: u64) -> u64 {
    generation & 0xFFFF_FFFF
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_design_document() {
        let names: Vec<_> = State::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(names, ["closed", "open", "half-open", "forced-open", "disabled", "metrics-only"]);
    }

    #[test]
    fn the_state_word_round_trips() {
        for state in State::ALL {
            for generation in [0, 1, 77, (1 << 56) - 1] {
                assert_eq!(unpack(pack(generation, state)), (generation, state));
            }
        }
    }
}
