//! How `#[circuit_breaker]` names the error that opens a circuit when the error type
//! is another crate's: `anyhow::Error`, which is not itself an `Error` but gives one
//! (here, where `anyhow` is a dependency already; the runtime's own tests cover its
//! errors, `Error` types and boxed ones).

use breaker_runtime::{State, circuit_breaker, registry};

#[circuit_breaker(service = "ui-anyhow-last-error", threshold = 1)]
async fn with_context() -> anyhow::Result<u32> {
    use anyhow::Context;
    Err(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"))
        .context("the upstream call failed")
}

#[test]
fn an_anyhow_error_that_opens_a_circuit_is_named_with_its_contexts_and_cause() {
    let _ = futures::executor::block_on(with_context());
    let breaker = registry().get("ui-anyhow-last-error").unwrap();
    let last = breaker.snapshot().recent_transitions.last().cloned().expect("a transition");
    // As `{:#}` shows it: each context, then the cause.
    assert_eq!(
        (last.to, last.last_error.as_deref()),
        (State::Open, Some("the upstream call failed: connection refused"))
    );
}
