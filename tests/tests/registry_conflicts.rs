//! Two call sites declaring one service with different configurations: the registry
//! reports the conflict with both source locations, the first definition (by file and
//! line) configures the breaker, and strict mode (`ensure_consistent`) fails naming
//! both places.
//!
//! Its own binary: the conflicts make the whole registry of the binary inconsistent.

mod common;

use breaker_runtime::{circuit_breaker, registry};
use common::{ApiError, breaker};

const FIRST_LINE: u32 = line!() + 1;
#[circuit_breaker(service = "conflicts-payments", threshold = 3, timeout = "2s")]
async fn authorize(cents: u64) -> Result<u64, ApiError> {
    Ok(cents)
}

const SECOND_LINE: u32 = line!() + 1;
#[circuit_breaker(service = "conflicts-payments", threshold = 7, timeout = "2s", recovery_timeout = "60s")]
async fn capture(cents: u64) -> Result<u64, ApiError> {
    Ok(cents)
}

#[circuit_breaker(service = "conflicts-agree", threshold = 2)]
async fn agree_a() -> Result<(), ApiError> {
    Ok(())
}

#[circuit_breaker(service = "conflicts-agree", threshold = 2)]
async fn agree_b() -> Result<(), ApiError> {
    Ok(())
}

#[tokio::test]
async fn a_service_declared_with_two_configurations_is_a_conflict_naming_both_locations() {
    let conflicts: Vec<_> =
        registry().conflicts().iter().filter(|c| c.service == "conflicts-payments").collect();
    assert_eq!(conflicts.len(), 1, "{conflicts:#?}");
    let conflict = conflicts[0];
    assert_eq!(
        (conflict.first.function, conflict.first.file, conflict.first.line),
        ("registry_conflicts::authorize", file!(), FIRST_LINE)
    );
    assert_eq!(
        (conflict.second.function, conflict.second.file, conflict.second.line),
        ("registry_conflicts::capture", file!(), SECOND_LINE)
    );
    assert_eq!(conflict.keys, ["threshold", "recovery_timeout"]);

    let message = conflict.to_string();
    assert!(message.contains(&format!("{}:{FIRST_LINE}:", file!())), "{message}");
    assert!(message.contains(&format!("{}:{SECOND_LINE}:", file!())), "{message}");
    assert!(message.contains("conflicts-payments"), "{message}");
}

#[tokio::test]
async fn only_services_with_differing_configurations_conflict() {
    let services: Vec<_> = registry().conflicts().iter().map(|c| c.service).collect();
    assert_eq!(services, ["conflicts-payments"]);
    assert_eq!(registry().definitions_of("conflicts-agree").len(), 2);
    agree_a().await.unwrap();
    agree_b().await.unwrap();
}

#[tokio::test]
async fn the_first_definition_by_file_and_line_configures_the_shared_breaker() {
    // Calling the second definition first does not change which one wins.
    assert_eq!(capture(1).await, Ok(1));
    assert_eq!(authorize(2).await, Ok(2));
    let config = breaker("conflicts-payments").config();
    assert_eq!(config.threshold, Some(3));
    assert_eq!(config.recovery_timeout, breaker_runtime::defaults::RECOVERY_TIMEOUT);
    assert_eq!(config.timeout, Some(std::time::Duration::from_secs(2)));
    assert_eq!(registry().definitions_of("conflicts-payments").len(), 2);
}

#[tokio::test]
async fn strict_mode_fails_with_a_message_naming_both_file_and_line() {
    let error = registry().ensure_consistent().expect_err("the binary declares a conflict");
    assert_eq!(error.conflicts.len(), 1);
    let message = error.to_string();
    let first = format!("{}:{FIRST_LINE}", file!());
    let second = format!("{}:{SECOND_LINE}", file!());
    assert!(message.contains(&first), "`{first}` not in: {message}");
    assert!(message.contains(&second), "`{second}` not in: {message}");
    assert!(message.contains("threshold"), "the differing key is not named: {message}");
}
