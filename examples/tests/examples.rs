//! Every example runs to completion and shows what it is about.

use std::process::Command;

fn run(binary: &str) -> String {
    let output = Command::new(binary).output().expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{binary} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn shows(stdout: &str, expected: &[&str]) {
    for line in expected {
        assert!(stdout.contains(line), "expected `{line}` in:\n{stdout}");
    }
}

#[test]
fn basic_usage_opens_falls_back_and_closes() {
    let out = run(env!("CARGO_BIN_EXE_basic_usage"));
    shows(
        &out,
        &[
            "pricing is closed; quote = Ok(700)",
            "attempt 3 while pricing is down: Ok(99), breaker open",
            "and the breaker is closed",
        ],
    );
}

#[test]
fn advanced_patterns_show_chain_bulkhead_window_and_classifier() {
    let out = run(env!("CARGO_BIN_EXE_advanced_patterns"));
    shows(
        &out,
        &[
            "404 is ignored by the breaker: Err(NotFound)",
            "odd id, cache miss, static default: Ok(\"Service temporarily unavailable\")",
            "report 4 rejected: bulkhead of `reports` is full",
            "search: 10 calls, failure rate 60%, breaker open",
            "event: search: closed -> open (failure rate 60.0% over 10 calls in 10s (threshold 50.0%))",
        ],
    );
}

#[test]
fn config_file_layers_reports_reloads_and_rejects() {
    let out = run(env!("CARGO_BIN_EXE_config_file"));
    shows(
        &out,
        &[
            "threshold            = 2           # [profiles.critical] at",
            "timeout              = off         # [services.users] at",
            "payments after two failures: open",
            "after reloading (threshold 3): still open, threshold now Some(3)",
            "unknown service `paymnts` in `[services.paymnts]`; did you mean `payments`?",
            "payments threshold is still Some(3)",
        ],
    );
}

#[test]
fn http_integration_gives_each_host_a_breaker_and_recovers() {
    let out = run(env!("CARGO_BIN_EXE_http_integration"));
    shows(
        &out,
        &[
            "GET inventory.example: 200 OK",
            "GET pricing.example: 503 Service Unavailable",
            "\"inventory.example\"",
            "\"pricing.example\"",
            "transition: pricing.example: Closed -> Open",
            "GET pricing.example: refused without a request: circuit `pricing.example` is open",
            "GET inventory.example: 200 OK (its own breaker: Closed)",
            "reqwest GET pricing.example: refused: circuit `pricing.example` is open",
            "reqwest GET pricing.example (the probe): 200 OK",
            "transition: pricing.example: HalfOpen -> Closed",
            "pricing is Closed, inventory is Closed",
        ],
    );
}
