//! Breakers made in code joining the registry, a file serving several programs, and an
//! attribute's breaker on a manual clock.

use std::sync::Arc;
use std::time::Duration;

use breaker_runtime::registry::{RegistryEvent, Source};
use breaker_runtime::{CircuitBreaker, Config, Error, ManualClock, State, circuit_breaker, registry};

#[circuit_breaker(service = "reg-attribute", threshold = 1, recovery_timeout = "30s")]
async fn attributed(ok: bool) -> Result<u32, Error> {
    if ok { Ok(1) } else { Err(Error::UnknownService { service: "down".into(), suggestion: None }) }
}

/// The tests here load files, which configure every service: one at a time.
static FILES: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("breaker.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn a_registered_breaker_is_reached_by_files_overrides_and_control_by_name() {
    let _files = FILES.lock().unwrap();
    let ledger = CircuitBreaker::new("reg-ledger", Config::builder().threshold(3).build().unwrap()).unwrap();
    let mut events = registry().subscribe();
    registry().register(&ledger).unwrap();
    assert!(events.drain().contains(&RegistryEvent::Registered { service: "reg-ledger" }));
    assert!(registry().services().contains(&"reg-ledger"));
    let report = registry().config_of("reg-ledger").unwrap();
    let threshold = report.values.iter().find(|(k, _, _)| *k == "threshold").unwrap();
    assert_eq!((threshold.1.as_str(), &threshold.2), ("3", &Source::Registered));

    let (_dir, path) = file("[services.reg-ledger]\nthreshold = 7\n");
    registry().load_config(&path).unwrap();
    assert_eq!(ledger.config().threshold, Some(7), "the file retunes the registered breaker");
    registry().force_open("reg-ledger", "maintenance").unwrap();
    assert_eq!(ledger.state(), State::ForcedOpen);
    registry().reset("reg-ledger", "done").unwrap();
    assert_eq!(ledger.state(), State::Closed);
}

#[test]
fn two_breakers_of_one_name_are_refused_naming_the_first() {
    let first = CircuitBreaker::new("reg-twice", Config::default()).unwrap();
    registry().register(&first).unwrap();
    let second = CircuitBreaker::new("reg-twice", Config::default()).unwrap();
    let error = registry().register(&second).unwrap_err();
    assert!(matches!(error, Error::DuplicateService { .. }), "{error}");
    assert!(error.to_string().contains("a breaker registered from code"), "{error}");
    assert!(registry().get("reg-twice").unwrap().ptr_eq(&first));

    let shadow = CircuitBreaker::new("reg-attribute", Config::default()).unwrap();
    let error = registry().register(&shadow).unwrap_err();
    assert!(error.to_string().contains("the attribute at "), "{error}");
    assert!(error.to_string().contains("registration.rs"), "{error}");
}

#[test]
fn a_file_may_carry_other_programs_services_when_it_says_so_and_they_apply_when_registered() {
    let _files = FILES.lock().unwrap();
    let text = "unknown_services = \"ignore\"\n[services.reg-later]\nthreshold = 9\n[services.reg-elsewhere]\nthreshold = 2\n";
    let (_dir, path) = file(text);
    registry().load_config(&path).expect("services of other programs are ignored when the file says so");
    let later = CircuitBreaker::new("reg-later", Config::builder().threshold(4).build().unwrap()).unwrap();
    registry().register(&later).unwrap();
    assert_eq!(later.config().threshold, Some(9), "the file's section applies at registration");
    let strict = "[services.reg-elsewhere]\nthreshold = 2\n";
    let (_dir, path) = file(strict);
    let error = registry().load_config(&path).unwrap_err();
    assert!(error.problems[0].message.starts_with("unknown service `reg-elsewhere`"), "{error}");
}

#[tokio::test]
async fn an_attributes_breaker_on_a_manual_clock_recovers_without_waiting() {
    let clock = Arc::new(ManualClock::new());
    registry().use_clock("reg-attribute", clock.clone()).unwrap();
    let breaker = registry().get("reg-attribute").unwrap();
    assert!(attributed(false).await.is_err());
    assert_eq!(breaker.state(), State::Open);
    assert_eq!(breaker.snapshot().retry_after, Some(Duration::from_secs(30)));
    clock.advance(Duration::from_secs(29));
    assert!(matches!(attributed(true).await, Err(Error::CircuitOpen { .. })));
    clock.advance(Duration::from_secs(1));
    assert_eq!(breaker.state(), State::HalfOpen);
    assert_eq!(attributed(true).await, Ok(1));
    assert_eq!(breaker.state(), State::Closed);
}
