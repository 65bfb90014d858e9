//! The latency histogram's buckets: fixed, log-linear, shared by every breaker, so that
//! recording is an index computation and one counter increment on the call path.
//!
//! Bucket 0 holds calls of at most 1 ms. Above that, each doubling of the time (1 ms to
//! 2 ms, 2 ms to 4 ms, ... up to 65.536 s) is cut in four equal buckets: bounds of
//! 1.25, 1.5, 1.75, 2, 2.5, 3, 3.5, 4, 5, ... ms, so a percentile read from the
//! histogram is within 12.5% of the time recorded. The last bucket holds everything
//! above 65.536 s. Upper bounds are inclusive, as Prometheus's `le` is.

use std::time::Duration;

/// Buckets of the histogram: the one up to 1 ms, 16 doublings of four, and the
/// overflow.
pub(crate) const BUCKETS: usize = 66;

/// The last bucket: everything above 65.536 s.
pub(crate) const OVERFLOW: usize = BUCKETS - 1;

/// The bucket of a call that took `nanos`.
#[inline(always)]
pub(crate) fn bucket_of(nanos: u64) -> usize {
    // Most calls on the real clock read 0 (shorter than its 1 ms tick): one comparison.
    if nanos <= 1_000_000 {
        return 0;
    }
    // The time in units of 1 ms / 2^20, rounded up: a bucket's bound is then a power of
    // two times 5/4, 6/4, 7/4 or 8/4. Anything past 2^43 ns (2.4 h) overflows anyway.
    // A division by a constant compiles to a multiplication.
    #[allow(clippy::manual_div_ceil, reason = "`div_ceil` costs a remainder on the call path")]
    let x = ((nanos.min(1 << 43) << 20) + 999_999) / 1_000_000;
    let y = x - 1;
    let msb = (63 - y.leading_zeros()) as usize;
    let quarter = ((y >> (msb - 2)) & 3) as usize;
    (1 + (msb - 20) * 4 + quarter).min(OVERFLOW)
}

/// The inclusive upper bound of bucket `k`; `None` for the overflow bucket.
pub(crate) fn upper_bound(k: usize) -> Option<Duration> {
    match k {
        0 => Some(Duration::from_millis(1)),
        OVERFLOW.. => None,
        k => {
            let (doubling, quarter) = ((k - 1) / 4, (k - 1) % 4);
            Some(Duration::from_nanos((250_000 * (5 + quarter as u64)) << doubling))
        }
    }
}

/// The lower bound of bucket `k` (the upper bound of the one before).
pub(crate) fn lower_bound(k: usize) -> Duration {
    match k {
        0 => Duration::ZERO,
        k => upper_bound(k - 1).unwrap_or(Duration::MAX),
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn bounds_are_inclusive_and_every_time_falls_between_its_bucket_bounds() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(MS), 0);
        assert_eq!(bucket_of(MS + 1), 1);
        assert_eq!(bucket_of(1_250_000), 1);
        assert_eq!(bucket_of(1_250_001), 2);
        assert_eq!(bucket_of(2 * MS), 4);
        assert_eq!(bucket_of(65_536 * MS), OVERFLOW - 1);
        assert_eq!(bucket_of(65_536 * MS + 1), OVERFLOW);
        assert_eq!(bucket_of(u64::MAX), OVERFLOW);
        let mut nanos = 1u64;
        while nanos < 100_000 * MS {
            let k = bucket_of(nanos);
            let d = Duration::from_nanos(nanos);
            assert!(lower_bound(k) < d || (k == 0 && nanos > 0), "{nanos} in {k}");
            assert!(upper_bound(k).is_none_or(|upper| d <= upper), "{nanos} in {k}");
            // Each bound itself lands in its own bucket.
            if let Some(upper) = upper_bound(k) {
                assert_eq!(bucket_of(upper.as_nanos() as u64), k);
            }
            nanos = nanos * 9 / 8 + 1;
        }
    }

    #[test]
    fn bounds_read_as_round_milliseconds() {
        let bounds: Vec<Duration> = (0..9).filter_map(upper_bound).collect();
        let ms: Vec<f64> = bounds.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        assert_eq!(ms, [1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0]);
        assert_eq!(upper_bound(OVERFLOW - 1), Some(Duration::from_millis(65_536)));
        assert_eq!(upper_bound(OVERFLOW), None);
    }
}
