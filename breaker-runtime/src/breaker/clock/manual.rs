//! [`ManualClock`]: time that moves only when a test moves it, with the wakeups and
//! sleepers a breaker registers run as it moves.

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

use crate::sync::{AtomicU64, Mutex, Ordering, lock};

use super::{Clock, Instant, Wake, duration_nanos};

/// A clock that moves only when told to: the clock of deterministic tests.
///
/// Scheduled wakeups run synchronously inside [`advance`](ManualClock::advance), each
/// exactly once, in deadline order, and the breaker's waits on it (call timeouts, queue
/// timeouts, fallback timeouts) end when it passes their deadline: a test advances one
/// clock, and every timer of the breaker follows. Its wall clock can be jumped
/// independently of its monotonic time to show that wall-clock changes do not affect
/// breakers.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use breaker_runtime::{CircuitBreaker, Config, ManualClock, State};
///
/// let clock = Arc::new(ManualClock::new());
/// let config = Config::builder().threshold(1).recovery_timeout(Duration::from_secs(5)).build()?;
/// let breaker = CircuitBreaker::with_clock("inventory", config, clock.clone())?;
/// breaker.try_acquire()?.failure();
/// assert_eq!(breaker.state(), State::Open);
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(breaker.state(), State::HalfOpen);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ManualClock {
    pub(super) now: AtomicU64,
    wall_origin: Mutex<SystemTime>,
    timers: Mutex<Vec<(Instant, u64, Wake)>>,
    next_seq: AtomicU64,
    sleepers: Mutex<Sleepers>,
}

/// The tasks waiting on the clock: a slab, so a sleeper registers and leaves without
/// allocating once the slab has grown to the number of tasks waiting at once.
#[derive(Default)]
struct Sleepers {
    slots: Vec<Option<(Instant, Option<Waker>)>>,
    free: Vec<usize>,
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl ManualClock {
    /// A clock at [`Instant::ZERO`], whose wall clock reads the current system time.
    /// Breakers take it shared: `CircuitBreaker::with_clock(name, config,
    /// Arc::new(ManualClock::new()))`.
    pub fn new() -> ManualClock {
        ManualClock {
            now: AtomicU64::new(0),
            wall_origin: Mutex::new(SystemTime::now()),
            timers: Mutex::new(Vec::new()),
            next_seq: AtomicU64::new(0),
            sleepers: Mutex::new(Sleepers::default()),
        }
    }

    /// Moves time forward by `d`, runs every wakeup that is now due and wakes every
    /// task whose wait is over. Time saturates at the end of time (`u64::MAX`
    /// nanoseconds): it never wraps round to the past.
    pub fn advance(&self, d: Duration) {
        let d = duration_nanos(d);
        let mut now = self.now.load(Ordering::Acquire);
        loop {
            match self.now.compare_exchange_weak(
                now,
                now.saturating_add(d),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => now = actual,
            }
        }
        self.fire_due();
    }

    /// Moves time forward to `at` (no effect if `at` is in the past: monotonic time
    /// never goes back), runs every wakeup that is now due and wakes every task whose
    /// wait is over.
    pub fn advance_to(&self, at: Instant) {
        self.now.fetch_max(at.as_nanos(), Ordering::AcqRel);
        self.fire_due();
    }

    /// Jumps the wall clock by `delta_secs` seconds (negative: backwards) without
    /// moving monotonic time, as an NTP step or a manual `date -s` would.
    pub fn jump_wall_clock(&self, delta_secs: i64) {
        let mut origin = lock(&self.wall_origin);
        let delta = Duration::from_secs(delta_secs.unsigned_abs());
        *origin = if delta_secs >= 0 {
            *origin + delta
        } else {
            origin.checked_sub(delta).unwrap_or(SystemTime::UNIX_EPOCH)
        };
    }

    /// How many wakeups are scheduled and not yet run.
    pub fn pending_wakeups(&self) -> usize {
        lock(&self.timers).len()
    }

    /// A future that completes once the clock has been advanced by `d` from the time it
    /// is first polled: for test bodies that take time on the manual clock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker_runtime::ManualClock;
    ///
    /// # futures::executor::block_on(async {
    /// let clock = ManualClock::new();
    /// let mut slow = std::pin::pin!(clock.sleep(Duration::from_secs(3)));
    /// assert!(futures::poll!(slow.as_mut()).is_pending());
    /// clock.advance(Duration::from_secs(3));
    /// slow.await;
    /// # });
    /// ```
    pub fn sleep(&self, d: Duration) -> ManualSleep<'_> {
        ManualSleep { wait: ManualWait::new(self, d) }
    }

    /// The earliest deadline a wakeup or a waiting task has, if any: how far to advance
    /// to make the next thing happen.
    pub fn next_deadline(&self) -> Option<Instant> {
        let timers = lock(&self.timers).iter().map(|(at, _, _)| *at).min();
        let sleepers = lock(&self.sleepers).slots.iter().flatten().map(|(at, _)| *at).min();
        timers.into_iter().chain(sleepers).min()
    }

    /// How many tasks wait on the clock (a call timeout, a queue timeout, a fallback
    /// timeout): advance past their deadlines to end their waits.
    pub fn sleepers(&self) -> usize {
        lock(&self.sleepers).slots.iter().filter(|slot| slot.is_some()).count()
    }

    fn fire_due(&self) {
        loop {
            let now = self.now();
            let due = {
                let mut timers = lock(&self.timers);
                let first = timers
                    .iter()
                    .enumerate()
                    .filter(|(_, (at, _, _))| *at <= now)
                    .min_by_key(|(_, (at, seq, _))| (*at, *seq))
                    .map(|(i, _)| i);
                first.map(|i| timers.swap_remove(i))
            };
            match due {
                // Run outside the lock: the wakeup may schedule another.
                Some((_, _, wake)) => wake(),
                None => break,
            }
        }
        let now = self.now();
        let mut woken = Vec::new();
        for (deadline, waker) in lock(&self.sleepers).slots.iter_mut().flatten() {
            if *deadline <= now {
                woken.extend(waker.take());
            }
        }
        // Woken outside the lock: a woken task may be polled at once, on this thread.
        for waker in woken {
            waker.wake();
        }
    }

    /// Registers (or refreshes) the sleeper in `slot` until `deadline`: `true` if the
    /// deadline has passed, and the sleeper need not wait.
    fn sleep_until(&self, deadline: Instant, slot: &mut Option<usize>, waker: &Waker) -> bool {
        if self.now() >= deadline {
            return true;
        }
        let mut guard = lock(&self.sleepers);
        let sleepers = &mut *guard;
        match *slot {
            Some(i) => {
                if let Some(Some((_, registered))) = sleepers.slots.get_mut(i) {
                    match registered {
                        Some(old) if old.will_wake(waker) => {}
                        _ => *registered = Some(waker.clone()),
                    }
                }
            }
            None => {
                let entry = Some((deadline, Some(waker.clone())));
                let i = match sleepers.free.pop() {
                    Some(i) => {
                        sleepers.slots[i] = entry;
                        i
                    }
                    None => {
                        sleepers.slots.push(entry);
                        sleepers.slots.len() - 1
                    }
                };
                *slot = Some(i);
            }
        }
        drop(guard);
        // Time may have passed the deadline while the sleeper registered.
        self.now() >= deadline
    }

    /// The sleeper in `slot` leaves.
    fn wake_up(&self, slot: usize) {
        let mut sleepers = lock(&self.sleepers);
        if let Some(entry) = sleepers.slots.get_mut(slot) {
            *entry = None;
            sleepers.free.push(slot);
        }
    }
}

/// A wait on a manual clock: a sleeper of the clock from its first poll to its drop.
/// It holds the clock as `M`: borrowed by a call's wait, shared (`Arc`) by a wait that
/// must outlive any borrow (the tower layer's response future).
pub(crate) struct ManualWait<M: Deref<Target = ManualClock>> {
    clock: M,
    limit: Duration,
    deadline: Option<Instant>,
    slot: Option<usize>,
}

impl<M: Deref<Target = ManualClock>> ManualWait<M> {
    pub(crate) fn new(clock: M, limit: Duration) -> ManualWait<M> {
        ManualWait { clock, limit, deadline: None, slot: None }
    }

    pub(crate) fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = *self.deadline.get_or_insert_with(|| self.clock.now().saturating_add(self.limit));
        if self.clock.sleep_until(deadline, &mut self.slot, cx.waker()) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl<M: Deref<Target = ManualClock>> Drop for ManualWait<M> {
    fn drop(&mut self) {
        if let Some(slot) = self.slot {
            self.clock.wake_up(slot);
        }
    }
}

/// A wait on a [`ManualClock`], from [`ManualClock::sleep`]: it completes once the clock
/// has been advanced past its deadline.
#[must_use = "futures do nothing unless polled"]
pub struct ManualSleep<'a> {
    wait: ManualWait<&'a ManualClock>,
}

impl Future for ManualSleep<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.wait.poll(cx)
    }
}

impl fmt::Debug for ManualSleep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualSleep").field("deadline", &self.wait.deadline).finish()
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("now", &self.now())
            .field("pending_wakeups", &self.pending_wakeups())
            .field("sleepers", &self.sleepers())
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        Instant(self.now.load(Ordering::Acquire))
    }

    fn system_time(&self, at: Instant) -> SystemTime {
        *lock(&self.wall_origin) + Duration::from_nanos(at.as_nanos())
    }

    fn wake_at(&self, at: Instant, wake: Wake) {
        if at <= self.now() {
            wake();
            return;
        }
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        lock(&self.timers).push((at, seq, wake));
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn manual_clock_runs_each_due_wakeup_exactly_once_in_deadline_order() {
        let clock = ManualClock::new();
        let order = Arc::new(Mutex::new(Vec::new()));
        for (at, tag) in [(30, "c"), (10, "a"), (20, "b")] {
            let order = order.clone();
            clock.wake_at(Instant::from_nanos(at), Box::new(move || lock(&order).push(tag)));
        }
        clock.advance(Duration::from_nanos(15));
        assert_eq!(*lock(&order), vec!["a"]);
        clock.advance(Duration::from_nanos(100));
        assert_eq!(*lock(&order), vec!["a", "b", "c"]);
        clock.advance(Duration::from_nanos(100));
        assert_eq!(lock(&order).len(), 3);
        assert_eq!(clock.pending_wakeups(), 0);
    }

    #[test]
    fn manual_clock_saturates_instead_of_wrapping() {
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(10));
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), Instant::from_nanos(u64::MAX));
        clock.advance(Duration::from_secs(1));
        assert_eq!(clock.now(), Instant::from_nanos(u64::MAX));
    }

    #[test]
    fn manual_clock_never_goes_back() {
        let clock = ManualClock::new();
        clock.advance(Duration::from_secs(10));
        clock.advance_to(Instant::from_nanos(5));
        assert_eq!(clock.now(), Instant::from_nanos(10_000_000_000));
    }

    #[test]
    fn wall_clock_jump_leaves_monotonic_time_alone() {
        let clock = ManualClock::new();
        let before = clock.system_time(Instant::ZERO);
        clock.jump_wall_clock(-1800);
        assert_eq!(clock.now(), Instant::ZERO);
        assert_eq!(
            before.duration_since(clock.system_time(Instant::ZERO)).unwrap(),
            Duration::from_secs(1800)
        );
    }
}
