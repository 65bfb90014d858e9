//! The recovery wakeup: an open circuit turns half-open when its recovery timeout
//! has passed, on time, whether or not calls come.

use crate::sync::Ordering;

use super::super::Inner;
use super::super::clock::Instant;
use super::super::state::State;

impl Inner {
    /// Schedules a wakeup at the recovery deadline, so the circuit turns half-open on
    /// time without traffic. One wakeup is current per breaker (`timer_deadline`); a
    /// wakeup for an earlier deadline (a shortened recovery timeout) supersedes it, and
    /// a superseded wakeup does nothing when it runs. A wakeup that finds the circuit
    /// still open (it reopened meanwhile) arms the next one.
    pub(super) fn arm_recovery_timer(&self) {
        let deadline = self.recovery_deadline().max(1);
        let mut pending = self.timer_deadline.load(Ordering::Acquire);
        loop {
            if pending != 0 && pending <= deadline {
                return; // a wakeup comes first, and re-arms if need be
            }
            match self.timer_deadline.compare_exchange(pending, deadline, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => break,
                Err(actual) => pending = actual,
            }
        }
        let me = self.me.clone();
        self.clock.wake_at(
            Instant::from_nanos(deadline),
            Box::new(move || {
                if let Some(inner) = me.upgrade() {
                    inner.on_recovery_timer(deadline);
                }
            }),
        );
    }

    pub(super) fn on_recovery_timer(&self, deadline: u64) {
        if self.timer_deadline.compare_exchange(deadline, 0, Ordering::AcqRel, Ordering::Acquire).is_err() {
            return; // superseded
        }
        // The precise time: the wakeup ran because the deadline passed on it.
        let now = self.clock.now().max(self.clock.recent());
        self.poll_recovery(now);
        if self.load().1 == State::Open {
            self.arm_recovery_timer();
        }
    }
}
