//! `registry()`: every annotated function of the program is known, with its source
//! location and configuration, before any of them is called; services are listed
//! sorted and looked up by name, with a suggestion for a typo.
//!
//! This binary declares no conflicting definitions (see `registry_conflicts.rs`), so
//! its registry is consistent.

mod common;

use breaker_runtime::registry::{ConfigLayer, Definition};
use breaker_runtime::{Error, circuit_breaker, registry};
use common::ApiError;

const LISTED_LINE: u32 = line!() + 1;
#[circuit_breaker(service = "registry-listed", threshold = 4)]
async fn listed(x: u32) -> Result<u32, ApiError> {
    Ok(x)
}

mod billing {
    use crate::common::ApiError;
    use breaker_runtime::circuit_breaker;

    pub const CHARGE_LINE: u32 = line!() + 1;
    #[circuit_breaker(service = "registry-billing", timeout = "2s")]
    pub async fn charge(cents: u64) -> Result<u64, ApiError> {
        Ok(cents)
    }

    pub const REFUND_LINE: u32 = line!() + 2;
    /// A doc comment above the attribute does not move its line.
    #[circuit_breaker(service = "registry-billing", timeout = "2s")]
    pub async fn refund(cents: u64) -> Result<u64, ApiError> {
        Ok(cents)
    }
}

fn only(service: &str) -> &'static Definition {
    let found: Vec<_> = registry().definitions().iter().filter(|d| d.service == service).collect();
    assert_eq!(found.len(), 1, "definitions of `{service}`: {found:#?}");
    found[0]
}

#[tokio::test]
async fn every_definition_is_listed_with_its_location_before_any_call() {
    let listed_def = only("registry-listed");
    assert_eq!(registry().breaker("registry-listed").unwrap().snapshot().window.calls, 0, "called already");
    assert_eq!(listed_def.function, "registry::listed");
    assert_eq!(listed_def.file, file!());
    assert!(listed_def.file.ends_with("registry.rs"), "{}", listed_def.file);
    assert_eq!(listed_def.line, LISTED_LINE);
    assert_eq!(listed_def.column, 1);
    assert_eq!(listed_def.config, ConfigLayer { threshold: Some(4), ..ConfigLayer::EMPTY });
    assert_eq!(listed_def.location().to_string(), format!("{}:{LISTED_LINE}:1", file!()));

    let billing: Vec<_> =
        registry().definitions().iter().filter(|d| d.service == "registry-billing").copied().collect();
    let found: Vec<_> = billing.iter().map(|d| (d.function, d.line)).collect();
    assert_eq!(
        found,
        [
            ("registry::billing::charge", billing::CHARGE_LINE),
            ("registry::billing::refund", billing::REFUND_LINE)
        ],
        "sorted by service, then file and line"
    );
    assert!(billing.iter().all(|d| d.file == file!()));
    assert_eq!(registry().definitions_of("registry-billing"), billing);

    // Calls find the breakers the registry listed.
    assert_eq!(listed(1).await, Ok(1));
    assert_eq!(billing::charge(5).await, Ok(5));
    assert_eq!(billing::refund(5).await, Ok(5));
    assert_eq!(registry().breaker("registry-listed").unwrap().snapshot().window.calls, 1);
    assert_eq!(registry().breaker("registry-billing").unwrap().snapshot().window.calls, 2);
    assert_eq!(registry().definitions_of("registry-billing").len(), 2, "a call added a definition again");
}

#[circuit_breaker(service = "registry-zeta")]
async fn zeta() -> Result<(), ApiError> {
    Ok(())
}

#[circuit_breaker(service = "registry-alpha")]
async fn alpha() -> Result<(), ApiError> {
    Ok(())
}

#[circuit_breaker(service = "registry-Mid.dle_1")]
async fn middle() -> Result<(), ApiError> {
    Ok(())
}

#[tokio::test]
async fn services_are_listed_sorted_and_include_every_declared_service() {
    let services = registry().services();
    assert!(services.windows(2).all(|w| w[0] < w[1]), "not sorted or not unique: {services:?}");
    for service in
        ["registry-zeta", "registry-alpha", "registry-Mid.dle_1", "registry-listed", "registry-billing"]
    {
        assert!(services.contains(&service), "`{service}` missing from {services:?}");
    }
    let definitions = registry().definitions();
    assert!(
        definitions
            .windows(2)
            .all(|w| (w[0].service, w[0].file, w[0].line) <= (w[1].service, w[1].file, w[1].line)),
        "definitions not sorted by service, file, line"
    );
    zeta().await.unwrap();
    alpha().await.unwrap();
    middle().await.unwrap();
}

#[circuit_breaker(service = "registry-inventory")]
async fn inventory_lookup() -> Result<(), ApiError> {
    Ok(())
}

#[tokio::test]
async fn an_unknown_service_is_an_error_that_suggests_the_nearest_name() {
    match registry().get("registry-inventroy") {
        Err(Error::UnknownService { service, suggestion }) => {
            assert_eq!(&*service, "registry-inventroy");
            assert_eq!(suggestion.as_deref(), Some("registry-inventory"));
        }
        other => panic!("expected UnknownService, got {other:?}"),
    }
    let error = registry().get("registry-inventroy").unwrap_err();
    assert_eq!(error.to_string(), "unknown service `registry-inventroy`; did you mean `registry-inventory`?");

    let far = registry().get("unknwon").unwrap_err();
    assert_eq!(far, Error::UnknownService { service: "unknwon".into(), suggestion: None });
    assert!(registry().breaker("unknwon").is_none());
    assert!(registry().definitions_of("unknwon").is_empty());
    inventory_lookup().await.unwrap();
}

#[circuit_breaker(service = "registry-handle", threshold = 1)]
async fn handle_target(ok: bool) -> Result<(), ApiError> {
    if ok { Ok(()) } else { Err(ApiError::Down(0)) }
}

#[tokio::test]
async fn the_registrys_breaker_is_the_one_the_protected_function_uses() {
    let from_get = registry().get("registry-handle").expect("known service");
    let from_breaker = registry().breaker("registry-handle").expect("known service");
    assert!(from_get.ptr_eq(&from_breaker));
    assert_eq!(from_get.service(), "registry-handle");
    let _ = handle_target(false).await;
    assert_eq!(from_get.state(), breaker_runtime::State::Open);
    from_get.reset();
    assert_eq!(handle_target(true).await, Ok(()));
}

#[circuit_breaker(service = "registry-same", threshold = 3, timeout = "1s")]
async fn same_config_a() -> Result<(), ApiError> {
    Ok(())
}

#[circuit_breaker(timeout = "1000ms", threshold = 3, service = "registry-same")]
async fn same_config_b() -> Result<(), ApiError> {
    Ok(())
}

#[circuit_breaker(service = "registry-same", threshold = 3, timeout = "1s", fallback = same_fallback)]
async fn same_config_with_fallback() -> Result<(), ApiError> {
    Ok(())
}

fn same_fallback() -> Result<(), ApiError> {
    Ok(())
}

#[tokio::test]
async fn one_service_declared_alike_in_several_places_is_consistent() {
    assert_eq!(registry().definitions_of("registry-same").len(), 3);
    assert!(registry().conflicts().is_empty(), "{:#?}", registry().conflicts());
    registry().ensure_consistent().expect("no conflicting definitions in this binary");
    same_config_a().await.unwrap();
    same_config_b().await.unwrap();
    same_config_with_fallback().await.unwrap();
    assert_eq!(registry().breaker("registry-same").unwrap().snapshot().window.calls, 3);
}

macro_rules! protected_pair {
    ($($name:ident => $service:literal),* $(,)?) => {
        $(
            #[circuit_breaker(service = $service)]
            async fn $name() -> Result<&'static str, ApiError> {
                Ok($service)
            }
        )*
    };
}

protected_pair!(generated_a => "registry-generated-a", generated_b => "registry-generated-b");
protected_pair!(generated_c => "registry-generated-c", generated_d => "registry-generated-c");

#[tokio::test]
async fn services_of_functions_generated_by_one_macro_invocation_are_each_listed() {
    let services = registry().services();
    for service in ["registry-generated-a", "registry-generated-b"] {
        assert!(services.contains(&service), "`{service}` missing from {services:?}");
        assert_eq!(registry().definitions_of(service).len(), 1, "{service}");
    }
    assert_eq!(generated_a().await, Ok("registry-generated-a"));
    assert_eq!(generated_b().await, Ok("registry-generated-b"));
}

#[tokio::test]
async fn functions_of_one_service_generated_by_one_macro_invocation_are_each_listed() {
    let functions: Vec<_> =
        registry().definitions_of("registry-generated-c").iter().map(|d| d.function).collect();
    assert_eq!(functions, ["registry::generated_c", "registry::generated_d"]);
    assert_eq!(generated_c().await, Ok("registry-generated-c"));
    assert_eq!(generated_d().await, Ok("registry-generated-c"));
    let functions: Vec<_> =
        registry().definitions_of("registry-generated-c").iter().map(|d| d.function).collect();
    assert_eq!(functions, ["registry::generated_c", "registry::generated_d"], "after the calls");
}
