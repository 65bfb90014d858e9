//! Reloading the configuration file when it changes (feature `watch`).
#![cfg(feature = "watch")]

use std::time::Duration;

use breaker_runtime::observe::RecvError;
use breaker_runtime::registry::{RegistryEvent, RegistryEvents};
use breaker_runtime::{Error, circuit_breaker, registry};

#[circuit_breaker(service = "cfg-watched", threshold = 3)]
async fn watched() -> Result<(), Error> {
    Ok(())
}

/// The next registry event that satisfies `wanted`, waiting at most 10 s for it.
async fn next(events: &mut RegistryEvents, wanted: impl Fn(&RegistryEvent) -> bool) -> RegistryEvent {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Ok(event) if wanted(&event) => return event,
                Ok(_) | Err(RecvError::Lagged(_)) => continue,
                Err(e) => panic!("the registry's events ended: {e}"),
            }
        }
    })
    .await
    .expect("the change was noticed within 10 s")
}

#[tokio::test]
async fn a_changed_file_is_reloaded_and_a_bad_change_is_rejected_whole() {
    watched().await.unwrap();
    let breaker = registry().breaker("cfg-watched").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("breaker.toml");
    std::fs::write(&path, "[services.cfg-watched]\nthreshold = 4\n").unwrap();
    let _watcher = registry().watch_config(&path).expect("the first load succeeds");
    assert_eq!(breaker.config().threshold, Some(4));

    let mut events = registry().subscribe();
    std::fs::write(&path, "[services.cfg-watched]\nthreshold = 6\n").unwrap();
    next(
        &mut events,
        |e| matches!(e, RegistryEvent::ConfigApplied { changed, .. } if changed.contains(&"cfg-watched")),
    )
    .await;
    assert_eq!(breaker.config().threshold, Some(6));

    std::fs::write(&path, "[services.cfg-watched]\nthreshold = -1\n").unwrap();
    let rejected = next(&mut events, |e| matches!(e, RegistryEvent::ConfigRejected { .. })).await;
    let RegistryEvent::ConfigRejected { error } = rejected else { unreachable!() };
    assert_eq!(error.problems[0].line, 2, "{error}");
    assert_eq!(breaker.config().threshold, Some(6), "the previous configuration stays");
}
