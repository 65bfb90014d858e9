//! The Prometheus rendering: every declared service from startup, before its first
//! call; counters that follow the calls; and text that `promtool check metrics`
//! accepts with no finding (promtool is Debian's `prometheus` package; `.ci/run`
//! installs it).

use std::io::Write;
use std::process::{Command, Stdio};

use breaker_runtime::observe::prometheus::{Exposition, Naming};
use breaker_runtime::{Error, circuit_breaker, registry};

#[circuit_breaker(service = "prom-quotes", threshold = 2)]
async fn quote(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::UnknownService { service: "down".into(), suggestion: None }) } else { Ok(7) }
}

#[circuit_breaker(service = "prom-never-called", threshold = 3)]
async fn never_called() -> Result<u32, Error> {
    Ok(1)
}

fn series(text: &str, name: &str, labels: &str) -> f64 {
    let prefix = format!("{name}{{{labels}}} ");
    let line =
        text.lines().find(|l| l.starts_with(&prefix)).unwrap_or_else(|| panic!("no `{prefix}` in:\n{text}"));
    line[prefix.len()..].parse().unwrap()
}

/// `promtool check metrics` on `text`: its findings, empty when it accepts it.
fn promtool(text: &str) -> String {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (Debian package `prometheus`; `.ci/run` installs it)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let findings =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() || !findings.is_empty(), "promtool failed without a finding");
    findings
}

#[tokio::test]
async fn every_declared_breaker_is_exported_from_startup_and_counts_its_calls() {
    let exposition = Exposition::new().label("region", "eu-1");
    let labels = |service: &str| format!("service=\"{service}\",region=\"eu-1\"");
    let before = exposition.render(registry());
    // Declared, never called: its series are there.
    for service in ["prom-quotes", "prom-never-called"] {
        assert_eq!(series(&before, "breaker_state", &format!("{},state=\"closed\"", labels(service))), 1.0);
        assert_eq!(series(&before, "breaker_state", &format!("{},state=\"open\"", labels(service))), 0.0);
        assert_eq!(
            series(&before, "breaker_calls_total", &format!("{},outcome=\"success\"", labels(service))),
            0.0
        );
    }
    // Transitions a breaker makes by itself are there from startup, at 0.
    let never = labels("prom-never-called");
    for (from, to) in
        [("closed", "open"), ("open", "half_open"), ("half_open", "closed"), ("half_open", "open")]
    {
        let pair = format!("{never},from=\"{from}\",to=\"{to}\"");
        assert_eq!(series(&before, "breaker_transitions_total", &pair), 0.0);
    }
    assert_eq!(series(&before, "breaker_call_duration_seconds_count", &never), 0.0);
    assert_eq!(promtool(&before), "", "promtool's findings");

    quote(false).await.unwrap();
    quote(false).await.unwrap();
    let _ = quote(true).await;
    let _ = quote(true).await;
    let _ = quote(false).await; // refused: open
    let after = exposition.render(registry());
    let q = labels("prom-quotes");
    assert_eq!(series(&after, "breaker_calls_total", &format!("{q},outcome=\"success\"")), 2.0);
    assert_eq!(series(&after, "breaker_calls_total", &format!("{q},outcome=\"failure\"")), 2.0);
    assert_eq!(series(&after, "breaker_rejections_total", &format!("{q},cause=\"open\"")), 1.0);
    assert_eq!(series(&after, "breaker_state", &format!("{q},state=\"open\"")), 1.0);
    assert_eq!(series(&after, "breaker_state", &format!("{q},state=\"closed\"")), 0.0);
    assert_eq!(series(&after, "breaker_opened_total", &q), 1.0);
    assert_eq!(series(&after, "breaker_transitions_total", &format!("{q},from=\"closed\",to=\"open\"")), 1.0);
    // The duration histogram: cumulative buckets, rising bounds, +Inf equal to the
    // count of completed calls.
    assert_eq!(series(&after, "breaker_call_duration_seconds_count", &q), 4.0);
    assert_eq!(series(&after, "breaker_call_duration_seconds_bucket", &format!("{q},le=\"+Inf\"")), 4.0);
    let buckets: Vec<(f64, f64)> = after
        .lines()
        .filter(|l| {
            l.starts_with(&format!("breaker_call_duration_seconds_bucket{{{q},le=\"")) && !l.contains("+Inf")
        })
        .map(|l| {
            let le = l.split("le=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
            (le, l.rsplit(' ').next().unwrap().parse().unwrap())
        })
        .collect();
    assert_eq!(buckets.len(), 17, "1 ms to 65.536 s, doubling");
    assert_eq!(buckets[0].0, 0.001);
    assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "{buckets:?}");
    assert!(series(&after, "breaker_latency_percentile_seconds", &format!("{q},percentile=\"0.99\"")) >= 0.0);
    assert_eq!(series(&after, "breaker_failure_rate", &q), 0.5, "2 failures of 4 judged calls in the window");
    // One series at 1 per breaker, whatever the state.
    let ones = after
        .lines()
        .filter(|l| l.starts_with("breaker_state{") && l.contains("prom-quotes") && l.ends_with(" 1"))
        .count();
    assert_eq!(ones, 1);
    assert_eq!(promtool(&after), "", "promtool's findings");
    let _ = never_called;
}

#[circuit_breaker(service = "prom-r4j", threshold = 1)]
async fn r4j(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::UnknownService { service: "down".into(), suggestion: None }) } else { Ok(7) }
}

#[tokio::test]
async fn resilience4j_naming_renders_its_names_and_labels_and_passes_promtool() {
    let exposition =
        Exposition::new().naming(Naming::Resilience4j).label("kind", "x").label("region", "eu-1");
    let labels = |service: &str| format!("name=\"{service}\",exported_kind=\"x\",region=\"eu-1\"");
    let before = exposition.render(registry());
    let never = labels("prom-never-called");
    assert_eq!(
        series(&before, "resilience4j_circuitbreaker_state", &format!("{never},state=\"closed\"")),
        1.0
    );
    assert_eq!(
        series(&before, "resilience4j_circuitbreaker_state", &format!("{never},state=\"metrics_only\"")),
        0.0
    );
    // Below the minimum calls, resilience4j says -1.
    assert_eq!(series(&before, "resilience4j_circuitbreaker_failure_rate", &never), -1.0);
    assert_eq!(promtool(&before), "", "promtool's findings");

    r4j(false).await.unwrap();
    let _ = r4j(true).await; // opens
    let _ = r4j(false).await; // not permitted
    let after = exposition.render(registry());
    let r = labels("prom-r4j");
    assert_eq!(series(&after, "resilience4j_circuitbreaker_state", &format!("{r},state=\"open\"")), 1.0);
    assert_eq!(
        series(
            &after,
            "resilience4j_circuitbreaker_calls_seconds_count",
            &format!("{r},kind=\"successful\"")
        ),
        1.0
    );
    assert_eq!(
        series(&after, "resilience4j_circuitbreaker_calls_seconds_count", &format!("{r},kind=\"failed\"")),
        1.0
    );
    assert_eq!(
        series(
            &after,
            "resilience4j_circuitbreaker_not_permitted_calls_total",
            &format!("{r},kind=\"not_permitted\"")
        ),
        1.0
    );
    assert!(after.contains("# TYPE resilience4j_circuitbreaker_calls_seconds summary"));
    assert!(!after.lines().any(|l| l.starts_with("breaker_")), "no native names");
    assert_eq!(promtool(&after), "", "promtool's findings");
}

#[test]
fn promtool_does_find_problems() {
    // The check is not vacuous: a counter without `_total` and a family without
    // HELP are reported.
    let findings = promtool("# TYPE bad_counter counter\nbad_counter 1\n");
    assert!(!findings.is_empty());
}
