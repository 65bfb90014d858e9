//! Every mistake is reported once, under plain cargo too.
//!
//! trybuild compiles the cases with `rustc --verbose`, which hides some duplicate
//! diagnostics that a user's `cargo build` shows (a second, raw trait error for a
//! mistake the attribute already reported in its own words). So the `ui/fail` cases
//! are also built here the way a user builds them, and each must report exactly the
//! errors its reviewed `.stderr` shows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `error` headlines of a rendered diagnostic text: one per error, without the
/// summary lines rustc and cargo add.
fn headlines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.starts_with("error"))
        .filter(|line| {
            !line.starts_with("error: aborting due to") && !line.starts_with("error: could not compile")
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_failing_case_reports_under_plain_cargo_exactly_the_errors_its_stderr_shows() {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("the workspace root").to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let project = target.join("tests").join("plain-cargo");
    std::fs::create_dir_all(&project).unwrap();

    let mut cases: Vec<PathBuf> = std::fs::read_dir(manifest.join("ui/fail"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    cases.sort();
    assert!(cases.len() > 50, "the cases are found");

    let path = |p: &Path| p.display().to_string().replace('\\', "/");
    let mut toml = format!(
        "[package]\nname = \"plain-cargo\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
         [workspace]\n\n[dependencies]\n\
         breaker-runtime = {{ path = \"{runtime}\" }}\n\
         renamed_breaker = {{ package = \"breaker-ui-renamed\", path = \"{renamed}\" }}\n\
         tokio = {{ version = \"1\", default-features = false, features = [\"rt\", \"macros\"] }}\n\
         futures = {{ version = \"0.3\", features = [\"executor\"] }}\n\
         anyhow = \"1\"\n",
        runtime = path(&root.join("breaker-runtime")),
        renamed = path(&manifest.join("renamed")),
    );
    let mut names = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let name = format!("case{i:03}");
        toml.push_str(&format!("\n[[bin]]\nname = \"{name}\"\npath = \"{}\"\n", path(case)));
        names.insert(name, case.clone());
    }
    std::fs::write(project.join("Cargo.toml"), toml).unwrap();
    std::fs::copy(root.join("Cargo.lock"), project.join("Cargo.lock")).unwrap();

    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(&project)
        .env_remove("RUSTFLAGS")
        .env("CARGO_TARGET_DIR", project.join("target"))
        .args(["check", "--offline", "--bins", "--keep-going", "--quiet", "--message-format=json"])
        .output()
        .expect("cargo runs");

    let mut reported: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        if message["reason"] != "compiler-message" || message["message"]["level"] != "error" {
            continue;
        }
        let Some(name) = message["target"]["name"].as_str() else { continue };
        let rendered = message["message"]["rendered"].as_str().unwrap_or_default();
        reported.entry(name.to_owned()).or_default().extend(headlines(rendered));
    }

    let mut mismatches = Vec::new();
    for (name, case) in &names {
        let expected = headlines(&std::fs::read_to_string(case.with_extension("stderr")).unwrap());
        let got = reported.remove(name).unwrap_or_default();
        if got != expected {
            mismatches.push(format!(
                "{}:\n  expected (its .stderr):\n    {}\n  plain cargo:\n    {}",
                case.file_name().unwrap().to_string_lossy(),
                expected.join("\n    "),
                got.join("\n    ")
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} case(s) report other errors under plain cargo than under trybuild:\n{}\n\ncargo's stderr:\n{}",
        mismatches.len(),
        mismatches.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
}
