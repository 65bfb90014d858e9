//! A protected call from start to end: admission, bulkhead, timeout, classification,
//! recording, and the hand-over to the fallback chain.
//!
//! [`Attempt`] is written by hand rather than as an `async fn`, for speed: on the path
//! most calls take (admitted, the call ready on its first poll) everything stays in
//! registers and the future's fields are written only if the call has to wait; and the
//! future stays small, because futures are moved and a large one is a large copy on
//! every call. Slow paths (waiting in the bulkhead queue, waiting with a timeout) box
//! what they need.

use std::fmt;
use std::future::Future;
use std::mem::MaybeUninit;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::SemaphorePermit;

use crate::classify::{Classify, DefaultClassifier, Outcome};
use crate::error::Error;
use crate::observe::RejectionKind;
use crate::policy::Timeout;
use crate::policy::fallback::{Cause, Fallback};

use super::machine::Rejected;
use super::permit::Ticket;
use super::settings::CallPolicy;
use super::{CircuitBreaker, Inner};

/// The parts of a call's policy its fallbacks apply, fixed at admission.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FallbackPolicy {
    pub(crate) depth: u32,
    /// 0: no limit.
    pub(crate) timeout_nanos: u64,
}

impl FallbackPolicy {
    pub(crate) fn timeout(&self) -> Option<Duration> {
        (self.timeout_nanos != 0).then(|| Duration::from_nanos(self.timeout_nanos))
    }
}

/// What an attempt turns its end into: the caller's answer directly ([`Direct`]), or
/// the hand-over to a fallback chain ([`ToFallback`]).
pub(crate) trait Finish<T, E> {
    type Output;

    /// Whether [`admitted`](Finish::admitted) must see the policy of a rejected call.
    const NEEDS_POLICY: bool;

    /// The call was admitted under `policy`.
    fn admitted(&mut self, policy: &CallPolicy);

    /// The call's own result, classified as `outcome`: handed back as it is, unless a
    /// failure goes to the fallbacks.
    fn answered(&mut self, result: Result<T, E>, outcome: Outcome) -> Self::Output;

    /// The call was rejected, timed out, or failed.
    fn stopped(&mut self, cause: Cause<E>) -> Self::Output;
}

/// Ends an attempt with the caller's answer.
pub(crate) struct Direct;

impl<T, E: From<Error>> Finish<T, E> for Direct {
    type Output = Result<T, E>;
    const NEEDS_POLICY: bool = false;

    #[inline(always)]
    fn admitted(&mut self, _: &CallPolicy) {}

    #[inline(always)]
    fn answered(&mut self, result: Result<T, E>, _: Outcome) -> Result<T, E> {
        // Without fallbacks a failure is handed back as it is: no need to take the
        // result apart (and copy it) to find out.
        result
    }

    #[inline(always)]
    fn stopped(&mut self, cause: Cause<E>) -> Result<T, E> {
        Err(cause.into_error())
    }
}

/// Ends an attempt with the caller's answer, the breaker's errors turned into the
/// caller's error type by `reject` (the attribute's closure, checked where the
/// attribute writes it, so its use here cannot fail).
pub(crate) struct Convert<Q>(pub(crate) Q);

impl<T, E, Q: Fn(Error) -> E> Finish<T, E> for Convert<Q> {
    type Output = Result<T, E>;
    const NEEDS_POLICY: bool = false;

    #[inline(always)]
    fn admitted(&mut self, _: &CallPolicy) {}

    #[inline(always)]
    fn answered(&mut self, result: Result<T, E>, _: Outcome) -> Result<T, E> {
        result
    }

    #[inline(always)]
    fn stopped(&mut self, cause: Cause<E>) -> Result<T, E> {
        Err(cause.into_error_with(&self.0))
    }
}

/// How an attempt ended, for the fallback chain.
pub(crate) enum Attempted<T, E> {
    Answered(Result<T, E>),
    Stopped(Cause<E>),
}

/// Ends an attempt with what the fallback chain needs.
pub(crate) struct ToFallback {
    policy: FallbackPolicy,
}

impl<T, E> Finish<T, E> for ToFallback {
    type Output = Attempted<T, E>;
    const NEEDS_POLICY: bool = true;

    fn admitted(&mut self, policy: &CallPolicy) {
        self.policy =
            FallbackPolicy { depth: policy.fallback_depth, timeout_nanos: policy.fallback_timeout_nanos };
    }

    fn answered(&mut self, result: Result<T, E>, outcome: Outcome) -> Attempted<T, E> {
        match result {
            Err(error) if outcome == Outcome::Failure => Attempted::Stopped(Cause::Failed(error)),
            result => Attempted::Answered(result),
        }
    }

    fn stopped(&mut self, cause: Cause<E>) -> Attempted<T, E> {
        Attempted::Stopped(cause)
    }
}

/// What a call that has to wait keeps: its timer, or its place in the bulkhead queue.
struct Waiting<'a> {
    timeout: Timeout,
    queue: Option<Pin<Box<dyn Future<Output = Option<SemaphorePermit<'a>>> + Send + 'a>>>,
}

const START: usize = 0;
const QUEUED: usize = 1;
const RUNNING: usize = 2;
const DONE: usize = 3;

/// One call through the breaker.
///
/// `call` is structurally pinned (see [`Attempt::project`]); every other field is
/// plain data, never pinned.
pub(crate) struct Attempt<'a, F, C, D> {
    inner: &'a Inner,
    call: F,
    classify: C,
    finish: D,
    stage: usize,
    /// What an admitted call keeps while it waits: initialised exactly while `stage`
    /// is `QUEUED` or `RUNNING`. Left uninitialised otherwise, so building the future
    /// writes only what it must, and dropping a finished one is one comparison.
    admitted: MaybeUninit<Admitted<'a>>,
}

/// What a call keeps between polls.
struct Admitted<'a> {
    ticket: Ticket,
    seat: Option<SemaphorePermit<'a>>,
    waiting: Option<Box<Waiting<'a>>>,
}

/// The fields of a pinned [`Attempt`], with `call` pinned.
struct Projection<'p, 'a, F, C, D> {
    inner: &'a Inner,
    call: Pin<&'p mut F>,
    classify: &'p mut C,
    finish: &'p mut D,
    stage: &'p mut usize,
    admitted: &'p mut MaybeUninit<Admitted<'a>>,
}

impl<'a, F, C, D> Attempt<'a, F, C, D> {
    #[inline(always)]
    fn project<'p>(self: Pin<&'p mut Self>) -> Projection<'p, 'a, F, C, D> {
        // SAFETY: `call` is never moved out of a pinned `Attempt`, `Drop` does not move
        // it, and `Attempt` is `Unpin` only if `F` is (auto trait); the other fields
        // are not pinned and are handed out as plain references.
        let this = unsafe { self.get_unchecked_mut() };
        Projection {
            inner: this.inner,
            // SAFETY: see above; `call` is structurally pinned.
            call: unsafe { Pin::new_unchecked(&mut this.call) },
            classify: &mut this.classify,
            finish: &mut this.finish,
            stage: &mut this.stage,
            admitted: &mut this.admitted,
        }
    }
}

impl<F, C, D> Drop for Attempt<'_, F, C, D> {
    #[inline]
    fn drop(&mut self) {
        if self.stage == QUEUED || self.stage == RUNNING {
            self.cancelled();
        }
    }
}

impl<F, C, D> Attempt<'_, F, C, D> {
    /// Dropped while queued or running: a cancelled call records nothing and gives its
    /// probe place and its bulkhead place back.
    #[cold]
    fn cancelled(&mut self) {
        self.stage = DONE;
        // SAFETY: `admitted` is initialised while the stage was QUEUED or RUNNING (the
        // caller checked), and is read once: the stage is now DONE.
        let admitted = unsafe { self.admitted.assume_init_read() };
        self.inner.cancel(&admitted.ticket);
        if let Some(seat) = admitted.seat {
            self.inner.bulkhead.leave(seat);
        }
    }
}

impl<'a, F, C, D> Attempt<'a, F, C, D> {
    #[inline]
    pub(crate) fn new(inner: &'a Inner, call: F, classify: C, finish: D) -> Self {
        Attempt { inner, call, classify, finish, stage: START, admitted: MaybeUninit::uninit() }
    }
}

impl<T, E, F, C, D> Future for Attempt<'_, F, C, D>
where
    F: Future<Output = Result<T, E>>,
    C: Classify<T, E>,
    D: Finish<T, E>,
{
    type Output = D::Output;

    /// Every path that can hand back the call's own result is inlined here: were a
    /// result to cross a call boundary, it would go through memory, and reading a
    /// result back in other widths than it was written stalls the processor (a failed
    /// store-to-load forward) on the path every call takes. Only the waits (the queue,
    /// the timer) are out of line, and they return a flag.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<D::Output> {
        let mut this = self.project();
        let inner: &Inner = this.inner;
        if *this.stage == START {
            let (generation, kind) = match inner.admit() {
                Ok(admission) => admission,
                Err(rejected) => {
                    *this.stage = DONE;
                    if D::NEEDS_POLICY {
                        this.finish.admitted(&inner.settings.policy());
                    }
                    return Poll::Ready(this.finish.stopped(Cause::Rejected(rejected)));
                }
            };
            let policy = inner.settings.policy();
            this.finish.admitted(&policy);
            let ticket = inner.ticket(generation, kind, policy.slow_call_nanos);
            // The bulkhead is taken after admission, so an open circuit never touches it.
            let mut seat = None;
            if policy.max_concurrent != 0 {
                seat = inner.bulkhead.try_enter();
                if seat.is_none() {
                    if policy.queue == 0 {
                        *this.stage = DONE;
                        return Poll::Ready(bulkhead_full(inner, &ticket, this.finish));
                    }
                    let queue = inner.bulkhead.wait(policy.queue, policy.queue_timeout());
                    let waiting =
                        Waiting { timeout: Timeout::new(policy.timeout_nanos), queue: Some(Box::pin(queue)) };
                    this.admitted.write(Admitted { ticket, seat: None, waiting: Some(Box::new(waiting)) });
                    *this.stage = QUEUED;
                }
            }
            if *this.stage == START {
                // The path most calls take: run at once, and finish without storing.
                // If the body panics, the guard cancels the call (gives a probe place
                // back) while unwinding; it costs nothing otherwise.
                let unwinding = CancelOnUnwind { inner, ticket: &ticket };
                let polled = this.call.as_mut().poll(cx);
                std::mem::forget(unwinding);
                return match polled {
                    Poll::Ready(result) => {
                        *this.stage = DONE;
                        Poll::Ready(answer(inner, &ticket, seat, this.classify, this.finish, result))
                    }
                    Poll::Pending => {
                        let waiting = (policy.timeout_nanos != 0).then(|| {
                            Box::new(Waiting { timeout: Timeout::new(policy.timeout_nanos), queue: None })
                        });
                        this.admitted.write(Admitted { ticket, seat, waiting });
                        *this.stage = RUNNING;
                        timer(inner, this.finish, this.stage, this.admitted, cx)
                    }
                };
            }
        }
        if *this.stage == QUEUED {
            // SAFETY: initialised while the stage is QUEUED.
            match poll_queue(unsafe { this.admitted.assume_init_mut() }, cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(true) => *this.stage = RUNNING,
                Poll::Ready(false) => {
                    *this.stage = DONE;
                    // SAFETY: read once; the stage is DONE, so nothing reads it again.
                    let admitted = unsafe { this.admitted.assume_init_read() };
                    return Poll::Ready(bulkhead_full(inner, &admitted.ticket, this.finish));
                }
            }
        }
        assert!(*this.stage == RUNNING, "a protected call was polled after it completed");
        match this.call.as_mut().poll(cx) {
            Poll::Ready(result) => {
                *this.stage = DONE;
                // SAFETY: read once; the stage is DONE, so neither `poll` nor `Drop`
                // reads it again.
                let Admitted { ticket, seat, .. } = unsafe { this.admitted.assume_init_read() };
                Poll::Ready(answer(inner, &ticket, seat, this.classify, this.finish, result))
            }
            Poll::Pending => timer(inner, this.finish, this.stage, this.admitted, cx),
        }
    }
}

/// Cancels an admitted call if dropped, which happens only while unwinding from a
/// panic in the protected body or its classifier.
struct CancelOnUnwind<'a> {
    inner: &'a Inner,
    ticket: &'a Ticket,
}

impl Drop for CancelOnUnwind<'_> {
    fn drop(&mut self) {
        self.inner.cancel(self.ticket);
    }
}

/// A queued call waits for its place: `true` once it has one, `false` if the queue
/// gave up on it.
#[inline(never)]
fn poll_queue(held: &mut Admitted<'_>, cx: &mut Context<'_>) -> Poll<bool> {
    let waiting = held.waiting.as_mut().expect("a queued call holds its place in the queue");
    let queue = waiting.queue.as_mut().expect("a queued call holds its place in the queue");
    let entered = std::task::ready!(queue.as_mut().poll(cx));
    waiting.queue = None;
    held.seat = entered;
    Poll::Ready(held.seat.is_some())
}

/// A running call returned `Pending`: it goes on waiting, unless its timeout has
/// passed, which ends it as a failure.
#[inline(always)]
fn timer<'a, T, E, D: Finish<T, E>>(
    inner: &'a Inner,
    finish: &mut D,
    stage: &mut usize,
    admitted: &mut MaybeUninit<Admitted<'a>>,
    cx: &mut Context<'_>,
) -> Poll<D::Output> {
    // SAFETY: initialised while the stage is RUNNING, which the callers set or checked.
    let held = unsafe { admitted.assume_init_mut() };
    let Some(waiting) = held.waiting.as_mut() else { return Poll::Pending };
    if !elapsed(&mut waiting.timeout, cx) {
        return Poll::Pending;
    }
    *stage = DONE;
    // SAFETY: read once; the stage is DONE, so neither `poll` nor `Drop` reads it again.
    let Admitted { ticket, seat, waiting } = unsafe { admitted.assume_init_read() };
    if let Some(seat) = seat {
        inner.bulkhead.leave(seat);
    }
    let limit = waiting.map_or(Duration::ZERO, |w| w.timeout.limit());
    inner.complete(&ticket, Outcome::Failure, true);
    Poll::Ready(finish.stopped(Cause::TimedOut(Error::Timeout { service: inner.service, timeout: limit })))
}

/// Whether the timer of a waiting call has run out (registering the waker if not).
#[inline(never)]
fn elapsed(timeout: &mut Timeout, cx: &mut Context<'_>) -> bool {
    timeout.poll_elapsed(cx).is_ready()
}

/// Gives the call's bulkhead place back, classifies and records its result, and ends
/// the attempt with it.
#[inline(always)]
fn answer<T, E, C: Classify<T, E>, D: Finish<T, E>>(
    inner: &Inner,
    ticket: &Ticket,
    seat: Option<SemaphorePermit<'_>>,
    classify: &C,
    finish: &mut D,
    result: Result<T, E>,
) -> D::Output {
    if let Some(seat) = seat {
        inner.bulkhead.leave(seat);
    }
    // A classifier is user code: if it panics, the call counts for nothing and gives its
    // probe place back while unwinding (the guard costs nothing otherwise).
    let unwinding = CancelOnUnwind { inner, ticket };
    let outcome = classify.classify(&result);
    std::mem::forget(unwinding);
    inner.complete(ticket, outcome, false);
    finish.answered(result, outcome)
}

/// The bulkhead turned an admitted call away: it records nothing (a rejection is not a
/// failure) and gives a probe place back. The error is built inline, for the reason
/// given on [`Attempt::poll`]; only the bookkeeping is out of line.
#[inline(always)]
fn bulkhead_full<T, E, D: Finish<T, E>>(inner: &Inner, ticket: &Ticket, finish: &mut D) -> D::Output {
    turned_away(inner, ticket);
    let rejected = Rejected { kind: RejectionKind::Bulkhead, retry_after_nanos: super::machine::NO_RETRY };
    finish.stopped(Cause::Rejected(inner.rejection_error(rejected)))
}

#[cold]
#[inline(never)]
fn turned_away(inner: &Inner, ticket: &Ticket) {
    inner.cancel(ticket);
    inner.count_rejection(RejectionKind::Bulkhead);
}

/// The future of [`CircuitBreaker::call`] and [`CircuitBreaker::call_with`].
///
/// It does nothing until polled; dropping it before it completes cancels the call,
/// which then counts for nothing.
#[must_use = "futures do nothing unless polled"]
pub struct Call<'a, F, C = DefaultClassifier> {
    attempt: Attempt<'a, F, C, Direct>,
}

impl<T, E, F, C> Future for Call<'_, F, C>
where
    F: Future<Output = Result<T, E>>,
    C: Classify<T, E>,
    E: From<Error>,
{
    type Output = Result<T, E>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        // SAFETY: `attempt` is structurally pinned: `Call` never moves it.
        unsafe { self.map_unchecked_mut(|call| &mut call.attempt) }.poll(cx)
    }
}

impl<F, C> fmt::Debug for Call<'_, F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Call").field("service", &self.attempt.inner.service).finish()
    }
}

impl CircuitBreaker {
    /// Runs `call` through the breaker: every `Err` is a failure.
    ///
    /// A rejected call is not run and returns the rejection ([`Error::CircuitOpen`],
    /// [`Error::ProbeLimit`] or [`Error::BulkheadFull`]) in the call's error type; a call
    /// that takes longer than `timeout` returns [`Error::Timeout`]. Dropping the
    /// returned future cancels the call, which then counts for nothing.
    #[inline]
    pub fn call<T, E, F>(&self, call: F) -> Call<'_, F>
    where
        F: Future<Output = Result<T, E>>,
        E: From<Error>,
    {
        Call { attempt: Attempt::new(&self.inner, call, DefaultClassifier, Direct) }
    }

    /// Runs `call` through the breaker, with `classify` deciding what counts as a
    /// failure.
    #[inline]
    pub fn call_with<T, E, C, F>(&self, classify: C, call: F) -> Call<'_, F, C>
    where
        F: Future<Output = Result<T, E>>,
        E: From<Error>,
        C: Classify<T, E>,
    {
        Call { attempt: Attempt::new(&self.inner, call, classify, Direct) }
    }

    /// Runs `call` through the breaker, and `fallback` (a closure or a
    /// [`chain`](crate::fallback::chain)) when the call is rejected, times out, or
    /// returns an error classified as a failure. Errors classified as ignored are
    /// returned as they are.
    pub async fn call_with_fallback<T, E, C, F, B>(&self, classify: C, call: F, fallback: B) -> Result<T, E>
    where
        F: Future<Output = Result<T, E>>,
        E: From<Error>,
        C: Classify<T, E>,
        B: Fallback<T, E>,
    {
        protect_with_fallback(&self.inner, classify, call, fallback, E::from).await
    }
}

/// A protected call with a fallback chain, the breaker's errors turned into the
/// caller's by `reject`: [`CircuitBreaker::call_with_fallback`], and the attribute's
/// expansion (which passes a `reject` it has checked, so no bound on `E` is needed).
pub(crate) async fn protect_with_fallback<T, E, C, F, B, Q>(
    inner: &Inner,
    classify: C,
    call: F,
    fallback: B,
    reject: Q,
) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    C: Classify<T, E>,
    B: Fallback<T, E>,
    Q: Fn(Error) -> E,
{
    // The attempt (and with it the protected body) lives only in this block: a body
    // cut by its timeout is dropped, releasing whatever it holds, before the first
    // fallback starts.
    let (attempted, policy) = {
        let finish = ToFallback { policy: FallbackPolicy::default() };
        let mut attempt = pin!(Attempt::new(inner, call, classify, finish));
        let attempted = attempt.as_mut().await;
        (attempted, attempt.as_mut().project().finish.policy)
    };
    match attempted {
        Attempted::Answered(result) => result,
        Attempted::Stopped(cause) => inner.fall_back(fallback, cause, policy, reject).await,
    }
}
