//! What `#[circuit_breaker]` expands into. Not public API: reached only through
//! absolute paths (`::breaker_runtime::__private::...`) in generated code, and free to
//! change with the macro (the two crates are pinned to each other).

pub use core::time::Duration;
pub use inventory;

pub use crate::breaker::{Call, CircuitBreaker};
pub use crate::classify::{DefaultClassifier, Outcome};
pub use crate::policy::fallback::{Cause, NoFallback, or_else};
pub use crate::registry::{CallSite, ConfigLayer, Definition};

use std::future::{Future, Ready, ready};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::classify::Classify;
use crate::error::Error;
use crate::policy::fallback::{Fallback, WithState, with_state};

/// The `Ok` and `Err` types of a `Result`, however it is spelled (`io::Result<T>`,
/// `anyhow::Result<T>`, an alias of one's own).
pub trait ResultType {
    /// The `Ok` type.
    type Ok;
    /// The `Err` type.
    type Err;
    /// The value as a plain `Result`.
    fn into_result(self) -> Result<Self::Ok, Self::Err>;
}

impl<T, E> ResultType for Result<T, E> {
    type Ok = T;
    type Err = E;
    #[inline(always)]
    fn into_result(self) -> Self {
        self
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

/// The return type of a protected function.
#[diagnostic::on_unimplemented(
    message = "`#[circuit_breaker]` needs a function returning `Result<T, E>`, not `{Self}`",
    label = "the breaker returns its rejections as the `Err` of this type",
    note = "any alias of `Result` works: `std::io::Result<T>`, `anyhow::Result<T>`, ..."
)]
pub trait ProtectedReturn: ResultType<Err: CarriesRejection> {}

impl<R: ResultType<Err: CarriesRejection>> ProtectedReturn for R {}

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

/// A protected call without fallback: what the attribute expands to.
#[inline(always)]
pub fn call<R, F, C>(breaker: &'static CircuitBreaker, classify: C, body: F) -> Call<'static, AsResult<F>, C>
where
    R: ProtectedReturn,
    F: Future<Output = R>,
    C: Classify<R::Ok, R::Err>,
{
    breaker.call_with(classify, AsResult(body))
}

/// A protected call with a fallback chain: what the attribute expands to.
pub async fn call_with_fallback<R, F, C, S, B>(
    breaker: &'static CircuitBreaker,
    classify: C,
    body: F,
    state: S,
    fallback: B,
) -> Result<R::Ok, R::Err>
where
    R: ProtectedReturn,
    F: Future<Output = R>,
    C: Classify<R::Ok, R::Err>,
    B: Fallback<R::Ok, R::Err, S>,
{
    breaker.call_with_fallback_state(classify, AsResult(body), state, fallback).await
}

/// A fallback of the chain, given the state it reads (the function's arguments): the
/// state's type fixes the closure's argument types.
#[inline]
pub fn fallback_of<T, E, S, F, Fut>(_state: &S, fallback: F) -> WithState<F>
where
    F: FnOnce(&Cause<E>, &S) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    with_state(fallback)
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

/// A copy of `value` for the fallback.
#[inline]
pub fn keep<T: KeepForFallback>(value: &T) -> T {
    value.keep()
}

/// A classifier of the errors of type `E`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot classify the errors of this function",
    label = "expected a function `fn(&E) -> breaker_runtime::Outcome` for the function's error type `E`"
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
pub struct Classifier<F, E>(F, PhantomData<fn(&E)>);

impl<F, E> Classifier<F, E> {
    /// The classifier `f`.
    #[inline]
    pub fn new(f: F) -> Self {
        Classifier(f, PhantomData)
    }
}

impl<T, E, F: ClassifyErrors<E>> Classify<T, E> for Classifier<F, E> {
    #[inline]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Success,
            Err(error) => self.0.outcome(error),
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
    label = "the fallback's return type does not match the protected function's"
)]
pub trait IntoAnswer<R, M> {
    /// The answer as a future.
    type Future: Future<Output = R>;
    /// The answer as a future.
    fn into_answer(self) -> Self::Future;
}

impl<T, E> IntoAnswer<Result<T, E>, Sync> for Result<T, E> {
    type Future = Ready<Result<T, E>>;
    #[inline]
    fn into_answer(self) -> Self::Future {
        ready(self)
    }
}

impl<T, E, F: Future<Output = Result<T, E>>> IntoAnswer<Result<T, E>, Async> for F {
    type Future = F;
    #[inline]
    fn into_answer(self) -> F {
        self
    }
}

/// A fallback's answer, sync or async, as a future.
#[inline]
pub fn answer<R, M, A: IntoAnswer<R, M>>(answer: A) -> A::Future {
    answer.into_answer()
}
