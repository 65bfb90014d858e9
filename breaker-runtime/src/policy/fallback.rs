//! Fallbacks: what a call answers when the breaker rejects it or the service fails.
//!
//! A chain of fallbacks is tried in order until one returns `Ok`. Each runs with the
//! [`Cause`] in view, inside a depth counter carried by the task ([`Depth`]), so a
//! fallback that (directly or not) calls back into protected functions cannot recurse
//! without end: past `fallback_depth` nested fallbacks,
//! [`Error::FallbackDepthExceeded`] is returned instead. Work a fallback hands to
//! another task carries the count only if it is told to ([`Depth::scope`]). A
//! panicking fallback is caught and skipped. With `fallback_timeout`, the whole chain
//! has that long; each fallback gets an equal share of what is left when it starts. If
//! every fallback fails, the caller gets the original error, and each fallback's error
//! is logged.
//!
//! ```
//! use breaker_runtime::{CircuitBreaker, Config, DefaultClassifier, Error, fallback};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let breaker = CircuitBreaker::new("quotes", Config::default())?;
//! breaker.force_open();
//! let quote = breaker
//!     .call_with_fallback(
//!         DefaultClassifier,
//!         async { Ok::<u32, Error>(100) },
//!         fallback::chain(|_cause| async { Err(Error::UnknownService { service: "cache".into(), suggestion: None }) })
//!             .or(|_cause| async { Ok(99) }),
//!     )
//!     .await?;
//! assert_eq!(quote, 99);
//! # Ok(())
//! # }
//! ```

use std::any::Any;
use std::future::{Future, poll_fn};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use crate::breaker::{FallbackPolicy, Inner, Instant};
use crate::error::Error;
use crate::sync::Ordering;

tokio::task_local! {
    /// How many fallbacks the current task is running inside each other.
    static DEPTH: u32;
}

/// How many fallbacks are running inside each other where it is read: the count that
/// `fallback_depth` limits.
///
/// The count belongs to the task (a tokio task-local), so it follows a fallback into
/// the protected calls it makes, but not into work it hands to another task: a
/// `tokio::spawn`ed future, or a worker behind a channel, starts again at 0, and a
/// fallback that calls back into protected functions that way could recurse without
/// end. Carry the count across with [`Depth::current`] and [`Depth::scope`]:
///
/// ```
/// use breaker_runtime::fallback::Depth;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// // Inside a fallback: hand work to another task with the nesting it was made at.
/// let depth = Depth::current();
/// let handle = tokio::spawn(depth.scope(async move {
///     // Protected calls made here count this task's fallbacks as nested in the
///     // spawning one's.
///     Depth::current().get()
/// }));
/// assert_eq!(handle.await.unwrap(), depth.get());
/// # }
/// ```
///
/// For a worker behind a channel, send `Depth::current()` with the request, and run
/// the worker's handling of it inside `depth.scope(...)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Depth(u32);

impl Depth {
    /// The nesting of fallbacks around the code that calls this: 0 outside any
    /// fallback.
    pub fn current() -> Depth {
        Depth(DEPTH.try_with(|depth| *depth).unwrap_or(0))
    }

    /// The number of fallbacks running inside each other.
    pub fn get(self) -> u32 {
        self.0
    }

    /// Runs `future` at this nesting: protected calls inside it count their fallbacks
    /// from here, whatever task polls it.
    pub fn scope<F: Future>(self, future: F) -> impl Future<Output = F::Output> {
        DEPTH.scope(self.0, future)
    }

    /// Runs `f` at this nesting, for synchronous code that blocks on protected calls
    /// (a thread of its own, say).
    pub fn sync_scope<R>(self, f: impl FnOnce() -> R) -> R {
        DEPTH.sync_scope(self.0, f)
    }
}

/// Why a fallback runs.
#[derive(Clone, Debug)]
pub enum Cause<E> {
    /// The breaker rejected the call: open circuit, probe limit, or full bulkhead.
    Rejected(Error),
    /// The call timed out (the error is [`Error::Timeout`]).
    TimedOut(Error),
    /// The call returned an error classified as a failure.
    Failed(E),
}

impl<E> Cause<E> {
    /// The breaker's error, for a rejection or a timeout.
    pub fn breaker_error(&self) -> Option<&Error> {
        match self {
            Cause::Rejected(e) | Cause::TimedOut(e) => Some(e),
            Cause::Failed(_) => None,
        }
    }

    /// Whether the call was rejected without running.
    pub fn is_rejection(&self) -> bool {
        matches!(self, Cause::Rejected(_))
    }
}

impl<E> Cause<E> {
    /// The error the caller gets when no fallback answers, the breaker's own errors
    /// turned into `E` by `reject`.
    #[inline(always)]
    pub(crate) fn into_error_with(self, reject: impl FnOnce(Error) -> E) -> E {
        match self {
            Cause::Rejected(e) | Cause::TimedOut(e) => reject(e),
            Cause::Failed(e) => e,
        }
    }
}

impl<E: From<Error>> Cause<E> {
    /// The error the caller gets when no fallback answers.
    pub fn into_error(self) -> E {
        self.into_error_with(E::from)
    }
}

/// A fallback, or a chain of them: any `FnOnce(&Cause<E>) -> impl Future<Output =
/// Result<T, E>>`, a [`Chain`] built with [`chain`], or [`NoFallback`].
///
/// The trait is sealed: those are the fallbacks there are.
pub trait Fallback<T, E>: sealed::Run<T, E> {}

impl<T, E, X: sealed::Run<T, E>> Fallback<T, E> for X {}

pub(crate) mod sealed {
    use super::Attempts;
    use std::future::Future;

    /// How a fallback (or a chain) runs: the part of [`Fallback`](super::Fallback) the
    /// crate keeps to itself.
    pub trait Run<T, E> {
        /// How many fallbacks the chain holds.
        const LEN: usize;

        /// Tries the chain in order; `Some` with the first `Ok` answer.
        fn attempt(self, attempts: &mut Attempts<'_, E>) -> impl Future<Output = Option<T>>;
    }
}

/// No fallback: the caller gets the error.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFallback;

impl<T, E> sealed::Run<T, E> for NoFallback {
    const LEN: usize = 0;

    async fn attempt(self, _: &mut Attempts<'_, E>) -> Option<T> {
        None
    }
}

impl<T, E, F, Fut> sealed::Run<T, E> for F
where
    F: FnOnce(&Cause<E>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    const LEN: usize = 1;

    fn attempt(self, attempts: &mut Attempts<'_, E>) -> impl Future<Output = Option<T>> {
        attempts.one(async move |cause: &Cause<E>| self(cause).await, std::convert::identity)
    }
}

/// `first`, then `next` if it fails.
pub(crate) fn or_else<A, B>(first: A, next: B) -> OrElse<A, B> {
    OrElse(first, next)
}

/// An ordered chain of fallbacks, built by [`chain`] and [`Chain::or`].
#[derive(Clone, Copy, Debug)]
pub struct Chain<A>(A);

/// Two fallbacks, the second tried if the first fails.
#[derive(Clone, Copy, Debug)]
pub struct OrElse<A, B>(A, B);

/// A chain starting with `first`.
pub fn chain<T, E, F, Fut>(first: F) -> Chain<F>
where
    F: FnOnce(&Cause<E>) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    Chain(first)
}

impl<A> Chain<A> {
    /// The chain with `next` tried after everything before it failed.
    pub fn or<T, E, F, Fut>(self, next: F) -> Chain<OrElse<A, F>>
    where
        F: FnOnce(&Cause<E>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Chain(OrElse(self.0, next))
    }
}

impl<T, E, A: sealed::Run<T, E>> sealed::Run<T, E> for Chain<A> {
    const LEN: usize = A::LEN;

    fn attempt(self, attempts: &mut Attempts<'_, E>) -> impl Future<Output = Option<T>> {
        self.0.attempt(attempts)
    }
}

impl<T, E, A: sealed::Run<T, E>, B: sealed::Run<T, E>> sealed::Run<T, E> for OrElse<A, B> {
    const LEN: usize = A::LEN + B::LEN;

    async fn attempt(self, attempts: &mut Attempts<'_, E>) -> Option<T> {
        if let Some(answer) = self.0.attempt(attempts).await {
            return Some(answer);
        }
        self.1.attempt(attempts).await
    }
}

/// The state of one run of a chain.
pub struct Attempts<'a, E> {
    inner: &'a Inner,
    cause: Cause<E>,
    depth: u32,
    /// When the chain's time is up, on the breaker's clock.
    deadline: Option<Instant>,
    remaining: usize,
    index: usize,
}

impl<E> Attempts<'_, E> {
    /// Runs one fallback: `fallback` is called with the cause (it may borrow it for as
    /// long as its future runs), and its answer made a `Result` by `into`.
    pub(crate) async fn one<T, R, F, P>(&mut self, fallback: F, into: P) -> Option<T>
    where
        F: AsyncFnOnce(&Cause<E>) -> R,
        P: FnOnce(R) -> Result<T, E>,
    {
        let (service, index) = (self.inner.service, self.index);
        let share = self.deadline.map(|deadline| {
            let left = deadline.saturating_duration_since(self.inner.clock.now());
            left / u32::try_from(self.remaining.max(1)).unwrap_or(u32::MAX)
        });
        self.index += 1;
        self.remaining = self.remaining.saturating_sub(1);
        let cause = &self.cause;
        let Ok(future) = catch_unwind(AssertUnwindSafe(|| fallback(cause))) else {
            tracing::error!(service, index, "fallback panicked; trying the next one");
            return None;
        };
        let guarded = DEPTH.scope(self.depth + 1, catching_panics(future));
        let result = match share {
            None => guarded.await,
            Some(share) => {
                // The share of time on the breaker's clock (a manual clock in tests).
                let mut guarded = pin!(guarded);
                let mut timer = pin!(self.inner.clock.sleep(share.max(Duration::from_nanos(1))));
                let ended = poll_fn(|cx| match guarded.as_mut().poll(cx) {
                    Poll::Ready(result) => Poll::Ready(Some(result)),
                    Poll::Pending => timer.as_mut().poll_elapsed(cx).map(|()| None),
                })
                .await;
                match ended {
                    Some(result) => result,
                    None => {
                        tracing::warn!(service, index, ?share, "fallback timed out; trying the next one");
                        return None;
                    }
                }
            }
        };
        match result.map(into) {
            Ok(Ok(answer)) => {
                tracing::debug!(service, index, depth = self.depth + 1, "fallback answered");
                Some(answer)
            }
            Ok(Err(_)) => {
                let error_type = std::any::type_name::<E>();
                tracing::warn!(service, index, error_type, "fallback returned an error; trying the next one");
                None
            }
            Err(_) => {
                tracing::error!(service, index, "fallback panicked; trying the next one");
                None
            }
        }
    }
}

/// Polls `future`, turning a panic into an `Err`.
async fn catching_panics<F: Future>(future: F) -> Result<F::Output, Box<dyn Any + Send>> {
    let mut future = pin!(future);
    poll_fn(|cx| match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
        Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(panic) => Poll::Ready(Err(panic)),
    })
    .await
}

impl Inner {
    /// Runs `chain` for `cause`; the caller's answer, the breaker's own errors turned
    /// into the caller's by `reject`.
    pub(crate) async fn fall_back<T, E, B>(
        &self,
        chain: B,
        cause: Cause<E>,
        policy: FallbackPolicy,
        reject: impl Fn(Error) -> E,
    ) -> Result<T, E>
    where
        B: Fallback<T, E>,
    {
        let depth = Depth::current().get();
        let stats = &self.stats;
        if depth >= policy.depth {
            stats.fallback_depth_exceeded.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(service = self.service, depth, "fallback not run: too many nested fallbacks");
            return Err(reject(Error::FallbackDepthExceeded { service: self.service, depth: policy.depth }));
        }
        stats.fallback_runs.fetch_add(1, Ordering::Relaxed);
        let mut attempts = Attempts {
            inner: self,
            cause,
            depth,
            deadline: policy.timeout().map(|t| self.clock.now().saturating_add(t)),
            remaining: B::LEN,
            index: 0,
        };
        match chain.attempt(&mut attempts).await {
            Some(answer) => {
                stats.fallback_successes.fetch_add(1, Ordering::Relaxed);
                Ok(answer)
            }
            None => {
                stats.fallback_failures.fetch_add(1, Ordering::Relaxed);
                Err(attempts.cause.into_error_with(reject))
            }
        }
    }
}
