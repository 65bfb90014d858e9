//! Errors as a caller sees them: messages that say what happened and what to do, and
//! errors that reach functions returning `std::io::Result`.

mod common;

use std::io;

use breaker_runtime::{Config, Error, State};
use common::*;

#[tokio::test]
async fn circuit_open_message_says_how_long_calls_fail_fast() {
    let (breaker, clock) =
        manual("err-open-message", Config::builder().threshold(1).recovery_timeout(secs(30)));
    fail_times(&breaker, 1).await;
    clock.advance(millis(11_700));
    let error = breaker.try_acquire().unwrap_err();
    assert_eq!(
        error.to_string(),
        "circuit `err-open-message` is open: calls fail fast for another 18.3s, then a probe call is let through"
    );
    assert_eq!(error.service(), Some("err-open-message"));
    breaker.force_open();
    assert_eq!(
        breaker.try_acquire().unwrap_err().to_string(),
        "circuit `err-open-message` is open: it was forced open by an operator; `reset` it to let calls through"
    );
}

#[tokio::test]
async fn probe_limit_and_bulkhead_messages_name_the_setting_to_raise() {
    let (breaker, clock) = manual("err-limits", Config::builder().threshold(1).recovery_timeout(secs(1)));
    fail_times(&breaker, 1).await;
    clock.advance(secs(1));
    let _probe = breaker.try_acquire().unwrap();
    let error = breaker.try_acquire().unwrap_err();
    assert!(error.to_string().contains("raise `half_open_max_calls`"), "{error}");
    let full = Error::BulkheadFull { service: "err-limits", max_concurrent: 2, queue: 0 };
    assert!(full.to_string().contains("raise `max_concurrent`, `queue` or `queue_timeout`"), "{full}");
}

#[tokio::test]
async fn a_function_returning_io_result_gets_a_timed_out_io_error() {
    let (breaker, clock) = manual("err-io-timeout", Config::builder().threshold(5).timeout(millis(20)));
    let result: io::Result<u32> = after(&clock, millis(20), breaker.call(std::future::pending())).await;
    let error = result.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    let inner = error.get_ref().and_then(|e| e.downcast_ref::<Error>()).expect("the breaker's error inside");
    assert_eq!(inner, &Error::Timeout { service: "err-io-timeout", timeout: millis(20) });
    assert_eq!(breaker.snapshot().window.timeouts, 1);
}

#[tokio::test]
async fn a_function_returning_io_result_can_be_rejected_and_its_own_errors_count() {
    let (breaker, _clock) = manual("err-io-open", Config::builder().threshold(2));
    for _ in 0..2 {
        let result: io::Result<u32> =
            breaker.call(async { Err(io::Error::new(io::ErrorKind::ConnectionRefused, "refused")) }).await;
        assert_eq!(result.unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
    }
    assert_eq!(breaker.state(), State::Open);
    let rejected: io::Result<u32> = breaker.call(async { Ok(1) }).await;
    let error = rejected.unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::Other);
    let inner = error.get_ref().and_then(|e| e.downcast_ref::<Error>()).expect("the breaker's error inside");
    assert!(inner.is_rejection());
}

#[test]
fn config_errors_name_the_field_the_value_and_the_rule() {
    let error = Config::builder().failure_rate(1.5).build().unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid configuration: `failure_rate` = 1.5: must be greater than 0 and at most 1"
    );
    let error = Config::builder().window(secs(5)).buckets(10).build().unwrap_err();
    assert_eq!(error.field, "window");
    let error = Config::builder().queue(3).build().unwrap_err();
    assert_eq!(error.field, "queue_timeout");
    let error = Config::builder().no_threshold().build().unwrap_err();
    assert_eq!(error.field, "threshold");
    let breaker_error: Error = error.into();
    assert!(matches!(breaker_error, Error::InvalidConfig(_)));
}
