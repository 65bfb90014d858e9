//! What `#[circuit_breaker]` expands into. Not public API: reached only by generated
//! code, through one absolute `use ::breaker_runtime::__private` in each protected
//! function, and free to change with the macro (the two crates are pinned to each
//! other).
//!
//! Its checks report a mistake once, at the user's token: each is a function whose
//! bound carries a `#[diagnostic::on_unimplemented]` text, called in a closure (or a
//! statement) the attribute writes at that token; the rest of the expansion uses only
//! those closures' types, whose `Fn` impls need nothing, and types that have no bound
//! of their own ([`Classifier`], [`Kept`], [`Guarded`]), so a failed check does not
//! fail again elsewhere. In particular nothing reached through an `.await` may depend
//! on the user's types being right: rustc cannot merge an error raised at an `.await`
//! (a desugaring) with the same error reported at a token, so it would show twice.

pub use core::time::Duration;
pub use inventory;

pub use crate::breaker::CircuitBreaker;
pub use crate::classify::{DefaultClassifier, Outcome};
pub use crate::policy::fallback::{Cause, NoFallback, OrElse};
pub use crate::registry::{CallSite, ConfigLayer, Definition, Off};

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::breaker::{Attempt, Convert, Traced, call_span, protect_with_fallback};
use crate::classify::Classify;
use crate::error::Error;
use crate::policy::fallback::{Attempts, Fallback, sealed};

/// The settings an attribute turns off (`timeout = "off"`), as a constant.
pub const fn off(keys: &[&str]) -> Off {
    Off::of(keys)
}

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
///
/// The text holds for any type: one of the user's own (which can be given the `From`)
/// and one of another crate (which cannot: the orphan rule), so it offers the wrapper.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry a circuit-breaker rejection",
    label = "this error type needs `From<breaker_runtime::Error>`",
    note = "a protected function returns its breaker's rejections (open circuit, timeout, full bulkhead) in its own error type",
    note = "if `{Self}` is defined in this crate, add `impl From<breaker_runtime::Error> for {Self}`; if it is another crate's, return an error type of your own that wraps both, like `enum AppError {{ Breaker(breaker_runtime::Error), Service({Self}) }}` with `impl From<breaker_runtime::Error> for AppError`",
    note = "or return `Result<T, breaker_runtime::Error>`, `std::io::Result<T>` or `anyhow::Result<T>`"
)]
pub trait CarriesRejection: From<Error> {}

impl<E: From<Error>> CarriesRejection for E {}

/// [`CarriesRejection`] for an error type the attribute sees is not the user's (`String`,
/// `&str`, `std::fmt::Error`, ...): it cannot be given the `From`, so the text offers
/// only the wrapper. `do_not_recommend` drops rustc's own list of the type's `From`
/// impls (`String: From<&str>`, ...), which does not help here.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot carry a circuit-breaker rejection",
    label = "this error type has no `From<breaker_runtime::Error>`, and it cannot be given one: it is not defined in this crate",
    note = "a protected function returns its breaker's rejections (open circuit, timeout, full bulkhead) in its own error type",
    note = "return an error type of your own that wraps both, like `enum AppError {{ Breaker(breaker_runtime::Error), Service({Self}) }}` with `impl From<breaker_runtime::Error> for AppError`",
    note = "or return `Result<T, breaker_runtime::Error>`, `std::io::Result<T>`, `anyhow::Result<T>` or `Result<T, Box<dyn std::error::Error + Send + Sync>>`"
)]
pub trait ForeignCarriesRejection: From<Error> {}

#[diagnostic::do_not_recommend]
impl<E: From<Error>> ForeignCarriesRejection for E {}

/// The protected function's result as a plain `Result`. The attribute calls it in a
/// closure written at the return type, so a return type that is not a `Result` is
/// reported there, once; the closure (whose `Fn` impl needs nothing) is what the rest
/// of the expansion uses.
#[inline(always)]
pub fn returns_result<R: ResultType>(result: R) -> Result<R::Ok, R::Err> {
    result.into_result()
}

/// The plain `Result` as the protected function's return type, at the return type.
#[inline(always)]
pub fn from_result<R: ResultType>(result: Result<R::Ok, R::Err>) -> R {
    R::from_result(result)
}

/// A rejection in the protected function's error type. The attribute calls it in a
/// closure written at the error type, so an error type without `From<Error>` is
/// reported there, once.
#[inline(always)]
pub fn carries_rejection<E: CarriesRejection>(error: Error) -> E {
    E::from(error)
}

/// [`carries_rejection`] for an error type that is not the user's.
#[inline(always)]
pub fn foreign_carries_rejection<E: ForeignCarriesRejection>(error: Error) -> E {
    E::from(error)
}

pin_project_lite::pin_project! {
    /// The protected body's future, its output made a plain `Result` by `into` (the
    /// attribute's closure).
    pub struct AsResult<F, P> {
        #[pin]
        body: F,
        into: P,
    }
}

impl<F: Future, P: Fn(F::Output) -> O, O> Future for AsResult<F, P> {
    type Output = O;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<O> {
        let this = self.project();
        match this.body.poll(cx) {
            Poll::Ready(output) => Poll::Ready((this.into)(output)),
            Poll::Pending => Poll::Pending,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of a protected call without fallback, as the attribute builds it: its
    /// `Future` impl needs nothing of the function's types but the closures the
    /// attribute wrote (and checked) at them.
    #[must_use = "futures do nothing unless polled"]
    pub struct Guarded<'a, F, C, Q> {
        #[pin]
        attempt: Attempt<'a, F, C, Convert<Q>>,
    }
}

impl<T, E, F, C, Q> Future for Guarded<'_, F, C, Q>
where
    F: Future<Output = Result<T, E>>,
    C: Classify<T, E>,
    Q: Fn(Error) -> E,
{
    type Output = Result<T, E>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        self.project().attempt.poll(cx)
    }
}

pin_project_lite::pin_project! {
    /// The future of a traced call without fallback (`trace = true`): the attempt,
    /// polled inside the call's span, which records how it was admitted and ended.
    #[must_use = "futures do nothing unless polled"]
    pub struct TracedGuarded<'a, F, C, Q> {
        span: tracing::Span,
        #[pin]
        attempt: Attempt<'a, F, C, Traced<Convert<Q>>>,
    }
}

impl<T, E, F, C, Q> Future for TracedGuarded<'_, F, C, Q>
where
    F: Future<Output = Result<T, E>>,
    C: Classify<T, E>,
    Q: Fn(Error) -> E,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, E>> {
        let this = self.project();
        // Entered while the body runs: its own spans and events are the call's children.
        let _entered = this.span.enter();
        this.attempt.poll(cx)
    }
}

/// Whether calls of `breaker` are traced (`trace = true` in the attribute or a layer):
/// the attribute's expansion then takes [`call_traced`] or
/// [`call_with_fallback_traced`], so an untraced call pays one load and one branch.
#[inline(always)]
pub fn traced(breaker: &CircuitBreaker) -> bool {
    breaker.inner.settings.traced()
}

/// The boxed future of [`call_traced`].
pub type TracedCall<F, C, P, Q> = Pin<Box<TracedGuarded<'static, AsResult<F, P>, C, Q>>>;

/// [`call`] in a `tracing` span (boxed: the untraced path does not grow by it).
#[cold]
pub fn call_traced<T, E, F, C, P, Q>(
    breaker: &'static CircuitBreaker,
    classify: C,
    body: F,
    into: P,
    reject: Q,
) -> TracedCall<F, C, P, Q>
where
    F: Future,
    P: Fn(F::Output) -> Result<T, E>,
    Q: Fn(Error) -> E,
{
    let inner = &breaker.inner;
    let span = call_span(inner);
    let finish = Traced { finish: Convert(reject), span: Some(Box::new(span.clone())) };
    Box::pin(TracedGuarded { span, attempt: Attempt::new(inner, AsResult { body, into }, classify, finish) })
}

/// A protected call without fallback: what the attribute expands to.
///
/// Nothing here is bounded by the user's types: what could be wrong with them is
/// checked where `into` and `reject` are written, so the `.await` of the result
/// (where rustc cannot merge an error with one reported elsewhere) never fails.
#[inline(always)]
pub fn call<T, E, F, C, P, Q>(
    breaker: &'static CircuitBreaker,
    classify: C,
    body: F,
    into: P,
    reject: Q,
) -> Guarded<'static, AsResult<F, P>, C, Q>
where
    F: Future,
    P: Fn(F::Output) -> Result<T, E>,
    Q: Fn(Error) -> E,
{
    Guarded { attempt: Attempt::new(&breaker.inner, AsResult { body, into }, classify, Convert(reject)) }
}

/// A protected call with a fallback chain: what the attribute expands to. Its bounds
/// hold for any closures the attribute writes, so its `.await` never fails either.
pub async fn call_with_fallback<T, E, F, C, P, Q, B>(
    breaker: &'static CircuitBreaker,
    classify: C,
    body: F,
    into: P,
    reject: Q,
    fallback: B,
) -> Result<T, E>
where
    F: Future,
    P: Fn(F::Output) -> Result<T, E>,
    Q: Fn(Error) -> E,
    C: Classify<T, E>,
    B: Fallback<T, E>,
{
    protect_with_fallback(&breaker.inner, classify, AsResult { body, into }, fallback, reject, None).await
}

/// [`call_with_fallback`] in a `tracing` span (boxed, as [`call_traced`]).
#[cold]
pub fn call_with_fallback_traced<T, E, F, C, P, Q, B>(
    breaker: &'static CircuitBreaker,
    classify: C,
    body: F,
    into: P,
    reject: Q,
    fallback: B,
) -> Pin<Box<impl Future<Output = Result<T, E>>>>
where
    F: Future,
    P: Fn(F::Output) -> Result<T, E>,
    Q: Fn(Error) -> E,
    C: Classify<T, E>,
    B: Fallback<T, E>,
{
    let inner = &breaker.inner;
    let span = call_span(inner);
    let call =
        protect_with_fallback(inner, classify, AsResult { body, into }, fallback, reject, Some(span.clone()));
    Box::pin(tracing::Instrument::instrument(call, span))
}

/// `first`, then `next` if it fails: the links of a chain, in order.
#[inline(always)]
pub fn or_else<A, B>(first: A, next: B) -> OrElse<A, B> {
    crate::policy::fallback::or_else(first, next)
}

/// One link of the attribute's fallback chain (see [`link`]): an async closure that may
/// borrow the cause while it runs, its answer made the chain's `Result` by `into`. Its
/// `Fallback` impl needs nothing but the closures' own signatures, so a link never fails
/// a bound where the chain is awaited.
pub struct Lent<F, P, R> {
    fallback: F,
    into: P,
    answer: PhantomData<fn() -> R>,
}

impl<T, E, F, P, R> sealed::Run<T, E> for Lent<F, P, R>
where
    F: AsyncFnOnce(&Cause<E>) -> R,
    P: Fn(R) -> Result<T, E>,
{
    const LEN: usize = 1;

    fn attempt(self, attempts: &mut Attempts<'_, E>) -> impl Future<Output = Option<T>> {
        attempts.one(self.fallback, self.into)
    }
}

/// One link of the fallback chain: an async closure that reaches the kept arguments
/// through a reference it captures, borrows the cause, and calls one fallback through
/// its check; its answer (the function's return type) is made a plain `Result` by
/// `into`, the closure checked at the return type.
///
/// The cause's type is taken from `reject` (whose return type the compiler knows,
/// `ErrOf<R>` normalized), not written by the attribute: for a return type that is not
/// a `Result`, `ErrOf<R>` written at the fallback would fail again there.
#[inline(always)]
pub fn link<E, R, Q, P, F>(_: &Q, into: P, fallback: F) -> Lent<F, P, R>
where
    Q: Fn(Error) -> E,
    F: AsyncFnOnce(&Cause<E>) -> R,
{
    Lent { fallback, into, answer: PhantomData }
}

/// Marks a fallback that returns the function's return type at once (`fn`).
pub struct ReturnsAnswer;
/// Marks a fallback that returns a future of it (`async fn`).
pub struct ReturnsFuture;
/// Marks an `fn` fallback whose last parameter is the `&Cause<E>`.
pub struct ReturnsAnswerGivenCause;
/// Marks an `async fn` fallback whose last parameter is the `&Cause<E>`.
pub struct ReturnsFutureGivenCause;

/// A function that can be the fallback of a protected function taking the arguments
/// `A` (a tuple) and returning `R`: `fn(A..) -> R`, `async fn(A..) -> R`, or either with
/// a last parameter `&Cause<E>`. `M` tells which (inferred: exactly one impl applies).
///
/// No `on_unimplemented` here: the attribute declares, next to each fallback, a trait
/// with this one as its only impl's bound, whose message names the functions.
pub trait FallbackFn<A, R, E, M>: Sized {
    /// Calls `fallback` (at once if it is sync). The arguments and the cause come
    /// first, so that a call infers `A` and `E` from them, not from the fallback's own
    /// parameters (which would make a wrong fallback a type mismatch at the call).
    fn call_fallback(args: A, cause: &Cause<E>, fallback: Self) -> impl Future<Output = R>;
}

macro_rules! fallback_fn {
    ($($a:ident $v:ident),*) => {
        impl<F, R, E, $($a),*> FallbackFn<($($a,)*), R, E, ReturnsAnswer> for F
        where
            F: FnOnce($($a),*) -> R,
        {
            #[inline(always)]
            #[allow(clippy::unused_unit)]
            fn call_fallback(($($v,)*): ($($a,)*), _: &Cause<E>, fallback: F) -> impl Future<Output = R> {
                core::future::ready(fallback($($v),*))
            }
        }

        impl<F, R, E, $($a),*> FallbackFn<($($a,)*), R, E, ReturnsFuture> for F
        where
            F: AsyncFnOnce($($a),*) -> R,
        {
            #[inline(always)]
            fn call_fallback(($($v,)*): ($($a,)*), _: &Cause<E>, fallback: F) -> impl Future<Output = R> {
                fallback($($v),*)
            }
        }

        impl<F, R, E, $($a),*> FallbackFn<($($a,)*), R, E, ReturnsAnswerGivenCause> for F
        where
            F: FnOnce($($a,)* &Cause<E>) -> R,
        {
            #[inline(always)]
            fn call_fallback(($($v,)*): ($($a,)*), cause: &Cause<E>, fallback: F) -> impl Future<Output = R> {
                core::future::ready(fallback($($v,)* cause))
            }
        }

        impl<F, R, E, $($a),*> FallbackFn<($($a,)*), R, E, ReturnsFutureGivenCause> for F
        where
            F: AsyncFnOnce($($a,)* &Cause<E>) -> R,
        {
            #[inline(always)]
            fn call_fallback(($($v,)*): ($($a,)*), cause: &Cause<E>, fallback: F) -> impl Future<Output = R> {
                fallback($($v,)* cause)
            }
        }
    };
}

fallback_fn!();
fallback_fn!(A1 a1);
fallback_fn!(A1 a1, A2 a2);
fallback_fn!(A1 a1, A2 a2, A3 a3);
fallback_fn!(A1 a1, A2 a2, A3 a3, A4 a4);
fallback_fn!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
fallback_fn!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);
fallback_fn!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7);
fallback_fn!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8);
fallback_fn!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9);
fallback_fn!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10);
fallback_fn!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11);
fallback_fn!(A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6, A7 a7, A8 a8, A9 a9, A10 a10, A11 a11, A12 a12);

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
        let value = crate::sync::unpoisoned(self.value.lock());
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

/// The classifier `f` of the errors of type `E`, the error type of `reject` (so the
/// attribute need not write the type, which may be unknown: see [`link`]).
#[inline(always)]
pub fn classifier<E, Q: Fn(Error) -> E, F: ClassifyErrors<E>>(_: &Q, f: F) -> Classifier<F, E> {
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

/// The attribute's classifier with a way to show the error of a failure (for the
/// transition it triggers): with its sources when the error type implements `Error`
/// (or gives one: a boxed `dyn Error`, `anyhow::Error`), else by `Display` when it has
/// it, picked by [`autoref`] at the return type.
pub struct Describing<C, D> {
    classify: C,
    describe: D,
}

/// Wraps `classify` with `describe` ([`autoref::PickDynError`],
/// [`autoref::PickErrorChain`], [`autoref::PickDisplay`] or [`autoref::PickNoDisplay`]).
#[inline(always)]
pub fn describing<C, D>(classify: C, describe: D) -> Describing<C, D> {
    Describing { classify, describe }
}

impl<T, E, C: Classify<T, E>, D: Describe<E>> Classify<T, E> for Describing<C, D> {
    #[inline(always)]
    fn classify(&self, result: &Result<T, E>) -> Outcome {
        self.classify.classify(result)
    }

    #[inline(always)]
    fn __display<'e>(&self, error: &'e E) -> Option<Shown<'e>> {
        self.describe.display(error)
    }

    #[inline(always)]
    fn __too_many_requests(&self, result: &Result<T, E>) -> bool {
        self.classify.__too_many_requests(result)
    }
}

pub use crate::breaker::failing::Shown;

/// How an error is shown, if it can be.
pub trait Describe<E> {
    /// `error` as the transition it triggers shows it, if it can be shown.
    fn display<'e>(&self, error: &'e E) -> Option<Shown<'e>>;
}

/// Shows an error by its `Display` and its sources.
pub struct ByErrorChain;

impl<E: std::error::Error> Describe<E> for ByErrorChain {
    #[inline(always)]
    fn display<'e>(&self, error: &'e E) -> Option<Shown<'e>> {
        Some(Shown::Error(error))
    }
}

/// Shows an error that is not itself an `Error` but gives one (a boxed `dyn Error`,
/// tower's `BoxError`, `anyhow::Error`: any type that is `AsRef<dyn Error + Send +
/// Sync>`) by that one's `Display` and its sources (for `anyhow`: each context, then
/// the cause, as `{:#}` shows them).
pub struct ByDynError;

impl<E: AsRef<dyn std::error::Error + Send + Sync + 'static>> Describe<E> for ByDynError {
    #[inline(always)]
    fn display<'e>(&self, error: &'e E) -> Option<Shown<'e>> {
        Some(Shown::Error(error.as_ref()))
    }
}

/// Shows an error by its `Display`.
pub struct ByDisplay;

impl<E: std::fmt::Display> Describe<E> for ByDisplay {
    #[inline(always)]
    fn display<'e>(&self, error: &'e E) -> Option<Shown<'e>> {
        Some(Shown::Display(error))
    }
}

/// An error that cannot be shown.
pub struct NoDisplay;

impl<E> Describe<E> for NoDisplay {
    #[inline(always)]
    fn display<'e>(&self, _: &'e E) -> Option<Shown<'e>> {
        None
    }
}

/// The attribute's default classifier, picked by the function's types (autoref
/// specialisation): `(&&&&Probe::<R>::NEW).classifier()` finds the first of these that
/// applies, in this order, and `DefaultClassifier` when none does.
/// The describer is picked the same way: `(&&&&Probe::<R>::NEW).describer()`.
pub mod autoref {
    use std::marker::PhantomData;

    use super::ResultType;
    use crate::classify::{ByBoth, ByError, ByOkValue, ClassifiedError, ClassifiedOk, DefaultClassifier};

    /// Stands for the return type `R`.
    pub struct Probe<R>(PhantomData<fn() -> R>);

    impl<R> Probe<R> {
        /// The probe.
        pub const NEW: Probe<R> = Probe(PhantomData);
    }

    /// Both the `Ok` type and the error type judge themselves.
    pub trait PickBoth {
        /// The classifier.
        fn classifier(&self) -> ByBoth {
            ByBoth
        }
    }
    impl<R: ResultType> PickBoth for &&&Probe<R>
    where
        R::Ok: ClassifiedOk,
        R::Err: ClassifiedError,
    {
    }

    /// The `Ok` type judges itself.
    pub trait PickOk {
        /// The classifier.
        fn classifier(&self) -> ByOkValue {
            ByOkValue
        }
    }
    impl<R: ResultType> PickOk for &&Probe<R> where R::Ok: ClassifiedOk {}

    /// The error type judges itself.
    pub trait PickError {
        /// The classifier.
        fn classifier(&self) -> ByError {
            ByError
        }
    }
    impl<R: ResultType> PickError for &Probe<R> where R::Err: ClassifiedError {}

    /// Neither: `Ok` a success, every error a failure.
    pub trait PickDefault {
        /// The classifier.
        fn classifier(&self) -> DefaultClassifier {
            DefaultClassifier
        }
    }
    impl<R> PickDefault for Probe<R> {}

    /// The error type gives a `dyn Error` (a boxed one, tower's `BoxError`,
    /// `anyhow::Error`): failures are shown with its sources.
    pub trait PickDynError {
        /// The describer.
        fn describer(&self) -> super::ByDynError {
            super::ByDynError
        }
    }
    impl<R: ResultType> PickDynError for &&&Probe<R> where
        R::Err: AsRef<dyn std::error::Error + Send + Sync + 'static>
    {
    }

    /// The error type implements `Error`: failures are shown with their sources.
    pub trait PickErrorChain {
        /// The describer.
        fn describer(&self) -> super::ByErrorChain {
            super::ByErrorChain
        }
    }
    impl<R: ResultType> PickErrorChain for &&Probe<R> where R::Err: std::error::Error {}

    /// The error type has `Display`: failures are shown by it.
    pub trait PickDisplay {
        /// The describer.
        fn describer(&self) -> super::ByDisplay {
            super::ByDisplay
        }
    }
    impl<R: ResultType> PickDisplay for &Probe<R> where R::Err: std::fmt::Display {}

    /// It has not.
    pub trait PickNoDisplay {
        /// The describer.
        fn describer(&self) -> super::NoDisplay {
            super::NoDisplay
        }
    }
    impl<R> PickNoDisplay for Probe<R> {}
}

/// The latency histogram's recording, as the call path does it (for the benchmark of
/// `record` alone): the bucket of a time, and one increment of a lane's counter.
pub struct LatencyRecorder(Box<[std::sync::atomic::AtomicU64; crate::breaker::latency::BUCKETS]>);

impl Default for LatencyRecorder {
    fn default() -> Self {
        LatencyRecorder(Box::new(std::array::from_fn(|_| std::sync::atomic::AtomicU64::new(0))))
    }
}

impl LatencyRecorder {
    /// Records one call of `nanos`.
    #[inline]
    pub fn record(&self, nanos: u64) {
        let counter = &self.0[crate::breaker::latency::bucket_of(nanos)];
        counter.store(
            counter.load(std::sync::atomic::Ordering::Relaxed) + 1,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// Calls recorded.
    pub fn count(&self) -> u64 {
        self.0.iter().map(|c| c.load(std::sync::atomic::Ordering::Relaxed)).sum()
    }
}
