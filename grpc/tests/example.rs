//! The `grpc_integration` example, run as a user runs it: it succeeds, and its output
//! shows both services, Echo's circuit opening, and its recovery to CLOSED.

use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn the_grpc_integration_example_opens_one_service_and_recovers_it() {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_grpc_integration")).output().expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}\nstdout:\n{stdout}\nstderr:\n{stderr}", output.status);
    assert!(started.elapsed() < Duration::from_secs(15), "took {:?}", started.elapsed());

    for expected in [
        "echo.v1.Echo",
        "echo.v1.Ledger",
        "transition: echo.v1.Echo: CLOSED -> OPEN",
        "transition: echo.v1.Echo: OPEN -> HALF-OPEN",
        "transition: echo.v1.Echo: HALF-OPEN -> CLOSED",
        "echo.v1.Ledger: CLOSED, opened 0 time(s)",
        "echo.v1.Echo: CLOSED, opened 1 time(s), recoveries 1",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in:\n{stdout}");
    }
    assert!(!stdout.contains("transition: echo.v1.Ledger"), "Ledger's breaker never moved:\n{stdout}");
}
