//! The registry never deadlocks: call sites that join it at their first call (their
//! link-time entry missed) while other threads read and change the configuration.
//!
//! Every thread's work is bounded in count; the test gives them a minute in all, far
//! more than they need, and fails (instead of hanging) if they do not finish.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use breaker_runtime::__private::{CallSite, ConfigLayer, Definition};
use breaker_runtime::registry;

const LATE_SITES_PER_THREAD: usize = 400;
const READS_PER_THREAD: usize = 20_000;

/// A call site that the link-time table never saw, as the attribute would build it.
fn late_site(thread: usize, i: usize) -> &'static CallSite {
    let service: &'static str = Box::leak(format!("late-{thread}-{i}").into_boxed_str());
    let definition: &'static Definition = Box::leak(Box::new(Definition {
        service,
        function: "registry_locks::late",
        file: file!(),
        line: line!(),
        column: column!(),
        config: ConfigLayer { threshold: Some(3), ..ConfigLayer::EMPTY },
        fallbacks: &[],
        classify: None,
    }));
    Box::leak(Box::new(CallSite::new(definition)))
}

#[test]
fn late_registrations_never_deadlock_with_configuration_readers() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("breaker.toml");
    std::fs::write(&file, "[defaults]\nrecovery_timeout = \"20s\"\n").unwrap();
    // A first service, so readers have a name to ask for from the start.
    let first = late_site(99, 0).breaker().service();
    registry().load_config(&file).unwrap();

    let registering = Arc::new(AtomicBool::new(true));
    let (done, finished) = mpsc::channel::<&'static str>();
    let mut threads = 0;
    for t in 0..2 {
        let done = done.clone();
        thread::spawn(move || {
            for i in 0..LATE_SITES_PER_THREAD {
                let breaker = late_site(t, i).breaker();
                assert_eq!(breaker.config().threshold, Some(3));
            }
            done.send("registrations").unwrap();
        });
        threads += 1;
    }
    type Reader = fn(&'static str, &std::path::Path);
    let readers: [(&'static str, Reader); 5] = [
        ("config_of", |service, _| {
            registry().config_of(service).unwrap();
        }),
        ("config_report", |_, _| {
            registry().config_report();
        }),
        ("set_override", |service, _| {
            let layer = ConfigLayer { threshold: Some(4), ..ConfigLayer::EMPTY };
            registry().set_override(service, layer).unwrap();
        }),
        ("load_config", |_, file| {
            registry().load_config(file).unwrap();
        }),
        ("reload", |_, _| {
            registry().reload().unwrap();
        }),
    ];
    for (name, read) in readers {
        let done = done.clone();
        let registering = registering.clone();
        let file = file.clone();
        thread::spawn(move || {
            for _ in 0..READS_PER_THREAD {
                read(first, &file);
                if !registering.load(Ordering::Relaxed) {
                    break;
                }
            }
            done.send(name).unwrap();
        });
        threads += 1;
    }
    let mut registrations_left = 2;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    for _ in 0..threads {
        let who = finished
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .expect("registry threads deadlocked: no thread finished within a minute");
        if who == "registrations" {
            registrations_left -= 1;
            if registrations_left == 0 {
                registering.store(false, Ordering::Relaxed);
            }
        }
    }
    assert_eq!(
        registry().services().iter().filter(|s| s.starts_with("late-")).count(),
        2 * LATE_SITES_PER_THREAD + 1
    );
}
