//! `trace = true`: a `tracing` span per call of an attribute's function, with the
//! service, the state at admission, the decision, the outcome and the fallback; none
//! while it is off; and the file (or any layer) can turn it on at run time.

mod common;

use breaker_runtime::{ConfigLayer, Error, circuit_breaker, registry};
use common::Captured;
use serde_json::Value;
use tracing_subscriber::fmt::format::FmtSpan;

/// The `circuit_breaker` spans closed while `f` ran, each as its fields.
fn spans(f: impl AsyncFnOnce()) -> Vec<Value> {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::with_default(subscriber, || futures::executor::block_on(f()));
    let text = captured.text();
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["fields"]["message"] == "close" && r["span"]["name"] == "circuit_breaker")
        .map(|r| r["span"].clone())
        .collect()
}

fn down() -> Error {
    Error::UnknownService { service: "down".into(), suggestion: None }
}

#[circuit_breaker(service = "trace-on", threshold = 1, trace = true)]
async fn traced(fail: bool) -> Result<u32, Error> {
    if fail { Err(down()) } else { Ok(1) }
}

#[test]
fn each_call_is_a_span_with_its_decision_and_outcome() {
    let spans = spans(async || {
        traced(false).await.unwrap();
        let _ = traced(true).await; // opens
        let _ = traced(false).await; // rejected
    });
    assert_eq!(spans.len(), 3, "{spans:?}");
    let field = |i: usize, name: &str| spans[i][name].as_str().map(str::to_owned);
    assert_eq!(field(0, "service").as_deref(), Some("trace-on"));
    assert_eq!(field(0, "state").as_deref(), Some("closed"));
    assert_eq!(field(0, "decision").as_deref(), Some("admitted"));
    assert_eq!(field(0, "outcome").as_deref(), Some("success"));
    assert_eq!(field(1, "outcome").as_deref(), Some("failure"));
    assert_eq!(field(2, "state").as_deref(), Some("open"));
    assert_eq!(field(2, "decision").as_deref(), Some("rejected"));
    assert!(field(2, "rejection").unwrap().contains("trace-on"), "{:?}", spans[2]);
    assert_eq!(field(2, "outcome"), None, "a rejected call has no outcome");
}

#[circuit_breaker(service = "trace-body", threshold = 1, trace = true)]
async fn traced_body() -> Result<u32, Error> {
    tracing::info!("inside the body");
    Ok(1)
}

#[test]
fn the_body_runs_inside_the_call_span() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt().json().with_writer(move || writer.clone()).finish();
    tracing::subscriber::with_default(subscriber, || futures::executor::block_on(traced_body())).unwrap();
    let text = captured.text();
    let event: Value = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|r| r["fields"]["message"] == "inside the body")
        .expect("the body's event");
    assert_eq!(event["span"]["name"], "circuit_breaker", "{event}");
    assert_eq!(event["span"]["service"], "trace-body");
}

#[circuit_breaker(service = "trace-off", threshold = 1)]
async fn untraced() -> Result<u32, Error> {
    Ok(2)
}

#[circuit_breaker(service = "trace-by-layer", threshold = 5)]
async fn traced_later() -> Result<u32, Error> {
    Ok(3)
}

#[test]
fn off_by_default_and_turned_on_at_run_time_by_a_layer() {
    assert!(spans(async || untraced().await.map(drop).unwrap()).is_empty(), "off by default");
    assert!(spans(async || traced_later().await.map(drop).unwrap()).is_empty());
    // What the configuration file's `trace = true` does: a layer over the attribute.
    registry()
        .set_override("trace-by-layer", ConfigLayer { trace: Some(true), ..Default::default() })
        .unwrap();
    assert!(registry().get("trace-by-layer").unwrap().config().trace);
    let spans = spans(async || traced_later().await.map(drop).unwrap());
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0]["service"], "trace-by-layer");
}

fn cached(_fail: bool) -> Result<u32, Error> {
    Ok(9)
}

#[circuit_breaker(service = "trace-fallback", threshold = 1, trace = true, fallback = cached)]
async fn with_fallback(fail: bool) -> Result<u32, Error> {
    if fail { Err(down()) } else { Ok(1) }
}

#[test]
fn a_fallback_is_recorded_in_the_span() {
    let spans = spans(async || {
        assert_eq!(with_fallback(true).await.unwrap(), 9); // fails, falls back, opens
        assert_eq!(with_fallback(false).await.unwrap(), 9); // rejected, falls back
    });
    assert_eq!(spans.len(), 2, "{spans:?}");
    assert_eq!(
        (spans[0]["outcome"].as_str(), spans[0]["fallback"].as_str()),
        (Some("failure"), Some("answered"))
    );
    assert_eq!(
        (spans[1]["decision"].as_str(), spans[1]["fallback"].as_str()),
        (Some("rejected"), Some("answered"))
    );
}
