//! `registry().diagnose(service)`: findings of the design's symptom, cause and fix
//! table, each with the value seen and the change to make; and the retention tiers
//! the diagnosis and the dashboard read.

mod common;

use std::time::Duration;

use breaker_runtime::observe::diagnosis::FindingKind;
use breaker_runtime::observe::history::{History, Tier};
use breaker_runtime::{Config, State, registry};
use common::*;

fn registered(
    service: &str,
    config: breaker_runtime::ConfigBuilder,
) -> (breaker_runtime::CircuitBreaker, std::sync::Arc<breaker_runtime::ManualClock>) {
    let (breaker, clock) = manual(service, config);
    registry().register(&breaker).unwrap();
    (breaker, clock)
}

fn kinds(service: &str) -> Vec<FindingKind> {
    registry().diagnose(service).unwrap().findings.iter().map(|f| f.kind).collect()
}

#[tokio::test]
async fn a_sound_configuration_has_no_finding() {
    let (breaker, clock) = registered("diag-sound", Config::builder().threshold(5).timeout(millis(50)));
    for _ in 0..200 {
        let _ = breaker.call(taking(&clock, millis(20), Ok(1))).await;
    }
    let d = registry().diagnose("diag-sound").unwrap();
    assert_eq!(d.findings, [], "{:?}", d.findings);
    assert_eq!(d.snapshot.state, State::Closed);
    assert_eq!(d.config.threshold, Some(5));
    assert!(d.pattern.starts_with("0 of 200 calls failed"), "{}", d.pattern);
}

#[test]
fn a_threshold_of_one_opens_on_a_blip() {
    let (_breaker, _clock) = registered("diag-blip", Config::builder().threshold(1));
    let d = registry().diagnose("diag-blip").unwrap();
    let finding = d.findings.iter().find(|f| f.kind == FindingKind::BlipThreshold).expect("a blip finding");
    assert!(finding.seen.contains("threshold = 1"), "{finding}");
    assert!(finding.change.contains("threshold = 5"), "{finding}");
}

#[tokio::test]
async fn a_timeout_far_above_the_p99_is_found_with_a_suggested_value() {
    let (breaker, clock) = registered("diag-timeout", Config::builder().threshold(5).timeout(secs(30)));
    for _ in 0..200 {
        let _ = breaker.call(taking(&clock, millis(10), Ok(1))).await;
    }
    let d = registry().diagnose("diag-timeout").unwrap();
    let finding =
        d.findings.iter().find(|f| f.kind == FindingKind::TimeoutAboveP99).expect("a timeout finding");
    assert!(finding.seen.contains("timeout 30s"), "{finding}");
    assert!(finding.change.contains("timeout = 20ms"), "twice the p99 of 10 ms: {finding}");
    // With too few calls the p99 is not trusted.
    let (few, clock) = registered("diag-timeout-few", Config::builder().threshold(5).timeout(secs(30)));
    for _ in 0..10 {
        let _ = few.call(taking(&clock, millis(10), Ok(1))).await;
    }
    assert!(!kinds("diag-timeout-few").contains(&FindingKind::TimeoutAboveP99));
}

#[tokio::test]
async fn a_timeout_below_the_p99_is_found() {
    let (breaker, clock) =
        registered("diag-timeout-low", Config::builder().threshold(1000).timeout(millis(100)));
    for _ in 0..200 {
        let _ = breaker.call(taking(&clock, millis(90), Ok(1))).await;
    }
    for _ in 0..10 {
        let _ = breaker.call(taking(&clock, millis(400), Ok(1))).await;
    }
    assert!(
        kinds("diag-timeout-low").contains(&FindingKind::TimeoutBelowP99),
        "{:?}",
        kinds("diag-timeout-low")
    );
}

#[tokio::test]
async fn a_window_with_too_few_calls_never_judges() {
    let config = Config::builder().threshold(100).failure_rate(0.5).window(secs(60)).min_calls(20);
    let (breaker, clock) = registered("diag-sparse", config);
    clock.advance(secs(55));
    for _ in 0..5 {
        let _ = breaker.call(ok(1)).await;
    }
    clock.advance(secs(5));
    let d = registry().diagnose("diag-sparse").unwrap();
    let finding =
        d.findings.iter().find(|f| f.kind == FindingKind::WindowTooSparse).expect("a sparse finding");
    assert!(finding.seen.starts_with("5 judged calls in the 1m window, min_calls 20"), "{finding}");
    assert!(finding.change.contains("min_calls = 5"), "{finding}");
}

#[test]
fn probes_that_keep_failing_and_flapping_are_found() {
    let (breaker, clock) =
        registered("diag-probes", Config::builder().threshold(3).recovery_timeout(secs(5)).timeout(secs(1)));
    for _ in 0..3 {
        breaker.try_acquire().unwrap().failure();
    }
    for _ in 0..3 {
        clock.advance(secs(5));
        breaker.try_acquire().unwrap().failure(); // the probe fails
    }
    let d = registry().diagnose("diag-probes").unwrap();
    let finding =
        d.findings.iter().find(|f| f.kind == FindingKind::ProbesKeepFailing).expect("a probe finding");
    assert!(finding.seen.starts_with("3 half-open periods in a row failed"), "{finding}");
    assert!(finding.change.contains("recovery_timeout 5s"), "{finding}");
    // Four openings within the hour: flapping.
    assert_eq!(d.opens_last_hour, 4);
    assert_eq!(d.findings[0].kind, FindingKind::Flapping, "flapping comes first");
    // A probe that succeeds ends the run.
    clock.advance(secs(5));
    breaker.try_acquire().unwrap().success();
    assert!(!kinds("diag-probes").contains(&FindingKind::ProbesKeepFailing));
    // An hour later the openings are old.
    clock.advance(secs(3601));
    assert_eq!(registry().diagnose("diag-probes").unwrap().opens_last_hour, 0);
}

#[test]
fn an_unknown_service_names_the_nearest() {
    let _ = registered("diag-nearest", Config::builder().threshold(5));
    let error = registry().diagnose("diag-neares").unwrap_err();
    assert!(error.to_string().contains("diag-nearest"), "{error}");
}

#[tokio::test]
async fn tiers_keep_points_of_their_interval_bounded_in_number() {
    let (breaker, clock) = manual("history-tiers", Config::builder().threshold(1000));
    let history = History::new(vec![Tier::new(secs(30), 3), Tier::new(secs(10), 4)]);
    assert_eq!(history.tiers()[0].interval, secs(10), "finest first");
    history.sample_snapshots(&[breaker.snapshot()]);
    // Ten 10 s intervals: in each, 3 successes of 20 ms, and failures in every other.
    for i in 0..10u64 {
        for _ in 0..3 {
            let _ = breaker.call(taking(&clock, millis(20), Ok(1))).await;
        }
        if i % 2 == 1 {
            let _ = breaker.call(fail(500)).await;
        }
        clock.advance(secs(10) - millis(60));
        history.sample_snapshots(&[breaker.snapshot()]);
    }
    let fine = history.points("history-tiers", 0);
    assert_eq!(fine.len(), 4, "bounded");
    let last = fine.last().unwrap();
    assert_eq!((last.successes, last.failures, last.interval), (3, 1, secs(10)));
    assert_eq!(last.failure_rate, 0.25);
    assert!(last.p50 > millis(17) && last.p50 <= millis(20), "{:?}", last.p50);
    assert_eq!(last.state, State::Closed);
    let coarse = history.points("history-tiers", 1);
    assert_eq!(coarse.len(), 3);
    assert_eq!(coarse.iter().map(|p| p.interval).collect::<Vec<Duration>>(), [secs(30); 3]);
    assert_eq!(coarse.iter().map(|p| p.successes).sum::<u64>(), 27, "the 9 intervals in three points");
    // A service that leaves the registry leaves the history.
    history.sample_snapshots(&[]);
    assert!(history.points("history-tiers", 0).is_empty());
}
