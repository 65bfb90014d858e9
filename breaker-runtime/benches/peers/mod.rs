//! The peer crates' breakers, configured alike for `breaker.rs` and `tasks.rs`: open
//! after 5 consecutive failures (recloser: 50% of 5 calls), for 30 seconds.

use std::time::Duration;

pub fn failsafe_breaker() -> impl failsafe::futures::CircuitBreaker + Clone {
    use failsafe::{backoff, failure_policy};
    failsafe::Config::new()
        .failure_policy(failure_policy::consecutive_failures(5, backoff::constant(Duration::from_secs(30))))
        .build()
}

pub fn recloser_breaker() -> recloser::AsyncRecloser {
    recloser::AsyncRecloser::from(
        recloser::Recloser::custom().error_rate(0.5).closed_len(5).open_wait(Duration::from_secs(30)).build(),
    )
}
