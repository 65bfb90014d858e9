//! A protected call from start to end: admission, bulkhead, timeout, classification,
//! recording, and the hand-over to the fallback chain.
//!
//! [`Attempt`] is written by hand rather than as an `async fn`, for speed: on the path
//! most calls take (admitted, the call ready on its first poll) the call's own result
//! never leaves the inlined `poll` (a result that crossed a call boundary would go
//! through memory, and reading it back in other widths than it was written stalls the
//! processor, a failed store-to-load forward), and the future's waiting state is
//! written only if the call has to wait. A call that waits (in the bulkhead queue, or
//! with a timeout) keeps what it waits with inside the future: it allocates nothing.

use std::fmt;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use crate::classify::{Classify, DefaultClassifier, Outcome};
use crate::error::Error;
use crate::observe::RejectionKind;
use crate::policy::bulkhead::{Queued, Seat};
use crate::policy::fallback::{Cause, Fallback};

use super::clock::Sleep;
use super::failing;
use super::machine::{NO_RETRY, Rejected};
use super::permit::{Kind, Ticket};
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

    /// The call was admitted as a probe of a half-open circuit (`probe`), or closed.
    #[inline(always)]
    fn admitted_as(&mut self, probe: bool) {
        let _ = probe;
    }

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

pin_project_lite::pin_project! {
    /// One call through the breaker: the protected future (`body`), and where the call
    /// is (`stage`).
    pub(crate) struct Attempt<'a, F, C, D> {
        inner: &'a Inner,
        classify: C,
        finish: D,
        #[pin]
        body: Body<F>,
        #[pin]
        stage: Stage<'a>,
    }

    impl<F, C, D> PinnedDrop for Attempt<'_, F, C, D> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // Dropped while queued or running: the call was cancelled. It records nothing
            // and gives its probe place back; its bulkhead place and its place in the
            // queue are given back by their own drop.
            if let StageProj::Waiting { waiting } = this.stage.project() {
                this.inner.cancel(waiting.pinned().ticket);
            }
        }
    }
}

pin_project_lite::pin_project! {
    /// The protected future, dropped as soon as the call is cut by its timeout (so
    /// whatever it holds is released before any fallback runs).
    #[project = BodyProj]
    #[project_replace = BodyGone]
    enum Body<F> {
        Live { #[pin] future: F },
        Gone,
    }
}

pin_project_lite::pin_project! {
    /// Where an attempt is. What a waiting call keeps is one struct (`Waiting`), so the
    /// drop of this enum is a test of its tag and one call for a waiting call: small
    /// enough to be inlined, and to vanish where the tag is known (a call that
    /// completes at once is dropped `Done`).
    #[project = StageProj]
    enum Stage<'a> {
        /// Not polled yet.
        Start,
        /// Admitted, and waiting: for a bulkhead place, or for its body.
        Waiting { #[pin] waiting: OutOfLine<Waiting<'a>> },
        /// Finished: it handed its answer back.
        Done,
    }
}

pin_project_lite::pin_project! {
    /// What an admitted call keeps while it waits: its ticket, its place in the
    /// bulkhead queue (while queued) or its bulkhead place (while running), and its
    /// timer (the queue timeout while queued, the call timeout while running).
    struct Waiting<'a> {
        ticket: Ticket,
        queued: Option<Queued<'a>>,
        seat: Option<Seat<'a>>,
        // The call timeout, to apply once the call runs.
        timeout_nanos: u64,
        #[pin]
        timer: Sleep<'a>,
    }
}

impl<'a, F, C, D> Attempt<'a, F, C, D> {
    #[inline]
    pub(crate) fn new(inner: &'a Inner, call: F, classify: C, finish: D) -> Self {
        Attempt { inner, classify, finish, body: Body::Live { future: call }, stage: Stage::Start }
    }
}

/// A [`Finish`] that also records, in the call's `tracing` span (`trace = true`), how
/// the call was admitted and how it ended. Without a span (a fallback chain's attempt
/// that is not traced) it only forwards: a test of `None` per step.
pub(crate) struct Traced<D> {
    pub(crate) finish: D,
    pub(crate) span: Option<Box<tracing::Span>>,
}

impl<D> Traced<D> {
    /// Records `value` as the span's `field`.
    #[inline(always)]
    pub(crate) fn record(&self, field: &str, value: &str) {
        if let Some(span) = &self.span {
            span.record(field, value);
        }
    }
}

/// The span of a call of `inner`'s service: the service and the state at admission
/// now, the decision, the outcome and the fallback as the call goes.
#[cold]
#[inline(never)]
pub(crate) fn call_span(inner: &Inner) -> tracing::Span {
    tracing::info_span!(
        "circuit_breaker",
        service = inner.service,
        state = inner.load().1.as_str(),
        decision = tracing::field::Empty,
        rejection = tracing::field::Empty,
        outcome = tracing::field::Empty,
        fallback = tracing::field::Empty,
    )
}

impl<T, E, D: Finish<T, E>> Finish<T, E> for Traced<D> {
    type Output = D::Output;
    const NEEDS_POLICY: bool = D::NEEDS_POLICY;

    #[inline(always)]
    fn admitted(&mut self, policy: &CallPolicy) {
        self.finish.admitted(policy);
    }

    #[inline(always)]
    fn admitted_as(&mut self, probe: bool) {
        self.record("decision", if probe { "probe" } else { "admitted" });
        self.finish.admitted_as(probe);
    }

    #[inline(always)]
    fn answered(&mut self, result: Result<T, E>, outcome: Outcome) -> D::Output {
        if self.span.is_some() {
            let outcome = match outcome {
                Outcome::Success => "success",
                Outcome::Failure => "failure",
                Outcome::Ignored => "ignored",
            };
            self.record("outcome", outcome);
        }
        self.finish.answered(result, outcome)
    }

    #[inline(always)]
    fn stopped(&mut self, cause: Cause<E>) -> D::Output {
        if let Some(span) = &self.span {
            match &cause {
                Cause::Rejected(error) => {
                    span.record("decision", "rejected");
                    span.record("rejection", tracing::field::display(error));
                }
                Cause::TimedOut(_) => {
                    span.record("outcome", "timeout");
                }
                Cause::Failed(_) => {
                    span.record("outcome", "failure");
                }
            }
        }
        self.finish.stopped(cause)
    }
}

impl<T, E, F, C, D> Future for Attempt<'_, F, C, D>
where
    F: Future<Output = Result<T, E>>,
    C: Classify<T, E>,
    D: Finish<T, E>,
{
    type Output = D::Output;

    /// Every path that can hand back the call's own result is inlined here (see the
    /// module's comment). Only the waits (the queue, the timer) are out of line, and
    /// they return a flag.
    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<D::Output> {
        let mut this = self.project();
        let inner: &Inner = this.inner;
        if let StageProj::Start = this.stage.as_mut().project() {
            let (generation, kind) = match inner.admit() {
                Ok(admission) => admission,
                Err(rejected) => {
                    this.stage.set(Stage::Done);
                    if D::NEEDS_POLICY {
                        this.finish.admitted(&inner.settings.policy());
                    }
                    return Poll::Ready(this.finish.stopped(Cause::Rejected(rejected)));
                }
            };
            let policy = if D::NEEDS_POLICY { inner.settings.policy() } else { inner.settings.call_policy() };
            this.finish.admitted(&policy);
            this.finish.admitted_as(kind == Kind::Probe);
            let ticket = inner.ticket(generation, kind, policy.slow_call_nanos);
            // The bulkhead is taken after admission, so an open circuit never touches it.
            let mut seat = None;
            if policy.max_concurrent != 0 {
                seat = inner.bulkhead.try_enter();
                if seat.is_none() {
                    match inner.bulkhead.queue(policy.queue) {
                        None => {
                            this.stage.set(Stage::Done);
                            return Poll::Ready(bulkhead_full(inner, ticket, this.finish));
                        }
                        Some(Ok(entered)) => seat = Some(entered),
                        Some(Err(queued)) => {
                            let waiting = Waiting {
                                ticket,
                                queued: Some(queued),
                                seat: None,
                                timeout_nanos: policy.timeout_nanos,
                                timer: inner.clock.sleep(policy.queue_timeout()),
                            };
                            this.stage.set(Stage::Waiting { waiting: OutOfLine::new(waiting) });
                            return wait_then_run(
                                inner,
                                this.body,
                                this.stage,
                                this.classify,
                                this.finish,
                                cx,
                            );
                        }
                    }
                }
            }
            // The path most calls take: run at once, and finish without storing. If the
            // body of a probe panics, the guard gives its probe place back while
            // unwinding (a closed call has nothing to give back, and no guard).
            let BodyProj::Live { future } = this.body.as_mut().project() else {
                unreachable!("the body of a call not started is there")
            };
            let polled = if ticket.kind == Kind::Probe {
                let unwinding = CancelOnUnwind { inner, ticket };
                let polled = future.poll(cx);
                std::mem::forget(unwinding);
                polled
            } else {
                future.poll(cx)
            };
            return match polled {
                Poll::Ready(result) => {
                    this.stage.set(Stage::Done);
                    Poll::Ready(answer(inner, ticket, seat, this.classify, this.finish, result))
                }
                Poll::Pending => {
                    let waiting = Waiting {
                        ticket,
                        queued: None,
                        seat,
                        timeout_nanos: policy.timeout_nanos,
                        timer: inner.clock.sleep(Duration::from_nanos(policy.timeout_nanos)),
                    };
                    this.stage.set(Stage::Waiting { waiting: OutOfLine::new(waiting) });
                    match elapsed(this.stage.as_mut(), cx) {
                        false => Poll::Pending,
                        true => Poll::Ready(timed_out(inner, this.body, this.stage, this.finish)),
                    }
                }
            };
        }
        wait_then_run(inner, this.body, this.stage, this.classify, this.finish, cx)
    }
}

/// A call that waited (in the queue, or for its body) polled again: it takes its place
/// if it was queued, then polls its body, and watches its timer.
#[inline(always)]
fn wait_then_run<'a, T, E, F, C, D>(
    inner: &'a Inner,
    mut body: Pin<&mut Body<F>>,
    mut stage: Pin<&mut Stage<'a>>,
    classify: &C,
    finish: &mut D,
    cx: &mut Context<'_>,
) -> Poll<D::Output>
where
    F: Future<Output = Result<T, E>>,
    C: Classify<T, E>,
    D: Finish<T, E>,
{
    match stage.as_mut().project() {
        StageProj::Waiting { waiting } => {
            let waiting = waiting.pinned();
            if waiting.queued.is_some() {
                match wait_for_seat(inner, waiting, cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(true) => {}
                    Poll::Ready(false) => {
                        let (ticket, _) = finished(stage);
                        body.project_replace(Body::Gone);
                        return Poll::Ready(bulkhead_full(inner, ticket, finish));
                    }
                }
            }
        }
        StageProj::Start | StageProj::Done => panic!("a protected call was polled after it completed"),
    }
    let polled = match body.as_mut().project() {
        BodyProj::Live { future } => future.poll(cx),
        BodyProj::Gone => unreachable!("a running call has its body"),
    };
    match polled {
        Poll::Ready(result) => {
            let (ticket, seat) = finished(stage);
            Poll::Ready(answer(inner, ticket, seat, classify, finish, result))
        }
        Poll::Pending => match elapsed(stage.as_mut(), cx) {
            false => Poll::Pending,
            true => Poll::Ready(timed_out(inner, body, stage, finish)),
        },
    }
}

/// A value whose drop runs out of line.
///
/// The drop of `Stage` is then a test of its tag and, for a waiting call, one call:
/// small enough for the compiler to inline it, and to remove it where the tag is known
/// (a call that completed at once is dropped `Done`). With the waiting state's drop
/// inlined into it (its timer, its bulkhead place), the drop of `Stage` is a function
/// of its own, called twice by every call; measured with `benches/instructions.rs`,
/// that cost the closed path 12 and an open rejection 33 instructions.
struct OutOfLine<T>(ManuallyDrop<T>);

impl<T> OutOfLine<T> {
    #[inline(always)]
    fn new(value: T) -> OutOfLine<T> {
        OutOfLine(ManuallyDrop::new(value))
    }

    /// The value, pinned.
    #[inline(always)]
    fn pinned(self: Pin<&mut Self>) -> Pin<&mut T> {
        // SAFETY: the value is pinned structurally: `OutOfLine` never moves it out, and
        // drops it in place, once, in its own drop.
        unsafe { self.map_unchecked_mut(|this| &mut *this.0) }
    }
}

impl<T> Drop for OutOfLine<T> {
    #[inline(never)]
    fn drop(&mut self) {
        // SAFETY: dropped once, here, in place; the value is not used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.0) }
    }
}

/// Cancels an admitted call if dropped, which happens only while unwinding from a
/// panic in the protected body or its classifier.
struct CancelOnUnwind<'a> {
    inner: &'a Inner,
    ticket: Ticket,
}

impl Drop for CancelOnUnwind<'_> {
    fn drop(&mut self) {
        self.inner.cancel(self.ticket);
    }
}

/// A queued call waits for its place, or for its queue timeout: `true` once it has
/// the place (and runs, its timer now the call timeout), `false` if the queue gave up
/// on it.
#[inline(never)]
fn wait_for_seat<'a>(inner: &'a Inner, waiting: Pin<&mut Waiting<'a>>, cx: &mut Context<'_>) -> Poll<bool> {
    let mut waiting = waiting.project();
    let Some(queued) = waiting.queued.as_mut() else { return Poll::Ready(true) };
    if let Poll::Ready(seat) = queued.poll_seat(cx) {
        *waiting.queued = None;
        *waiting.seat = Some(seat);
        // The call's time (its latency, the slow-call rule) starts now: the wait in the
        // queue is this side's congestion, not the service's.
        waiting.ticket.start = inner.clock.recent();
        waiting.timer.set(inner.clock.sleep(Duration::from_nanos(*waiting.timeout_nanos)));
        return Poll::Ready(true);
    }
    match waiting.timer.poll_elapsed(cx) {
        Poll::Ready(()) => Poll::Ready(false),
        Poll::Pending => Poll::Pending,
    }
}

/// Whether the timer of a running call has run out (registering the waker if not).
#[inline(never)]
fn elapsed(stage: Pin<&mut Stage<'_>>, cx: &mut Context<'_>) -> bool {
    match stage.project() {
        StageProj::Waiting { waiting } => waiting.pinned().project().timer.poll_elapsed(cx).is_ready(),
        StageProj::Start | StageProj::Done => false,
    }
}

/// The ticket and bulkhead place of a waiting call that is done waiting (the stage is
/// then `Done`); the rest (its timer, its place in the queue) is dropped.
#[inline(always)]
fn finished<'a>(mut stage: Pin<&mut Stage<'a>>) -> (Ticket, Option<Seat<'a>>) {
    let kept = match stage.as_mut().project() {
        StageProj::Waiting { waiting } => {
            let waiting = waiting.pinned().project();
            (*waiting.ticket, waiting.seat.take())
        }
        StageProj::Start | StageProj::Done => unreachable!("the call was waiting"),
    };
    stage.set(Stage::Done);
    kept
}

/// A running call ran out of time: its body is dropped at once (releasing what it
/// holds), its place given back, and it fails with [`Error::Timeout`].
#[cold]
fn timed_out<'a, T, E, F, D: Finish<T, E>>(
    inner: &'a Inner,
    body: Pin<&mut Body<F>>,
    mut stage: Pin<&mut Stage<'a>>,
    finish: &mut D,
) -> D::Output {
    let timeout_nanos = match stage.as_mut().project() {
        StageProj::Waiting { waiting } => waiting.pinned().timeout_nanos,
        _ => 0,
    };
    let (ticket, seat) = finished(stage);
    body.project_replace(Body::Gone);
    drop(seat);
    let timeout = Duration::from_nanos(timeout_nanos);
    failing::during(&failing::TimedOut(timeout), || inner.complete(ticket, Outcome::Failure, true));
    finish.stopped(Cause::TimedOut(Error::Timeout { service: inner.service, timeout }))
}

/// Gives the call's bulkhead place back, classifies and records its result, and ends
/// the attempt with it.
#[inline(always)]
fn answer<T, E, C: Classify<T, E>, D: Finish<T, E>>(
    inner: &Inner,
    ticket: Ticket,
    seat: Option<Seat<'_>>,
    classify: &C,
    finish: &mut D,
    result: Result<T, E>,
) -> D::Output {
    drop(seat);
    // A classifier is user code: if it panics, the call counts for nothing, and a probe
    // gives its place back while unwinding.
    let outcome = if ticket.kind == Kind::Probe {
        let unwinding = CancelOnUnwind { inner, ticket };
        let outcome = classify.classify(&result);
        std::mem::forget(unwinding);
        outcome
    } else {
        classify.classify(&result)
    };
    // An HTTP 429 of a type that judges itself: by the breaker's rule.
    #[cfg(feature = "tower")]
    let outcome = if outcome == Outcome::Failure && classify.__too_many_requests(&result) {
        inner.too_many_requests_configured()
    } else {
        outcome
    };
    if outcome == Outcome::Failure {
        if let Err(error) = &result {
            if let Some(shown) = classify.__display(error) {
                complete_failure(inner, ticket, &shown);
                return finish.answered(result, outcome);
            }
        }
    }
    inner.complete(ticket, outcome, false);
    finish.answered(result, outcome)
}

/// Records a failure whose error can be shown: a transition it triggers names it.
#[cold]
#[inline(never)]
fn complete_failure(inner: &Inner, ticket: Ticket, shown: &dyn fmt::Display) {
    failing::during(shown, || inner.complete(ticket, Outcome::Failure, false));
}

/// The bulkhead turned an admitted call away: it records nothing (a rejection is not a
/// failure) and gives a probe place back. The error is built inline, for the reason
/// given on [`Attempt::poll`]; only the bookkeeping is out of line.
#[inline(always)]
fn bulkhead_full<T, E, D: Finish<T, E>>(inner: &Inner, ticket: Ticket, finish: &mut D) -> D::Output {
    turned_away(inner, ticket);
    let rejected = Rejected { kind: RejectionKind::Bulkhead, retry_after_nanos: NO_RETRY };
    finish.stopped(Cause::Rejected(inner.rejection_error(rejected)))
}

#[cold]
#[inline(never)]
fn turned_away(inner: &Inner, ticket: Ticket) {
    inner.cancel(ticket);
    inner.count_rejection(RejectionKind::Bulkhead);
}

pin_project_lite::pin_project! {
    /// The future of [`CircuitBreaker::call`] and [`CircuitBreaker::call_with`].
    ///
    /// It does nothing until polled; dropping it before it completes cancels the call,
    /// which then counts for nothing.
    #[must_use = "futures do nothing unless polled"]
    pub struct Call<'a, F, C = DefaultClassifier> {
        #[pin]
        attempt: Attempt<'a, F, C, Direct>,
    }
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
        self.project().attempt.poll(cx)
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
        protect_with_fallback(&self.inner, classify, call, fallback, E::from, None).await
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
    span: Option<tracing::Span>,
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
    let (attempted, policy, span) = {
        let finish = ToFallback { policy: FallbackPolicy::default() };
        let finish = Traced { finish, span: span.map(Box::new) };
        let mut attempt = pin!(Attempt::new(inner, call, classify, finish));
        let attempted = attempt.as_mut().await;
        let Traced { finish, span } = &mut attempt.as_mut().project().finish;
        (attempted, finish.policy, span.take())
    };
    match attempted {
        Attempted::Answered(result) => result,
        Attempted::Stopped(cause) => {
            let answer = inner.fall_back(fallback, cause, policy, reject).await;
            if let Some(span) = span {
                span.record("fallback", if answer.is_ok() { "answered" } else { "failed" });
            }
            answer
        }
    }
}
