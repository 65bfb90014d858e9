//! The breaker's memory of its own transitions: the most recent ones with their
//! reasons, and how many it made between each pair of states. Written on transitions
//! only (under the transition lock), never on the call path.

use std::collections::VecDeque;
use std::time::SystemTime;

use crate::breaker::State;
use crate::observe::Reason;

/// Transitions a breaker remembers with their reasons.
pub(crate) const RECENT: usize = 32;

/// One transition a breaker made.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TransitionRecord {
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// Why.
    pub reason: Reason,
    /// The generation it started.
    pub generation: u64,
    /// When (wall clock).
    pub time: SystemTime,
    /// The error of the failure that triggered it, as its `Display` shows it: for a
    /// protected function whose error type implements `Display`, a call cut by its
    /// timeout, an HTTP status or a transport error of the integrations; else `None`.
    pub last_error: Option<String>,
}

/// How many transitions a breaker made from one state to another, since it was built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransitionCount {
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// Times.
    pub count: u64,
}

#[derive(Default)]
pub(crate) struct Journal {
    recent: VecDeque<TransitionRecord>,
    counts: [[u64; State::ALL.len()]; State::ALL.len()],
}

impl Journal {
    pub(crate) fn record(&mut self, record: TransitionRecord) {
        self.counts[record.from.tag() as usize][record.to.tag() as usize] += 1;
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(record);
    }

    /// The remembered transitions, oldest first.
    pub(crate) fn recent(&self) -> Vec<TransitionRecord> {
        self.recent.iter().cloned().collect()
    }

    /// Every pair of states with at least one transition, in [`State::ALL`] order.
    pub(crate) fn counts(&self) -> Vec<TransitionCount> {
        let mut out = Vec::new();
        for from in State::ALL {
            for to in State::ALL {
                let count = self.counts[from.tag() as usize][to.tag() as usize];
                if count > 0 {
                    out.push(TransitionCount { from, to, count });
                }
            }
        }
        out
    }
}
