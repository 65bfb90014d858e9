//! `/events` under a burst of rejections, on a real server on 127.0.0.1: the stream
//! follows transitions alone, so no burst hides one. Its own test binary: it leaves a
//! circuit open, which the other endpoint tests' health checks would see.

use breaker_runtime::observe::endpoints::Endpoints;
use breaker_runtime::{Error, circuit_breaker};

mod served;
use served::{read_until, start};

#[circuit_breaker(service = "ep-burst", threshold = 1, recovery_timeout = "1h")]
async fn bursty(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::UnknownService { service: "down".into(), suggestion: None }) } else { Ok(4) }
}

/// A burst of rejections right after a transition (more than a breaker's event queue
/// holds, before the stream's task runs) does not push the transition out: `/events`
/// follows transitions alone.
#[tokio::test]
async fn a_burst_of_rejections_does_not_hide_a_transition() {
    bursty(false).await.unwrap();
    let addr = start(Endpoints::new().snapshot_interval(std::time::Duration::from_millis(50))).await;
    let mut response = reqwest::get(format!("http://{addr}/events")).await.unwrap();
    let mut seen = String::new();
    read_until(&mut response, &mut seen, "\"service\":\"ep-burst\"").await;
    // Opens, then 3,000 rejections: none of these calls lets another task run.
    let _ = bursty(true).await;
    for _ in 0..3_000 {
        assert!(matches!(bursty(false).await, Err(Error::CircuitOpen { .. })));
    }
    // The `transition` event itself (a snapshot also shows the transition).
    let opened = |seen: &str| {
        let lines: Vec<&str> = seen.lines().collect();
        lines.windows(2).any(|pair| {
            pair[0] == "event: transition"
                && pair[1].contains("\"service\":\"ep-burst\"")
                && pair[1].contains("\"to\":\"open\"")
        })
    };
    tokio::time::timeout(std::time::Duration::from_secs(5), async {
        while !opened(&seen) {
            let chunk = response.chunk().await.unwrap().expect("the stream stays open");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("the transition of ep-burst never came:\n{seen}"));
}
