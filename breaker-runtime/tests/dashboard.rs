//! The live dashboard in a real browser: headless Chromium loads the page from a real
//! server on 127.0.0.1 (the router nested under `/breakers`, so relative URLs are
//! exercised), runs its script, follows `/events`, and the dumped DOM is checked; then
//! screenshots at desktop and phone sizes. A page whose script or data does not load
//! must not claim to be ready, which shows that the check can fail.
//!
//! Needs Debian's `chromium` on `PATH` (`.ci/run` installs it).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use breaker_runtime::observe::endpoints::Endpoints;
use breaker_runtime::observe::history::history;
use breaker_runtime::{CircuitBreaker, Config, Error, ManualClock, State, circuit_breaker, registry};
use futures::StreamExt;

/// Longest a Chromium run may take before the test kills it and fails.
const CHROMIUM_LIMIT: Duration = Duration::from_secs(60);

#[circuit_breaker(service = "dash-payments", threshold = 1)]
async fn payments(fail: bool) -> Result<u32, Error> {
    if fail { Err(Error::UnknownService { service: "down".into(), suggestion: None }) } else { Ok(1) }
}

#[circuit_breaker(service = "dash-catalog", threshold = 1)]
async fn catalog() -> Result<u32, Error> {
    Ok(2)
}

/// Fails one call in four but never opens: the chart shows both colours.
#[circuit_breaker(service = "dash-search", threshold = 1000)]
async fn search(n: u64) -> Result<u32, Error> {
    if n % 4 == 0 { Err(Error::UnknownService { service: "flaky".into(), suggestion: None }) } else { Ok(3) }
}

/// Longest an `/events` stream stays open in these tests.
const STREAM_LIFETIME: Duration = Duration::from_millis(1500);

/// Ends an `/events` response after its first `transition` event, or after
/// [`STREAM_LIFETIME`]. Chromium's virtual time stands still while a request is open,
/// so against a stream that never ends `--dump-dom` would wait forever; the page's
/// `EventSource` reconnects (3 s later, in virtual time) as it would after a restart.
fn bounded(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let stream = body
        .into_data_stream()
        .scan(false, |ended, chunk| {
            let item = if *ended {
                None
            } else {
                *ended = chunk.as_ref().is_ok_and(|c| c.windows(17).any(|w| w == b"event: transition"));
                Some(chunk)
            };
            std::future::ready(item)
        })
        .take_until(tokio::time::sleep(STREAM_LIFETIME));
    Response::from_parts(parts, Body::from_stream(stream))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn start(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The `chromium` binary on `PATH`; the test fails (it does not skip) without it.
fn chromium_binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).map(|dir| dir.join("chromium")).find(|candidate| candidate.is_file()).expect(
        "headless Chromium is needed for the dashboard test: install Debian's `chromium` \
         (apt-get install -y --no-install-recommends chromium), as .ci/run does",
    )
}

/// Runs headless Chromium on `url` with `extra` flags and returns its stdout; fails the
/// test if it exits unsuccessfully or takes longer than [`CHROMIUM_LIMIT`].
fn chromium(extra: &[&str], url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    let stdout_path = output.path().join("stdout");
    let stderr_path = output.path().join("stderr");
    let mut child = Command::new(chromium_binary())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--virtual-time-budget=5000")
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > CHROMIUM_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            panic!("chromium did not finish within {CHROMIUM_LIMIT:?} on {url}:\n{stderr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap();
    assert!(
        status.success(),
        "chromium failed ({status}) on {url}:\n{}",
        std::fs::read_to_string(&stderr_path).unwrap()
    );
    stdout
}

/// The opening tag and content of the tile of `service` in a dumped DOM.
fn tile<'a>(dom: &'a str, service: &str) -> &'a str {
    let wanted = format!(r#"data-service="{service}""#);
    let mut rest = dom;
    while let Some(at) = rest.find("<article") {
        let candidate = &rest[at..];
        let tag_end = candidate.find('>').unwrap();
        if candidate[..tag_end].contains(&wanted) {
            let end = candidate.find("</article>").unwrap();
            return &candidate[..end];
        }
        rest = &candidate[tag_end..];
    }
    panic!("no tile for `{service}` in:\n{dom}");
}

/// The value of attribute `name` in the first tag of `html`.
fn attribute<'a>(html: &'a str, name: &str) -> Option<&'a str> {
    let tag = &html[..html.find('>')?];
    let start = tag.find(&format!(r#" {name}=""#))? + name.len() + 3;
    Some(&tag[start..start + tag[start..].find('"')?])
}

/// The text of the first element with class `class` (no nested elements).
fn text_of_class<'a>(html: &'a str, class: &str) -> Option<&'a str> {
    let at = html.find(&format!(r#"class="{class}""#))?;
    let start = at + html[at..].find('>')? + 1;
    Some(&html[start..start + html[start..].find('<')?])
}

/// How many circuits the summary bar counts in `state`.
fn summary_count(dom: &str, state: &str) -> Option<u32> {
    let at = dom.find(&format!(r#"data-summary="{state}""#))?;
    let tag_start = dom[..at].rfind('<')?;
    attribute(&dom[tag_start..], "data-count")?.parse().ok()
}

fn assert_png(path: &Path, width: u32, height: u32) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{} is not a PNG", path.display());
    assert!(bytes.len() > 20_000, "{} is only {} bytes: an empty page?", path.display(), bytes.len());
    // IHDR: the first chunk, width and height big-endian at bytes 16..24.
    let size = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    assert_eq!((size(16), size(20)), (width, height), "size of {}", path.display());
}

fn screenshots_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is `target/tmp`: the pictures go next to it, `target/dashboard`.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().unwrap();
    let dir = target.join("dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn dashboard_shows_every_circuit_its_state_and_the_reason_it_opened() {
    let rt = runtime();
    // The page's `/events` stream is open once this sends: the transition that follows
    // reaches the page as an event (whatever `/circuits` carries about past ones).
    let (streaming, stream_opened) = mpsc::channel::<()>();
    let app = Router::new()
        .nest("/breakers", Endpoints::new().snapshot_interval(Duration::from_millis(200)).router())
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            let streaming = streaming.clone();
            async move {
                if !request.uri().path().ends_with("/events") {
                    return next.run(request).await;
                }
                let response = bounded(next.run(request).await);
                let _ = streaming.send(());
                response
            }
        }));
    let addr = rt.block_on(start(app));

    // Traffic while the page watches: successes for catalog, one failure in four for search.
    let traffic = Arc::new(AtomicBool::new(true));
    let running = traffic.clone();
    rt.spawn(async move {
        let mut n = 0;
        while running.load(Ordering::Relaxed) {
            n += 1;
            let _ = catalog().await;
            let _ = search(n).await;
            if n % 3 == 0 {
                let _ = payments(false).await;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });

    // The assets: content types, and no caching.
    rt.block_on(async {
        for (path, content_type) in [
            ("/breakers", "text/html; charset=utf-8"),
            ("/breakers/dashboard.css", "text/css; charset=utf-8"),
            ("/breakers/dashboard.js", "text/javascript; charset=utf-8"),
        ] {
            let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
            assert_eq!(response.status(), 200, "{path}");
            assert_eq!(response.headers()["content-type"], content_type, "{path}");
            assert_eq!(response.headers()["cache-control"], "no-cache", "{path}");
        }
        // Nested without a trailing slash, the page names its directory for its
        // relative URLs.
        let page = reqwest::get(format!("http://{addr}/breakers")).await.unwrap().text().await.unwrap();
        assert!(page.contains(r#"<base href="breakers/">"#), "{page}");
    });

    // A breaker whose calls all came before the page loaded, on a manual clock: its
    // chart can only come from the history's finest tier (a 10 s point of 20 calls).
    let clock = Arc::new(ManualClock::new());
    let past = CircuitBreaker::with_clock("dash-history", Config::default(), clock.clone()).unwrap();
    registry().register(&past).unwrap();
    history().sample(registry());
    for _ in 0..20 {
        futures::executor::block_on(past.call(async { Ok::<_, Error>(1) })).unwrap();
    }
    clock.advance(Duration::from_secs(10));
    history().sample(registry());
    assert_eq!(history().points("dash-history", 0).last().map(|p| p.successes), Some(20));

    // Chromium loads the page; once its event stream is open, payments fails and opens.
    let url = format!("http://{addr}/breakers");
    let dom = std::thread::scope(|scope| {
        let browser = scope.spawn(|| chromium(&["--dump-dom"], &url));
        stream_opened.recv_timeout(CHROMIUM_LIMIT).expect("the page opened its `/events` stream");
        rt.block_on(async {
            let _ = payments(true).await;
        });
        assert_eq!(registry().get("dash-payments").unwrap().state(), State::Open);
        browser.join().unwrap()
    });

    assert!(dom.contains(r#"data-ready="true""#), "the page did not report ready:\n{dom}");
    let body_tag = &dom[dom.find("<body").unwrap()..];
    assert_eq!(attribute(body_tag, "data-ready"), Some("true"));

    let open = tile(&dom, "dash-payments");
    assert_eq!(attribute(open, "data-state"), Some("open"), "{open}");
    let reason = text_of_class(open, "reason").unwrap_or_else(|| panic!("no reason in {open}"));
    // `Reason::ConsecutiveFailures`: "1 consecutive failures (threshold 1)".
    assert!(reason.contains("consecutive failures") && reason.contains("threshold 1"), "reason: {reason:?}");
    assert!(open.contains(r#"closed</span> → <span class="st st-open">open</span>"#), "history: {open}");
    // The error that opened it, from the transition's record.
    let error = Error::UnknownService { service: "down".into(), suggestion: None }.to_string();
    assert!(
        open.contains(&format!(r#"<span class="last-error"> · {}</span>"#, html_text(&error))),
        "last error: {open}"
    );

    for closed in ["dash-catalog", "dash-search", "dash-history"] {
        assert_eq!(attribute(tile(&dom, closed), "data-state"), Some("closed"), "{closed}");
    }
    // The history's point drew the chart of a breaker nobody called since.
    assert!(
        tile(&dom, "dash-history").contains(r#"class="ok"></rect>"#),
        "no history bars: {}",
        tile(&dom, "dash-history")
    );
    // The chart: bars from the calls between successive snapshots (failures for search).
    assert!(
        tile(&dom, "dash-catalog").contains(r#"class="ok"></rect>"#),
        "no bars: {}",
        tile(&dom, "dash-catalog")
    );
    assert!(tile(&dom, "dash-search").contains(r#"class="err"></rect>"#), "no failure bars");
    assert_eq!(summary_count(&dom, "open"), Some(1), "summary bar");
    assert_eq!(summary_count(&dom, "closed"), Some(3), "summary bar");
    for state in ["half-open", "forced-open", "disabled", "metrics-only"] {
        assert_eq!(summary_count(&dom, state), Some(0), "summary bar, {state}");
    }
    // The error banner stays hidden after a good load.
    let banner = &dom[dom.find(r#"id="error""#).unwrap()..];
    assert!(banner[..banner.find('>').unwrap()].contains("hidden"), "error banner shown: {banner}");

    // Pictures for people: desktop and phone.
    let dir = screenshots_dir();
    for (name, width, height) in [("dashboard.png", 1280, 800), ("dashboard-phone.png", 390, 844)] {
        let path = dir.join(name);
        let _ = std::fs::remove_file(&path);
        let size = format!("--window-size={width},{height}");
        let shot = format!("--screenshot={}", path.display());
        chromium(&[&size, &shot], &url);
        assert_png(&path, width, height);
    }
    traffic.store(false, Ordering::Relaxed);
}

#[test]
fn page_without_its_script_or_its_data_never_reports_ready() {
    let rt = runtime();
    let real = rt.block_on(start(Endpoints::new().router()));
    let [page, stylesheet, script] = rt.block_on(async {
        let fetch = |path: &'static str| async move {
            reqwest::get(format!("http://{real}{path}")).await.unwrap().text().await.unwrap()
        };
        [fetch("/").await, fetch("/dashboard.css").await, fetch("/dashboard.js").await]
    });
    let html = |body: String| ([("content-type", "text/html; charset=utf-8")], body);

    // The page alone, where its relative `dashboard.js` is a 404.
    let page_alone = page.clone();
    let broken =
        rt.block_on(start(Router::new().route("/lonely/", get(move || async move { html(page_alone) }))));
    let dom = chromium(&["--dump-dom"], &format!("http://{broken}/lonely/"));
    assert!(dom.contains("Loading circuits"), "the page did load:\n{dom}");
    assert!(!dom.contains(r#"data-ready="true""#), "ready without its script:\n{dom}");

    // Page and script, but `circuits` answers 500: the banner says so, and no ready flag.
    let failing = Router::new()
        .route("/", get(move || async move { html(page) }))
        .route("/dashboard.css", get(move || async move { ([("content-type", "text/css")], stylesheet) }))
        .route("/dashboard.js", get(move || async move { ([("content-type", "text/javascript")], script) }))
        .route("/circuits", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "registry unavailable") }))
        .route("/events", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }));
    let failing = rt.block_on(start(failing));
    let dom = chromium(&["--dump-dom"], &format!("http://{failing}/"));
    assert!(!dom.contains(r#"data-ready="true""#), "ready without data:\n{dom}");
    let banner = &dom[dom.find(r#"id="error""#).expect("an error banner")..];
    assert!(!banner[..banner.find('>').unwrap()].contains("hidden"), "error banner hidden: {banner}");
    assert!(banner.contains("Could not load the circuits") && banner.contains("HTTP 500"), "{banner}");
}

/// `text` as the DOM dump writes it inside an element.
fn html_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
