//! [`Sleep`]: a wait on a breaker's clock (a call timeout, a queue timeout, a fallback
//! timeout), kept inside the future that waits, without allocating.
//!
//! On the real clock it is tokio's timer (a tokio runtime with time enabled is needed;
//! outside any tokio runtime the wait never ends, and that is logged once). On the
//! manual clock it ends when the clock is advanced past its deadline. On any other
//! clock it schedules a wakeup with [`Clock::wake_at`], which allocates one small box.

use std::ops::Deref;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::sync::{Mutex, lock};

use super::manual::ManualWait;
use super::{Clock, Instant, ManualClock};

pin_project_lite::pin_project! {
    /// A wait of `limit`, counted from its first poll, holding a manual clock as `M`
    /// and any other clock as `K`: borrowed ([`Sleep`]) or shared ([`OwnedSleep`]).
    #[project = SleepProj]
    pub(crate) enum Wait<M: Deref<Target = ManualClock>, K: Deref<Target = dyn Clock>> {
        /// The real clock's, not yet started.
        Tokio { limit: Duration },
        /// The real clock's, started.
        Ticking { #[pin] sleep: tokio::time::Sleep },
        /// The manual clock's.
        Manual { wait: ManualWait<M> },
        /// Another clock's.
        Custom { wait: CustomWait<K> },
        /// A wait that never ends: no limit, or no tokio runtime to time it.
        Never,
    }
}

/// A wait that borrows its clock: what a protected call keeps.
pub(crate) type Sleep<'a> = Wait<&'a ManualClock, &'a dyn Clock>;

/// A wait that shares its clock, for a future that outlives any borrow of the breaker.
#[cfg(feature = "tower")]
pub(crate) type OwnedSleep = Wait<Arc<ManualClock>, Arc<dyn Clock>>;

impl<M: Deref<Target = ManualClock>, K: Deref<Target = dyn Clock>> Wait<M, K> {
    pub(crate) fn tokio(limit: Duration) -> Self {
        if limit.is_zero() { Wait::Never } else { Wait::Tokio { limit } }
    }

    pub(crate) fn manual(clock: M, limit: Duration) -> Self {
        if limit.is_zero() {
            return Wait::Never;
        }
        Wait::Manual { wait: ManualWait::new(clock, limit) }
    }

    pub(crate) fn custom(clock: K, limit: Duration) -> Self {
        if limit.is_zero() {
            return Wait::Never;
        }
        Wait::Custom { wait: CustomWait { clock, limit, deadline: None, cell: None } }
    }

    /// Ready once the wait is over (registering the waker if not).
    pub(crate) fn poll_elapsed(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let SleepProj::Tokio { limit } = self.as_mut().project() {
            let limit = *limit;
            if tokio::runtime::Handle::try_current().is_err() {
                static WARNED: AtomicBool = AtomicBool::new(false);
                if !WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "a protected call runs outside a tokio runtime: its timeouts cannot apply"
                    );
                }
                self.set(Wait::Never);
                return Poll::Pending;
            }
            self.set(Wait::Ticking { sleep: tokio::time::sleep(limit) });
        }
        match self.project() {
            SleepProj::Ticking { sleep } => sleep.poll(cx),
            SleepProj::Manual { wait } => wait.poll(cx),
            SleepProj::Custom { wait } => wait.poll(cx),
            SleepProj::Tokio { .. } | SleepProj::Never => Poll::Pending,
        }
    }
}

/// A wait on another clock, woken by a wakeup scheduled with the clock.
pub(crate) struct CustomWait<K: Deref<Target = dyn Clock>> {
    clock: K,
    limit: Duration,
    deadline: Option<Instant>,
    cell: Option<Arc<Mutex<Option<Waker>>>>,
}

impl<K: Deref<Target = dyn Clock>> CustomWait<K> {
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = *self.deadline.get_or_insert_with(|| self.clock.now().saturating_add(self.limit));
        if self.clock.now() >= deadline {
            return Poll::Ready(());
        }
        match &self.cell {
            Some(cell) => *lock(cell) = Some(cx.waker().clone()),
            None => {
                let cell = Arc::new(Mutex::new(Some(cx.waker().clone())));
                let woken = Arc::clone(&cell);
                self.clock.wake_at(
                    deadline,
                    Box::new(move || {
                        if let Some(waker) = lock(&woken).take() {
                            waker.wake();
                        }
                    }),
                );
                self.cell = Some(cell);
            }
        }
        if self.clock.now() >= deadline { Poll::Ready(()) } else { Poll::Pending }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::pin::pin;

    #[tokio::test(start_paused = true)]
    async fn the_real_clocks_wait_counts_from_its_first_poll() {
        let mut sleep = pin!(Sleep::tokio(Duration::from_millis(250)));
        let started = tokio::time::Instant::now();
        poll_fn(|cx| sleep.as_mut().poll_elapsed(cx)).await;
        assert_eq!(started.elapsed(), Duration::from_millis(250));
    }

    #[test]
    fn outside_a_runtime_the_real_clocks_wait_never_ends_rather_than_panic() {
        let mut sleep = pin!(Sleep::tokio(Duration::from_millis(1)));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(sleep.as_mut().poll_elapsed(&mut cx).is_pending());
        assert!(matches!(*sleep, Wait::Never));
    }

    #[test]
    fn a_manual_clocks_wait_ends_when_the_clock_passes_its_deadline() {
        let clock = ManualClock::new();
        let woken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        struct Count(Arc<std::sync::atomic::AtomicUsize>);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let waker = Waker::from(Arc::new(Count(woken.clone())));
        let mut cx = Context::from_waker(&waker);
        let mut sleep = pin!(Sleep::manual(&clock, Duration::from_secs(2)));
        assert!(sleep.as_mut().poll_elapsed(&mut cx).is_pending());
        assert_eq!(clock.sleepers(), 1);
        clock.advance(Duration::from_secs(1));
        assert_eq!(woken.load(Ordering::SeqCst), 0);
        assert!(sleep.as_mut().poll_elapsed(&mut cx).is_pending());
        clock.advance(Duration::from_secs(1));
        assert_eq!(woken.load(Ordering::SeqCst), 1, "advancing past the deadline woke the task");
        assert!(sleep.as_mut().poll_elapsed(&mut cx).is_ready());
    }

    #[test]
    fn a_dropped_manual_wait_leaves_the_clock() {
        let clock = ManualClock::new();
        {
            let mut sleep = pin!(Sleep::manual(&clock, Duration::from_secs(2)));
            assert!(sleep.as_mut().poll_elapsed(&mut Context::from_waker(Waker::noop())).is_pending());
            assert_eq!(clock.sleepers(), 1);
        }
        assert_eq!(clock.sleepers(), 0);
    }
}
