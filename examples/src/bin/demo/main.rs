//! The demo: circuit breakers at work against a real flaky HTTP service.
//!
//! A service on 127.0.0.1 goes through phases (healthy, 50% errors, down with hangs,
//! recovering, healthy) while clients call it through three `#[circuit_breaker]`
//! functions. The terminal shows each breaker's state and counters live, and every
//! transition with its reason; the run ends by itself with a summary. The operators'
//! dashboard serves the same breakers on 127.0.0.1 while it runs (its address is
//! printed); `--keep-open` keeps it up after the summary.
//!
//! `cargo run` (from the repository root) runs it; `cargo run -- --help` lists the
//! options.

mod screen;
mod server;
mod services;

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use breaker_runtime::observe::endpoints::Endpoints;
use breaker_runtime::{CircuitBreaker, EventKind, registry};
use clap::Parser;
use tokio::sync::mpsc;

use crate::screen::{Screen, Transition};
use crate::server::Timeline;
use crate::services::CallError;

/// Circuit breakers at work against a flaky HTTP service on 127.0.0.1.
///
/// The service goes through phases (healthy, 50% errors, down with hangs, recovering,
/// healthy again) while eight clients call it through three `#[circuit_breaker]`
/// functions. The table shows each breaker live; the log shows every transition with
/// its reason, and the phases, in the order they happened. The run ends by itself with
/// a summary.
#[derive(Parser, Debug)]
#[command(version)]
struct Options {
    /// How long the run lasts, in seconds, at least 5 (the phases scale with it).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..))]
    duration: u64,
    /// Seed of the flaky service's randomness: the same seed, the same failures.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Plain output: no colours, no redrawing; a table every second and one line per
    /// transition (for logs). Chosen by itself when the output is not a terminal.
    #[arg(long)]
    plain: bool,
    /// Port of the dashboard and the operators' endpoints on 127.0.0.1 (0: one the
    /// system picks).
    #[arg(long, default_value_t = 0)]
    dashboard_port: u16,
    /// After the summary, keep serving the dashboard until Ctrl-C, for a person to
    /// look at the breakers' history.
    #[arg(long)]
    keep_open: bool,
}

/// The services of the demo, in display order.
const SERVICES: [&str; 3] = ["quotes", "inventory", "recommendations"];

/// Clients calling each service at once.
const WORKERS: usize = 8;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = Options::parse();
    let plain = options.plain || !std::io::stdout().is_terminal();
    let timeline = Timeline::new(Duration::from_secs(options.duration));

    let base = server::start(timeline.clone(), options.seed).await?;
    services::connect(base.clone());

    // The registry knows every annotated function before the first call.
    let breakers: Vec<CircuitBreaker> =
        SERVICES.iter().map(|s| registry().get(s)).collect::<Result<_, _>>()?;
    let mut screen = Screen::new(plain, timeline.clone(), breakers.clone());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.dashboard_port)).await?;
    let dashboard = format!("http://{}/", listener.local_addr()?);
    let endpoints = Endpoints::new().snapshot_interval(Duration::from_secs(1));
    tokio::spawn(async move { axum::serve(listener, endpoints.router()).await });
    screen.banner(&base, &dashboard);

    let (transitions, mut received) = mpsc::unbounded_channel();
    for breaker in &breakers {
        let mut events = breaker.subscribe();
        let transitions = transitions.clone();
        let timeline = timeline.clone();
        tokio::spawn(async move {
            while let Ok(event) = events.recv().await {
                if let EventKind::Transition { from, to, reason, .. } = event.kind {
                    let at = timeline.elapsed();
                    let _ = transitions.send(Transition { at, service: event.service, from, to, reason });
                }
            }
        });
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        workers.push(tokio::spawn(client(stop.clone(), worker)));
    }

    let tick = if plain { Duration::from_secs(1) } else { Duration::from_millis(200) };
    let mut interval = tokio::time::interval(tick);
    let mut phase = timeline.phase();
    screen.phase(phase);
    while timeline.elapsed() < timeline.length() {
        interval.tick().await;
        // The phase change and the transitions since the last tick, in time order: the
        // screen prints them as they come (plain mode) and keeps its log sorted.
        let mut arrived: Vec<Transition> = std::iter::from_fn(|| received.try_recv().ok()).collect();
        if timeline.phase() != phase {
            phase = timeline.phase();
            let start = timeline.start_of(phase);
            let later = arrived.iter().position(|t| t.at >= start).unwrap_or(arrived.len());
            for transition in arrived.drain(..later) {
                screen.transition(transition);
            }
            screen.phase(phase);
        }
        for transition in arrived {
            screen.transition(transition);
        }
        screen.draw();
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        let _ = worker.await;
    }
    while let Ok(transition) = received.try_recv() {
        screen.transition(transition);
    }
    screen.summary();
    if options.keep_open {
        println!("\ndashboard: {dashboard}\n(serving until Ctrl-C)");
        tokio::signal::ctrl_c().await?;
    }
    Ok(())
}

/// One client: calls every service in turn until the run ends, pacing itself.
async fn client(stop: Arc<AtomicBool>, worker: usize) {
    let id = worker as u32;
    while !stop.load(Ordering::Relaxed) {
        let (a, b, c) =
            tokio::join!(services::quote(u64::from(id)), services::stock(id), services::recommend(id));
        for outcome in [a.map(|_| ()), b.map(|_| ()), c.map(|_| ())] {
            // The breakers count everything; the client only needs to go on.
            let _: Result<(), CallError> = outcome;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
