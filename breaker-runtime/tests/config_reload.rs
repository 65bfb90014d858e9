//! Reconfiguration under traffic: no outcome is lost, and no call mixes two
//! configurations. Also: the loader never panics, whatever the file holds.

use std::sync::Arc;
use std::time::Duration;

use breaker_runtime::{CircuitBreaker, Clock, Config, Error, Instant, Wake};
use proptest::prelude::*;

/// The breaker's clock on tokio's (paused) time, so latencies and call timeouts are
/// measured on one time line: a clock of the user's own, which schedules the wakeups
/// its breakers ask for (their call timeouts) on tokio's timer.
#[derive(Debug)]
struct TokioClock(tokio::time::Instant);

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::from_nanos(self.0.elapsed().as_nanos() as u64)
    }

    fn wake_at(&self, at: Instant, wake: Wake) {
        let deadline = self.0 + Duration::from_nanos(at.as_nanos());
        tokio::spawn(async move {
            tokio::time::sleep_until(deadline).await;
            wake();
        });
    }
}

fn config(timeout_ms: u64, slow_ms: u64) -> Config {
    Config::builder()
        .threshold(u32::MAX)
        .min_calls(u32::MAX)
        .timeout(Duration::from_millis(timeout_ms))
        .slow_call(Duration::from_millis(slow_ms))
        .no_bulkhead()
        .build()
        .unwrap()
}

/// Config A cuts a 100 ms call at 50 ms and calls it slow from 40 ms; config B lets it
/// finish and calls it slow only from 150 ms. A call that took its timeout from B and
/// its slow-call threshold from A would be a slow success: there must be none.
#[tokio::test(start_paused = true)]
async fn reconfiguring_under_traffic_loses_no_outcome_and_never_mixes_configurations() {
    let a = config(50, 40);
    let b = config(200, 150);
    let clock = Arc::new(TokioClock(tokio::time::Instant::now()));
    let breaker = CircuitBreaker::with_clock("reload-under-traffic", a.clone(), clock).unwrap();

    let flipper = {
        let breaker = breaker.clone();
        tokio::spawn(async move {
            for i in 0..200 {
                breaker.reconfigure(if i % 2 == 0 { b.clone() } else { a.clone() }).unwrap();
                tokio::time::sleep(Duration::from_millis(7)).await;
            }
        })
    };
    let mut callers = Vec::new();
    for caller in 0..20u64 {
        let breaker = breaker.clone();
        callers.push(tokio::spawn(async move {
            let (mut ok, mut timed_out) = (0u64, 0u64);
            for call in 0..25u64 {
                tokio::time::sleep(Duration::from_millis((caller * 3 + call) % 11)).await;
                let result = breaker
                    .call(async {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Ok::<(), Error>(())
                    })
                    .await;
                match result {
                    Ok(()) => ok += 1,
                    Err(Error::Timeout { .. }) => timed_out += 1,
                    Err(other) => panic!("unexpected {other}"),
                }
            }
            (ok, timed_out)
        }));
    }
    let (mut ok, mut timed_out) = (0, 0);
    for caller in callers {
        let (o, t) = caller.await.unwrap();
        ok += o;
        timed_out += t;
    }
    flipper.await.unwrap();

    let window = breaker.snapshot().window;
    assert_eq!(ok + timed_out, 500);
    assert!(ok > 0 && timed_out > 0, "both configurations were in force: {ok} ok, {timed_out} timed out");
    assert_eq!(window.calls, 500, "every outcome was recorded");
    assert_eq!((window.successes, window.timeouts), (ok, timed_out));
    assert_eq!(window.slow, window.timeouts, "a slow success would mean a call mixed two configurations");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Arbitrary bytes: an error or a report, never a panic.
    #[test]
    fn the_loader_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("breaker.toml");
        std::fs::write(&path, &bytes).unwrap();
        let _ = breaker_runtime::registry().load_config(&path);
    }

    /// Arbitrary TOML made of the real section and key names with arbitrary values.
    #[test]
    fn the_loader_never_panics_on_arbitrary_toml(
        sections in proptest::collection::vec(
            (
                prop_oneof![Just("defaults".to_string()), "profiles\\.[a-z]{1,5}", "services\\.[a-z-]{1,8}", "[a-z]{1,6}"],
                proptest::collection::vec(
                    (
                        prop_oneof![
                            Just("threshold"), Just("failure_rate"), Just("window"), Just("buckets"),
                            Just("min_calls"), Just("recovery_timeout"), Just("timeout"), Just("queue"),
                            Just("queue_timeout"), Just("slow_call"), Just("profile"), Just("bogus"),
                        ],
                        prop_oneof![
                            any::<i64>().prop_map(|n| n.to_string()),
                            any::<f64>().prop_map(|f| format!("{f:?}")),
                            "\"[0-9]{0,4}(ms|s|m|h|x)?\"",
                            Just("\"off\"".to_string()),
                            Just("true".to_string()),
                            Just("[1, 2]".to_string()),
                            Just("{ a = 1 }".to_string()),
                        ],
                    ),
                    0..6,
                ),
            ),
            0..5,
        )
    ) {
        let mut text = String::new();
        for (section, keys) in &sections {
            text.push_str(&format!("[{section}]\n"));
            for (key, value) in keys {
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("breaker.toml");
        std::fs::write(&path, &text).unwrap();
        let _ = breaker_runtime::registry().load_config(&path);
    }
}
