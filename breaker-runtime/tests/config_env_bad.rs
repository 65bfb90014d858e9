//! A bad file named by `BREAKER_CONFIG` never takes traffic down: it is logged and the
//! attributes' configuration stays. (A binary of its own: the variable must be set
//! before the registry is built.)

use breaker_runtime::{Error, circuit_breaker, registry};

#[circuit_breaker(service = "cfg-env-bad", threshold = 4)]
async fn still_works() -> Result<u32, Error> {
    Ok(7)
}

#[test]
fn a_bad_file_named_by_breaker_config_leaves_the_attributes_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("breaker.toml");
    std::fs::write(&path, "[services.cfg-env-bad]\nthreshold = \"two\"\n").unwrap();
    // SAFETY: the only test of this binary sets the variable before anything reads the
    // environment or starts a thread that could.
    unsafe { std::env::set_var("BREAKER_CONFIG", &path) };
    let breaker = registry().breaker("cfg-env-bad").expect("the service is defined");
    assert_eq!(breaker.config().threshold, Some(4), "the attribute's value stays");
    assert_eq!(futures::executor::block_on(still_works()).unwrap(), 7, "calls go on");
    let error = registry().reload().expect_err("the file is still bad");
    assert_eq!(error.problems[0].line, 2, "{error}");
}
