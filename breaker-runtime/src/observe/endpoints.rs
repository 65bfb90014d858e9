//! HTTP endpoints for operators (feature `dashboard`): an [`axum::Router`] to mount in
//! a service's own server, or [`serve`] on a port of its own.
//!
//! - `GET /metrics`: every breaker in Prometheus's text format ([`super::prometheus`]).
//! - `GET /health`: 200 with `{"status":"ok"}` while no circuit is in an unhealthy
//!   state (open or forced open, by default), else 503 with the services that are.
//! - `GET /circuits` (`?state=open` filters): every breaker's summary, as JSON.
//! - `GET /circuits/{service}`: one breaker's snapshot and configuration, each value
//!   with the layer it comes from; an unknown service is a 404 naming the nearest.
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

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

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
use crate::observe::prometheus::Exposition;
use crate::observe::{Event, EventKind, RecvError, Snapshot};
use crate::registry::{Control, registry};

/// What the endpoints serve, and who may change breakers.
#[derive(Clone, Debug)]
pub struct Endpoints {
    unhealthy: Vec<State>,
    token: Option<Arc<str>>,
    exposition: Exposition,
    snapshot_interval: Duration,
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

    /// How `/metrics` is labelled.
    pub fn exposition(mut self, exposition: Exposition) -> Endpoints {
        self.exposition = exposition;
        self
    }

    /// The router, to mount (`app.merge(endpoints.router())`, or
    /// `app.nest("/breakers", ...)`).
    pub fn router(self) -> Router {
        Router::new()
            .route("/metrics", get(metrics))
            .route("/health", get(health))
            .route("/circuits", get(circuits))
            .route("/circuits/{service}", get(circuit).post(control))
            .route("/events", get(events))
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

async fn circuits(Query(query): Query<BTreeMap<String, String>>) -> Response {
    let wanted = query.get("state");
    let list: Vec<Value> = registry()
        .services()
        .into_iter()
        .filter_map(|service| registry().breaker(service))
        .map(|breaker| breaker.snapshot())
        .filter(|snapshot| wanted.is_none_or(|w| snapshot.state.as_str() == w.replace('_', "-")))
        .map(|snapshot| summary(&snapshot))
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn circuit(Path(service): Path<String>) -> Response {
    let breaker = match registry().get(&service) {
        Ok(breaker) => breaker,
        Err(error) => return not_found(&error),
    };
    let snapshot = breaker.snapshot();
    let mut body = summary(&snapshot);
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
    Json(request): Json<ControlRequest>,
) -> Response {
    let Some(token) = &endpoints.token else {
        return (StatusCode::FORBIDDEN, Json(json!({ "error": "runtime control over HTTP is off" })))
            .into_response();
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if !offered.is_some_and(|offered| constant_time_eq(offered.as_bytes(), token.as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            Json(json!({ "error": "a bearer token is needed" })),
        )
            .into_response();
    }
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
        Ok(()) => circuit(Path(service)).await,
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
        let mut subscription = breaker.subscribe();
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
                            "time": time.duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
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
            let all: Vec<Value> = registry()
                .services()
                .into_iter()
                .filter_map(|s| registry().breaker(s))
                .map(|b| summary(&b.snapshot()))
                .collect();
            let _ =
                sender.try_send(SseEvent::default().event("snapshot").data(Value::Array(all).to_string()));
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|event| (Ok::<_, Infallible>(event), receiver))
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
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
        "latency": { "mean_seconds": s.latency.mean.as_secs_f64(), "max_seconds": s.latency.max.as_secs_f64() },
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
    })
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
