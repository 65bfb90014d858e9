//! The state machine, by job:
//!
//! - [`admission`]: one function per state's admission rule;
//! - [`outcome`]: what a completed call's outcome does to the state;
//! - [`transition`]: the transitions themselves, their events and log lines;
//! - [`recovery`]: the wakeup that moves an open circuit to half-open on time;
//! - [`reconfigure`]: a new configuration applied to a live breaker.
//!
//! This file holds the words they share: the state word's reading, and the counters
//! tagged with a generation.
//!
//! Invariants:
//! - Every transition runs under `transition`, re-checks the state it expects, and
//!   starts a new generation. So N threads that cross a threshold together make one
//!   transition and one event.
//! - The consecutive-failure counter and the probe counter are tagged with the
//!   generation they belong to, and are initialised before that generation is
//!   published. An outcome admitted in another generation finds a different tag and
//!   changes nothing.
//! - Admission reads the state word once; the closed path writes nothing shared.

mod admission;
mod outcome;
mod reconfigure;
mod recovery;
mod transition;

pub(crate) use admission::{NO_RETRY, Rejected};

/// Where the state machine is, read at one instant: what a snapshot reports of it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Phase {
    pub(crate) now: Instant,
    pub(crate) state: State,
    pub(crate) generation: u64,
    /// When the state was entered.
    pub(crate) since: Instant,
    /// Failures in a row (closed only).
    pub(crate) consecutive_failures: u32,
    /// Probes running and successful probes (half-open only).
    pub(crate) probes: (u32, u32),
    /// Time until a probe is let through (open only).
    pub(crate) retry_after: Option<Duration>,
}

use std::time::Duration;

use crate::sync::Ordering;

use super::Inner;
use super::clock::Instant;
use super::state::{State, short, unpack};

pub(crate) const FIRST_GENERATION: u64 = 0;

const COUNT_BITS: u32 = 32;
pub(super) const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// The consecutive-failure counter: generation tag high, count low.
pub(crate) const fn pack_count(generation: u64, count: u32) -> u64 {
    short(generation) << COUNT_BITS | count as u64
}

pub(super) const fn tag_of(word: u64) -> u64 {
    word >> COUNT_BITS
}

/// The probe counter: generation tag high, in-flight probes and successes low.
pub(super) const fn pack_probes(generation: u64, in_flight: u32, successes: u32) -> u64 {
    short(generation) << COUNT_BITS | (in_flight as u64) << 16 | successes as u64
}

pub(super) const fn in_flight(word: u64) -> u32 {
    ((word >> 16) & 0xFFFF) as u32
}

pub(super) const fn probe_successes(word: u64) -> u32 {
    (word & 0xFFFF) as u32
}

/// Which states a transition may start from.
#[derive(Clone, Copy)]
pub(super) enum Expect {
    /// Exactly this generation in this state.
    Exactly(u64, State),
    /// Any state (operator control).
    Any,
}

impl Inner {
    /// The state word, as it is (no lazy transition).
    #[inline(always)]
    pub(crate) fn load(&self) -> (u64, State) {
        // Acquire: pairs with the Release store of a transition, so the counters it
        // initialised before publishing are visible.
        unpack(self.state.load(Ordering::Acquire))
    }

    pub(crate) fn peek_state(&self) -> State {
        self.load().1
    }

    /// The state after applying a due open -> half-open move.
    pub(crate) fn current_state(&self) -> State {
        self.poll_recovery(self.clock.recent());
        self.load().1
    }

    /// The state machine's reading now, after applying a due open -> half-open move.
    pub(crate) fn phase(&self) -> Phase {
        let now = self.clock.recent();
        self.poll_recovery(now);
        let (generation, state) = self.load();
        let failures = self.failures.load(Ordering::Relaxed);
        let consecutive_failures = if state == State::Closed && tag_of(failures) == short(generation) {
            (failures & COUNT_MASK) as u32
        } else {
            0
        };
        let probes = self.probes.load(Ordering::Acquire);
        let probes = if state == State::HalfOpen && tag_of(probes) == short(generation) {
            (in_flight(probes), probe_successes(probes))
        } else {
            (0, 0)
        };
        let retry_after = (state == State::Open)
            .then(|| Duration::from_nanos(self.retry_after(self.recovery_deadline(), now)));
        let since = Instant::from_nanos(self.changed_at.load(Ordering::Relaxed));
        Phase { now, state, generation, since, consecutive_failures, probes, retry_after }
    }
}
