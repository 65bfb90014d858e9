//! A new configuration applied to a live breaker, keeping its state and counters; and
//! a new clock, which restarts it.

use crate::observe::EventKind;
use crate::sync::{Ordering, lock};

use std::sync::Arc;

use super::super::Inner;
use super::super::clock::Clock;
use super::super::config::Config;
use super::super::state::{State, unpack};
use super::pack_count;
use crate::registry::config_values;

impl Inner {
    pub(crate) fn reconfigure(&self, config: Config) {
        let guard = lock(&self.transition);
        let before = std::mem::replace(&mut *lock(&self.config), config.clone());
        self.settings.store(&config);
        if (before.window, before.window_buckets()) != (config.window, config.window_buckets()) {
            self.window.reshape(config.window, config.window_buckets());
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
        // For the log: each changed key with its old and new value.
        let (old, new) = (config_values(&before), config_values(&config));
        let changes: Vec<String> = old
            .iter()
            .zip(&new)
            .filter(|(a, b)| a.1 != b.1)
            .map(|((key, a), (_, b))| format!("{key}: {a} -> {b}"))
            .collect();
        self.emit(EventKind::ConfigChanged { before: Box::new(before), after: Box::new(config) }, now);
        drop(guard);
        let state = self.load().1.as_str();
        tracing::info!(service = self.service, state, changes = changes.join(", "), "configuration changed");
        if self.load().1 == State::Open {
            // The recovery timeout may be shorter now.
            self.arm_recovery_timer();
        }
    }

    /// Puts the breaker on `clock`: instants of two clocks are not comparable, so the
    /// breaker starts afresh on it (closed, empty window, as after a reset), keeping its
    /// lifetime counters.
    pub(crate) fn use_clock<C: Clock>(&self, clock: Arc<C>) {
        let guard = lock(&self.transition);
        self.clock.replace(clock);
        let now = self.clock.recent().as_nanos();
        self.opened_at.store(0, Ordering::Relaxed);
        self.changed_at.store(now, Ordering::Relaxed);
        // A wakeup scheduled on the old clock finds another deadline and does nothing.
        self.timer_deadline.store(0, Ordering::Relaxed);
        drop(guard);
        self.control(State::Closed);
    }
}
