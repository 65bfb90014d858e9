//! The operators' endpoints beyond the basics, on a real server on 127.0.0.1: the
//! diagnosis, the history's tiers, time ranges, and the Hystrix stream. (Apart from
//! `endpoints.rs`: these tests open circuits, which that file's health check must not
//! see.)

use breaker_runtime::Error;
use breaker_runtime::circuit_breaker;
use breaker_runtime::observe::endpoints::Endpoints;
use serde_json::Value;

mod served;
use served::{get, json, read_until, start};

#[circuit_breaker(service = "ep-diagnosed", threshold = 1)]
async fn diagnosed(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::UnknownService { service: "down".into(), suggestion: None }) } else { Ok(4) }
}

#[tokio::test]
async fn diagnosis_history_and_time_ranges() {
    let addr = start(Endpoints::new()).await;
    diagnosed(false).await.unwrap();
    let _ = diagnosed(true).await; // opens

    // The diagnosis: a threshold of 1 opens on a blip.
    let (status, body) = get(addr, "/circuits/ep-diagnosed/diagnosis").await;
    assert_eq!(status, 200, "{body}");
    let d = json(&body);
    assert_eq!(d["state"], "open");
    let finding = d["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "blip_threshold").unwrap();
    assert!(finding["change"].as_str().unwrap().contains("threshold = 5"), "{finding}");
    assert!(d["pattern"].as_str().unwrap().starts_with("1 of 2 calls failed"), "{d}");
    assert_eq!(get(addr, "/circuits/ep-diagnosd/diagnosis").await.0, 404);

    // One circuit: its transitions, counts by pair, and the history's tiers (the
    // router started sampling it).
    let one = json(&get(addr, "/circuits/ep-diagnosed").await.1);
    assert_eq!(one["last_transition"]["to"], "open");
    assert_eq!(one["last_transition"]["reason"], "1 consecutive failures (threshold 1)");
    let pairs = one["transitions_by"].as_array().unwrap();
    assert!(pairs.iter().any(|p| p["from"] == "closed" && p["to"] == "open" && p["count"] == 1), "{pairs:?}");
    let tiers = one["history"].as_array().unwrap();
    assert_eq!(
        tiers.iter().map(|t| t["interval_seconds"].as_f64().unwrap()).collect::<Vec<_>>(),
        [10.0, 60.0, 600.0]
    );

    // Time ranges: opened within the last hour, yes; before a minute ago, no.
    let names = |body: &str| -> Vec<String> {
        json(body).as_array().unwrap().iter().map(|c| c["service"].as_str().unwrap().to_owned()).collect()
    };
    assert!(names(&get(addr, "/circuits?state=open&since=1h").await.1).contains(&"ep-diagnosed".to_owned()));
    assert!(!names(&get(addr, "/circuits?until=1m").await.1).contains(&"ep-diagnosed".to_owned()));
    let later = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 60;
    let none = json(&get(addr, &format!("/circuits/ep-diagnosed?since={later}")).await.1);
    assert_eq!(none["transitions_recent"].as_array().unwrap().len(), 0, "no transition after {later}");
    let (status, body) = get(addr, "/circuits?since=yesterday").await;
    assert_eq!(status, 400);
    assert!(json(&body)["error"].as_str().unwrap().contains("since=yesterday"), "{body}");
    // Times no clock can hold are bad requests too (they were a panic in the handler).
    for query in ["/circuits?since=1e20", "/circuits/ep-diagnosed?until=1e19"] {
        let (status, body) = get(addr, query).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
}

#[circuit_breaker(service = "ep-hystrix", threshold = 1)]
async fn hystrix_watched(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::UnknownService { service: "down".into(), suggestion: None }) } else { Ok(5) }
}

#[tokio::test]
async fn the_hystrix_stream_reports_every_command_with_pings() {
    hystrix_watched(false).await.unwrap();
    let _ = hystrix_watched(true).await; // opens
    let _ = hystrix_watched(false).await; // short-circuited
    let addr = start(Endpoints::new().hystrix_interval(std::time::Duration::from_millis(50))).await;
    let mut response = reqwest::get(format!("http://{addr}/hystrix.stream")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut seen = String::new();
    read_until(&mut response, &mut seen, "ping: ").await;
    read_until(&mut response, &mut seen, "\"name\":\"ep-hystrix\"").await;
    read_until(&mut response, &mut seen, "\n\n").await;
    let record = seen
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|r| r["name"] == "ep-hystrix")
        .unwrap_or_else(|| panic!("no whole record of ep-hystrix:\n{seen}"));
    assert_eq!(record["type"], "HystrixCommand");
    assert_eq!(record["group"], "ep-hystrix");
    assert_eq!(record["isCircuitBreakerOpen"], true);
    assert_eq!(record["state"], "open");
    // Rolling counts: the rejection happened before the stream opened, so the
    // stream's own 10 s window starts after it.
    assert_eq!(record["rollingCountShortCircuited"], 0);
    // The window of the open circuit: the success and the failure that opened it.
    assert_eq!((record["requestCount"].as_u64(), record["errorCount"].as_u64()), (Some(2), Some(1)));
    assert_eq!(record["errorPercentage"], 50);
    assert!(record["latencyExecute"]["99"].is_u64(), "{record}");
    assert_eq!(record["propertyValue_circuitBreakerForceOpen"], false);
    assert_eq!(record["reportingHosts"], 1);
    assert!(record["currentTime"].as_u64().unwrap() > 1_600_000_000_000);
}
