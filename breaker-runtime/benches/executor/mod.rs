//! The two ways the executor-driven benchmarks (`tasks.rs`, `tower.rs`) drive a task:
//! `futures::executor::block_on` and a tokio current-thread runtime's `block_on`.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

/// The two ways a task is driven.
#[derive(Clone, Copy)]
pub enum Executor {
    Futures,
    Tokio,
}

impl Executor {
    pub const ALL: [Executor; 2] = [Executor::Futures, Executor::Tokio];

    pub fn name(self) -> &'static str {
        match self {
            Executor::Futures => "futures",
            Executor::Tokio => "tokio",
        }
    }

    /// Runs `task` to completion on this executor.
    pub fn run<T>(self, task: Pin<Box<dyn Future<Output = T> + '_>>) -> T {
        match self {
            Executor::Futures => futures::executor::block_on(task),
            Executor::Tokio => tokio_runtime().block_on(task),
        }
    }
}

fn tokio_runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
    })
}
