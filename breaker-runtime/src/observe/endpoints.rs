//! HTTP endpoints for operators (feature `dashboard`): an [`axum::Router`] to mount in
//! a service's own server, or [`serve`] on a port of its own.
//!
//! - `GET /`: the live dashboard, a page that reads `/circuits` and follows `/events`
//!   (with `/dashboard.css` and `/dashboard.js`; all compiled into the crate).
//! - `GET /metrics`: every breaker in Prometheus's text format ([`super::prometheus`]).
//! - `GET /health`: 200 with `{"status":"ok"}` while no circuit is in an unhealthy
//!   state (open or forced open, by default), else 503 with the services that are.
//! - `GET /circuits`: every breaker's summary, as JSON. `?state=open` keeps the
//!   circuits in that state; `?since=15m` (or Unix seconds) and `?until=` keep those
//!   that entered their state in that time range, and their remembered transitions
//!   in it.
//! - `GET /circuits/{service}`: one breaker's snapshot and configuration, each value
//!   with the layer it comes from, its recent transitions and counts by from/to, and
//!   its history tier by tier ([`super::history`]); `?since=`/`?until=` bound the
//!   transitions and points. An unknown service is a 404 naming the nearest.
//! - `GET /circuits/{service}/diagnosis`: [`Registry::diagnose`](crate::registry::Registry::diagnose)
//!   as JSON.
//! - `GET /hystrix.stream`: every breaker each [`Endpoints::hystrix_interval`] in the
//!   Hystrix stream format (`data: {"type":"HystrixCommand",...}` and `ping:` lines),
//!   for Hystrix dashboards and Turbine.
//! - `GET /events`: server-sent events: `transition` for every state change of the
//!   breakers that exist when the stream opens, and `snapshot` (every breaker's
//!   summary) every [`Endpoints::snapshot_interval`].
//! - `POST /circuits/{service}` with `{"action": "force_open" | "disable" |
//!   "metrics_only" | "reset", "reason": "..."}`: runtime control, off unless
//!   [`Endpoints::control_token`] is set, and then only with
//!   `Authorization: Bearer TOKEN` (anything else gets 401 and changes nothing).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use breaker_runtime::observe::endpoints::{Endpoints, serve};
//!
//! // Read-only, on a port of its own:
//! serve("127.0.0.1:9090", Endpoints::new()).await
//! # }
//! ```

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::breaker::State;
use crate::error::Error;
use crate::observe::dashboard;
use crate::observe::history::{Point, history};
use crate::observe::prometheus::Exposition;
use crate::observe::{Event, EventKind, RecvError, Rejections, Snapshot, TransitionRecord};
use crate::registry::{Control, registry};

/// What the endpoints serve, and who may change breakers.
#[derive(Clone, Debug)]
pub struct Endpoints {
    unhealthy: Vec<State>,
    token: Option<Arc<str>>,
    exposition: Exposition,
    snapshot_interval: Duration,
    hystrix_interval: Duration,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints::new()
    }
}

impl Endpoints {
    /// Read-only endpoints; `/health` counts open and forced-open circuits as
    /// unhealthy.
    pub fn new() -> Endpoints {
        Endpoints {
            unhealthy: vec![State::Open, State::ForcedOpen],
            token: None,
            exposition: Exposition::new(),
            snapshot_interval: Duration::from_secs(5),
            hystrix_interval: Duration::from_millis(500),
        }
    }

    /// The states `/health` reports as unhealthy (add `State::HalfOpen` to wait for
    /// recovery to be confirmed).
    pub fn unhealthy_states(mut self, states: impl IntoIterator<Item = State>) -> Endpoints {
        self.unhealthy = states.into_iter().collect();
        self
    }

    /// Turns `POST /circuits/{service}` on, for requests that carry
    /// `Authorization: Bearer TOKEN`.
    pub fn control_token(mut self, token: impl Into<String>) -> Endpoints {
        self.token = Some(token.into().into());
        self
    }

    /// How often `/events` sends every breaker's summary (5 s by default).
    pub fn snapshot_interval(mut self, interval: Duration) -> Endpoints {
        self.snapshot_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How often `/hystrix.stream` sends every breaker (500 ms by default, as
    /// Hystrix does).
    pub fn hystrix_interval(mut self, interval: Duration) -> Endpoints {
        self.hystrix_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How `/metrics` is labelled.
    pub fn exposition(mut self, exposition: Exposition) -> Endpoints {
        self.exposition = exposition;
        self
    }

    /// The router, to mount (`app.merge(endpoints.router())`, or
    /// `app.nest("/breakers", ...)`). Called inside a tokio runtime, it also starts
    /// sampling the process-wide [history] the dashboard and the diagnosis read.
    pub fn router(self) -> Router {
        history().spawn(registry());
        Router::new()
            .route("/", get(dashboard::index))
            .route("/dashboard.css", get(dashboard::stylesheet))
            .route("/dashboard.js", get(dashboard::script))
            .route("/metrics", get(metrics))
            .route("/health", get(health))
            .route("/circuits", get(circuits))
            .route("/circuits/{service}", get(circuit).post(control))
            .route("/circuits/{service}/diagnosis", get(diagnosis))
            .route("/events", get(events))
            .route("/hystrix.stream", get(hystrix))
            .with_state(Arc::new(self))
    }
}

/// Serves `endpoints` on `addr` until the process ends (or the listener fails).
pub async fn serve(addr: impl tokio::net::ToSocketAddrs, endpoints: Endpoints) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, endpoints.router()).await
}

type Shared = Extract<Arc<Endpoints>>;

async fn metrics(Extract(endpoints): Shared) -> Response {
    let text = endpoints.exposition.render(registry());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

async fn health(Extract(endpoints): Shared) -> Response {
    let unhealthy: Vec<Value> = registry()
        .states()
        .into_iter()
        .filter(|(_, state)| endpoints.unhealthy.contains(state))
        .map(|(service, state)| json!({ "service": service, "state": state.as_str() }))
        .collect();
    if unhealthy.is_empty() {
        (StatusCode::OK, Json(json!({ "status": "ok" }))).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "status": "unhealthy", "unhealthy": unhealthy })))
            .into_response()
    }
}

type Params = Query<BTreeMap<String, String>>;

async fn circuits(Query(query): Params) -> Response {
    let wanted = query.get("state");
    let range = match Range::of(&query) {
        Ok(range) => range,
        Err(error) => return bad_request(&error),
    };
    let list: Vec<Value> = registry()
        .snapshots()
        .into_iter()
        .filter(|snapshot| wanted.is_none_or(|w| snapshot.state.as_str() == w.replace('_', "-")))
        .filter(|snapshot| range.contains(snapshot.state_since))
        .map(|snapshot| range.summary(snapshot))
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn circuit(Path(service): Path<String>, Query(query): Params) -> Response {
    let breaker = match registry().get(&service) {
        Ok(breaker) => breaker,
        Err(error) => return not_found(&error),
    };
    let range = match Range::of(&query) {
        Ok(range) => range,
        Err(error) => return bad_request(&error),
    };
    let snapshot = breaker.snapshot();
    let name = snapshot.service;
    let transitions_by: Vec<Value> = snapshot
        .transitions_by
        .iter()
        .map(|t| json!({ "from": t.from.as_str(), "to": t.to.as_str(), "count": t.count }))
        .collect();
    let mut body = range.summary(snapshot);
    body["transitions_by"] = Value::Array(transitions_by);
    let tiers: Vec<Value> = history()
        .tiers()
        .iter()
        .enumerate()
        .map(|(index, tier)| {
            let points: Vec<Value> =
                history().points(name, index).iter().filter(|p| range.contains(p.end)).map(point).collect();
            json!({ "interval_seconds": tier.interval.as_secs_f64(), "points": points })
        })
        .collect();
    body["history"] = Value::Array(tiers);
    if let Ok(config) = registry().config_of(&service) {
        let values: Vec<Value> = config
            .values
            .iter()
            .map(|(key, value, source)| json!({ "key": key, "value": value, "source": source.to_string() }))
            .collect();
        body["config"] = Value::Array(values);
    }
    Json(body).into_response()
}

#[derive(serde::Deserialize)]
struct ControlRequest {
    action: String,
    #[serde(default)]
    reason: String,
}

async fn control(
    Extract(endpoints): Shared,
    Path(service): Path<String>,
    headers: HeaderMap,
    // Read after the token is checked: with control off, or without the token, any
    // request is refused as such, whatever its body.
    request: Result<Json<ControlRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(token) = &endpoints.token else {
        return (StatusCode::FORBIDDEN, Json(json!({ "error": "runtime control over HTTP is off" })))
            .into_response();
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        // The scheme is case-insensitive (RFC 9110).
        .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer").then_some(token.trim_start()));
    if !offered.is_some_and(|offered| constant_time_eq(offered.as_bytes(), token.as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({ "error": "a bearer token is needed" })),
        )
            .into_response();
    }
    let request = match request {
        Ok(Json(request)) => request,
        Err(rejection) => {
            let error = format!(
                "{rejection}: a JSON body such as {{\"action\": \"force_open\", \"reason\": \"...\"}}"
            );
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response();
        }
    };
    let action = match request.action.as_str() {
        "force_open" => Control::ForceOpen,
        "disable" => Control::Disable,
        "metrics_only" => Control::MetricsOnly,
        "reset" => Control::Reset,
        other => {
            let error = format!("unknown action `{other}`: one of force_open, disable, metrics_only, reset");
            return (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response();
        }
    };
    let reason = if request.reason.is_empty() { "over HTTP" } else { request.reason.as_str() };
    match registry().control(&service, action, reason) {
        Ok(()) => circuit(Path(service), Query(BTreeMap::new())).await,
        Err(error) => not_found(&error),
    }
}

/// Events of one `/events` stream, queued for the client; beyond this the newest
/// are dropped (a `snapshot` follows anyway).
const EVENTS_QUEUED: usize = 256;

async fn events(Extract(endpoints): Shared) -> Response {
    let (sender, receiver) = mpsc::channel::<SseEvent>(EVENTS_QUEUED);
    // One forwarder per breaker, and one for the periodic snapshots; each ends when
    // the client goes (the receiver is dropped with the response stream).
    for service in registry().services() {
        let Some(breaker) = registry().breaker(service) else { continue };
        let mut subscription = breaker.subscribe_transitions();
        let sender = sender.clone();
        tokio::spawn(async move {
            loop {
                let event = tokio::select! {
                    () = sender.closed() => return,
                    event = subscription.recv() => event,
                };
                match event {
                    Ok(Event {
                        service,
                        time,
                        kind: EventKind::Transition { from, to, reason, generation },
                        ..
                    }) => {
                        let data = json!({
                            "service": service,
                            "from": from.as_str(),
                            "to": to.as_str(),
                            "reason": reason.to_string(),
                            "generation": generation,
                            "time": unix_seconds(time),
                        });
                        let _ =
                            sender.try_send(SseEvent::default().event("transition").data(data.to_string()));
                    }
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(_) => return,
                }
            }
        });
    }
    let interval = endpoints.snapshot_interval;
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        loop {
            tokio::select! {
                () = sender.closed() => return,
                _ = ticks.tick() => {}
            }
            let all: Vec<Value> = registry().snapshots().iter().map(summary).collect();
            let _ =
                sender.try_send(SseEvent::default().event("snapshot").data(Value::Array(all).to_string()));
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok::<_, Infallible>(event), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

async fn diagnosis(Path(service): Path<String>) -> Response {
    let d = match registry().diagnose(&service) {
        Ok(d) => d,
        Err(error) => return not_found(&error),
    };
    let findings: Vec<Value> = d
        .findings
        .iter()
        .map(|f| json!({ "kind": f.kind.as_str(), "symptom": f.symptom, "seen": f.seen, "change": f.change }))
        .collect();
    let config: Vec<Value> = crate::registry::config_values(&d.config)
        .into_iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect();
    Json(json!({
        "service": d.service,
        "state": d.snapshot.state.as_str(),
        "config": config,
        "opens_last_hour": d.opens_last_hour,
        "pattern": d.pattern,
        "recent": d.recent.iter().map(point).collect::<Vec<_>>(),
        "findings": findings,
        "circuit": summary(&d.snapshot),
    }))
    .into_response()
}

/// A history point as JSON.
fn point(p: &Point) -> Value {
    json!({
        "end": unix_seconds(p.end),
        "interval_seconds": p.interval.as_secs_f64(),
        "state": p.state.as_str(),
        "successes": p.successes,
        "failures": p.failures,
        "ignored": p.ignored,
        "timeouts": p.timeouts,
        "rejections": p.rejections,
        "opened": p.opened,
        "failure_rate": p.failure_rate,
        "p50_seconds": p.p50.as_secs_f64(),
        "p90_seconds": p.p90.as_secs_f64(),
        "p99_seconds": p.p99.as_secs_f64(),
    })
}

/// The `since` and `until` of a query: Unix seconds, or a time ago (`90s`, `15m`,
/// `2h`, `1d`).
struct Range {
    since: Option<SystemTime>,
    until: Option<SystemTime>,
}

impl Range {
    fn of(query: &BTreeMap<String, String>) -> Result<Range, String> {
        let bound = |key: &str| query.get(key).map(|v| parse_time(key, v)).transpose();
        Ok(Range { since: bound("since")?, until: bound("until")? })
    }

    fn contains(&self, time: SystemTime) -> bool {
        self.since.is_none_or(|since| time >= since) && self.until.is_none_or(|until| time <= until)
    }

    /// The summary, with only the transitions in the range.
    fn summary(&self, mut snapshot: Snapshot) -> Value {
        snapshot.recent_transitions.retain(|t| self.contains(t.time));
        summary(&snapshot)
    }
}

fn parse_time(key: &str, value: &str) -> Result<SystemTime, String> {
    let bad = || format!("`{key}={value}`: Unix seconds, or a time ago such as 90s, 15m, 2h, 1d");
    if let Ok(seconds) = value.parse::<f64>() {
        // A time no clock can hold (`1e20`) is a bad request, not a panic.
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::try_from_secs_f64(seconds).ok())
            .flatten()
            .and_then(|since_epoch| UNIX_EPOCH.checked_add(since_epoch))
            .ok_or_else(bad);
    }
    let split = value.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = value.split_at(split);
    let n: u64 = number.parse().map_err(|_| bad())?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    Ok(SystemTime::now().checked_sub(Duration::from_secs(n.saturating_mul(unit))).unwrap_or(UNIX_EPOCH))
}

fn bad_request(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error }))).into_response()
}

/// Every breaker in the Hystrix stream format, each interval, with `ping:` lines
/// between; rolling rejection counts over the last 10 s, counted by the stream.
async fn hystrix(Extract(endpoints): Shared) -> Response {
    let interval = endpoints.hystrix_interval;
    let (sender, receiver) = mpsc::channel::<String>(4);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        let mut rejections: BTreeMap<&'static str, VecDeque<(std::time::Instant, Rejections)>> =
            BTreeMap::new();
        loop {
            tokio::select! {
                () = sender.closed() => return,
                _ = ticks.tick() => {}
            }
            let now = std::time::Instant::now();
            let mut chunk = String::from("ping: \n\n");
            let services = registry().services();
            rejections.retain(|service, _| services.contains(service));
            for service in services {
                let Some(breaker) = registry().breaker(service) else { continue };
                let snapshot = breaker.snapshot();
                let seen = rejections.entry(service).or_default();
                seen.push_back((now, snapshot.rejections));
                while seen.len() > 1 && seen.front().is_some_and(|(t, _)| now - *t > HYSTRIX_ROLLING) {
                    seen.pop_front();
                }
                let oldest = seen.front().map_or(snapshot.rejections, |(_, r)| *r);
                let json = hystrix_command(&snapshot, &breaker.config(), &oldest);
                chunk.push_str("data: ");
                chunk.push_str(&json.to_string());
                chunk.push_str("\n\n");
            }
            if sender.send(chunk).await.is_err() {
                return;
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (Ok::<_, Infallible>(chunk), receiver))
    });
    (
        [(header::CONTENT_TYPE, "text/event-stream;charset=UTF-8"), (header::CACHE_CONTROL, "no-cache")],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

/// Hystrix's rolling statistical window.
const HYSTRIX_ROLLING: Duration = Duration::from_secs(10);

/// One breaker as a `HystrixCommand` record. `rolling` holds the rejection counters
/// as they were at the start of the rolling window.
fn hystrix_command(s: &Snapshot, config: &crate::Config, rolling: &Rejections) -> Value {
    let ms = |d: Duration| d.as_millis() as u64;
    let short_circuited = (s.rejections.open + s.rejections.forced + s.rejections.probe_limit)
        .saturating_sub(rolling.open + rolling.forced + rolling.probe_limit);
    let semaphore_rejected = s.rejections.bulkhead.saturating_sub(rolling.bulkhead);
    let d = &s.durations;
    let percentiles = json!({
        "0": 0, "25": ms(d.percentile(0.25)), "50": ms(d.percentile(0.5)), "75": ms(d.percentile(0.75)),
        "90": ms(d.percentile(0.9)), "95": ms(d.percentile(0.95)), "99": ms(d.percentile(0.99)),
        "99.5": ms(d.percentile(0.995)), "100": ms(d.percentile(1.0)),
    });
    let w = &s.window;
    let failures_only = w.failures.saturating_sub(w.timeouts);
    let fields: [(&str, Value); 45] = [
        ("type", json!("HystrixCommand")),
        ("name", json!(s.service)),
        ("group", json!(s.service)),
        ("currentTime", json!(s.taken_at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64))),
        ("isCircuitBreakerOpen", json!(matches!(s.state, State::Open | State::ForcedOpen | State::HalfOpen))),
        ("state", json!(s.state.as_str())),
        ("errorPercentage", json!((w.failure_rate * 100.0).round() as u64)),
        ("errorCount", json!(w.failures)),
        ("requestCount", json!(w.successes + w.failures)),
        ("rollingCountSuccess", json!(w.successes)),
        ("rollingCountFailure", json!(failures_only)),
        ("rollingCountTimeout", json!(w.timeouts)),
        ("rollingCountShortCircuited", json!(short_circuited)),
        ("rollingCountSemaphoreRejected", json!(semaphore_rejected)),
        ("rollingCountThreadPoolRejected", json!(0)),
        ("rollingCountBadRequests", json!(0)),
        ("rollingCountCollapsedRequests", json!(0)),
        ("rollingCountEmit", json!(0)),
        ("rollingCountExceptionsThrown", json!(0)),
        ("rollingCountFallbackEmit", json!(0)),
        ("rollingCountFallbackFailure", json!(0)),
        ("rollingCountFallbackMissing", json!(0)),
        ("rollingCountFallbackRejection", json!(0)),
        ("rollingCountFallbackSuccess", json!(0)),
        ("rollingCountResponsesFromCache", json!(0)),
        ("rollingMaxConcurrentExecutionCount", json!(s.bulkhead.in_use)),
        ("currentConcurrentExecutionCount", json!(s.bulkhead.in_use)),
        ("latencyExecute_mean", json!(ms(s.latency.mean))),
        ("latencyExecute", json!(percentiles.clone())),
        ("latencyTotal_mean", json!(ms(s.latency.mean))),
        ("latencyTotal", json!(percentiles.clone())),
        ("propertyValue_circuitBreakerRequestVolumeThreshold", json!(config.min_calls)),
        ("propertyValue_circuitBreakerSleepWindowInMilliseconds", json!(ms(config.recovery_timeout))),
        (
            "propertyValue_circuitBreakerErrorThresholdPercentage",
            json!(config.failure_rate.map_or(0, |r| (r * 100.0).round() as u64)),
        ),
        ("propertyValue_circuitBreakerForceOpen", json!(s.state == State::ForcedOpen)),
        ("propertyValue_circuitBreakerForceClosed", json!(s.state == State::Disabled)),
        ("propertyValue_circuitBreakerEnabled", json!(s.state != State::Disabled)),
        ("propertyValue_executionIsolationStrategy", json!("SEMAPHORE")),
        ("propertyValue_executionTimeoutInMilliseconds", json!(config.timeout.map_or(0, ms))),
        (
            "propertyValue_executionIsolationSemaphoreMaxConcurrentRequests",
            json!(config.max_concurrent.unwrap_or(0)),
        ),
        ("propertyValue_metricsRollingStatisticalWindowInMilliseconds", json!(ms(config.window))),
        ("propertyValue_requestCacheEnabled", json!(false)),
        ("propertyValue_requestLogEnabled", json!(false)),
        ("reportingHosts", json!(1)),
        ("threadPool", json!(s.service)),
    ];
    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

fn not_found(error: &Error) -> Response {
    let nearest = match error {
        Error::UnknownService { suggestion, .. } => suggestion.as_deref().map(str::to_owned),
        _ => None,
    };
    (StatusCode::NOT_FOUND, Json(json!({ "error": error.to_string(), "nearest": nearest }))).into_response()
}

/// Compares without stopping at the first difference, so the time taken says nothing
/// about how much of a token was right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A breaker as JSON.
fn summary(s: &Snapshot) -> Value {
    json!({
        "service": s.service,
        "state": s.state.as_str(),
        "generation": s.generation,
        "state_age_seconds": s.state_age.as_secs_f64(),
        "retry_after_seconds": s.retry_after.map(|d| d.as_secs_f64()),
        "consecutive_failures": s.consecutive_failures,
        "calls": {
            "successes": s.calls.successes,
            "failures": s.calls.failures,
            "ignored": s.calls.ignored,
            "timeouts": s.calls.timeouts,
        },
        "window": {
            "length_seconds": s.window.length.as_secs_f64(),
            "calls": s.window.calls,
            "failures": s.window.failures,
            "failure_rate": s.window.failure_rate,
            "slow_call_rate": s.window.slow_call_rate,
        },
        "latency": {
            "mean_seconds": s.latency.mean.as_secs_f64(),
            "max_seconds": s.latency.max.as_secs_f64(),
            "p50_seconds": s.latency.p50.as_secs_f64(),
            "p90_seconds": s.latency.p90.as_secs_f64(),
            "p99_seconds": s.latency.p99.as_secs_f64(),
            "p999_seconds": s.latency.p999.as_secs_f64(),
        },
        "rejections": {
            "open": s.rejections.open,
            "probe_limit": s.rejections.probe_limit,
            "bulkhead": s.rejections.bulkhead,
            "forced_open": s.rejections.forced,
        },
        "bulkhead": { "in_use": s.bulkhead.in_use, "queued": s.bulkhead.queued, "max_concurrent": s.bulkhead.max_concurrent },
        "fallbacks": { "runs": s.fallbacks.runs, "successes": s.fallbacks.successes, "failures": s.fallbacks.failures },
        "open_count": s.open_count,
        "transitions": s.transitions,
        "last_transition": s.recent_transitions.last().map(transition),
        "transitions_recent": s.recent_transitions.iter().map(transition).collect::<Vec<_>>(),
    })
}

/// A remembered transition as JSON.
fn transition(t: &TransitionRecord) -> Value {
    json!({
        "from": t.from.as_str(),
        "to": t.to.as_str(),
        "reason": t.reason.to_string(),
        "generation": t.generation,
        "time": unix_seconds(t.time),
        "last_error": t.last_error,
    })
}

fn unix_seconds(time: std::time::SystemTime) -> f64 {
    time.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_whole() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
