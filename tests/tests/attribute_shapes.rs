//! Every shape of function the attribute accepts works at run time: methods (`&self`,
//! `&mut self`, `&self` with `fallback = Self::...`), generic functions, `impl Trait`
//! arguments and return types, functions in nested modules, `Result` aliases, and
//! bodies using `return` and `?`.

mod common;

use std::fmt::Display;
use std::sync::atomic::{AtomicUsize, Ordering};

use breaker_runtime::{Error, State, circuit_breaker, registry};
use common::{ApiError, breaker};

struct Client {
    base: u32,
    calls: AtomicUsize,
}

impl Client {
    #[circuit_breaker(service = "shapes-ref-self", threshold = 2)]
    async fn fetch(&self, id: u32) -> Result<u32, ApiError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if id == 0 { Err(ApiError::Down(0)) } else { Ok(self.base + id) }
    }

    #[circuit_breaker(service = "shapes-ref-self-fallback", threshold = 1, fallback = Self::cached)]
    async fn fetch_or_cached(&self, id: u32) -> Result<u32, ApiError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if id == 0 { Err(ApiError::Down(0)) } else { Ok(self.base + id) }
    }

    fn cached(&self, id: u32) -> Result<u32, ApiError> {
        Ok(self.base * 1000 + id)
    }
}

#[tokio::test]
async fn a_method_taking_ref_self_is_protected() {
    let client = Client { base: 10, calls: AtomicUsize::new(0) };
    assert_eq!(client.fetch(1).await, Ok(11));
    let _ = client.fetch(0).await;
    let _ = client.fetch(0).await;
    assert!(matches!(client.fetch(1).await, Err(ApiError::Breaker(Error::CircuitOpen { .. }))));
    assert_eq!(client.calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_method_with_a_self_fallback_gets_self_and_the_arguments_in_the_fallback() {
    let client = Client { base: 7, calls: AtomicUsize::new(0) };
    assert_eq!(client.fetch_or_cached(1).await, Ok(8));
    assert_eq!(client.fetch_or_cached(0).await, Ok(7000), "a failure falls back to Self::cached");
    assert_eq!(breaker("shapes-ref-self-fallback").state(), State::Open);
    assert_eq!(client.fetch_or_cached(5).await, Ok(7005), "a rejection falls back to Self::cached");
    assert_eq!(client.calls.load(Ordering::SeqCst), 2);
}

struct Counter {
    value: u32,
}

impl Counter {
    #[circuit_breaker(service = "shapes-mut-self", threshold = 1)]
    async fn bump(&mut self, by: u32) -> Result<u32, ApiError> {
        if by == 0 {
            return Err(ApiError::Down(0));
        }
        self.value += by;
        Ok(self.value)
    }
}

#[tokio::test]
async fn a_method_taking_mut_self_changes_its_receiver() {
    let mut counter = Counter { value: 0 };
    assert_eq!(counter.bump(2).await, Ok(2));
    assert_eq!(counter.bump(3).await, Ok(5));
    assert_eq!(counter.value, 5);
    let _ = counter.bump(0).await;
    assert!(matches!(counter.bump(1).await, Err(ApiError::Breaker(Error::CircuitOpen { .. }))));
    assert_eq!(counter.value, 5, "a rejected call changed the receiver");
}

#[circuit_breaker(service = "shapes-generic")]
async fn describe<T: Display + Send>(value: T, times: usize) -> Result<String, ApiError> {
    Ok(value.to_string().repeat(times))
}

#[circuit_breaker(service = "shapes-generic-fallback", fallback = describe_cached)]
async fn describe_or_cached<T>(value: T) -> Result<String, ApiError>
where
    T: Display + Copy,
{
    Err(ApiError::Parse(value.to_string()))
}

fn describe_cached<T: Display + Copy>(value: T) -> Result<String, ApiError> {
    Ok(format!("cached {value}"))
}

#[tokio::test]
async fn generic_functions_work_for_every_instantiation_and_share_their_breaker() {
    assert_eq!(describe("ab", 2).await, Ok("abab".to_string()));
    assert_eq!(describe(7u8, 3).await, Ok("777".to_string()));
    assert_eq!(describe(1.5f64, 1).await, Ok("1.5".to_string()));
    assert_eq!(breaker("shapes-generic").snapshot().window.successes, 3);
    assert_eq!(describe_or_cached(4).await, Ok("cached 4".to_string()));
    assert_eq!(describe_or_cached('x').await, Ok("cached x".to_string()));
    assert_eq!(registry().definitions_of("shapes-generic").len(), 1);
}

#[circuit_breaker(service = "shapes-impl-arg")]
async fn total_len(parts: impl IntoIterator<Item = impl AsRef<str>>) -> Result<usize, ApiError> {
    Ok(parts.into_iter().map(|p| p.as_ref().len()).sum())
}

#[circuit_breaker(service = "shapes-impl-arg-fallback", fallback = shout_cached)]
async fn shout(word: impl AsRef<str> + Copy) -> Result<String, ApiError> {
    Err(ApiError::Down(word.as_ref().len() as u32))
}

fn shout_cached(word: impl AsRef<str> + Copy) -> Result<String, ApiError> {
    Ok(word.as_ref().to_uppercase())
}

#[circuit_breaker(service = "shapes-impl-return")]
async fn shown(n: u32) -> Result<impl Display, ApiError> {
    Ok(n * 2)
}

#[tokio::test]
async fn impl_trait_arguments_and_return_types_work() {
    assert_eq!(total_len(["ab", "cde"]).await, Ok(5));
    assert_eq!(total_len(vec![String::from("xyz")]).await, Ok(3));
    assert_eq!(shout("hey").await, Ok("HEY".to_string()));
    assert_eq!(shown(21).await.map(|d| d.to_string()), Ok("42".to_string()));
}

mod outer {
    pub mod inner {
        use crate::common::ApiError;
        use breaker_runtime::circuit_breaker;

        #[circuit_breaker(service = "shapes-nested", threshold = 1)]
        pub async fn deep(ok: bool) -> Result<&'static str, ApiError> {
            if ok { Ok("deep") } else { Err(ApiError::Down(0)) }
        }

        pub struct Store;

        impl Store {
            #[circuit_breaker(service = "shapes-nested-method")]
            pub(crate) async fn get(&self) -> Result<u8, ApiError> {
                Ok(1)
            }
        }
    }
}

#[tokio::test]
async fn functions_in_nested_modules_are_protected_and_named_by_their_path() {
    assert_eq!(outer::inner::deep(true).await, Ok("deep"));
    let _ = outer::inner::deep(false).await;
    assert!(matches!(outer::inner::deep(true).await, Err(ApiError::Breaker(Error::CircuitOpen { .. }))));
    assert_eq!(outer::inner::Store.get().await, Ok(1));
    let deep = registry().definitions_of("shapes-nested");
    assert_eq!(deep.len(), 1);
    assert_eq!(deep[0].function, "attribute_shapes::outer::inner::deep");
}

#[circuit_breaker(service = "shapes-return", threshold = 2)]
async fn first_even(values: Vec<u32>) -> Result<u32, ApiError> {
    for value in values {
        if value % 2 == 0 {
            return Ok(value);
        }
    }
    Err(ApiError::NotFound)
}

#[tokio::test]
async fn return_in_a_protected_body_returns_from_the_function() {
    assert_eq!(first_even(vec![1, 3, 8, 5, 6]).await, Ok(8));
    assert_eq!(first_even(vec![1, 3]).await, Err(ApiError::NotFound));
    let snapshot = breaker("shapes-return").snapshot();
    assert_eq!((snapshot.window.successes, snapshot.window.failures), (1, 1));
}

#[circuit_breaker(service = "shapes-question-mark", threshold = 2)]
async fn parse_sum(a: &str, b: &str) -> Result<u32, ApiError> {
    let a: u32 = a.parse()?;
    let b: u32 = b.trim().parse()?;
    Ok(a + b)
}

#[tokio::test]
async fn question_mark_converts_errors_with_from_and_counts_them_as_failures() {
    assert_eq!(parse_sum("2", " 3 ").await, Ok(5));
    assert_eq!(parse_sum("x", "3").await, Err(ApiError::Parse("invalid digit found in string".to_string())));
    assert_eq!(breaker("shapes-question-mark").snapshot().consecutive_failures, 1);
    let _ = parse_sum("1", "y").await;
    assert_eq!(breaker("shapes-question-mark").state(), State::Open);
}

type AppResult<T> = Result<T, ApiError>;

#[circuit_breaker(service = "shapes-alias")]
async fn aliased(x: u8) -> AppResult<u8> {
    let doubled = x.checked_mul(2).ok_or(ApiError::Down(u32::from(x)))?;
    Ok(doubled)
}

#[circuit_breaker(service = "shapes-breaker-error")]
async fn plain_breaker_error(x: u8) -> Result<u8, Error> {
    Ok(x)
}

#[tokio::test]
async fn result_aliases_and_the_breakers_own_error_type_work() {
    assert_eq!(aliased(4).await, Ok(8));
    assert_eq!(aliased(200).await, Err(ApiError::Down(200)));
    assert_eq!(plain_breaker_error(3).await, Ok(3));
    breaker("shapes-breaker-error").force_open();
    assert!(matches!(plain_breaker_error(3).await, Err(Error::CircuitOpen { retry_after: None, .. })));
}

#[circuit_breaker(service = "shapes-patterns")]
async fn patterns(mut total: u32, (a, b): (u32, u32), _: &str) -> Result<u32, ApiError> {
    total += a * b;
    Ok(total)
}

#[circuit_breaker(service = "shapes-borrows")]
async fn longest<'a>(a: &'a str, b: &'a str) -> Result<&'a str, ApiError> {
    Ok(if a.len() >= b.len() { a } else { b })
}

#[tokio::test]
async fn mutable_and_destructured_arguments_and_borrowed_results_work() {
    assert_eq!(patterns(1, (2, 3), "ignored").await, Ok(7));
    let owned = String::from("longer");
    assert_eq!(longest("short", &owned).await, Ok("longer"));
}

/// Documented, `#[must_use]`, attributes kept.
#[must_use = "the answer matters"]
#[circuit_breaker(crate = ::breaker_runtime, service = "shapes-attrs")]
pub(crate) async fn with_attributes() -> Result<bool, ApiError> {
    Ok(true)
}

#[tokio::test]
async fn other_attributes_visibility_and_the_crate_key_are_kept() {
    assert_eq!(with_attributes().await, Ok(true));
    assert_eq!(breaker("shapes-attrs").snapshot().window.successes, 1);
}
