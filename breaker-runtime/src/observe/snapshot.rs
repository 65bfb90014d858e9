//! [`Snapshot`]: a point-in-time copy of a breaker's state and counters, and how it is
//! read off a breaker.

use std::time::{Duration, SystemTime};

use crate::breaker::latency;
use crate::breaker::{Inner, Instant, Outcomes, State};
use crate::observe::{RejectionKind, TransitionCount, TransitionRecord};
use crate::sync::Ordering;

/// A copy of a breaker's state and counters, taken without blocking its calls.
///
/// Windowed counts (`window`, `latency`) cover the last `window.length` of the current
/// closed period: they start empty each time the circuit closes. The other counters
/// run for the breaker's lifetime; `reset` clears the last success and failure times.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The breaker's service.
    pub service: &'static str,
    /// The state now.
    pub state: State,
    /// The generation: how many transitions the breaker has made.
    pub generation: u64,
    /// When the breaker entered its state (wall clock).
    pub state_since: SystemTime,
    /// How long it has been in its state.
    pub state_age: Duration,
    /// Failures in a row while closed.
    pub consecutive_failures: u32,
    /// For an open circuit: time until a probe is let through.
    pub retry_after: Option<Duration>,
    /// Completed calls since the breaker was built, by outcome.
    pub calls: CallTotals,
    /// Counts of the sliding window.
    pub window: WindowStats,
    /// Latency: of the calls in the window (mean, max), and percentiles of every call.
    pub latency: LatencyStats,
    /// How long completed calls took, since the breaker was built.
    pub durations: DurationHistogram,
    /// Rejections since the breaker was created.
    pub rejections: Rejections,
    /// Probes of a half-open circuit.
    pub probes: ProbeStats,
    /// The bulkhead's use.
    pub bulkhead: BulkheadStats,
    /// Fallback executions since the breaker was created.
    pub fallbacks: FallbackStats,
    /// Times the circuit opened (never reset).
    pub open_count: u64,
    /// Times the circuit went half-open to try recovering (never reset).
    pub recovery_attempts: u64,
    /// Times a half-open circuit closed: recoveries that succeeded (never reset).
    pub recoveries: u64,
    /// Transitions made (never reset).
    pub transitions: u64,
    /// Transitions made, by the states left and entered: the pairs that occurred.
    pub transitions_by: Vec<TransitionCount>,
    /// The most recent transitions with their reasons (up to 32), oldest first.
    pub recent_transitions: Vec<TransitionRecord>,
    /// Time of the last successful call.
    pub last_success: Option<SystemTime>,
    /// Time of the last failed call.
    pub last_failure: Option<SystemTime>,
    /// When the snapshot was taken.
    pub taken_at: SystemTime,
}

/// Completed calls since the breaker was built, by outcome: counters that only grow
/// (what a metrics exporter exports). A call cut by its timeout is counted in
/// `timeouts`, not in `failures`; cancelled calls are not counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallTotals {
    /// Calls judged successes.
    pub successes: u64,
    /// Calls judged failures (timeouts apart).
    pub failures: u64,
    /// Calls judged neither.
    pub ignored: u64,
    /// Calls cut by the breaker's timeout.
    pub timeouts: u64,
    /// Total time of the successes.
    pub success_time: Duration,
    /// Total time of the failures.
    pub failure_time: Duration,
    /// Total time of the ignored calls.
    pub ignored_time: Duration,
    /// Total time of the timed-out calls.
    pub timeout_time: Duration,
}

/// Counts of the sliding window. `calls == successes + failures + ignored`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct WindowStats {
    /// The window's length.
    pub length: Duration,
    /// Judged calls (successes and failures) the window needs before its rates are
    /// judged (the configured `min_calls`).
    pub min_calls: u32,
    /// Completed calls (cancelled calls are not counted).
    pub calls: u64,
    /// Calls classified as successes.
    pub successes: u64,
    /// Calls classified as failures (timeouts included).
    pub failures: u64,
    /// Calls whose outcome was ignored (pass-through errors).
    pub ignored: u64,
    /// Calls that timed out.
    pub timeouts: u64,
    /// Calls at least `slow_call` long.
    pub slow: u64,
    /// `failures / (successes + failures)`, 0 when there are none.
    pub failure_rate: f64,
    /// `slow / (successes + failures)`, 0 when there are none.
    pub slow_call_rate: f64,
}

/// Latency, measured on the breaker's coarse clock (millisecond resolution on the real
/// clock; the mean stays unbiased). The mean and the max cover the calls in the window;
/// the percentiles cover every call since the breaker was built, read from
/// [`Snapshot::durations`] (within 12.5%; for the percentiles of a recent interval,
/// take [`DurationHistogram::since`] of two snapshots, or use Prometheus's
/// `histogram_quantile` over the exported buckets).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LatencyStats {
    /// Mean call time in the window.
    pub mean: Duration,
    /// Longest call time in the window.
    pub max: Duration,
    /// Median call time.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// 99.9th percentile.
    pub p999: Duration,
}

/// A histogram of call times: fixed buckets (up to 1 ms, then each doubling up to
/// 65.536 s cut in four, then the rest), counted without locks on the call path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationHistogram {
    counts: [u64; latency::BUCKETS],
    sum: Duration,
}

impl Default for DurationHistogram {
    fn default() -> Self {
        DurationHistogram { counts: [0; latency::BUCKETS], sum: Duration::ZERO }
    }
}

impl DurationHistogram {
    /// Calls counted.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Their total time.
    pub fn sum(&self) -> Duration {
        self.sum
    }

    /// Every bucket: its inclusive upper bound (`None` for the last, unbounded one) and
    /// the calls in it (not cumulative).
    pub fn buckets(&self) -> impl Iterator<Item = (Option<Duration>, u64)> + '_ {
        self.counts.iter().enumerate().map(|(k, &n)| (latency::upper_bound(k), n))
    }

    /// The time under which a share `q` (0 to 1) of the calls finished, interpolated
    /// inside its bucket; zero for an empty histogram. Beyond the last bound it is the
    /// last bound (65.536 s): "at least".
    pub fn percentile(&self, q: f64) -> Duration {
        let count = self.count();
        if count == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).clamp(1, count);
        let mut below = 0;
        for (k, &n) in self.counts.iter().enumerate() {
            if below + n >= rank {
                let lower = latency::lower_bound(k);
                let Some(upper) = latency::upper_bound(k) else { return lower };
                let share = (rank - below) as f64 / n as f64;
                return lower + (upper - lower).mul_f64(share);
            }
            below += n;
        }
        Duration::ZERO
    }

    /// The calls counted here and not in `earlier` (a histogram of the same breaker,
    /// read before): the histogram of the interval between the two.
    pub fn since(&self, earlier: &DurationHistogram) -> DurationHistogram {
        DurationHistogram {
            counts: std::array::from_fn(|k| self.counts[k].saturating_sub(earlier.counts[k])),
            sum: self.sum.saturating_sub(earlier.sum),
        }
    }

    fn of(counts: [u64; latency::BUCKETS], sum_nanos: u64) -> DurationHistogram {
        DurationHistogram { counts, sum: Duration::from_nanos(sum_nanos) }
    }
}

/// Rejections by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Rejections {
    /// By an open circuit.
    pub open: u64,
    /// By a half-open circuit whose probes were all taken.
    pub probe_limit: u64,
    /// By a full bulkhead.
    pub bulkhead: u64,
    /// By a forced-open circuit.
    pub forced: u64,
}

impl Rejections {
    /// All rejections.
    pub fn total(&self) -> u64 {
        self.open + self.probe_limit + self.bulkhead + self.forced
    }
}

/// Probes of the current half-open period (zero in other states).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeStats {
    /// Probes running now.
    pub in_flight: u32,
    /// Probes that succeeded.
    pub successes: u32,
}

/// The bulkhead's use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BulkheadStats {
    /// The configured `max_concurrent`, if the bulkhead is on.
    pub max_concurrent: Option<u32>,
    /// Places taken.
    pub in_use: u32,
    /// Calls waiting in the queue.
    pub queued: u32,
}

/// Fallback executions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FallbackStats {
    /// Times a fallback chain started.
    pub runs: u64,
    /// Chains in which a fallback returned `Ok`.
    pub successes: u64,
    /// Chains in which every fallback failed.
    pub failures: u64,
    /// Chains not run because of the depth limit.
    pub depth_exceeded: u64,
}

impl Snapshot {
    /// Reads `inner` without blocking its calls.
    pub(crate) fn of(inner: &Inner) -> Snapshot {
        let phase = inner.phase();
        let now = phase.now;
        let totals = inner.window.totals(now);
        let mut rejected = [0u64; RejectionKind::COUNT];
        let mut outcomes = [0u64; 4];
        let mut outcome_nanos = [0u64; 4];
        let mut durations = [0u64; latency::BUCKETS];
        let (mut last_success, mut last_failure) = (0, 0);
        for lane in inner.window.all_lanes() {
            for (sum, counter) in rejected.iter_mut().zip(&lane.rejected) {
                *sum += counter.load(Ordering::Relaxed);
            }
            for (sum, counter) in outcomes.iter_mut().zip(&lane.outcomes) {
                *sum += counter.load(Ordering::Relaxed);
            }
            for (sum, counter) in outcome_nanos.iter_mut().zip(&lane.outcome_nanos) {
                *sum = sum.wrapping_add(counter.load(Ordering::Relaxed));
            }
            for (sum, counter) in durations.iter_mut().zip(lane.durations().into_iter().flatten()) {
                *sum += counter.load(Ordering::Relaxed);
            }
            last_success = last_success.max(lane.last_success.load(Ordering::Relaxed));
            last_failure = last_failure.max(lane.last_failure.load(Ordering::Relaxed));
        }
        let clock = &inner.clock;
        let stamp = |v: u64| (v != 0).then(|| clock.system_time(Instant::from_nanos(v - 1)));
        let config = inner.config();
        let s = &inner.stats;
        let durations =
            DurationHistogram::of(durations, outcome_nanos.iter().fold(0, |a, n| a.wrapping_add(*n)));
        let (transitions_by, recent_transitions) = {
            let journal = crate::sync::unpoisoned(inner.journal.lock());
            (journal.counts(), journal.recent())
        };
        Snapshot {
            service: inner.service,
            state: phase.state,
            generation: phase.generation,
            state_since: clock.system_time(phase.since),
            state_age: now.saturating_duration_since(phase.since),
            consecutive_failures: phase.consecutive_failures,
            retry_after: phase.retry_after,
            window: WindowStats {
                length: config.window,
                min_calls: config.min_calls,
                calls: totals.calls,
                successes: totals.successes(),
                failures: totals.failures,
                ignored: totals.ignored,
                timeouts: totals.timeouts,
                slow: totals.slow,
                failure_rate: totals.failure_rate(),
                slow_call_rate: totals.slow_rate(),
            },
            latency: LatencyStats {
                mean: totals.latency_mean(),
                max: Duration::from_nanos(totals.latency_max),
                p50: durations.percentile(0.5),
                p90: durations.percentile(0.9),
                p99: durations.percentile(0.99),
                p999: durations.percentile(0.999),
            },
            durations,
            calls: CallTotals {
                successes: outcomes[Outcomes::SUCCESS],
                failures: outcomes[Outcomes::FAILURE],
                ignored: outcomes[Outcomes::IGNORED],
                timeouts: outcomes[Outcomes::TIMEOUT],
                success_time: Duration::from_nanos(outcome_nanos[Outcomes::SUCCESS]),
                failure_time: Duration::from_nanos(outcome_nanos[Outcomes::FAILURE]),
                ignored_time: Duration::from_nanos(outcome_nanos[Outcomes::IGNORED]),
                timeout_time: Duration::from_nanos(outcome_nanos[Outcomes::TIMEOUT]),
            },
            rejections: Rejections {
                open: rejected[RejectionKind::Open.index()],
                probe_limit: rejected[RejectionKind::ProbeLimit.index()],
                bulkhead: rejected[RejectionKind::Bulkhead.index()],
                forced: rejected[RejectionKind::Forced.index()],
            },
            probes: ProbeStats { in_flight: phase.probes.0, successes: phase.probes.1 },
            bulkhead: BulkheadStats {
                max_concurrent: config.max_concurrent,
                in_use: inner.bulkhead.in_use(),
                queued: inner.bulkhead.queued(),
            },
            fallbacks: FallbackStats {
                runs: s.fallback_runs.load(Ordering::Relaxed),
                successes: s.fallback_successes.load(Ordering::Relaxed),
                failures: s.fallback_failures.load(Ordering::Relaxed),
                depth_exceeded: s.fallback_depth_exceeded.load(Ordering::Relaxed),
            },
            open_count: s.open_count.load(Ordering::Relaxed),
            recovery_attempts: s.recovery_attempts.load(Ordering::Relaxed),
            recoveries: s.recoveries.load(Ordering::Relaxed),
            transitions: s.transitions.load(Ordering::Relaxed),
            transitions_by,
            recent_transitions,
            last_success: stamp(last_success),
            last_failure: stamp(last_failure),
            taken_at: clock.system_time(now),
        }
    }
}
