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

/// Lines of a child's stdout, as they come, on a thread of their own.
fn lines_of(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    received
}

#[test]
fn monitoring_serves_the_dashboard_while_it_runs_and_stops_by_itself() {
    use std::process::Stdio;
    use std::time::{Duration, Instant};

    let mut child = Command::new(env!("CARGO_BIN_EXE_monitoring"))
        .args(["--duration", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let lines = lines_of(child.stdout.take().unwrap());
    let mut seen = Vec::new();
    let dashboard = loop {
        let line = lines.recv_timeout(Duration::from_secs(10)).unwrap_or_else(|e| {
            let _ = child.kill();
            panic!("no `dashboard:` line within 10 s ({e}); printed so far: {seen:?}")
        });
        if let Some(url) = line.strip_prefix("dashboard: ") {
            break url.to_owned();
        }
        seen.push(line);
    };
    assert!(dashboard.starts_with("http://127.0.0.1:") && dashboard.ends_with('/'), "{dashboard}");

    // While it runs: the page, every service in /circuits, and the metrics. The calls
    // start with the program, so poll briefly until each service has completed some.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let services = ["catalog", "recommendations", "payments", "search"];
    let (page, circuits, metrics) = runtime.block_on(async {
        let get = |path: &'static str| {
            let url = format!("{dashboard}{path}");
            async move { reqwest::get(&url).await.unwrap().text().await.unwrap() }
        };
        let deadline = Instant::now() + Duration::from_secs(3);
        let circuits = loop {
            let circuits: serde_json::Value = serde_json::from_str(&get("circuits").await).unwrap();
            let answered = |service: &str| {
                circuits.as_array().unwrap().iter().any(|c| {
                    c["service"] == service && c["calls"]["successes"].as_u64().is_some_and(|n| n > 0)
                })
            };
            if services.iter().all(|s| answered(s)) || Instant::now() > deadline {
                break circuits;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        (get("").await, circuits, get("metrics").await)
    });
    assert!(page.contains(r#"<script src="dashboard.js">"#), "{page}");
    for service in services {
        let circuit = circuits.as_array().unwrap().iter().find(|c| c["service"] == service);
        let circuit = circuit.unwrap_or_else(|| panic!("no `{service}` in {circuits}"));
        assert!(circuit["calls"]["successes"].as_u64().unwrap() > 0, "{circuit}");
        assert!(circuit["state"].is_string(), "{circuit}");
        assert!(
            metrics.contains(&format!(r#"breaker_state{{service="{service}",state="closed"}}"#)),
            "`{service}` in {metrics}"
        );
    }

    // It stops by itself, with a summary.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("monitoring --duration 4 still runs after 20 s more");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The rest of its output: the reader ends at the end of the pipe.
    let rest: Vec<String> = std::iter::from_fn(|| lines.recv_timeout(Duration::from_secs(5)).ok()).collect();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "monitoring failed ({status}):\n{}\n{stderr}", rest.join("\n"));
    assert!(rest.iter().any(|l| l.starts_with("stopped; the breakers at the end")), "{rest:?}");
}

#[test]
fn monitoring_refuses_a_bad_duration() {
    let output =
        Command::new(env!("CARGO_BIN_EXE_monitoring")).args(["--duration", "soon"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--duration"), "{stderr}");
    assert!(stderr.contains("expects a positive number of seconds, not `soon`"), "{stderr}");
}
