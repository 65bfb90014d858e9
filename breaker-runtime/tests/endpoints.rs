//! The operators' endpoints on a real server on 127.0.0.1: metrics, health, the
//! circuits as JSON, and runtime control, off by default and behind a bearer token.

use breaker_runtime::observe::endpoints::Endpoints;
use breaker_runtime::{Error, State, circuit_breaker, registry};
use serde_json::Value;

mod served;
use served::{get, json, read_until, start};

#[circuit_breaker(service = "ep-orders", threshold = 1)]
async fn orders(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::UnknownService { service: "down".into(), suggestion: None }) } else { Ok(1) }
}

#[circuit_breaker(service = "ep-stock", threshold = 3)]
async fn stock() -> Result<u32, Error> {
    Ok(2)
}

/// One test: the services' states are the process's, and the steps depend on them.
#[tokio::test]
async fn metrics_health_circuits_and_guarded_control() {
    let addr = start(Endpoints::new().control_token("s3cret")).await;
    stock().await.unwrap();

    // Healthy while no circuit is open; the metrics name every declared service.
    let (status, body) = get(addr, "/health").await;
    assert_eq!((status, json(&body)["status"].as_str()), (200, Some("ok")));
    let (status, metrics) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(metrics.contains(r#"breaker_state{service="ep-orders",state="closed"} 1"#), "{metrics}");

    // One failure opens `ep-orders`: health says which, with 503.
    let _ = orders(true).await;
    let (status, body) = get(addr, "/health").await;
    assert_eq!(status, 503);
    let body = json(&body);
    assert_eq!(body["status"], "unhealthy");
    assert!(
        body["unhealthy"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["service"] == "ep-orders" && u["state"] == "open")
    );

    // The circuits, all and filtered by state.
    let all = json(&get(addr, "/circuits").await.1);
    assert!(all.as_array().unwrap().iter().any(|c| c["service"] == "ep-stock"));
    let open = json(&get(addr, "/circuits?state=open").await.1);
    let names: Vec<&str> = open.as_array().unwrap().iter().map(|c| c["service"].as_str().unwrap()).collect();
    assert!(names.contains(&"ep-orders") && !names.contains(&"ep-stock"), "{names:?}");

    // One circuit, with each configuration value's source.
    let one = json(&get(addr, "/circuits/ep-orders").await.1);
    assert_eq!(one["state"], "open");
    assert_eq!(one["calls"]["failures"], 1);
    let threshold = one["config"].as_array().unwrap().iter().find(|v| v["key"] == "threshold").unwrap();
    assert_eq!(threshold["value"], "1");
    assert!(threshold["source"].as_str().unwrap().contains("attribute"), "{threshold}");
    // An unknown one: 404, naming the nearest.
    let (status, body) = get(addr, "/circuits/ep-ordres").await;
    assert_eq!(status, 404);
    assert_eq!(json(&body)["nearest"], "ep-orders");

    // Control: without the token, 401 and nothing changes; with it, the reset happens.
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/circuits/ep-orders");
    let body = r#"{"action": "reset", "reason": "deploy fixed it"}"#;
    let denied =
        client.post(&url).header("content-type", "application/json").body(body).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let wrong = client.post(&url).bearer_auth("guess").header("content-type", "application/json").body(body);
    assert_eq!(wrong.send().await.unwrap().status(), 401);
    assert_eq!(registry().get("ep-orders").unwrap().state(), State::Open, "unchanged");
    let done = client.post(&url).bearer_auth("s3cret").header("content-type", "application/json").body(body);
    let done = done.send().await.unwrap();
    assert_eq!(done.status(), 200);
    assert_eq!(json(&done.text().await.unwrap())["state"], "closed");
    assert_eq!(registry().get("ep-orders").unwrap().state(), State::Closed);
    let bad = client.post(&url).bearer_auth("s3cret").header("content-type", "application/json");
    let bad = bad.body(r#"{"action": "explode"}"#).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    // A body that is no JSON, with the token: 400, saying what is expected; without
    // the token: 401, whatever the body.
    let garbled = client.post(&url).bearer_auth("s3cret").body("reset please").send().await.unwrap();
    assert_eq!(garbled.status(), 400);
    let error = json(&garbled.text().await.unwrap())["error"].as_str().unwrap().to_owned();
    assert!(error.contains("{\"action\": \"force_open\""), "{error}");
    assert_eq!(client.post(&url).body("reset please").send().await.unwrap().status(), 401);
    // The scheme in any case.
    let lower =
        client.post(&url).header("authorization", "bearer s3cret").header("content-type", "application/json");
    assert_eq!(lower.body(body).send().await.unwrap().status(), 200);

    // Read-only endpoints refuse control altogether.
    let read_only = start(Endpoints::new()).await;
    let refused = client
        .post(format!("http://{read_only}/circuits/ep-orders"))
        .bearer_auth("s3cret")
        .header("content-type", "application/json")
        .body(r#"{"action": "force_open"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    // Off is off, whatever the body.
    let garbled =
        client.post(format!("http://{read_only}/circuits/ep-orders")).body("?").send().await.unwrap();
    assert_eq!(garbled.status(), 403);
    assert_eq!(registry().get("ep-orders").unwrap().state(), State::Closed);
}

#[circuit_breaker(service = "ep-events", threshold = 1)]
async fn watched(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::UnknownService { service: "down".into(), suggestion: None }) } else { Ok(3) }
}

#[tokio::test]
async fn events_stream_transitions_and_periodic_snapshots() {
    watched(false).await.unwrap();
    let interval = std::time::Duration::from_millis(50);
    let addr = start(Endpoints::new().snapshot_interval(interval)).await;
    let mut response = reqwest::get(format!("http://{addr}/events")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut seen = String::new();
    read_until(&mut response, &mut seen, "event: snapshot").await;
    read_until(&mut response, &mut seen, "\"service\":\"ep-events\"").await;
    // A transition while the client listens.
    let _ = watched(true).await;
    // The stream carries every breaker's transitions (another test's too): find this
    // one's.
    let transition = |seen: &str| {
        let mut lines = seen.lines();
        while let Some(line) = lines.next() {
            if line == "event: transition" {
                // The last line may be cut by the chunk: parsed once whole.
                let Ok(data) = serde_json::from_str::<Value>(lines.next()?.strip_prefix("data: ")?) else {
                    continue;
                };
                if data["service"] == "ep-events" {
                    return Some(data);
                }
            }
        }
        None
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while transition(&seen).is_none() {
            let chunk = response.chunk().await.unwrap().expect("the stream stays open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no transition of ep-events within 5 s:\n{seen}"));
    let data = transition(&seen).unwrap();
    assert_eq!((data["from"].as_str(), data["to"].as_str()), (Some("closed"), Some("open")));
    drop(response);
}
