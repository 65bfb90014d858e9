//! Instructions per protected call, counted (not timed): each scenario runs `N` calls
//! in a task on `futures::executor::block_on`, under `valgrind --tool=callgrind`, whose
//! counts are the same from run to run whatever else the machine does. The difference
//! between `N` and `2N` calls, divided by `N`, is the cost of one call:
//!
//! ```sh
//! cargo bench -p breaker-runtime --bench instructions --no-run
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null target/release/deps/instructions-* closed 100000
//! ```
//!
//! With `EXECUTOR=tokio` the task runs on a tokio current-thread runtime's `block_on`
//! instead: the counts show whether a cost that differs between executors is work done
//! or the machine (the counts are the same, the times not).
//!
//! `cargo bench --bench instructions` without valgrind runs every scenario once as a
//! smoke test.

use std::hint::black_box;
use std::sync::OnceLock;

use breaker_runtime::{CircuitBreaker, Config, Error, circuit_breaker};

async fn work(x: u64) -> Result<u64, Error> {
    Ok(black_box(x))
}

async fn fail(_: u64) -> Result<u64, Error> {
    Err(Error::UnknownService { service: "down".into(), suggestion: None })
}

#[circuit_breaker(service = "instructions-attribute", threshold = 5)]
async fn protected(x: u64) -> Result<u64, Error> {
    Ok(black_box(x))
}

fn breaker(config: Config) -> &'static CircuitBreaker {
    Box::leak(Box::new(CircuitBreaker::new("instructions", config).unwrap()))
}

fn threshold_only() -> Config {
    Config::builder().threshold(5).no_timeout().no_bulkhead().build().unwrap()
}

fn run(scenario: &str, n: u64) {
    static OPEN: OnceLock<&'static CircuitBreaker> = OnceLock::new();
    let task = Box::pin(async move {
        match scenario {
            "bare" => {
                for _ in 0..n {
                    let _ = black_box(work(black_box(1)).await);
                }
            }
            "closed" => {
                let b = breaker(threshold_only());
                for _ in 0..n {
                    let _ = black_box(b.call(work(black_box(1))).await);
                }
            }
            "defaults" => {
                let b = breaker(Config::default());
                for _ in 0..n {
                    let _ = black_box(b.call(work(black_box(1))).await);
                }
            }
            "attribute" => {
                for _ in 0..n {
                    let _ = black_box(protected(black_box(1)).await);
                }
            }
            "open" => {
                let b = *OPEN.get_or_init(|| breaker(threshold_only()));
                for _ in 0..5 {
                    let _ = b.call(fail(0)).await;
                }
                for _ in 0..n {
                    let _ = black_box(b.call(work(black_box(1))).await);
                }
            }
            #[cfg(feature = "tower")]
            tower_scenario @ ("tower-bare"
            | "tower-passthrough"
            | "tower-permit-floor"
            | "tower-permit-floor-open"
            | "tower-closed"
            | "tower-open"
            | "tower-host"
            | "tower-on-demand"
            | "tower-waits-bare"
            | "tower-waits") => {
                layer::run(tower_scenario, n).await;
            }
            other => panic!("unknown scenario {other}: bare, closed, defaults, attribute, open, tower-*"),
        }
    });
    if std::env::var("EXECUTOR").as_deref() == Ok("tokio") {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(task);
    } else {
        futures::executor::block_on(task);
    }
}

/// The tower layer's scenarios (`--features tower`): a `tower::service_fn` that answers
/// at once, bare, through a pass-through layer (the floor of any layer that sees the
/// response), through the least a layer around the breaker can do (its permit), and
/// through `CircuitBreakerLayer`, closed, open and by host; and one whose future waits
/// once, bare and through the layer, closed.
#[cfg(feature = "tower")]
mod services;

#[cfg(feature = "tower")]
mod layer {
    use std::convert::Infallible;
    use std::hint::black_box;

    use breaker_runtime::integrations::tower::{CircuitBreakerLayer, Identify};
    use breaker_runtime::{ConfigLayer, Off, registry};
    use tower::{Layer, Service, ServiceExt};

    use super::services::{PermitLayer, waiting};

    const DECLARED: &str = "http://instructions-host.test/quote";
    const ON_DEMAND: &str = "http://instructions-on-demand.test/quote";

    fn request(uri: &'static str) -> http::Request<()> {
        let mut request = http::Request::new(());
        *request.uri_mut() = http::Uri::from_static(uri);
        request
    }

    fn answer() -> impl Service<http::Request<()>, Response = http::Response<()>, Error = Infallible> + Clone
    {
        tower::service_fn(|_: http::Request<()>| async { Ok::<_, Infallible>(http::Response::new(())) })
    }

    fn failing()
    -> impl Service<http::Request<()>, Response = http::Response<()>, Error = std::io::Error> + Clone {
        tower::service_fn(|_: http::Request<()>| async {
            Err::<http::Response<()>, _>(std::io::Error::other("down"))
        })
    }

    fn threshold_only(service: &str) {
        let off = Off::default().with("timeout").and_then(|o| o.with("max_concurrent")).unwrap();
        registry().named(service).unwrap();
        registry()
            .set_override(service, ConfigLayer { threshold: Some(5), off, ..Default::default() })
            .unwrap();
    }

    async fn drive<S: Service<http::Request<()>>>(service: &mut S, n: u64) {
        drive_to(service, n, DECLARED).await
    }

    async fn drive_to<S: Service<http::Request<()>>>(service: &mut S, n: u64, uri: &'static str) {
        for _ in 0..n {
            let Ok(ready) = service.ready().await else { panic!("not ready") };
            let _ = black_box(ready.call(request(uri)).await);
        }
    }

    pub(super) async fn run(scenario: &str, n: u64) {
        match scenario {
            "tower-bare" => drive(&mut answer(), n).await,
            "tower-passthrough" => {
                // The floor of a layer that must see the response: it only wraps the
                // response in a body type of its own.
                struct Passthrough(#[allow(dead_code)] ());
                let layer = tower::util::MapResponseLayer::new(|r: http::Response<()>| r.map(Passthrough));
                drive(&mut layer.layer(answer()), n).await
            }
            "tower-permit-floor" => drive(&mut PermitLayer::new(answer()), n).await,
            "tower-permit-floor-open" => {
                let mut tripped = PermitLayer::new(failing());
                drive(&mut tripped, 10).await;
                assert!(tripped.is_open());
                drive(&mut tripped, n).await
            }
            "tower-closed" => {
                threshold_only("instructions-tower-closed");
                let layer =
                    CircuitBreakerLayer::new().identify(Identify::service("instructions-tower-closed"));
                drive(&mut layer.layer(answer()), n).await
            }
            "tower-waits-bare" => drive(&mut waiting(), n).await,
            "tower-waits" => {
                threshold_only("instructions-tower-closed");
                let layer =
                    CircuitBreakerLayer::new().identify(Identify::service("instructions-tower-closed"));
                drive(&mut layer.layer(waiting()), n).await
            }
            "tower-host" => {
                threshold_only("instructions-host.test");
                drive(&mut CircuitBreakerLayer::new().layer(answer()), n).await
            }
            "tower-on-demand" => {
                // A host nothing declares: its breaker is created on demand.
                drive_to(&mut CircuitBreakerLayer::new().layer(answer()), n, ON_DEMAND).await
            }
            _ => {
                threshold_only("instructions-tower-open");
                let layer = CircuitBreakerLayer::new().identify(Identify::service("instructions-tower-open"));
                let mut tripped = layer.layer(failing());
                drive(&mut tripped, 10).await;
                drive(&mut layer.layer(answer()), n).await
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    match args.as_slice() {
        [scenario, n] => run(scenario, n.parse().expect("a number of calls")),
        _ => {
            for scenario in ["bare", "closed", "defaults", "attribute", "open"] {
                run(scenario, 1000);
            }
            #[cfg(feature = "tower")]
            for scenario in [
                "tower-bare",
                "tower-passthrough",
                "tower-permit-floor",
                "tower-permit-floor-open",
                "tower-closed",
                "tower-open",
                "tower-host",
                "tower-on-demand",
                "tower-waits-bare",
                "tower-waits",
            ] {
                run(scenario, 1000);
            }
        }
    }
}
