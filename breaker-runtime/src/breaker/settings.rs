//! The live settings of a breaker: its [`Config`] encoded into atomic words, so the hot
//! path reads them without a lock, and a reload changes them without a pause.
//!
//! The words a call applies from start to end (its [`CallPolicy`]) are read under a
//! sequence lock: a call never sees half of an old configuration and half of a new one.
//! Rules the state machine applies at the moment of a decision (thresholds, rates) are
//! read as single words when the decision is made.

use std::time::Duration;

use crate::sync::{AtomicU64, Ordering, fence};

use super::clock::duration_nanos;
use super::config::Config;

const THRESHOLDS: usize = 0; // threshold | success_threshold << 32
const PROBES: usize = 1; // half_open_max_calls | min_calls << 32
const RECOVERY: usize = 2;
const FAILURE_RATE: usize = 3; // f64 bits; 0.0: off
const SLOW_CALL: usize = 4; // nanos; 0: off
const SLOW_RATE: usize = 5; // f64 bits
const TIMEOUT: usize = 6; // nanos; 0: none
const BULKHEAD: usize = 7; // max_concurrent (0: off) | queue << 32
const QUEUE_TIMEOUT: usize = 8;
const FALLBACK_DEPTH: usize = 9;
const FALLBACK_TIMEOUT: usize = 10; // nanos; 0: none
/// Whether a call needs its policy at all (a timeout, a bulkhead or a slow-call
/// threshold): 0 lets the closed path skip the sequence-locked read.
const NEEDS_POLICY: usize = 11;
/// 1: a `tracing` span per call of the attribute's functions.
const TRACE: usize = 12;
const WORDS: usize = 13;

/// What one call applies from start to end, read once at its admission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CallPolicy {
    /// 0: no timeout.
    pub(crate) timeout_nanos: u64,
    /// 0: slow-call detection off.
    pub(crate) slow_call_nanos: u64,
    /// 0: no bulkhead.
    pub(crate) max_concurrent: u32,
    pub(crate) queue: u32,
    pub(crate) queue_timeout_nanos: u64,
    pub(crate) fallback_depth: u32,
    /// 0: no limit.
    pub(crate) fallback_timeout_nanos: u64,
}

impl CallPolicy {
    /// No timeout, no bulkhead, no slow-call threshold (the fallback limits, which a
    /// call without fallback does not use, are zero too).
    pub(crate) const NONE: CallPolicy = CallPolicy {
        timeout_nanos: 0,
        slow_call_nanos: 0,
        max_concurrent: 0,
        queue: 0,
        queue_timeout_nanos: 0,
        fallback_depth: 0,
        fallback_timeout_nanos: 0,
    };

    pub(crate) fn queue_timeout(&self) -> Duration {
        Duration::from_nanos(self.queue_timeout_nanos)
    }
}

pub(crate) struct Settings {
    seq: AtomicU64,
    words: [AtomicU64; WORDS],
}

fn low(word: u64) -> u32 {
    word as u32
}

fn high(word: u64) -> u32 {
    (word >> 32) as u32
}

fn encode(c: &Config) -> [u64; WORDS] {
    let mut w = [0; WORDS];
    w[THRESHOLDS] = u64::from(c.threshold.unwrap_or(0)) | u64::from(c.success_threshold) << 32;
    w[PROBES] = u64::from(c.half_open_max_calls) | u64::from(c.min_calls) << 32;
    w[RECOVERY] = duration_nanos(c.recovery_timeout);
    w[FAILURE_RATE] = c.failure_rate.unwrap_or(0.0).to_bits();
    w[SLOW_CALL] = c.slow_call.map_or(0, duration_nanos);
    w[SLOW_RATE] = c.slow_call_rate.to_bits();
    w[TIMEOUT] = c.timeout.map_or(0, duration_nanos);
    w[BULKHEAD] = u64::from(c.max_concurrent.unwrap_or(0)) | u64::from(c.queue) << 32;
    w[QUEUE_TIMEOUT] = duration_nanos(c.queue_timeout);
    w[FALLBACK_DEPTH] = u64::from(c.fallback_depth);
    w[FALLBACK_TIMEOUT] = c.fallback_timeout.map_or(0, duration_nanos);
    w[NEEDS_POLICY] = u64::from(w[TIMEOUT] != 0 || low(w[BULKHEAD]) != 0 || w[SLOW_CALL] != 0);
    w[TRACE] = u64::from(c.trace);
    w
}

impl Settings {
    pub(crate) fn new(config: &Config) -> Settings {
        Settings { seq: AtomicU64::new(0), words: encode(config).map(AtomicU64::new) }
    }

    /// Publishes `config`. Callers serialise stores (the breaker's transition lock).
    pub(crate) fn store(&self, config: &Config) {
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        for (word, value) in self.words.iter().zip(encode(config)) {
            word.store(value, Ordering::Relaxed);
        }
        self.seq.store(seq + 2, Ordering::Release);
    }

    #[inline]
    fn word(&self, i: usize) -> u64 {
        self.words[i].load(Ordering::Relaxed)
    }

    /// Whether the attribute's calls get a `tracing` span (`trace = true`).
    #[inline(always)]
    pub(crate) fn traced(&self) -> bool {
        self.word(TRACE) != 0
    }

    /// The policy of a call that has no fallback: [`CallPolicy::NONE`] without reading
    /// the rest when the configuration has no timeout, no bulkhead and no slow-call
    /// threshold (one word, itself from one configuration), else [`policy`](Self::policy).
    #[inline(always)]
    pub(crate) fn call_policy(&self) -> CallPolicy {
        if self.words[NEEDS_POLICY].load(Ordering::Relaxed) == 0 {
            return CallPolicy::NONE;
        }
        self.policy()
    }

    /// The per-call policy, all from one configuration.
    #[inline]
    pub(crate) fn policy(&self) -> CallPolicy {
        loop {
            let before = self.seq.load(Ordering::Acquire);
            let bulkhead = self.word(BULKHEAD);
            let policy = CallPolicy {
                timeout_nanos: self.word(TIMEOUT),
                slow_call_nanos: self.word(SLOW_CALL),
                max_concurrent: low(bulkhead),
                queue: high(bulkhead),
                queue_timeout_nanos: self.word(QUEUE_TIMEOUT),
                fallback_depth: self.word(FALLBACK_DEPTH) as u32,
                fallback_timeout_nanos: self.word(FALLBACK_TIMEOUT),
            };
            fence(Ordering::Acquire);
            let after = self.seq.load(Ordering::Relaxed);
            if before == after && before % 2 == 0 {
                return policy;
            }
            std::hint::spin_loop();
        }
    }

    /// Consecutive failures that open the circuit; 0: the rule is off.
    #[inline]
    pub(crate) fn threshold(&self) -> u32 {
        low(self.word(THRESHOLDS))
    }

    pub(crate) fn success_threshold(&self) -> u32 {
        high(self.word(THRESHOLDS)).max(1)
    }

    #[inline]
    pub(crate) fn half_open_max_calls(&self) -> u32 {
        low(self.word(PROBES)).max(1)
    }

    pub(crate) fn min_calls(&self) -> u64 {
        u64::from(high(self.word(PROBES)).max(1))
    }

    #[inline]
    pub(crate) fn recovery_nanos(&self) -> u64 {
        self.word(RECOVERY)
    }

    /// The failure-rate rule; 0.0: off.
    pub(crate) fn failure_rate(&self) -> f64 {
        f64::from_bits(self.word(FAILURE_RATE))
    }

    /// The slow-call threshold in nanoseconds; 0: off.
    #[inline]
    pub(crate) fn slow_call_nanos(&self) -> u64 {
        self.word(SLOW_CALL)
    }

    pub(crate) fn slow_call_rate(&self) -> f64 {
        f64::from_bits(self.word(SLOW_RATE))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn policy_reads_back_what_was_stored() {
        let mut config = Config::default();
        let settings = Settings::new(&config);
        assert_eq!(settings.policy().timeout_nanos, 10_000_000_000);
        assert_eq!(settings.policy().max_concurrent, 100);
        config.timeout = None;
        config.max_concurrent = None;
        config.fallback_timeout = Some(Duration::from_millis(250));
        settings.store(&config);
        let policy = settings.policy();
        assert_eq!(policy.timeout_nanos, 0);
        assert_eq!(policy.max_concurrent, 0);
        assert_eq!(policy.fallback_timeout_nanos, 250_000_000);
        assert_eq!(settings.threshold(), 5);
        assert_eq!(settings.failure_rate(), 0.0);
    }

    #[test]
    fn a_reader_never_sees_a_mix_of_two_configurations() {
        let a = Config::builder().timeout(Duration::from_secs(1)).fallback_depth(1).build().unwrap();
        let b = Config::builder().timeout(Duration::from_secs(2)).fallback_depth(2).build().unwrap();
        let settings = std::sync::Arc::new(Settings::new(&a));
        let writer = {
            let settings = settings.clone();
            std::thread::spawn(move || {
                for i in 0..20_000 {
                    settings.store(if i % 2 == 0 { &b } else { &a });
                }
            })
        };
        for _ in 0..20_000 {
            let p = settings.policy();
            let secs = (p.timeout_nanos / 1_000_000_000) as u32;
            assert_eq!(secs, p.fallback_depth, "a policy mixed two configurations");
        }
        writer.join().unwrap();
    }
}
