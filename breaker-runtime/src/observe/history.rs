//! Retention tiers (MS-7): every breaker's recent past at coarser intervals the
//! further back it goes, bounded in memory, for the dashboard's charts and the
//! diagnosis.
//!
//! A [`History`] samples the registry's breakers on a timer (from their snapshots: the
//! call path does nothing for it). Each tier keeps the last `points` intervals of its
//! length; by default 10 s points for 10 minutes, 1 min points for an hour and 10 min
//! points for 6 hours (156 points of 144 bytes and a reading per tier: about 24 KB per
//! service). A point holds what happened in its interval: calls by outcome,
//! rejections, openings, the failure rate, latency percentiles of the interval's
//! calls, and the state at its end. Breakers
//! that leave the registry (evicted on-demand ones) leave the history too.
//!
//! The process-wide [`history()`] is the one the endpoints show and
//! [`Registry::diagnose`](crate::registry::Registry::diagnose) reads; it samples once
//! [`History::spawn`] (or the endpoints' router, which calls it) starts it.
//!
//! ```
//! use std::time::Duration;
//! use breaker_runtime::observe::history::{History, Tier};
//!
//! let history = History::new(vec![Tier::new(Duration::from_secs(30), 120)]); // an hour
//! history.sample(breaker_runtime::registry());
//! assert!(history.points("no-such-service", 0).is_empty());
//! ```

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, SystemTime};

use crate::breaker::State;
use crate::observe::{DurationHistogram, Snapshot};
use crate::registry::Registry;
use crate::sync::unpoisoned;

/// One tier: points of `interval`, the last `points` of them kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tier {
    /// The length of a point.
    pub interval: Duration,
    /// How many points are kept.
    pub points: usize,
}

impl Tier {
    /// A tier of `points` points of `interval` each (at least 1 ms, at least one point).
    pub fn new(interval: Duration, points: usize) -> Tier {
        Tier { interval: interval.max(Duration::from_millis(1)), points: points.max(1) }
    }

    /// How far back the tier reaches.
    pub fn span(&self) -> Duration {
        self.interval * self.points as u32
    }
}

/// What happened to one breaker in one interval.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Point {
    /// When the interval ended (wall clock).
    pub end: SystemTime,
    /// Its length.
    pub interval: Duration,
    /// The state at its end.
    pub state: State,
    /// Calls judged successes.
    pub successes: u64,
    /// Calls judged failures (timeouts apart).
    pub failures: u64,
    /// Calls judged neither.
    pub ignored: u64,
    /// Calls cut by the timeout.
    pub timeouts: u64,
    /// Calls rejected, every cause.
    pub rejections: u64,
    /// Times the circuit opened.
    pub opened: u64,
    /// `(failures + timeouts) / (successes + failures + timeouts)`, 0 without calls.
    pub failure_rate: f64,
    /// Median time of the interval's calls.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
}

/// What a tier compares the next reading with.
#[derive(Clone)]
struct Reading {
    at: SystemTime,
    calls: [u64; 4],
    rejections: u64,
    opened: u64,
    durations: DurationHistogram,
}

impl Reading {
    fn of(s: &Snapshot) -> Reading {
        Reading {
            at: s.taken_at,
            calls: [s.calls.successes, s.calls.failures, s.calls.ignored, s.calls.timeouts],
            rejections: s.rejections.total(),
            opened: s.open_count,
            durations: s.durations.clone(),
        }
    }

    /// The point between `self` (earlier) and `now`.
    fn point(&self, now: &Reading, state: State) -> Point {
        let d = |i: usize| now.calls[i].saturating_sub(self.calls[i]);
        let (successes, failures, ignored, timeouts) = (d(0), d(1), d(2), d(3));
        let judged = successes + failures + timeouts;
        let durations = now.durations.since(&self.durations);
        Point {
            end: now.at,
            interval: now.at.duration_since(self.at).unwrap_or_default(),
            state,
            successes,
            failures,
            ignored,
            timeouts,
            rejections: now.rejections.saturating_sub(self.rejections),
            opened: now.opened.saturating_sub(self.opened),
            failure_rate: if judged == 0 { 0.0 } else { (failures + timeouts) as f64 / judged as f64 },
            p50: durations.percentile(0.5),
            p90: durations.percentile(0.9),
            p99: durations.percentile(0.99),
        }
    }
}

struct TierState {
    since: Reading,
    points: VecDeque<Point>,
}

/// Every tier of one breaker.
struct Service {
    tiers: Vec<TierState>,
}

/// Breakers' pasts, tier by tier.
pub struct History {
    tiers: Vec<Tier>,
    services: Mutex<HashMap<&'static str, Service>>,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("History").field("tiers", &self.tiers).finish_non_exhaustive()
    }
}

impl Default for History {
    fn default() -> Self {
        History::new(vec![
            Tier::new(Duration::from_secs(10), 60),
            Tier::new(Duration::from_secs(60), 60),
            Tier::new(Duration::from_secs(600), 36),
        ])
    }
}

/// The process-wide history (the default tiers).
pub fn history() -> &'static Arc<History> {
    static HISTORY: OnceLock<Arc<History>> = OnceLock::new();
    HISTORY.get_or_init(|| Arc::new(History::default()))
}

impl History {
    /// A history with these tiers, finest first (sorted so if not).
    pub fn new(mut tiers: Vec<Tier>) -> History {
        tiers.sort_by_key(|t| t.interval);
        History { tiers, services: Mutex::new(HashMap::new()) }
    }

    /// The tiers, finest first.
    pub fn tiers(&self) -> &[Tier] {
        &self.tiers
    }

    /// Reads every breaker of `registry` once: each tier whose interval has passed
    /// since its last point gets a new one. Call it at least as often as the finest
    /// tier's interval ([`spawn`](Self::spawn) does).
    pub fn sample(&self, registry: &Registry) {
        self.sample_snapshots(&registry.snapshots());
    }

    /// Takes these snapshots as the breakers' current readings; services without a
    /// snapshot here are forgotten.
    pub fn sample_snapshots(&self, snapshots: &[Snapshot]) {
        let present: std::collections::HashSet<&str> = snapshots.iter().map(|s| s.service).collect();
        let mut services = unpoisoned(self.services.lock());
        services.retain(|service, _| present.contains(service));
        for snapshot in snapshots {
            let now = Reading::of(snapshot);
            let service = services.entry(snapshot.service).or_insert_with(|| Service {
                tiers: self
                    .tiers
                    .iter()
                    .map(|t| TierState { since: now.clone(), points: VecDeque::with_capacity(t.points) })
                    .collect(),
            });
            for (tier, state) in self.tiers.iter().zip(&mut service.tiers) {
                let elapsed = now.at.duration_since(state.since.at).unwrap_or_default();
                // A little early still counts: timers fire late as often as early.
                if elapsed + tier.interval / 20 < tier.interval {
                    continue;
                }
                if state.points.len() == tier.points {
                    state.points.pop_front();
                }
                state.points.push_back(state.since.point(&now, snapshot.state));
                state.since = now.clone();
            }
        }
    }

    /// The points of `service` in tier `tier` (0 the finest), oldest first.
    pub fn points(&self, service: &str, tier: usize) -> Vec<Point> {
        unpoisoned(self.services.lock())
            .get(service)
            .and_then(|s| s.tiers.get(tier))
            .map(|t| t.points.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Samples the registry now and then every finest interval, on a task of the
    /// current tokio runtime that ends when the history is dropped (or the runtime
    /// shuts down). Calling it again while a task runs starts nothing. Returns
    /// whether a task samples this history now: `false` outside a tokio runtime.
    pub fn spawn(self: &Arc<Self>, registry: &'static Registry) -> bool {
        /// Histories with a sampling task, by address.
        static RUNNING: Mutex<Vec<usize>> = Mutex::new(Vec::new());
        /// Takes a history off `RUNNING` when its task ends or is dropped (with its
        /// runtime), so a later `spawn` starts a new one.
        struct Running(usize);
        impl Drop for Running {
            fn drop(&mut self) {
                unpoisoned(RUNNING.lock()).retain(|k| *k != self.0);
            }
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return false };
        let Some(tick) = self.tiers.first().map(|t| t.interval) else { return false };
        let key = Arc::as_ptr(self) as usize;
        {
            let mut running = unpoisoned(RUNNING.lock());
            if running.contains(&key) {
                return true;
            }
            running.push(key);
        }
        let running = Running(key);
        let weak: Weak<History> = Arc::downgrade(self);
        runtime.spawn(async move {
            let _running = running;
            let mut ticks = tokio::time::interval(tick);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(history) = weak.upgrade() else { break };
                history.sample(registry);
            }
        });
        true
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_point_is_as_small_as_the_module_says() {
        // The default tiers' 156 points and three readings: about 24 KB per service.
        assert!(std::mem::size_of::<Point>() <= 144, "{}", std::mem::size_of::<Point>());
        assert!(std::mem::size_of::<Reading>() <= 640, "{}", std::mem::size_of::<Reading>());
        let points: usize = History::default().tiers().iter().map(|t| t.points).sum();
        assert_eq!(points, 156);
    }
}
