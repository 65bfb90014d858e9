//! Configuration by file: services tuned from a TOML file layered over their
//! attributes, the effective configuration reported with the source of every value,
//! and a reload that keeps each breaker's state.
//!
//! `cargo run --bin config_file`

use breaker_runtime::{Error, State, circuit_breaker, registry};

#[circuit_breaker(service = "payments", threshold = 5, timeout = "2s")]
async fn charge(ok: bool) -> Result<u32, Error> {
    if ok { Ok(1) } else { Err(Error::UnknownService { service: "bank".into(), suggestion: None }) }
}

#[circuit_breaker(service = "users")]
async fn user(id: u32) -> Result<u32, Error> {
    Ok(id)
}

const FILE: &str = r#"
# Every service.
[defaults]
recovery_timeout = "20s"

# Services that select it.
[profiles.critical]
threshold = 2
timeout = "500ms"

[services.payments]
profile = "critical"

[services.users]
timeout = "off"
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("breaker-config-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("breaker.toml");
    std::fs::write(&path, FILE)?;

    let report = registry().load_config(&path)?;
    println!("effective configuration:\n{report}");
    let _ = user(1).await;

    // The file's threshold of 2 applies to payments.
    let payments = registry().get("payments")?;
    let _ = charge(false).await;
    let _ = charge(false).await;
    println!("payments after two failures: {}", payments.state());
    assert_eq!(payments.state(), State::Open);

    // A reload keeps the state.
    std::fs::write(&path, FILE.replace("threshold = 2", "threshold = 3"))?;
    registry().reload()?;
    println!(
        "after reloading (threshold 3): still {}, threshold now {:?}",
        payments.state(),
        payments.config().threshold
    );

    // A bad file is rejected whole; the previous configuration stays.
    std::fs::write(&path, "[services.paymnts]\ntreshold = 1\n")?;
    match registry().reload() {
        Ok(_) => println!("unexpected: the bad file was accepted"),
        Err(error) => println!("{error}"),
    }
    println!("payments threshold is still {:?}", payments.config().threshold);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
