//! Monitoring: the live dashboard over breakers at work. A flaky HTTP service on
//! 127.0.0.1 has four paths: `catalog` always answers, `recommendations` fails a share
//! of requests that drifts between 5% and 95%, `payments` goes down for 10 s of every
//! 30 s and recovers, and `search` is slow. Four `#[circuit_breaker]` functions call
//! them with reqwest in a bounded loop, and the operators' endpoints (feature
//! `dashboard`) serve the dashboard, `/circuits`, `/metrics` and `/events` on a port of
//! their own: open the printed address in a browser.
//!
//! `cargo run --bin monitoring` runs until Ctrl-C; `cargo run --bin monitoring --
//! --duration 60` stops by itself after a minute.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use breaker_runtime::observe::endpoints::Endpoints;
use breaker_runtime::{Error, circuit_breaker, registry};
use clap::Parser;
use rand::RngExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Time between two rounds of calls.
const ROUND: Duration = Duration::from_millis(25);
/// Calls in flight at once, across services: the loop waits for a place.
const IN_FLIGHT: usize = 32;

/// A flaky HTTP service on 127.0.0.1, breakers of several services calling it, and the
/// live dashboard over them: open the printed address in a browser.
#[derive(Parser, Debug, PartialEq)]
#[command(version)]
struct Options {
    /// How long to run, in seconds (a positive number); without it, until Ctrl-C.
    #[arg(long, value_parser = seconds)]
    duration: Option<Duration>,
}

/// A positive number of seconds, fractions allowed.
fn seconds(value: &str) -> Result<Duration, String> {
    value
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e9)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| format!("expects a positive number of seconds, not `{value}`"))
}

/// How the flaky service behaves, on a clock that starts with the program.
#[derive(Clone)]
struct Upstream {
    started: Instant,
}

impl Upstream {
    fn elapsed(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The share of `recommendations` requests that fail: drifts between 5% and 95%
    /// over a period of about 25 s, starting low.
    fn recommendations_failing(&self) -> f64 {
        0.5 - 0.45 * (self.elapsed() / 4.0).cos()
    }

    /// `payments` is down from 6 s to 16 s of every 30 s.
    fn payments_down(&self) -> bool {
        (6.0..16.0).contains(&(self.elapsed() % 30.0))
    }
}

async fn pause(min_ms: u64, max_ms: u64) {
    let ms = rand::rng().random_range(min_ms..=max_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

async fn catalog_page() -> (StatusCode, &'static str) {
    pause(1, 6).await;
    (StatusCode::OK, "catalog")
}

async fn recommendations_page(State(upstream): State<Upstream>) -> (StatusCode, &'static str) {
    pause(5, 40).await;
    if rand::rng().random_bool(upstream.recommendations_failing()) {
        (StatusCode::INTERNAL_SERVER_ERROR, "recommendations failed")
    } else {
        (StatusCode::OK, "recommendations")
    }
}

async fn payments_page(State(upstream): State<Upstream>) -> (StatusCode, &'static str) {
    pause(2, 12).await;
    if upstream.payments_down() {
        (StatusCode::SERVICE_UNAVAILABLE, "payments down")
    } else {
        (StatusCode::OK, "payments")
    }
}

async fn search_page() -> (StatusCode, &'static str) {
    pause(40, 160).await;
    (StatusCode::OK, "search")
}

/// The flaky service on 127.0.0.1, on a port the system picks.
async fn serve_upstream(upstream: Upstream) -> std::io::Result<SocketAddr> {
    let app = Router::new()
        .route("/catalog", get(catalog_page))
        .route("/recommendations", get(recommendations_page))
        .route("/payments", get(payments_page))
        .route("/search", get(search_page))
        .with_state(upstream);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("the flaky service stopped: {error}");
        }
    });
    Ok(addr)
}

/// Why a call to the flaky service failed.
#[derive(Debug)]
enum CallError {
    /// The breaker refused or cut the call.
    Breaker(Error),
    /// No answer.
    Transport(reqwest::Error),
    /// An answer, but an error status.
    Status(u16),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Breaker(e) => write!(f, "{e}"),
            CallError::Transport(e) => write!(f, "no answer: {e}"),
            CallError::Status(status) => write!(f, "answered {status}"),
        }
    }
}

impl std::error::Error for CallError {}

impl From<Error> for CallError {
    fn from(e: Error) -> Self {
        CallError::Breaker(e)
    }
}

/// A client of the flaky service.
#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn get(&self, path: &str) -> Result<String, CallError> {
        let response =
            self.http.get(format!("{}{path}", self.base)).send().await.map_err(CallError::Transport)?;
        let status = response.status();
        if !status.is_success() {
            return Err(CallError::Status(status.as_u16()));
        }
        response.text().await.map_err(CallError::Transport)
    }
}

#[circuit_breaker(service = "catalog", threshold = 5, timeout = "1s")]
async fn catalog(client: Client) -> Result<String, CallError> {
    client.get("/catalog").await
}

/// Opens when half the calls of the last 10 s fail; an empty list answers meanwhile.
#[circuit_breaker(
    service = "recommendations",
    failure_rate = 0.5,
    window = "10s",
    min_calls = 20,
    recovery_timeout = "3s",
    success_threshold = 3,
    half_open_max_calls = 3,
    timeout = "1s",
    fallback = no_recommendations
)]
async fn recommendations(client: Client) -> Result<String, CallError> {
    client.get("/recommendations").await
}

fn no_recommendations(_client: Client) -> Result<String, CallError> {
    Ok(String::new())
}

#[circuit_breaker(service = "payments", threshold = 3, recovery_timeout = "2s", timeout = "1s")]
async fn payments(client: Client) -> Result<String, CallError> {
    client.get("/payments").await
}

/// Slow, with room for two calls at once: the rest are refused by the bulkhead, and
/// answered from the cache.
#[circuit_breaker(service = "search", threshold = 5, max_concurrent = 2, timeout = "1s", fallback = cached_search)]
async fn search(client: Client) -> Result<String, CallError> {
    client.get("/search").await
}

fn cached_search(_client: Client) -> Result<String, CallError> {
    Ok("cached results".to_owned())
}

/// Calls every service each round, never more than [`IN_FLIGHT`] at once, until `running`
/// is cleared; then waits for the calls in flight.
async fn call_loop(client: Client, running: Arc<AtomicBool>) {
    let places = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut calls = JoinSet::new();
    let mut rounds = tokio::time::interval(ROUND);
    rounds.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while running.load(Ordering::Relaxed) {
        rounds.tick().await;
        for n in 0..6 {
            let Ok(place) = places.clone().acquire_owned().await else { return };
            let client = client.clone();
            calls.spawn(async move {
                // The outcomes are the breakers' to count; the dashboard shows them.
                let _ = match n {
                    0 => catalog(client).await,
                    1 => recommendations(client).await,
                    2 => payments(client).await,
                    _ => search(client).await,
                };
                drop(place);
            });
        }
        while calls.try_join_next().is_some() {}
    }
    while calls.join_next().await.is_some() {}
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    match run(options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> std::io::Result<()> {
    // The operators' endpoints first, so the address is known at once.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let dashboard = listener.local_addr()?;
    let endpoints = Endpoints::new().snapshot_interval(Duration::from_secs(1));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, endpoints.router()).await {
            eprintln!("the endpoints stopped: {error}");
        }
    });
    println!("dashboard: http://{dashboard}/");
    println!("metrics:   http://{dashboard}/metrics  circuits: http://{dashboard}/circuits");

    let upstream = serve_upstream(Upstream { started: Instant::now() }).await?;
    println!("flaky service: http://{upstream}/ (catalog, recommendations, payments, search)");
    match options.duration {
        Some(duration) => println!("running for {:.1} s (Ctrl-C stops sooner)", duration.as_secs_f64()),
        None => println!("running until Ctrl-C"),
    }

    let client = Client { http: reqwest::Client::new(), base: format!("http://{upstream}") };
    let running = Arc::new(AtomicBool::new(true));
    let calls = tokio::spawn(call_loop(client, running.clone()));
    let deadline = async {
        match options.duration {
            Some(duration) => tokio::time::sleep(duration).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = deadline => {}
        signal = tokio::signal::ctrl_c() => signal?,
    }
    running.store(false, Ordering::Relaxed);
    // The calls in flight end within their 1 s timeouts.
    let _ = calls.await;

    println!("stopped; the breakers at the end:");
    for service in registry().services() {
        if let Some(breaker) = registry().breaker(service) {
            let s = breaker.snapshot();
            println!(
                "  {service:<16} {:<10} {} ok, {} failed, {} rejected, opened {} times",
                s.state.as_str(),
                s.calls.successes,
                s.calls.failures + s.calls.timeouts,
                s.rejections.open + s.rejections.probe_limit + s.rejections.bulkhead + s.rejections.forced,
                s.open_count,
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_is_parsed_or_refused_clearly() {
        let parse = |args: &[&str]| {
            Options::try_parse_from(std::iter::once("monitoring").chain(args.iter().copied()))
        };
        assert_eq!(parse(&[]).unwrap(), Options { duration: None });
        assert_eq!(parse(&["--duration", "3"]).unwrap(), Options { duration: Some(Duration::from_secs(3)) });
        assert_eq!(
            parse(&["--duration=0.5"]).unwrap(),
            Options { duration: Some(Duration::from_millis(500)) }
        );
        for bad in [&["--duration", "soon"][..], &["--duration", "0"], &["--duration"]] {
            let error = parse(bad).unwrap_err().to_string();
            assert!(error.contains("--duration"), "{error}");
        }
        // A negative number reads as an option: refused too.
        assert!(parse(&["--duration", "-1"]).is_err());
        assert!(parse(&["--fast"]).unwrap_err().to_string().contains("--fast"));
    }
}
