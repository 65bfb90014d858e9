//! [`CallTimer`]: a call's timeout, running in a box that each thread uses again.
//!
//! A response future keeps its call's timer out of line: the timer (tokio's `Sleep`
//! on the real clock) would otherwise be most of the future, and a future that answers
//! at once is moved whole on its way to the caller (see `benches/tower.rs`, where an
//! in-place timer made such a request slower by about a fifth). The timer is started,
//! and its box taken, only when a request first waits; once the request ends, its
//! timer is dropped in place and the emptied box kept by the thread, up to [`SPARES`]
//! of them. In steady traffic a waiting request takes a box on the thread it starts on
//! and gives one back on the thread it ends on, without asking the allocator.

use std::cell::RefCell;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::task::Context;
use std::time::Duration;

use crate::breaker::OwnedSleep;

/// How many emptied boxes a thread keeps.
const SPARES: usize = 64;

pin_project_lite::pin_project! {
    /// A call's timeout, running.
    struct Timer {
        #[pin]
        sleep: OwnedSleep,
        limit: Duration,
    }
}

/// A box for a timer, empty while it is spare.
type Slot = Pin<Box<Option<Timer>>>;

thread_local! {
    static SPARE: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

/// A call's timeout, started: one word in the response future.
pub(super) struct CallTimer {
    // Always full; taken only by `drop`.
    slot: ManuallyDrop<Slot>,
}

impl CallTimer {
    /// A timer of `limit` waiting on `sleep`, in a spare box if the thread has one.
    pub(super) fn start(sleep: OwnedSleep, limit: Duration) -> CallTimer {
        let spare = SPARE.try_with(|spare| spare.borrow_mut().pop()).ok().flatten();
        let mut slot = spare.unwrap_or_else(|| Box::pin(None));
        slot.as_mut().set(Some(Timer { sleep, limit }));
        CallTimer { slot: ManuallyDrop::new(slot) }
    }

    /// Whether the time is up (registering the waker if not).
    pub(super) fn poll_elapsed(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(timer) = self.slot.as_mut().as_pin_mut() else { return false };
        timer.project().sleep.poll_elapsed(cx).is_ready()
    }

    /// The timeout it was started with.
    pub(super) fn limit(&self) -> Duration {
        self.slot.as_ref().get_ref().as_ref().map_or(Duration::ZERO, |timer| timer.limit)
    }
}

impl Drop for CallTimer {
    fn drop(&mut self) {
        // SAFETY: `slot` is not used again; this is the only place that takes it.
        let mut slot = unsafe { ManuallyDrop::take(&mut self.slot) };
        // The wait is dropped in place (off tokio's timer wheel), as its pin requires,
        // before the box is used again; outside of any borrow of the spares.
        slot.as_mut().set(None);
        // While the thread's locals are destroyed, or with the spares full, the box
        // is freed.
        let _ = SPARE.try_with(move |spare| {
            let mut spare = spare.borrow_mut();
            if spare.capacity() == 0 {
                // Once per thread: room for every spare box it may keep.
                spare.reserve_exact(SPARES);
            }
            if spare.len() < SPARES {
                spare.push(slot);
            }
        });
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn boxes() -> Vec<*const Option<Timer>> {
        SPARE.with(|spare| spare.borrow().iter().map(|slot| &**slot as *const _).collect())
    }

    #[test]
    fn an_ended_timer_leaves_its_box_to_the_next_one() {
        let limit = Duration::from_secs(5);
        let first = CallTimer::start(OwnedSleep::tokio(limit), limit);
        assert_eq!(first.limit(), limit);
        let address = &**first.slot as *const Option<Timer>;
        drop(first);
        assert_eq!(boxes().last(), Some(&address), "the emptied box is kept");
        let next = CallTimer::start(OwnedSleep::tokio(Duration::from_secs(1)), Duration::from_secs(1));
        assert_eq!(&**next.slot as *const Option<Timer>, address, "and used again");
        assert_eq!(next.limit(), Duration::from_secs(1));
        assert!(!boxes().contains(&address));
    }

    #[test]
    fn a_timer_leaves_its_clock_before_its_box_is_kept() {
        let clock = std::sync::Arc::new(crate::breaker::ManualClock::new());
        let limit = Duration::from_millis(100);
        let mut timer = CallTimer::start(OwnedSleep::manual(clock.clone(), limit), limit);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert!(!timer.poll_elapsed(&mut cx));
        assert_eq!(clock.sleepers(), 1);
        drop(timer);
        assert_eq!(clock.sleepers(), 0, "the kept box holds no wait");
        // A timer in the box used again runs from its own start.
        let mut again = CallTimer::start(OwnedSleep::manual(clock.clone(), limit), limit);
        assert!(!again.poll_elapsed(&mut cx));
        clock.advance(limit);
        assert!(again.poll_elapsed(&mut cx));
    }

    #[test]
    fn a_thread_keeps_a_bounded_number_of_boxes() {
        let limit = Duration::from_secs(5);
        let timers: Vec<_> =
            (0..SPARES + 10).map(|_| CallTimer::start(OwnedSleep::tokio(limit), limit)).collect();
        drop(timers);
        assert_eq!(boxes().len(), SPARES);
    }
}
