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
        "quotes          CLOSED -> OPEN  (3 consecutive failures (threshold 3))",
        "OPEN -> HALF-OPEN  (recovery timeout of 2s elapsed)",
        "HALF-OPEN -> CLOSED  (1 probe call(s) succeeded)",
        "summary after",
        "final states: quotes closed, inventory closed, recommendations closed",
    ] {
        assert!(stdout.contains(expected), "the demo did not show `{expected}`:\n{stdout}");
    }
    let dashboard = stdout.lines().find_map(|l| l.strip_prefix("dashboard: http://127.0.0.1:"));
    assert!(dashboard.is_some_and(|port| port.trim_end_matches('/').parse::<u16>().is_ok()), "{stdout}");
}

#[test]
fn demo_serves_the_dashboard_while_it_runs_and_after_with_keep_open() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--duration", "5", "--plain", "--seed", "3", "--keep-open"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the demo runs");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("dashboard: http://").map(|a| a.trim_end_matches('/').to_owned()))
        .expect("the demo prints the dashboard's address");
    let get = |path: &str| {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: demo\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    let page = get("/");
    assert!(page.starts_with("HTTP/1.1 200") && page.contains("dashboard.js"), "{page}");
    assert!(get("/circuits").contains("\"service\":\"quotes\""));
    // After the summary it keeps serving, until stopped.
    let waited = lines.map_while(Result::ok).find(|l| l.contains("serving until Ctrl-C"));
    assert!(waited.is_some(), "no keep-open line");
    assert!(get("/circuits/quotes").contains("\"transitions_recent\""));
    assert!(child.try_wait().unwrap().is_none(), "still running");
    child.kill().unwrap();
    let _ = child.wait();
}

#[test]
fn demo_fits_80_columns_and_logs_in_time_order() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--duration", "5", "--plain", "--seed", "3"])
        .output()
        .expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "the demo failed:\n{stdout}");
    // A breaker that never opened is not said to have "opened never" and to be closed
    // again "not yet".
    assert!(!stdout.contains("opened never") && !stdout.contains("never;"), "{stdout}");
    for line in stdout.lines() {
        assert!(line.chars().count() <= 80, "wider than 80 columns: {line:?}");
    }
    // Log lines (phases and transitions) start with their time, then two spaces.
    let times: Vec<f64> = stdout
        .lines()
        .filter_map(|line| {
            let (time, rest) = line.trim_start().split_once("s  ")?;
            (!rest.is_empty()).then(|| time.parse().ok())?
        })
        .collect();
    assert!(times.len() >= 5, "too few log lines:\n{stdout}");
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "log out of order: {times:?}\n{stdout}");
    assert!(stdout.contains("rejected: calls refused"), "no legend:\n{stdout}");
}

#[test]
fn demo_help_describes_the_demo_and_its_minimum_duration() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo")).arg("--help").output().expect("the demo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("flaky HTTP service on 127.0.0.1"), "{stdout}");
    assert!(stdout.contains("at least 5"), "{stdout}");
    let too_short = Command::new(env!("CARGO_BIN_EXE_demo")).args(["--duration", "2"]).output().unwrap();
    assert!(!too_short.status.success());
    assert!(String::from_utf8_lossy(&too_short.stderr).contains("2"), "no clear error");
}
