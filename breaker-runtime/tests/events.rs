//! Events: every transition with its reason and generation, rejections while
//! subscribed, configuration changes, operator controls, and how events read.

mod common;

use breaker_runtime::observe::TryRecvError;
use breaker_runtime::{Clock, Config, Event, EventKind, Reason, RejectionKind, State};
use common::*;

fn transition(from: State, to: State, reason: Reason, generation: u64) -> EventKind {
    EventKind::Transition { from, to, reason, generation }
}

#[tokio::test]
async fn every_transition_is_reported_in_order_with_its_reason_time_and_a_new_generation() {
    let (breaker, clock) = manual("ev-cycle", Config::builder().threshold(3).recovery_timeout(secs(30)));
    let mut events = breaker.subscribe();
    let g = breaker.snapshot().generation;
    clock.advance(secs(1));
    fail_times(&breaker, 3).await; // 1 s: closed -> open
    clock.advance(secs(30)); // 31 s: open -> half-open, no call needed
    clock.advance(secs(2));
    fail_times(&breaker, 1).await; // 33 s: half-open -> open
    clock.advance(secs(30)); // 63 s: open -> half-open
    assert_eq!(breaker.call(ok(1)).await, Ok(1)); // half-open -> closed
    let received = events.drain();
    let recovery = Reason::RecoveryTimeoutElapsed { recovery_timeout: secs(30) };
    assert_eq!(
        kinds(&received),
        vec![
            transition(
                State::Closed,
                State::Open,
                Reason::ConsecutiveFailures { count: 3, threshold: 3 },
                g + 1
            ),
            transition(State::Open, State::HalfOpen, recovery.clone(), g + 2),
            transition(State::HalfOpen, State::Open, Reason::ProbeFailed, g + 3),
            transition(State::Open, State::HalfOpen, recovery, g + 4),
            transition(State::HalfOpen, State::Closed, Reason::ProbesSucceeded { successes: 1 }, g + 5),
        ]
    );
    let times: Vec<_> = received.iter().map(|e| e.at).collect();
    assert_eq!(times, vec![at(secs(1)), at(secs(31)), at(secs(33)), at(secs(63)), at(secs(63))]);
    for event in &received {
        assert_eq!(event.service, "ev-cycle");
        assert_eq!(event.time, clock.system_time(event.at));
    }
    assert_eq!(breaker.snapshot().generation, g + 5);
}

#[test]
fn half_open_event_arrives_on_time_with_no_traffic_and_no_inspection() {
    let (breaker, clock) = manual("ev-on-time", Config::builder().threshold(1).recovery_timeout(secs(10)));
    breaker.try_acquire().unwrap().failure();
    let mut events = breaker.subscribe();
    clock.advance(secs(9));
    assert_eq!(events.try_recv().unwrap_err(), TryRecvError::Empty);
    clock.advance(secs(1));
    // Neither a call nor state() nor snapshot() since: the clock's wakeup alone.
    let event = events.try_recv().expect("the half-open transition was sent on time");
    assert!(
        matches!(event.kind, EventKind::Transition { from: State::Open, to: State::HalfOpen, .. }),
        "{event:?}"
    );
    assert_eq!(event.at, at(secs(10)));
}

#[tokio::test]
async fn failure_rate_trip_is_reported_with_the_measured_rate() {
    let (breaker, _clock) = manual(
        "ev-rate",
        Config::builder().no_threshold().window(secs(30)).buckets(10).failure_rate(0.5).min_calls(4),
    );
    let mut events = breaker.subscribe();
    let g = breaker.snapshot().generation;
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    fail_times(&breaker, 3).await;
    assert_eq!(
        transitions(&events.drain()),
        vec![transition(
            State::Closed,
            State::Open,
            Reason::FailureRate { rate: 0.75, threshold: 0.5, calls: 4, window: secs(30) },
            g + 1
        )]
    );
}

#[tokio::test]
async fn rejections_are_sent_while_subscribed_with_their_kind() {
    let (breaker, clock) = manual("ev-rejections", Config::builder().threshold(1).recovery_timeout(secs(5)));
    fail_times(&breaker, 1).await;
    // Nobody listens: nothing is kept for later subscribers.
    let _ = breaker.call(ok(1)).await;
    let mut events = breaker.subscribe();
    let _ = breaker.call(ok(1)).await;
    clock.advance(secs(5));
    let _probe = breaker.try_acquire().expect("probe");
    let _ = breaker.call(ok(1)).await;
    let received = kinds(&events.drain());
    assert_eq!(
        received,
        vec![
            EventKind::Rejected { kind: RejectionKind::Open },
            transition(
                State::Open,
                State::HalfOpen,
                Reason::RecoveryTimeoutElapsed { recovery_timeout: secs(5) },
                breaker.snapshot().generation
            ),
            EventKind::Rejected { kind: RejectionKind::ProbeLimit },
        ]
    );
    // After unsubscribing, new subscribers do not see what happened in between.
    drop(events);
    let _ = breaker.call(ok(1)).await;
    let mut later = breaker.subscribe();
    assert_eq!(later.try_recv().unwrap_err(), TryRecvError::Empty);
    assert_eq!(
        breaker.snapshot().rejections.total(),
        4,
        "rejections are counted whether or not anyone listens"
    );
}

#[tokio::test]
async fn forced_and_bulkhead_rejections_have_their_own_kinds() {
    let (breaker, _clock) = manual("ev-rejection-kinds", Config::builder().max_concurrent(1).no_timeout());
    let mut events = breaker.subscribe();
    let mut holder = Box::pin(breaker.call(hanging()));
    assert!(poll_once(holder.as_mut()).is_pending());
    let _ = breaker.call(ok(1)).await;
    drop(holder);
    breaker.force_open();
    let _ = breaker.call(ok(1)).await;
    let rejections: Vec<_> =
        kinds(&events.drain()).into_iter().filter(|k| matches!(k, EventKind::Rejected { .. })).collect();
    assert_eq!(
        rejections,
        vec![
            EventKind::Rejected { kind: RejectionKind::Bulkhead },
            EventKind::Rejected { kind: RejectionKind::Forced }
        ]
    );
}

#[test]
fn every_subscriber_gets_every_event() {
    let (breaker, _clock) = manual("ev-two-subscribers", Config::builder().threshold(1));
    let mut first = breaker.subscribe();
    let mut second = breaker.subscribe();
    breaker.try_acquire().unwrap().failure();
    breaker.reset();
    let (a, b) = (kinds(&first.drain()), kinds(&second.drain()));
    assert_eq!(a.len(), 2);
    assert_eq!(a, b);
}

#[test]
fn reconfigure_sends_config_changed_with_both_configurations() {
    let (breaker, _clock) = manual("ev-config", Config::builder().threshold(5));
    let mut events = breaker.subscribe();
    let before = breaker.config();
    let mut after = before.clone();
    after.threshold = Some(2);
    breaker.reconfigure(after.clone()).expect("valid");
    assert_eq!(
        kinds(&events.drain()),
        vec![EventKind::ConfigChanged { before: Box::new(before), after: Box::new(after) }]
    );
}

#[test]
fn rejected_reconfiguration_sends_no_event() {
    let (breaker, _clock) = manual("ev-config-rejected", Config::builder());
    let mut events = breaker.subscribe();
    let mut bad = breaker.config();
    bad.success_threshold = 0;
    assert!(breaker.reconfigure(bad).is_err());
    assert_eq!(events.try_recv().unwrap_err(), TryRecvError::Empty);
}

#[test]
fn operator_controls_are_transitions_with_their_reasons() {
    let (breaker, _clock) = manual("ev-controls", Config::builder());
    let mut events = breaker.subscribe();
    let g = breaker.snapshot().generation;
    breaker.force_open();
    breaker.disable();
    breaker.metrics_only();
    breaker.reset();
    assert_eq!(
        kinds(&events.drain()),
        vec![
            transition(State::Closed, State::ForcedOpen, Reason::ForcedOpen, g + 1),
            transition(State::ForcedOpen, State::Disabled, Reason::Disabled, g + 2),
            transition(State::Disabled, State::MetricsOnly, Reason::MetricsOnly, g + 3),
            transition(State::MetricsOnly, State::Closed, Reason::Reset, g + 4),
        ]
    );
}

#[test]
fn repeating_a_control_in_its_own_state_sends_nothing_but_reset_always_does() {
    let (breaker, _clock) = manual("ev-controls-repeat", Config::builder());
    let mut events = breaker.subscribe();
    let g = breaker.snapshot().generation;
    breaker.force_open();
    breaker.force_open();
    breaker.reset();
    breaker.reset();
    assert_eq!(
        kinds(&events.drain()),
        vec![
            transition(State::Closed, State::ForcedOpen, Reason::ForcedOpen, g + 1),
            transition(State::ForcedOpen, State::Closed, Reason::Reset, g + 2),
            transition(State::Closed, State::Closed, Reason::Reset, g + 3),
        ]
    );
}

#[tokio::test]
async fn events_read_well_when_displayed() {
    let (breaker, clock) =
        manual("ev-display", Config::builder().threshold(3).recovery_timeout(secs(30)).max_concurrent(10));
    let mut events = breaker.subscribe();
    fail_times(&breaker, 3).await;
    let _ = breaker.call(ok(1)).await;
    clock.advance(secs(30));
    fail_times(&breaker, 1).await;
    clock.advance(secs(30));
    assert_eq!(breaker.call(ok(1)).await, Ok(1));
    breaker.force_open();
    breaker.disable();
    breaker.metrics_only();
    breaker.reset();
    let mut config = breaker.config();
    config.threshold = Some(4);
    breaker.reconfigure(config).unwrap();
    let lines: Vec<String> = events.drain().iter().map(Event::to_string).collect();
    assert_eq!(
        lines,
        vec![
            "ev-display: closed -> open (3 consecutive failures (threshold 3))",
            "ev-display: call rejected (open)",
            "ev-display: open -> half-open (recovery timeout of 30s elapsed)",
            "ev-display: half-open -> open (probe call failed)",
            "ev-display: open -> half-open (recovery timeout of 30s elapsed)",
            "ev-display: half-open -> closed (1 probe call(s) succeeded)",
            "ev-display: closed -> forced-open (forced open by an operator)",
            "ev-display: forced-open -> disabled (disabled by an operator)",
            "ev-display: disabled -> metrics-only (set to metrics-only by an operator)",
            "ev-display: metrics-only -> closed (reset by an operator)",
            "ev-display: configuration changed",
        ]
    );
}

#[test]
fn rate_reasons_read_as_percentages() {
    let rate = Reason::FailureRate { rate: 0.75, threshold: 0.5, calls: 4, window: secs(30) };
    assert_eq!(rate.to_string(), "failure rate 75.0% over 4 calls in 30s (threshold 50.0%)");
    let slow = Reason::SlowCallRate { rate: 0.5, threshold: 0.5, calls: 4, slow_call: secs(1) };
    assert_eq!(slow.to_string(), "50.0% of 4 calls slower than 1s (threshold 50.0%)");
    assert_eq!(RejectionKind::ProbeLimit.to_string(), "probe-limit");
}

#[tokio::test]
async fn events_can_be_awaited() {
    let (breaker, _clock) = manual("ev-recv", Config::builder().threshold(1));
    let mut events = breaker.subscribe();
    fail_times(&breaker, 1).await;
    let event = events.recv().await.expect("an event");
    assert!(matches!(event.kind, EventKind::Transition { to: State::Open, .. }), "{event:?}");
}

#[test]
fn subscriber_learns_when_the_breaker_is_gone() {
    let (breaker, _clock) = manual("ev-closed", Config::builder());
    let mut events = breaker.subscribe();
    drop(breaker);
    assert_eq!(events.try_recv().unwrap_err(), TryRecvError::Closed);
}
