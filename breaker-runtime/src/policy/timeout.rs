//! The per-call timeout.
//!
//! The timer is created only when the call has to wait: a call that completes on its
//! first poll never pays for one, and the call future stays small (the timer is boxed
//! then, one allocation per waiting call with a timeout).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Sleep;

/// A limit on a call's duration, armed when the call first has to wait.
pub(crate) struct Timeout {
    /// The limit in nanoseconds; 0: none.
    limit: u64,
    timer: Option<Pin<Box<Sleep>>>,
}

impl Timeout {
    pub(crate) const fn new(limit_nanos: u64) -> Timeout {
        Timeout { limit: limit_nanos, timer: None }
    }

    pub(crate) fn limit(&self) -> Duration {
        Duration::from_nanos(self.limit)
    }

    /// Ready once the limit has passed. Call only after the call itself returned
    /// `Pending`: the first such poll starts the clock.
    ///
    /// Needs a tokio runtime with time enabled; outside any tokio runtime the call
    /// runs without a limit (logged once) rather than fail.
    pub(crate) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.limit == 0 {
            return Poll::Pending;
        }
        let timer = match &mut self.timer {
            Some(timer) => timer,
            None => {
                if tokio::runtime::Handle::try_current().is_err() {
                    static WARNED: AtomicBool = AtomicBool::new(false);
                    if !WARNED.swap(true, Ordering::Relaxed) {
                        tracing::warn!(
                            "a protected call runs outside a tokio runtime: its timeout cannot apply"
                        );
                    }
                    self.limit = 0;
                    return Poll::Pending;
                }
                self.timer.insert(Box::pin(tokio::time::sleep(Duration::from_nanos(self.limit))))
            }
        };
        timer.as_mut().poll(cx)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::future::poll_fn;

    #[tokio::test(start_paused = true)]
    async fn the_limit_elapses_from_the_first_wait() {
        let mut timeout = Timeout::new(250_000_000);
        let started = tokio::time::Instant::now();
        poll_fn(|cx| timeout.poll_elapsed(cx)).await;
        assert_eq!(started.elapsed(), Duration::from_millis(250));
    }

    #[tokio::test(start_paused = true)]
    async fn no_limit_never_elapses() {
        let mut timeout = Timeout::new(0);
        let waited =
            tokio::time::timeout(Duration::from_secs(3600), poll_fn(|cx| timeout.poll_elapsed(cx))).await;
        assert!(waited.is_err());
    }

    #[test]
    fn outside_a_runtime_the_limit_is_dropped_not_a_panic() {
        let mut timeout = Timeout::new(1_000_000);
        let waker = std::task::Waker::noop();
        assert!(timeout.poll_elapsed(&mut Context::from_waker(waker)).is_pending());
        assert_eq!(timeout.limit(), Duration::ZERO);
    }
}
