//! The configuration file through the registry: layering, every kind of error with
//! real files in temporary directories, reload keeping state, runtime overrides and
//! controls by name.

use std::path::PathBuf;
use std::time::Duration;

use breaker_runtime::registry::{Control, RegistryEvent, Source};
use breaker_runtime::{Error, State, circuit_breaker, registry};

#[derive(Debug)]
enum AppError {
    Breaker(Error),
    Failed,
}

impl From<Error> for AppError {
    fn from(e: Error) -> Self {
        AppError::Breaker(e)
    }
}

// One service per test: the registry is process-wide.
#[circuit_breaker(service = "cfg-layers", threshold = 4, timeout = "1s")]
async fn layers(ok: bool) -> Result<(), AppError> {
    if ok { Ok(()) } else { Err(AppError::Failed) }
}

#[circuit_breaker(service = "cfg-reload", threshold = 3)]
async fn reload(ok: bool) -> Result<(), AppError> {
    if ok { Ok(()) } else { Err(AppError::Failed) }
}

#[circuit_breaker(service = "cfg-errors")]
async fn errors(ok: bool) -> Result<(), AppError> {
    if ok { Ok(()) } else { Err(AppError::Failed) }
}

#[circuit_breaker(service = "cfg-override", threshold = 7)]
async fn overridden(ok: bool) -> Result<(), AppError> {
    if ok { Ok(()) } else { Err(AppError::Failed) }
}

#[circuit_breaker(service = "cfg-control")]
async fn controlled(ok: bool) -> Result<(), AppError> {
    if ok { Ok(()) } else { Err(AppError::Failed) }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A file in a fresh temporary directory (kept alive by the returned guard).
fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("breaker.toml");
    std::fs::write(&path, text).expect("the file is written");
    (dir, path)
}

/// Keeps the tests that load whole files from running at once: a file configures every
/// service, and each test checks its own service after loading its own file.
static FILES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn layers_apply_lowest_first_and_report_their_sources() {
    let _files = FILES.lock().await;
    let _ = layers(true).await;
    let (_dir, path) = file(
        "[defaults]\nrecovery_timeout = \"20s\"\ntimeout = \"2s\"\n\n[profiles.slow]\ntimeout = \"5s\"\n\n[services.cfg-layers]\nprofile = \"slow\"\nsuccess_threshold = 2\ntrace = true\n",
    );
    let report = registry().load_config(&path).expect("the file is valid");
    let service =
        report.services.iter().find(|s| s.service == "cfg-layers").expect("the service is reported");
    assert_eq!(service.config.threshold, Some(4), "the attribute's value stays");
    assert_eq!(service.config.recovery_timeout, secs(20), "[defaults] applies");
    assert_eq!(service.config.timeout, Some(secs(5)), "the profile beats [defaults] and the attribute");
    assert_eq!(service.config.success_threshold, 2, "the service section applies");
    assert!(service.config.trace, "a switch from the file");
    let source =
        |key: &str| service.values.iter().find(|(k, _, _)| *k == key).map(|(_, v, s)| (v.clone(), s.clone()));
    assert!(matches!(source("threshold"), Some((v, Source::Attribute(_))) if v == "4"));
    assert!(
        matches!(source("timeout"), Some((v, Source::File { section, origin })) if v == "5s" && section == "[profiles.slow]" && origin.line == 6)
    );
    assert!(
        matches!(source("recovery_timeout"), Some((_, Source::File { section, .. })) if section == "[defaults]")
    );
    assert!(matches!(source("buckets"), Some((v, Source::Default)) if v == "10"));
    assert_eq!(registry().breaker("cfg-layers").unwrap().config(), service.config, "the breaker runs it");
    let shown = report.to_string();
    assert!(shown.contains("[cfg-layers]") && shown.contains("timeout              = 5s"), "{shown}");
}

#[tokio::test]
async fn reload_keeps_state_and_counters_and_an_invalid_file_changes_nothing() {
    let _files = FILES.lock().await;
    let breaker = registry().breaker("cfg-reload").expect("known before any call");
    breaker.reset();
    let mut events = registry().subscribe();
    let (dir, path) = file("[services.cfg-reload]\nthreshold = 2\n");
    registry().load_config(&path).unwrap();
    assert_eq!(breaker.config().threshold, Some(2));
    let _ = reload(false).await;
    let _ = reload(false).await;
    assert_eq!(breaker.state(), State::Open, "the file's threshold of 2 opened it");
    let calls_before = breaker.snapshot().window.calls;

    // A valid change: state and counters survive.
    std::fs::write(&path, "[services.cfg-reload]\nthreshold = 9\nrecovery_timeout = \"45s\"\n").unwrap();
    registry().reload().expect("the new file is valid");
    assert_eq!(breaker.state(), State::Open, "a reload keeps the state");
    assert_eq!(breaker.snapshot().window.calls, calls_before, "and the counters");
    assert_eq!(breaker.config().threshold, Some(9));

    // An invalid change: rejected whole, the previous configuration stays.
    std::fs::write(&path, "[services.cfg-reload]\nthreshold = 1\nwindow = \"3s\"\n").unwrap();
    let error = registry().reload().expect_err("a 3s window cannot hold 10 buckets");
    assert_eq!(error.problems.len(), 1, "{error}");
    let problem = &error.problems[0];
    assert_eq!((problem.line, problem.key.as_deref()), (3, Some("window")), "{error}");
    assert!(
        problem
            .to_string()
            .starts_with(&format!("{}:3: service `cfg-reload`: `window` = 3s", path.display())),
        "{error}"
    );
    assert_eq!(breaker.config().threshold, Some(9), "nothing of the bad file applied");
    let mut rejected = false;
    while let Ok(event) = events.try_recv() {
        rejected |= matches!(event, RegistryEvent::ConfigRejected { .. });
    }
    assert!(rejected, "the rejection is announced");
    drop(dir);
    breaker.reset();
}

#[test]
fn every_file_error_names_the_file_the_line_and_the_key() {
    let _files = FILES.blocking_lock();
    let cases: &[(&str, usize, &str)] = &[
        (
            "[services.cfg-erors]\n",
            1,
            "unknown service `cfg-erors` in `[services.cfg-erors]`; did you mean `cfg-errors`?",
        ),
        (
            "[defaults]\ntreshold = 2\n",
            2,
            "unknown key `treshold` in `[defaults]`; did you mean `threshold`?",
        ),
        (
            "[defaults]\nthreshold = \"two\"\n",
            2,
            "`threshold` in `[defaults]` takes a whole number, not the string \"two\"",
        ),
        (
            "[defaults]\nthreshold = 0\n",
            2,
            "`threshold` in `[defaults]` must be between 1 and 4294967295, not 0",
        ),
        (
            "[defaults]\nfailure_rate = 1.5\n",
            2,
            "`failure_rate` in `[defaults]` must be greater than 0 and at most 1",
        ),
        (
            "[defaults]\ntimeout = \"10 parsecs\"\n",
            2,
            "`timeout` in `[defaults]` is not a duration: `10 parsecs`",
        ),
        (
            "[defaults]\ntimeout = \"40s\"\n",
            2,
            "service `cfg-errors`: `timeout` = 40s: must not be longer than recovery_timeout (30s)",
        ),
        (
            "[defaults]\nqueue = 4\n",
            0,
            "service `cfg-errors`: `queue_timeout` = 0s: must be greater than 0 when `queue` is set",
        ),
        (
            "[services.cfg-errors]\nprofile = \"fast\"\n",
            2,
            "`[services.cfg-errors]` selects the unknown profile `fast`",
        ),
        (
            "[defaults]\ntrace = \"yes\"\n",
            2,
            "`trace` in `[defaults]` takes true or false, not the string \"yes\"",
        ),
        ("[defaultz]\n", 1, "unknown table `defaultz`; did you mean `defaults`?"),
        // A section for a service with no breaker yet (a host a layer will meet) is
        // checked as the configuration it would get: refused now, not when the host
        // comes.
        (
            "unknown_services = \"ignore\"\n[services.\"absent-host.test\"]\ntimeout = \"1m\"\n",
            3,
            "service `absent-host.test`: `timeout` = 60s",
        ),
        ("[services.\"[::1]\"]\nthreshold = 2\n", 1, "names no possible service"),
        ("[services.\"[::1]\"]\nthreshold = 2\n", 1, "did you mean `__1`?"),
        (
            "[services.\"zzz-host.example\"]\n",
            1,
            "for a service created on demand (a host a layer meets), set `unknown_services = \"ignore\"`",
        ),
        ("[defaults]\nthreshold = 2\nthreshold = 3\n", 3, "not valid TOML"),
        ("threshold = [\n", 1, "not valid TOML"),
    ];
    let before = registry().breaker("cfg-errors").unwrap().config();
    for (text, line, message) in cases {
        let (_dir, path) = file(text);
        let error = registry().load_config(&path).expect_err(text);
        let problem = error.problems.iter().find(|p| p.message.contains(message)).unwrap_or_else(|| {
            panic!("for {text:?} expected a problem containing {message:?}, got:\n{error}")
        });
        assert_eq!(problem.file, path, "{problem}");
        assert_eq!(problem.line, *line, "{problem}");
        assert_eq!(
            registry().breaker("cfg-errors").unwrap().config(),
            before,
            "{text:?} changed the configuration"
        );
    }
    let missing = registry().load_config("/nonexistent/breaker.toml").unwrap_err();
    assert!(missing.to_string().contains("cannot be read"), "{missing}");
}

#[tokio::test]
async fn runtime_override_is_the_top_layer_and_checked_whole() {
    let _ = overridden(true).await;
    let breaker = registry().breaker("cfg-override").unwrap();
    let layer = breaker_runtime::registry::ConfigLayer { threshold: Some(1), ..Default::default() };
    registry().set_override("cfg-override", layer).unwrap();
    assert_eq!(breaker.config().threshold, Some(1));
    let source = registry().config_of("cfg-override").unwrap();
    assert!(source.values.iter().any(|(k, _, s)| *k == "threshold" && *s == Source::Override));
    let bad = breaker_runtime::registry::ConfigLayer { buckets: Some(100), ..Default::default() };
    let error = registry().set_override("cfg-override", bad).unwrap_err();
    assert!(matches!(&error, Error::InvalidConfig(e) if e.field == "window"), "{error}");
    assert_eq!(breaker.config().threshold, Some(1), "the invalid override changed nothing");
    registry().clear_override("cfg-override").unwrap();
    assert_eq!(breaker.config().threshold, Some(7), "back to the attribute");
    assert!(
        matches!(registry().set_override("cfg-overide", layer), Err(Error::UnknownService { suggestion: Some(s), .. }) if &*s == "cfg-override")
    );
}

#[tokio::test]
async fn controls_by_name_are_events_with_their_reason() {
    let _ = controlled(true).await;
    let breaker = registry().breaker("cfg-control").unwrap();
    let mut registry_events = registry().subscribe();
    let mut breaker_events = breaker.subscribe();
    registry().force_open("cfg-control", "payments maintenance").unwrap();
    assert!(matches!(
        controlled(true).await,
        Err(AppError::Breaker(Error::CircuitOpen { retry_after: None, .. }))
    ));
    registry().control("cfg-control", Control::Reset, "maintenance over").unwrap();
    assert_eq!(breaker.state(), State::Closed);
    let mut reasons = Vec::new();
    while let Ok(event) = registry_events.try_recv() {
        if let RegistryEvent::Controlled { service: "cfg-control", control, reason } = event {
            reasons.push((control, reason.to_string()));
        }
    }
    assert_eq!(
        reasons,
        [
            (Control::ForceOpen, "payments maintenance".to_string()),
            (Control::Reset, "maintenance over".to_string())
        ]
    );
    let transitions: Vec<_> = breaker_events
        .drain()
        .into_iter()
        .filter_map(|e| match e.kind {
            breaker_runtime::EventKind::Transition { to, reason, .. } => Some((to, reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        transitions,
        [
            (State::ForcedOpen, breaker_runtime::Reason::ForcedOpen),
            (State::Closed, breaker_runtime::Reason::Reset)
        ],
        "the breaker's own stream has both transitions"
    );
    assert!(matches!(registry().disable("cfg-contrl", "x"), Err(Error::UnknownService { .. })));
}

#[tokio::test]
async fn a_definition_loaded_from_a_file_reaches_breakers_created_later() {
    let _files = FILES.lock().await;
    // `errors` has not been called by this test; its breaker exists since the registry
    // was built, and a reload applies to it like to any other.
    let (_dir, path) = file("[services.cfg-errors]\nthreshold = 12\n");
    registry().load_config(&path).unwrap();
    assert_eq!(registry().breaker("cfg-errors").unwrap().config().threshold, Some(12));
    assert!(errors(true).await.is_ok());
    let (_dir, path) = file("");
    registry().load_config(&path).unwrap();
    assert_eq!(
        registry().breaker("cfg-errors").unwrap().config().threshold,
        Some(5),
        "an empty file is the defaults again"
    );
}

/// Loads `path` on another thread: a reader that blocks (on a FIFO nobody writes to)
/// fails the test after ten seconds instead of hanging it.
fn load_within_ten_seconds(path: PathBuf) -> breaker_runtime::registry::ConfigFileError {
    let (sent, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sent.send(registry().load_config(&path).map(|_| ()));
    });
    received
        .recv_timeout(Duration::from_secs(10))
        .expect("loading the file blocked")
        .expect_err("the path is refused")
}

#[test]
fn paths_that_are_not_regular_files_are_refused_without_blocking() {
    let _files = FILES.blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("breaker.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success());
    let error = load_within_ten_seconds(fifo);
    assert_eq!(error.problems.len(), 1);
    assert!(error.problems[0].message.starts_with("is not a regular file but a FIFO"), "{error}");

    let error = load_within_ten_seconds(PathBuf::from("/dev/zero"));
    assert!(error.problems[0].message.contains("a character device"), "{error}");
    let error = load_within_ten_seconds(dir.path().to_path_buf());
    assert!(error.problems[0].message.contains("a directory"), "{error}");
}

#[test]
fn a_file_over_the_size_limit_is_refused_naming_the_limit() {
    let _files = FILES.blocking_lock();
    let mut text = String::from("[defaults]\nthreshold = 3\n");
    while text.len() as u64 <= breaker_runtime::registry::MAX_FILE_BYTES {
        text.push_str("# a comment line that makes the file large, as a runaway generator might\n");
    }
    let (_dir, path) = file(&text);
    let error = registry().load_config(&path).expect_err("the file is too large");
    assert_eq!(
        error.problems[0].message, "is larger than 4 MiB, the most a configuration file may hold",
        "{error}"
    );
}
