//! `BREAKER_CONFIG` naming a FIFO does not block the first protected call: the path is
//! refused (and logged) because it is not a regular file, and the call goes on with
//! the attribute's configuration. (A binary of its own: the variable must be set before
//! the registry is built.)

use std::time::Duration;

use breaker_runtime::{Error, circuit_breaker, registry};

#[circuit_breaker(service = "cfg-env-fifo", threshold = 4)]
async fn first_call() -> Result<u32, Error> {
    Ok(7)
}

#[test]
fn a_fifo_named_by_breaker_config_does_not_block_the_first_call() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("breaker.fifo");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs").success());
    // SAFETY: the only test of this binary sets the variable before anything reads the
    // environment or starts a thread that could.
    unsafe { std::env::set_var("BREAKER_CONFIG", &fifo) };
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sent.send(futures::executor::block_on(first_call()));
    });
    let answer = received.recv_timeout(Duration::from_secs(10)).expect("the first protected call blocked");
    assert_eq!(answer.unwrap(), 7);
    assert_eq!(registry().breaker("cfg-env-fifo").unwrap().config().threshold, Some(4));
}
