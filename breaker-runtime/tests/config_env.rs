//! `BREAKER_CONFIG` names a configuration file the registry loads when first used. (A
//! binary of its own: the variable must be set before the registry is built.)

use breaker_runtime::{Error, circuit_breaker, registry};

#[circuit_breaker(service = "cfg-env", threshold = 5)]
async fn from_env() -> Result<(), Error> {
    Ok(())
}

#[test]
fn the_file_named_by_breaker_config_is_loaded_when_the_registry_is_first_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("breaker.toml");
    std::fs::write(&path, "[services.cfg-env]\nthreshold = 2\n").unwrap();
    // SAFETY: the only test of this binary sets the variable before anything reads the
    // environment or starts a thread that could.
    unsafe { std::env::set_var("BREAKER_CONFIG", &path) };
    let breaker = registry().breaker("cfg-env").expect("the service is defined");
    assert_eq!(breaker.config().threshold, Some(2), "the file's value, not the attribute's");
    let report = registry().config_of("cfg-env").unwrap();
    assert!(
        report.values.iter().any(|(k, _, s)| *k == "threshold" && s.to_string().contains("breaker.toml:2"))
    );
    drop(futures::executor::block_on(from_env()));
}
