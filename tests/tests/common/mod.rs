//! What the test files share: a user's error type, and a bounded wait for a breaker's
//! transition driven by its events (never by sleeping).

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::num::ParseIntError;
use std::time::Duration;

use breaker_runtime::observe::RecvError;
use breaker_runtime::{CircuitBreaker, Error, Event, EventKind, State, registry};

/// The error type of the protected functions of the tests, as a user writes one.
#[derive(Debug, PartialEq)]
pub enum ApiError {
    /// The breaker refused the call, or it timed out.
    Breaker(Error),
    /// The upstream service failed; the number tells the answers apart.
    Down(u32),
    /// The request was wrong: says nothing about the service's health.
    NotFound,
    /// A value could not be parsed.
    Parse(String),
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Breaker(e)
    }
}

impl From<ParseIntError> for ApiError {
    fn from(e: ParseIntError) -> Self {
        ApiError::Parse(e.to_string())
    }
}

/// The breaker the registry holds for `service`.
pub fn breaker(service: &str) -> CircuitBreaker {
    registry().breaker(service).unwrap_or_else(|| panic!("no breaker for `{service}` in the registry"))
}

/// Lets an open circuit of `service` probe again after 1ms, so a test can take it to
/// half-open through the real clock without sleeping. The call timeout is turned off
/// (it may not exceed the recovery timeout).
pub fn recover_quickly(service: &str) {
    let breaker = breaker(service);
    let config =
        breaker.config().into_builder().recovery_timeout(Duration::from_millis(1)).no_timeout().build();
    breaker.reconfigure(config.expect("a 1ms recovery timeout is valid")).expect("reconfigure");
}

/// Waits, at most 5s of real time, for the breaker to enter `to`, and returns the
/// transition's event. Subscribe before causing the transition. Not for tests on paused
/// tokio time: the breaker's clock is the real one, and paused time would end the wait
/// at once.
pub async fn transition_to(events: &mut breaker_runtime::Events, to: State) -> Event {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(event) => {
                    if matches!(event.kind, EventKind::Transition { to: entered, .. } if entered == to) {
                        return event;
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(error) => panic!("no more events: {error}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .unwrap_or_else(|_| panic!("no transition to {to:?} within 5s"))
}
