//! One command, no setup: two tonic servers on loopback (`echo.v1.Echo` on one,
//! `echo.v1.Ledger` on the other), clients through `CircuitBreakerLayer::grpc()`,
//! which gives each gRPC service its own breaker, named from the request path. Echo is
//! made to fail until its circuit opens while Ledger stays closed; then Echo's
//! circuit half-opens after its recovery timeout and a successful probe closes it.
//!
//! `cargo run -p breaker-grpc --bin grpc_integration`; exits 0 when every step went as
//! described, 1 (with the step that did not) otherwise. Real time, a few seconds at
//! most.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use breaker_grpc::{
    ECHO_SERVICE, LEDGER_SERVICE, SayRequest, TestServer, configure, echo_client, ledger_client,
};
use breaker_runtime::integrations::tower::CircuitBreakerLayer;
use breaker_runtime::{CircuitBreaker, ConfigLayer, Event, EventKind, Events, State};
use tonic::Code;

const RECOVERY: Duration = Duration::from_millis(500);

/// A breaker and its event stream, to print its transitions as they happen.
struct Watched {
    breaker: CircuitBreaker,
    events: Events,
}

impl Watched {
    fn new(breaker: CircuitBreaker) -> Watched {
        let events = breaker.subscribe();
        Watched { breaker, events }
    }

    fn print_transitions(&mut self) {
        for Event { service, kind, .. } in self.events.drain() {
            if let EventKind::Transition { from, to, reason, .. } = kind {
                println!("  transition: {service}: {} -> {} ({reason})", upper(from), upper(to));
            }
        }
    }
}

fn upper(state: State) -> String {
    state.as_str().to_uppercase()
}

#[tokio::main]
async fn main() -> ExitCode {
    match tokio::time::timeout(Duration::from_secs(10), run()).await {
        Ok(Ok(())) => {
            println!(
                "done: separate breakers per gRPC service; Echo opened and recovered, Ledger stayed closed"
            );
            ExitCode::SUCCESS
        }
        Ok(Err(error)) => {
            println!("FAILED: {error}");
            ExitCode::FAILURE
        }
        Err(_) => {
            println!("FAILED: the example did not finish within 10 s");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let config =
        ConfigLayer { threshold: Some(3), recovery_timeout: Some(RECOVERY), ..ConfigLayer::default() };
    let mut echo_breaker = Watched::new(configure(ECHO_SERVICE, config)?);
    let mut ledger_breaker = Watched::new(configure(LEDGER_SERVICE, config)?);

    let echo_server = TestServer::start().await?;
    let ledger_server = TestServer::start().await?;
    println!(
        "servers: {ECHO_SERVICE} on {}, {LEDGER_SERVICE} on {}",
        echo_server.addr(),
        ledger_server.addr()
    );
    println!(
        "breakers: one per gRPC service, from the path: threshold 3, recovery timeout {}ms",
        RECOVERY.as_millis()
    );

    let mut echo = echo_client(echo_server.endpoint().connect_lazy(), CircuitBreakerLayer::grpc());
    let mut ledger = ledger_client(ledger_server.endpoint().connect_lazy(), CircuitBreakerLayer::grpc());

    println!("\n1. {ECHO_SERVICE} answers UNAVAILABLE, {LEDGER_SERVICE} answers OK");
    for round in 1..=3 {
        let status =
            echo.say(SayRequest::failing(Code::Unavailable)).await.err().ok_or("Echo answered OK")?;
        println!(
            "  round {round}: {ECHO_SERVICE}: {:?} -> breaker {}",
            status.code(),
            upper(echo_breaker.breaker.state())
        );
        let reply = ledger.balance(SayRequest::ok(&format!("balance {round}"))).await?.into_inner();
        println!(
            "  round {round}: {LEDGER_SERVICE}: OK {:?} -> breaker {}",
            reply.message,
            upper(ledger_breaker.breaker.state())
        );
        echo_breaker.print_transitions();
        ledger_breaker.print_transitions();
    }
    expect(&echo_breaker.breaker, State::Open)?;
    expect(&ledger_breaker.breaker, State::Closed)?;

    println!("\n2. {ECHO_SERVICE} is OPEN: calls are refused without reaching its server");
    let hits = echo_server.hits();
    let refused =
        echo.say(SayRequest::ok("refused")).await.err().ok_or("an open circuit let a call through")?;
    println!("  {ECHO_SERVICE}: {:?}: {}", refused.code(), refused.message());
    println!("  {ECHO_SERVICE} server hits: {hits} before, {} after", echo_server.hits());
    if echo_server.hits() != hits || refused.code() != Code::Unavailable {
        return Err("the refused call reached the server or was not UNAVAILABLE".into());
    }
    let reply = ledger.balance(SayRequest::ok("still here")).await?.into_inner();
    println!(
        "  {LEDGER_SERVICE}: OK {:?} -> breaker {}",
        reply.message,
        upper(ledger_breaker.breaker.state())
    );

    println!("\n3. after {}ms {ECHO_SERVICE} half-opens; a successful probe closes it", RECOVERY.as_millis());
    let started = Instant::now();
    while echo_breaker.breaker.state() != State::HalfOpen {
        if started.elapsed() > RECOVERY * 4 {
            return Err(format!("{ECHO_SERVICE} did not half-open within {:?}", RECOVERY * 4).into());
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    println!(
        "  {ECHO_SERVICE}: breaker {} after {}ms",
        upper(echo_breaker.breaker.state()),
        started.elapsed().as_millis()
    );
    echo_breaker.print_transitions();
    let reply = echo.say(SayRequest::ok("probe")).await?.into_inner();
    println!(
        "  probe: {ECHO_SERVICE}: OK {:?} -> breaker {}",
        reply.message,
        upper(echo_breaker.breaker.state())
    );
    echo_breaker.print_transitions();
    expect(&echo_breaker.breaker, State::Closed)?;
    expect(&ledger_breaker.breaker, State::Closed)?;

    println!("\nsummary:");
    for watched in [&echo_breaker, &ledger_breaker] {
        let snapshot = watched.breaker.snapshot();
        println!(
            "  {}: {}, opened {} time(s), recoveries {}, refused {}",
            snapshot.service,
            upper(snapshot.state),
            snapshot.open_count,
            snapshot.recoveries,
            snapshot.rejections.total()
        );
    }
    Ok(())
}

/// An error naming the breaker unless it is in `state`.
fn expect(breaker: &CircuitBreaker, state: State) -> Result<(), String> {
    let actual = breaker.state();
    if actual == state {
        return Ok(());
    }
    let snapshot = breaker.snapshot();
    Err(format!(
        "{} is {} where {} was expected (window: {} calls, {} successes, {} failures; probes in flight: {})",
        breaker.service(),
        upper(actual),
        upper(state),
        snapshot.window.calls,
        snapshot.window.successes,
        snapshot.window.failures,
        snapshot.probes.in_flight
    ))
}
