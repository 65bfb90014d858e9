//! The flaky service: a real HTTP server on 127.0.0.1 whose health follows the phases
//! of the demo.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use tokio::net::TcpListener;
use tokio::time::Instant;

/// How the service behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Healthy,
    Degraded,
    Down,
    Recovering,
    Recovered,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Healthy => "healthy",
            Phase::Degraded => "degraded: 50% errors",
            Phase::Down => "down: errors and hangs past the timeout",
            Phase::Recovering => "recovering: slow, 10% errors",
            Phase::Recovered => "healthy again",
        }
    }
}

/// When each phase starts, as fractions of the run.
const SCHEDULE: [(f64, Phase); 5] = [
    (0.0, Phase::Healthy),
    (0.15, Phase::Degraded),
    (0.35, Phase::Down),
    (0.6, Phase::Recovering),
    (0.75, Phase::Recovered),
];

/// The phases, on a clock.
#[derive(Clone)]
pub struct Timeline {
    start: Instant,
    length: Duration,
}

impl Timeline {
    pub fn new(length: Duration) -> Timeline {
        Timeline { start: Instant::now(), length }
    }

    pub fn phase(&self) -> Phase {
        self.phase_at(self.start.elapsed())
    }

    pub fn phase_at(&self, elapsed: Duration) -> Phase {
        let at = elapsed.as_secs_f64() / self.length.as_secs_f64();
        SCHEDULE.iter().rev().find(|(from, _)| at >= *from).map_or(Phase::Healthy, |(_, phase)| *phase)
    }

    /// When `phase` starts, from the start of the run.
    pub fn start_of(&self, phase: Phase) -> Duration {
        let fraction = SCHEDULE.iter().find(|(_, p)| *p == phase).map_or(0.0, |(from, _)| *from);
        self.length.mul_f64(fraction)
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    pub fn length(&self) -> Duration {
        self.length
    }
}

#[derive(Clone)]
struct Flaky {
    timeline: Timeline,
    rng: Arc<Mutex<StdRng>>,
}

enum Answer {
    Ok,
    Slow,
    Error,
    Hang,
}

impl Flaky {
    async fn answer(&self, slow: Duration) -> Result<(), StatusCode> {
        let answer = {
            let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
            match self.timeline.phase() {
                Phase::Healthy | Phase::Recovered => Answer::Ok,
                Phase::Degraded if rng.random_bool(0.5) => Answer::Error,
                Phase::Degraded => Answer::Ok,
                Phase::Down if rng.random_bool(0.6) => Answer::Hang,
                Phase::Down => Answer::Error,
                Phase::Recovering if rng.random_bool(0.1) => Answer::Error,
                Phase::Recovering => Answer::Slow,
            }
        };
        match answer {
            Answer::Ok => Ok(()),
            Answer::Slow => {
                tokio::time::sleep(slow).await;
                Ok(())
            }
            Answer::Error => Err(StatusCode::SERVICE_UNAVAILABLE),
            Answer::Hang => {
                tokio::time::sleep(Duration::from_secs(2)).await;
                Err(StatusCode::GATEWAY_TIMEOUT)
            }
        }
    }
}

async fn quote(State(flaky): State<Flaky>) -> Result<Json<u64>, StatusCode> {
    flaky.answer(Duration::from_millis(40)).await?;
    Ok(Json(10_250))
}

async fn stock(State(flaky): State<Flaky>) -> Result<Json<u32>, StatusCode> {
    flaky.answer(Duration::from_millis(60)).await?;
    Ok(Json(17))
}

async fn recommendations(State(flaky): State<Flaky>) -> Result<Json<Vec<u32>>, StatusCode> {
    flaky.answer(Duration::from_millis(30)).await?;
    Ok(Json(vec![7, 11, 42]))
}

/// Starts the service on an OS-assigned port of 127.0.0.1; its base URL.
pub async fn start(timeline: Timeline, seed: u64) -> std::io::Result<String> {
    let flaky = Flaky { timeline, rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))) };
    let app = Router::new()
        .route("/quote", get(quote))
        .route("/stock", get(stock))
        .route("/recommendations", get(recommendations))
        .with_state(flaky);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("the flaky service stopped: {error}");
        }
    });
    Ok(format!("http://{address}"))
}
