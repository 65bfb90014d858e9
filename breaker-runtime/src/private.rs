//! What `#[circuit_breaker]` expands into. Not public API: reached only by generated
//! code, through one absolute `use ::breaker_runtime::__private` in each protected
//! function, and free to change with the macro (the two crates are pinned to each
//! other).
//!
//! Its checks report a mistake once, at the user's token: each is a function whose
//! bound carries a `#[diagnostic::on_unimplemented]` text, and the types the rest of
//! the expansion uses ([`Classifier`], [`Kept`], [`Answer`]) have no bound of their
//! own, so a failed check does not fail again elsewhere.

pub use core::time::Duration;
pub use inventory;

pub use crate::breaker::{Call, CircuitBreaker};
pub use crate::classify::{DefaultClassifier, Outcome};
pub use crate::policy::fallback::{Cause, NoFallback, or_else};
pub use crate::registry::{CallSite, ConfigLayer, Definition, Off};

/// The settings an attribute turns off (`timeout = "off"`), as a constant.
pub const fn off(keys: &[&str]) -> Off {
    Off::of(keys)
}

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::classify::Classify;
use crate::error::Error;
use crate::policy::fallback::Fallback;

/// The `Ok` and `Err` types of a `Result`, however it is spelled (`io::Result<T>`,
/// `anyhow::Result<T>`, an alias of one's own).
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` needs a function returning `Result<T, E>`, not `{Self}`",
    label = "the breaker returns its rejections as the `Err` of this type",
    note = "return `Result<T, E>` where `E: From<breaker_runtime::Error>`; any alias of `Result` works: `std::io::Result<T>`, `anyhow::Result<T>`, ..."
)]
pub trait ResultType {
    /// The `Ok` type.
    type Ok;
    /// The `Err` type.
    type Err;
    /// The value as a plain `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
    /// The plain `Result` as the value.
    fn from_result(result: Result<Self::Ok, Self::Err>) -> Self;
}

impl<T, E> ResultType for Result<T, E> {
    type Ok = T;
    type Err = E;
    #[inline(always)]
    fn into_result(self) -> Self {
        self
    }
    #[inline(always)]
    fn from_result(result: Self) -> Self {
        result
    }
}

/// The error type of the result type `R`.
pub type ErrOf<R> = <R as ResultType>::Err;

/// An error type a rejection can be returned in.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry a circuit-breaker rejection",
    label = "this error type needs `impl From<breaker_runtime::Error>`",
    note = "a protected function returns its breaker's rejections (open circuit, timeout, full bulkhead) in its own error type",
    note = "add `impl From<breaker_runtime::Error> for {Self}`, or return `Result<T, breaker_runtime::Error>`, `std::io::Result<T>` or `anyhow::Result<T>`"
)]
pub trait CarriesRejection: From<Error> {}

impl<E: From<Error>> CarriesRejection for E {}

/// Checks that the protected function returns a `Result`. The attribute calls it with
/// the span of the return type, so the error is reported there; it does nothing.
#[inline(always)]
pub fn returns_result<R: ResultType>() {}

/// Checks that the protected function's error type can carry a rejection. The
/// attribute calls it with the span of the error type, so the error is reported there
/// (and names the missing `From`); it does nothing.
#[inline(always)]
pub fn carries_rejection<E: CarriesRejection>() {}

/// The protected body's future, its output seen as a plain `Result`.
pub struct AsResult<F>(F);

impl<F: Future> Future for AsResult<F>
where
    F::Output: ResultType,
{
    type Output = Result<<F::Output as ResultType>::Ok, <F::Output as ResultType>::Err>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: the field is structurally pinned: `AsResult` never moves it and has no
        // `Drop`.
        unsafe { self.map_unchecked_mut(|s| &mut s.0) }.poll(cx).map(ResultType::into_result)
    }
}

/// A protected call's future, its output the function's own return type `R` (a
/// `Result` under whatever name the function gives it).
#[must_use = "futures do nothing unless polled"]
pub struct Protected<F, R>(F, PhantomData<fn() -> R>);

impl<F, R> Future for Protected<F, R>
where
    F: Future<Output = Result<R::Ok, R::Err>>,
    R: ResultType,
{
    type Output = R;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        // SAFETY: the field is structurally pinned: `Protected` never moves it and has no
        // `Drop`.
        unsafe { self.map_unchecked_mut(|s| &mut s.0) }.poll(cx).map(R::from_result)
    }
}

/// A protected call without fallback: what the attribute expands to.
///
/// The attribute spans the call at the user's error type, like its
/// [`carries_rejection`] check, so an error type without `From<Error>` is reported once.
#[inline(always)]
pub fn call<R, F, C>(
    breaker: &'static CircuitBreaker,
    classify: C,
    body: F,
) -> Protected<Call<'static, AsResult<F>, C>, R>
where
    R: ResultType,
    R::Err: From<Error>,
    F: Future<Output = R>,
    C: Classify<R::Ok, R::Err>,
{
    Protected(breaker.call_with(classify, AsResult(body)), PhantomData)
}

/// A protected call with a fallback chain: what the attribute expands to.
///
/// The chain's links capture the arguments they need by reference (see [`link`]), so
/// the state handed to the chain is `()`.
pub async fn call_with_fallback<R, F, C, B>(
    breaker: &'static CircuitBreaker,
    classify: C,
    body: F,
    fallback: B,
) -> R
where
    R: ResultType,
    R::Err: From<Error>,
    F: Future<Output = R>,
    C: Classify<R::Ok, R::Err>,
    B: Fallback<R::Ok, R::Err>,
{
    R::from_result(breaker.call_with_fallback_state(classify, AsResult(body), (), fallback).await)
}

/// One fallback of the chain: a closure that calls the user's fallback with copies of
/// the arguments. It fixes the closure's argument type (`&Cause<E>`, for any lifetime).
///
/// The closure borrows the arguments instead of receiving them as a state parameter
/// `&S`: a closure signature that names the arguments' lifetimes makes the protected
/// future fail rustc's `Send` check ("implementation of `FnOnce` is not general
/// enough") even when every argument is `Send`.
#[inline(always)]
pub fn link<E, F, A>(fallback: F) -> F
where
    F: FnOnce(&Cause<E>) -> A,
{
    fallback
}

/// An argument that must still be there for the fallback after the attempt.
#[diagnostic::on_unimplemented(
    message = "the argument of type `{Self}` cannot reach the fallback: it is not `Clone`",
    label = "the protected body takes this argument, so the fallback needs a clone of it",
    note = "make the type `Clone`, take the argument by reference (`&{Self}`), or remove the fallback"
)]
pub trait KeepForFallback {
    /// A copy for the fallback.
    fn keep(&self) -> Self;
}

impl<T: Clone> KeepForFallback for T {
    #[inline]
    fn keep(&self) -> Self {
        self.clone()
    }
}

/// An argument kept for the fallback chain, made by [`keep`] before the body takes the
/// argument.
///
/// The chain's links borrow it and take copies with [`Kept::get`], which has no
/// bound: `Clone` is checked once, in [`keep`], at the user's argument. The `Mutex`
/// makes `&Kept<T>` `Send` whenever `T` is (links hold such a reference across the
/// attempt), so the protected future is `Send` exactly when the arguments are; it is
/// locked only when a fallback runs.
pub struct Kept<T> {
    value: std::sync::Mutex<T>,
    copy: fn(&T) -> T,
}

/// A copy of the argument `value`, kept for the fallback chain.
#[inline]
pub fn keep<T: KeepForFallback>(value: &T) -> Kept<T> {
    Kept { value: std::sync::Mutex::new(value.keep()), copy: <T as KeepForFallback>::keep }
}

impl<T> Kept<T> {
    /// A copy of the argument for one fallback.
    #[inline]
    pub fn get(&self) -> T {
        // A copy that panicked poisons nothing that matters: the value is only read.
        let value = self.value.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        (self.copy)(&value)
    }
}

/// A classifier of the errors of type `E`.
#[diagnostic::on_unimplemented(
    message = "`classify` must name a function `fn(&{E}) -> Outcome`, and `{Self}` is not one",
    label = "expected a function `fn(&{E}) -> breaker_runtime::Outcome`: it receives a reference to the function's error and tells whether it is a failure",
    note = "return `Outcome::Failure` for errors that say the service is unhealthy, `Outcome::Ignored` for the others (a client error, say)"
)]
pub trait ClassifyErrors<E> {
    /// The outcome of `error`.
    fn outcome(&self, error: &E) -> Outcome;
}

impl<E, F: Fn(&E) -> Outcome> ClassifyErrors<E> for F {
    #[inline]
    fn outcome(&self, error: &E) -> Outcome {
        self(error)
    }
}

/// The classifier named by `classify = path`, checked against the error type.
///
/// The check is made once, in [`classifier`], at the user's path; the `Classify`
/// impl has no bound, so a wrong classifier is reported once, not again at every use.
pub struct Classifier<F, E> {
    classify: F,
    outcome: fn(&F, &E) -> Outcome,
}

/// The classifier `f` of the errors of type `E`.
#[inline(always)]
pub fn classifier<E, F: ClassifyErrors<E>>(f: F) -> Classifier<F, E> {
    Classifier { classify: f, outcome: <F as ClassifyErrors<E>>::outcome }
}

impl<T, E, F> Classify<T, E> for Classifier<F, E> {
    #[inline(always)]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(error) => (self.outcome)(&self.classify, error),
        }
    }
}

/// Marks a fallback returning a `Result` at once.
pub struct Sync;
/// Marks a fallback returning a future.
pub struct Async;

/// What a fallback returns: the function's `Result`, or a future of it.
#[diagnostic::on_unimplemented(
    message = "a fallback must return the protected function's `Result`, or a future of it; this one returns `{Self}`",
    label = "the fallback's return type does not match the protected function's `{R}`"
)]
pub trait IntoAnswer<R, M>: Sized {
    /// Polls the answer in `slot` (taken out of it once it is ready).
    fn poll_answer(slot: Pin<&mut Option<Self>>, cx: &mut Context<'_>) -> Poll<R>;
}

impl<T, E> IntoAnswer<Result<T, E>, Sync> for Result<T, E> {
    #[inline]
    fn poll_answer(slot: Pin<&mut Option<Self>>, _: &mut Context<'_>) -> Poll<Result<T, E>> {
        // SAFETY: a sync answer (a `Result`) is not pinned structurally: nothing ever
        // gets a pinned reference to it, so moving it out of its slot is allowed (the
        // slot is pinned only because async answers share this signature).
        match unsafe { slot.get_unchecked_mut() }.take() {
            Some(answer) => Poll::Ready(answer),
            None => panic!("a fallback's answer was polled after it completed"),
        }
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> IntoAnswer<Result<T, E>, Async> for F {
    #[inline]
    fn poll_answer(slot: Pin<&mut Option<Self>>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        // SAFETY: an async answer is pinned structurally: it is never moved out of the
        // slot, and `Answer` has no `Drop`.
        match unsafe { slot.get_unchecked_mut() } {
            Some(future) => unsafe { Pin::new_unchecked(future) }.poll(cx),
            None => panic!("a fallback's answer was polled after it completed"),
        }
    }
}

/// A fallback's answer, sync or async, as a future of the protected function's
/// return type `R`.
///
/// Its `Future` impl has no bound (the poll function is chosen in [`answer`], where
/// [`IntoAnswer`] is checked), so a fallback of the wrong type is reported once, at
/// its path, and not again where the chain is used.
pub struct Answer<A, R> {
    answer: Option<A>,
    poll: fn(Pin<&mut Option<A>>, &mut Context<'_>) -> Poll<R>,
}

impl<A, R> Future for Answer<A, R> {
    type Output = R;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        // SAFETY: `answer` is pinned structurally (never moved out of a pinned `Answer`;
        // `Answer` has no `Drop`); `poll` is plain data.
        let this = unsafe { self.get_unchecked_mut() };
        (this.poll)(unsafe { Pin::new_unchecked(&mut this.answer) }, cx)
    }
}

/// A fallback's answer, sync or async, as a future.
#[inline]
pub fn answer<R, M, A: IntoAnswer<R, M>>(answer: A) -> Answer<A, R> {
    Answer { answer: Some(answer), poll: <A as IntoAnswer<R, M>>::poll_answer }
}
