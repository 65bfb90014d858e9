//! The bulkhead: at most `max_concurrent` calls of a service run at once; up to
//! `queue` more wait at most `queue_timeout` for a place, in arrival order; the rest
//! are rejected.
//!
//! A counting semaphore of its own, so that taking and giving back a place are one
//! atomic operation each while nobody waits (tokio's semaphore locks its wait list on
//! every release), and a waiting call allocates nothing: the wait list is a slab
//! reserved for the queue's length. The free places and the number of waiting calls
//! share one atomic word, so a place given back while calls wait goes to the first of
//! them, never to a newcomer.

use std::collections::VecDeque;
use std::task::{Context, Poll, Waker};

use crate::sync::{AtomicU32, AtomicU64, Mutex, Ordering, lock};

/// Free places (low half) and waiting calls (high half) of a bulkhead.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Word(u64);

impl Word {
    const fn new(free: u32, waiting: u32) -> Word {
        Word((waiting as u64) << 32 | free as u64)
    }
    const fn free(self) -> u32 {
        self.0 as u32
    }
    const fn waiting(self) -> u32 {
        (self.0 >> 32) as u32
    }
}

/// The most places the wait list reserves ahead; a longer queue grows it as calls wait.
const RESERVED: usize = 1024;

pub(crate) struct Bulkhead {
    /// See [`Word`].
    word: AtomicU64,
    /// Places in all (free, taken, or handed to a waiting call).
    capacity: AtomicU32,
    /// Places still to take away after the capacity shrank while they were in use:
    /// the next places given back are dropped instead of freed.
    debt: AtomicU32,
    waiters: Mutex<Waiters>,
}

/// The waiting calls, in arrival order.
struct Waiters {
    queue: VecDeque<Waiter>,
    next_id: u64,
}

struct Waiter {
    id: u64,
    waker: Option<Waker>,
    /// A place was handed to it: it is the call's, once it sees it.
    granted: bool,
}

/// A place in the bulkhead, given back when dropped.
#[must_use = "a place is given back when dropped"]
pub(crate) struct Seat<'a>(&'a Bulkhead);

#[cfg(feature = "tower")]
impl Seat<'_> {
    /// Keeps the place without a guard: its holder gives it back with
    /// [`Bulkhead::give_back`].
    pub(crate) fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for Seat<'_> {
    #[inline]
    fn drop(&mut self) {
        self.0.release();
    }
}

/// A call waiting in the queue, from [`Bulkhead::queue`]; dropping it leaves the queue
/// (giving back a place handed to it meanwhile).
pub(crate) struct Queued<'a> {
    bulkhead: &'a Bulkhead,
    /// `None` once the call has its place.
    id: Option<u64>,
}

impl Bulkhead {
    pub(crate) fn new(max_concurrent: Option<u32>) -> Bulkhead {
        let capacity = max_concurrent.unwrap_or(0);
        Bulkhead {
            word: AtomicU64::new(Word::new(capacity, 0).0),
            capacity: AtomicU32::new(capacity),
            debt: AtomicU32::new(0),
            waiters: Mutex::new(Waiters { queue: VecDeque::new(), next_id: 0 }),
        }
    }

    /// A free place, if there is one and nobody waits for it: the fast path, one
    /// atomic operation.
    #[inline]
    pub(crate) fn try_enter(&self) -> Option<Seat<'_>> {
        // Acquire: the place comes from a release; nothing else is published with it,
        // but the seat's holder must not run before it has it.
        let mut word = Word(self.word.load(Ordering::Relaxed));
        loop {
            if word.free() == 0 || word.waiting() != 0 {
                return None;
            }
            let next = Word(word.0 - 1);
            match self.word.compare_exchange_weak(word.0, next.0, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return Some(Seat(self)),
                Err(actual) => word = Word(actual),
            }
        }
    }

    /// Gives back a place kept with [`Seat::keep`].
    #[cfg(feature = "tower")]
    pub(crate) fn give_back(&self) {
        self.release();
    }

    /// Gives a place back: to the first waiting call if there is one, else free.
    #[inline]
    fn release(&self) {
        if self.debt.load(Ordering::Relaxed) != 0 && self.pay_debt() {
            return;
        }
        self.release_new();
    }

    /// Takes one place away for good, if the capacity shrank while it was in use.
    #[cold]
    fn pay_debt(&self) -> bool {
        let mut owed = self.debt.load(Ordering::Relaxed);
        while owed > 0 {
            match self.debt.compare_exchange_weak(owed, owed - 1, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(actual) => owed = actual,
            }
        }
        false
    }

    /// A place given back while calls wait: it goes to the first of them.
    #[cold]
    fn hand_over(&self) {
        let mut waiters = lock(&self.waiters);
        // Under the lock the waiting count only changes here and in `queue`/`leave`,
        // which also hold it: if it dropped to 0 meanwhile, the place is freed.
        if let Some(first) = waiters.queue.iter_mut().find(|w| !w.granted) {
            first.granted = true;
            self.word.fetch_sub(1 << 32, Ordering::AcqRel);
            if let Some(waker) = first.waker.take() {
                drop(waiters);
                waker.wake();
            }
        } else {
            self.word.fetch_add(1, Ordering::Release);
        }
    }

    /// Joins the queue if it has room (fewer than `queue` calls wait), or takes a place
    /// that freed up meanwhile; `None` if the queue is full.
    pub(crate) fn queue(&self, queue: u32) -> Option<Result<Seat<'_>, Queued<'_>>> {
        let mut waiters = lock(&self.waiters);
        let mut word = Word(self.word.load(Ordering::Acquire));
        loop {
            let (next, entered) = if word.free() > 0 && word.waiting() == 0 {
                (Word(word.0 - 1), true)
            } else if word.waiting() >= queue {
                return None;
            } else {
                (Word::new(word.free(), word.waiting() + 1), false)
            };
            match self.word.compare_exchange_weak(word.0, next.0, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) if entered => return Some(Ok(Seat(self))),
                Ok(_) => break,
                Err(actual) => word = Word(actual),
            }
        }
        let id = waiters.next_id;
        waiters.next_id += 1;
        if waiters.queue.capacity() == 0 {
            waiters.queue.reserve(queue.min(RESERVED as u32) as usize);
        }
        waiters.queue.push_back(Waiter { id, waker: None, granted: false });
        Some(Err(Queued { bulkhead: self, id: Some(id) }))
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
            for _ in 0..added {
                self.release_new();
            }
        } else if new < old {
            let mut removed = old - new;
            let mut word = Word(self.word.load(Ordering::Acquire));
            loop {
                let taken = word.free().min(removed);
                let next = Word(word.0 - u64::from(taken));
                match self.word.compare_exchange_weak(word.0, next.0, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => {
                        removed -= taken;
                        break;
                    }
                    Err(actual) => word = Word(actual),
                }
            }
            self.debt.fetch_add(removed, Ordering::Relaxed);
        }
    }

    /// A place that is not owed (given back, or new from a grown capacity): to the
    /// first waiting call, or free.
    #[inline]
    fn release_new(&self) {
        let mut word = Word(self.word.load(Ordering::Relaxed));
        while word.waiting() == 0 {
            // Release: pairs with the Acquire of the next taker.
            match self.word.compare_exchange_weak(word.0, word.0 + 1, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => word = Word(actual),
            }
        }
        self.hand_over();
    }

    /// Places taken.
    pub(crate) fn in_use(&self) -> u32 {
        let capacity = self.capacity.load(Ordering::Relaxed) + self.debt.load(Ordering::Relaxed);
        capacity.saturating_sub(Word(self.word.load(Ordering::Relaxed)).free())
    }

    /// Calls waiting for a place.
    pub(crate) fn queued(&self) -> u32 {
        Word(self.word.load(Ordering::Relaxed)).waiting()
    }
}

impl<'a> Queued<'a> {
    /// Ready with the place once one is handed to the call.
    pub(crate) fn poll_seat(&mut self, cx: &mut Context<'_>) -> Poll<Seat<'a>> {
        let Some(id) = self.id else { return Poll::Pending };
        let mut waiters = lock(&self.bulkhead.waiters);
        let Some(at) = waiters.queue.iter().position(|w| w.id == id) else { return Poll::Pending };
        if waiters.queue[at].granted {
            waiters.queue.remove(at);
            self.id = None;
            return Poll::Ready(Seat(self.bulkhead));
        }
        let waiter = &mut waiters.queue[at];
        match &waiter.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            _ => waiter.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for Queued<'_> {
    fn drop(&mut self) {
        let Some(id) = self.id else { return };
        let mut waiters = lock(&self.bulkhead.waiters);
        let Some(at) = waiters.queue.iter().position(|w| w.id == id) else { return };
        let left = waiters.queue.remove(at);
        if left.is_some_and(|w| w.granted) {
            // A place was handed over but never taken: pass it on.
            drop(waiters);
            self.bulkhead.release();
        } else {
            // Under the lock, as `hand_over` and `queue` count on: lowered after it, a
            // place freed meanwhile could find no waiter to hand over to while a call
            // that queued behind this one still waits for it.
            self.bulkhead.word.fetch_sub(1 << 32, Ordering::AcqRel);
            drop(waiters);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::sync::Arc;

    async fn wait(b: &Bulkhead, queue: u32) -> Option<Seat<'_>> {
        match b.try_enter() {
            Some(seat) => Some(seat),
            None => match b.queue(queue)? {
                Ok(seat) => Some(seat),
                Err(mut queued) => Some(poll_fn(|cx| queued.poll_seat(cx)).await),
            },
        }
    }

    #[test]
    fn a_full_bulkhead_rejects_at_once_and_a_freed_place_is_taken() {
        let b = Bulkhead::new(Some(2));
        let s1 = b.try_enter().unwrap();
        let _s2 = b.try_enter().unwrap();
        assert!(b.try_enter().is_none());
        assert_eq!(b.in_use(), 2);
        drop(s1);
        assert!(b.try_enter().is_some());
    }

    #[tokio::test]
    async fn a_queued_call_gets_a_place_when_one_frees_up_and_a_newcomer_does_not_jump_the_queue() {
        let b = Arc::new(Bulkhead::new(Some(1)));
        let seat = b.try_enter().unwrap();
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move { wait(&b, 1).await.is_some() })
        };
        tokio::task::yield_now().await;
        assert_eq!(b.queued(), 1);
        assert!(b.queue(1).is_none(), "the queue is full");
        drop(seat);
        assert!(b.try_enter().is_none(), "the place went to the waiting call");
        assert!(waiter.await.unwrap());
        assert_eq!((b.queued(), b.in_use()), (0, 0));
    }

    #[test]
    fn a_call_leaving_the_queue_passes_on_a_place_handed_to_it() {
        let b = Bulkhead::new(Some(1));
        let seat = b.try_enter().unwrap();
        let Some(Err(first)) = b.queue(2) else { panic!("queued") };
        let Some(Err(mut second)) = b.queue(2) else { panic!("queued") };
        drop(seat); // handed to `first`
        drop(first); // which leaves without taking it: `second` gets it
        let mut cx = Context::from_waker(Waker::noop());
        assert!(second.poll_seat(&mut cx).is_ready());
        assert_eq!(b.queued(), 0);
    }

    #[test]
    fn shrinking_while_in_use_takes_places_away_as_they_free() {
        let b = Bulkhead::new(Some(3));
        let seats: Vec<_> = (0..3).map(|_| b.try_enter().unwrap()).collect();
        b.resize(Some(1));
        assert_eq!(b.in_use(), 3);
        drop(seats);
        assert_eq!(b.in_use(), 0);
        let one = b.try_enter().unwrap();
        assert!(b.try_enter().is_none());
        b.resize(Some(2));
        assert!(b.try_enter().is_some());
        drop(one);
    }

    #[test]
    fn threads_entering_at_once_never_exceed_the_capacity() {
        let b = Arc::new(Bulkhead::new(Some(3)));
        let running = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (b, running) = (b.clone(), running.clone());
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        if let Some(seat) = b.try_enter() {
                            let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                            assert!(now <= 3, "{now} calls ran at once");
                            running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                            drop(seat);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(b.in_use(), 0);
    }
}
