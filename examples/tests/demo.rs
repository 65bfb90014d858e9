//! The demo, run briefly in plain mode, shows circuits opening and closing again.

use std::process::Command;

#[test]
fn demo_shows_circuits_opening_and_closing_again() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--duration", "10", "--plain", "--seed", "3"])
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the demo failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "phase: degraded: 50% errors",
        "phase: down: errors and hangs past the timeout",
        "quotes           CLOSED -> OPEN  (3 consecutive failures (threshold 3))",
        "OPEN -> HALF-OPEN  (recovery timeout of 2s elapsed)",
        "HALF-OPEN -> CLOSED  (1 probe call(s) succeeded)",
        "summary after",
        "final states: quotes closed, inventory closed, recommendations closed",
    ] {
        assert!(stdout.contains(expected), "the demo did not show `{expected}`:\n{stdout}");
    }
}
