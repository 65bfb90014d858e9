//! A new configuration applied to a live breaker, keeping its state and counters.

use crate::observe::EventKind;
use crate::sync::{Ordering, lock};

use super::super::Inner;
use super::super::config::Config;
use super::super::state::{State, unpack};
use super::pack_count;

impl Inner {
    pub(crate) fn reconfigure(&self, config: Config) {
        let guard = lock(&self.transition);
        let before = std::mem::replace(&mut *lock(&self.config), config.clone());
        self.settings.store(&config);
        if (before.window, before.buckets) != (config.window, config.buckets) {
            self.window.reshape(config.window, config.buckets);
        }
        let rules =
            |c: &Config| (c.threshold, c.failure_rate, c.slow_call, c.slow_call_rate.to_bits(), c.min_calls);
        if rules(&before) != rules(&config) {
            let (generation, state) = unpack(self.state.load(Ordering::Relaxed));
            if state == State::Closed {
                self.failures.store(pack_count(generation, 0), Ordering::Relaxed);
            }
        }
        self.bulkhead.resize(config.max_concurrent);
        let now = self.clock.recent();
        self.emit(EventKind::ConfigChanged { before: Box::new(before), after: Box::new(config) }, now);
        drop(guard);
        tracing::info!(service = self.service, "configuration changed");
        if self.load().1 == State::Open {
            // The recovery timeout may be shorter now.
            self.arm_recovery_timer();
        }
    }
}
