//! A program without a `tracing` subscriber still learns, once, on stderr, that the
//! file `BREAKER_CONFIG` names was rejected. (The check runs in a child process of this
//! test binary: the variable must be set before the registry is built, and stderr is
//! read whole.)

use std::process::Command;

use breaker_runtime::{Error, circuit_breaker, registry};

#[circuit_breaker(service = "cfg-env-stderr", threshold = 4)]
async fn protected() -> Result<u32, Error> {
    Ok(7)
}

const TEST: &str = "without_a_subscriber_a_rejected_file_is_said_once_on_stderr";

#[test]
fn without_a_subscriber_a_rejected_file_is_said_once_on_stderr() {
    if std::env::var_os("BREAKER_STDERR_CHILD").is_some() {
        // The child: the registry reads BREAKER_CONFIG, rejects it; a reload rejects it
        // again, which is not said a second time.
        assert_eq!(futures::executor::block_on(protected()).unwrap(), 7);
        assert!(registry().reload().is_err());
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("breaker.toml");
    std::fs::write(&path, "[services.cfg-env-stderr]\nthreshold = \"two\"\n").unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env("BREAKER_CONFIG", &path)
        .env("BREAKER_STDERR_CHILD", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&child.stderr);
    assert!(child.status.success(), "the child failed:\n{stderr}");
    assert_eq!(stderr.matches("breaker: configuration file rejected").count(), 1, "{stderr}");
    assert!(stderr.contains("breaker.toml:2"), "the problem is named: {stderr}");
    assert!(stderr.contains("no `tracing` subscriber"), "{stderr}");
}
