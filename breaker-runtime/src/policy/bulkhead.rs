//! The bulkhead: at most `max_concurrent` calls of a service run at once; up to
//! `queue` more wait at most `queue_timeout` for a place; the rest are rejected.
//!
//! Built on tokio's fair semaphore: waiting calls get places in arrival order, and a
//! cancelled waiter leaves the queue at once.

use std::time::Duration;

use tokio::sync::{Semaphore, SemaphorePermit};

#[cfg(test)]
use crate::breaker::CallPolicy;
use crate::sync::{AtomicU32, Ordering};

pub(crate) struct Bulkhead {
    semaphore: Semaphore,
    capacity: AtomicU32,
    queued: AtomicU32,
    /// Places still to take away after the capacity shrank while they were in use:
    /// the next seats to leave are forgotten instead of returned.
    debt: AtomicU32,
}

/// Decrements the queue length when a waiting call leaves, however it leaves.
struct Waiting<'a>(&'a AtomicU32);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Bulkhead {
    pub(crate) fn new(max_concurrent: Option<u32>) -> Bulkhead {
        let capacity = max_concurrent.unwrap_or(0);
        Bulkhead {
            semaphore: Semaphore::new(capacity as usize),
            capacity: AtomicU32::new(capacity),
            queued: AtomicU32::new(0),
            debt: AtomicU32::new(0),
        }
    }

    /// A free place, if there is one: the fast path, which never waits. Give it back
    /// with [`leave`](Bulkhead::leave).
    #[inline]
    pub(crate) fn try_enter(&self) -> Option<SemaphorePermit<'_>> {
        self.semaphore.try_acquire().ok()
    }

    /// Gives a place back (or, after the capacity shrank, takes it away).
    #[inline]
    pub(crate) fn leave(&self, place: SemaphorePermit<'_>) {
        let mut owed = self.debt.load(Ordering::Relaxed);
        while owed > 0 {
            match self.debt.compare_exchange_weak(owed, owed - 1, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    place.forget();
                    return;
                }
                Err(actual) => owed = actual,
            }
        }
    }

    /// Waits in the queue for a place, if the queue has room; `None` if it is full or
    /// no place freed up within `queue_timeout`.
    pub(crate) async fn wait(&self, queue: u32, queue_timeout: Duration) -> Option<SemaphorePermit<'_>> {
        if self.queued.fetch_add(1, Ordering::AcqRel) >= queue {
            self.queued.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let _waiting = Waiting(&self.queued);
        match tokio::time::timeout(queue_timeout, self.semaphore.acquire()).await {
            Ok(Ok(permit)) => Some(permit),
            _ => None,
        }
    }

    /// A place for one call under `policy`: a free one, or one waited for in the queue.
    #[cfg(test)]
    pub(crate) async fn enter(&self, policy: &CallPolicy) -> Option<SemaphorePermit<'_>> {
        match self.try_enter() {
            Some(seat) => Some(seat),
            None if policy.queue == 0 => None,
            None => self.wait(policy.queue, policy.queue_timeout()).await,
        }
    }

    /// Changes the number of places; callers serialise resizes.
    pub(crate) fn resize(&self, max_concurrent: Option<u32>) {
        let new = max_concurrent.unwrap_or(0);
        let old = self.capacity.swap(new, Ordering::AcqRel);
        if new > old {
            let mut added = new - old;
            // Cancel debt first: those places are still in use and stay.
            let owed = self.debt.load(Ordering::Relaxed).min(added);
            self.debt.fetch_sub(owed, Ordering::Relaxed);
            added -= owed;
            self.semaphore.add_permits(added as usize);
        } else if new < old {
            let removed = old - new;
            let forgotten = self.semaphore.forget_permits(removed as usize) as u32;
            self.debt.fetch_add(removed - forgotten, Ordering::Relaxed);
        }
    }

    /// Places taken.
    pub(crate) fn in_use(&self) -> u32 {
        let capacity = self.capacity.load(Ordering::Relaxed) + self.debt.load(Ordering::Relaxed);
        capacity.saturating_sub(self.semaphore.available_permits() as u32)
    }

    /// Calls waiting for a place.
    pub(crate) fn queued(&self) -> u32 {
        self.queued.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn policy(max: u32, queue: u32, wait_ms: u64) -> CallPolicy {
        CallPolicy {
            max_concurrent: max,
            queue,
            queue_timeout_nanos: wait_ms * 1_000_000,
            ..CallPolicy::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn full_bulkhead_without_queue_rejects_at_once() {
        let b = Bulkhead::new(Some(2));
        let p = policy(2, 0, 0);
        let s1 = b.enter(&p).await.unwrap();
        let _s2 = b.enter(&p).await.unwrap();
        assert!(b.enter(&p).await.is_none());
        assert_eq!(b.in_use(), 2);
        b.leave(s1);
        assert!(b.enter(&p).await.is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn queued_call_gets_a_place_when_one_frees_up() {
        let b = std::sync::Arc::new(Bulkhead::new(Some(1)));
        let p = policy(1, 1, 100);
        let seat = b.enter(&p).await.unwrap();
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move { b.enter(&p).await.is_some() })
        };
        tokio::task::yield_now().await;
        assert_eq!(b.queued(), 1);
        // A third call finds the queue full.
        assert!(b.enter(&p).await.is_none());
        b.leave(seat);
        assert!(waiter.await.unwrap());
        assert_eq!(b.queued(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn queued_call_gives_up_after_queue_timeout() {
        let b = Bulkhead::new(Some(1));
        let p = policy(1, 4, 100);
        let _seat = b.enter(&p).await.unwrap();
        let started = tokio::time::Instant::now();
        assert!(b.enter(&p).await.is_none());
        assert_eq!(started.elapsed(), Duration::from_millis(100));
        assert_eq!(b.queued(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn shrinking_while_in_use_takes_places_away_as_they_free() {
        let b = Bulkhead::new(Some(3));
        let p = policy(3, 0, 0);
        let seats: Vec<_> = futures_seats(&b, &p, 3).await;
        b.resize(Some(1));
        assert_eq!(b.in_use(), 3);
        for seat in seats {
            b.leave(seat);
        }
        assert_eq!(b.in_use(), 0);
        let p1 = policy(1, 0, 0);
        let _one = b.enter(&p1).await.unwrap();
        assert!(b.enter(&p1).await.is_none());
        b.resize(Some(2));
        assert!(b.enter(&p1).await.is_some());
    }

    async fn futures_seats<'a>(b: &'a Bulkhead, p: &CallPolicy, n: usize) -> Vec<SemaphorePermit<'a>> {
        let mut seats = Vec::new();
        for _ in 0..n {
            seats.push(b.enter(p).await.unwrap());
        }
        seats
    }
}
