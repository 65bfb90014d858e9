//! One command, no setup: two HTTP services on loopback (`inventory.example` and
//! `pricing.example`, resolved to 127.0.0.1), called through one client: hyper-util's,
//! with `CircuitBreakerLayer`, which gives each host its own breaker, created on demand
//! and visible in the registry; and the same services through reqwest with the
//! reqwest middleware, sharing those breakers. Pricing fails until its circuit opens
//! while inventory stays closed; after the recovery timeout a probe closes it again.
//!
//! `cargo run --bin http_integration`; a few seconds of real time.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use breaker_runtime::integrations::reqwest::{CircuitBreakerMiddleware, breaker_error};
use breaker_runtime::integrations::tower::{CircuitBreakerLayer, ServiceError};
use breaker_runtime::{ConfigLayer, Event, EventKind, State, registry};
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, Service, ServiceExt};

const INVENTORY: &str = "inventory.example";
const PRICING: &str = "pricing.example";
const RECOVERY: Duration = Duration::from_millis(500);

/// A service on 127.0.0.1 whose `/` answers 200, or 503 while `down` is set.
async fn serve(name: &'static str, down: Arc<AtomicBool>) -> SocketAddr {
    let app = Router::new().route(
        "/",
        get(move || async move {
            if down.load(Ordering::SeqCst) {
                (StatusCode::SERVICE_UNAVAILABLE, "down")
            } else {
                (StatusCode::OK, name)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("the server runs") });
    addr
}

/// Resolves the example's host names to the loopback servers.
#[derive(Clone)]
struct Hosts(Arc<HashMap<&'static str, SocketAddr>>);

impl Service<Name> for Hosts {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let found = self.0.get(name.as_str()).copied();
        Box::pin(async move {
            found.map(|a| vec![a].into_iter()).ok_or_else(|| std::io::Error::other("unknown host"))
        })
    }
}

fn print_transitions(events: &mut breaker_runtime::Events) {
    for Event { service, kind, .. } in events.drain() {
        if let EventKind::Transition { from, to, reason, .. } = kind {
            println!("  transition: {service}: {from:?} -> {to:?} ({reason})");
        }
    }
}

#[tokio::main]
async fn main() {
    let pricing_down = Arc::new(AtomicBool::new(true));
    let inventory_addr = serve(INVENTORY, Arc::new(AtomicBool::new(false))).await;
    let pricing_addr = serve(PRICING, pricing_down.clone()).await;
    let hosts = Hosts(Arc::new(HashMap::from([(INVENTORY, inventory_addr), (PRICING, pricing_addr)])));

    // The tower layer: a breaker per host, made on demand at the first request.
    let connector = HttpConnector::new_with_resolver(hosts);
    let client = Client::builder(TokioExecutor::new()).build::<_, Empty<Bytes>>(connector);
    let mut client = CircuitBreakerLayer::new().layer(client);
    let url = |host: &str, addr: SocketAddr| format!("http://{host}:{}/", addr.port());
    let get = |url: String| http::Request::get(url).body(Empty::new()).expect("a request");

    println!("== tower layer over hyper-util's client: a breaker per host");
    for (host, addr) in [(INVENTORY, inventory_addr), (PRICING, pricing_addr)] {
        let response =
            client.ready().await.expect("ready").call(get(url(host, addr))).await.expect("an answer");
        println!("GET {host}: {}", response.status());
    }
    println!("registry now knows: {:?}", registry().services());
    // Operators retune on-demand services like any other (here: from code).
    let quick = ConfigLayer { threshold: Some(3), recovery_timeout: Some(RECOVERY), ..Default::default() };
    registry().set_override(PRICING, quick).expect("pricing exists");
    let mut events = registry().get(PRICING).expect("pricing exists").subscribe();

    for attempt in 2..=4 {
        let response = client.ready().await.expect("ready").call(get(url(PRICING, pricing_addr))).await;
        match response {
            Ok(response) => {
                println!("GET {PRICING} (attempt {attempt}): {} (counted as a failure)", response.status())
            }
            Err(error) => println!("GET {PRICING} (attempt {attempt}): {error}"),
        }
        print_transitions(&mut events);
    }
    let refused = client.ready().await.expect("ready").call(get(url(PRICING, pricing_addr))).await;
    if let Err(ServiceError::Breaker(error)) = &refused {
        println!("GET {PRICING}: refused without a request: {error}");
    }
    let response = client.ready().await.expect("ready").call(get(url(INVENTORY, inventory_addr))).await;
    println!(
        "GET {INVENTORY}: {} (its own breaker: {:?})",
        response.expect("an answer").status(),
        state(INVENTORY)
    );

    println!("== reqwest with the middleware: the same breakers");
    let reqwest = reqwest::Client::builder()
        .resolve(INVENTORY, inventory_addr)
        .resolve(PRICING, pricing_addr)
        .build()
        .expect("a client");
    let reqwest =
        reqwest_middleware::ClientBuilder::new(reqwest).with(CircuitBreakerMiddleware::new()).build();
    match reqwest.get(url(PRICING, pricing_addr)).send().await {
        Err(error) => println!(
            "reqwest GET {PRICING}: refused: {}",
            breaker_error(&error).map_or(error.to_string(), |e| e.to_string())
        ),
        Ok(response) => println!("reqwest GET {PRICING}: {}", response.status()),
    }

    println!("== pricing recovers");
    pricing_down.store(false, Ordering::SeqCst);
    tokio::time::sleep(RECOVERY + Duration::from_millis(50)).await;
    let response = reqwest.get(url(PRICING, pricing_addr)).send().await.expect("the probe is let through");
    println!("reqwest GET {PRICING} (the probe): {}", response.status());
    print_transitions(&mut events);
    println!("pricing is {:?}, inventory is {:?}", state(PRICING), state(INVENTORY));
}

fn state(service: &str) -> State {
    registry().get(service).expect("a known service").state()
}
