//! Shared helpers for the CLI's integration tests: the real-image fixtures and the CLI.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips the calling test (returns `None`) with a message, or fails it in CI.
pub fn skip<T>(why: &str) -> Option<T> {
    if in_ci() {
        panic!("CI=true but a prerequisite is missing: {why}");
    }
    eprintln!("skipping: {why}");
    None
}

/// The real-image fixtures built by `scripts/build-fixtures.sh` (debootstrap + umoci +
/// skopeo), built on first use when this process may (root, tools installed).
pub fn fixtures() -> Option<PathBuf> {
    let dir = match std::env::var_os("PATCHLINE_FIXTURES") {
        Some(d) => PathBuf::from(d),
        None => repo_root().join("target/fixtures"),
    };
    // The script is cheap when its fixtures are current (it compares its own hash with
    // the stamp in `.complete`), and rebuilds them when the recipe changed.
    {
        let status = Command::new("bash")
            .arg(repo_root().join("scripts/build-fixtures.sh"))
            .arg(&dir)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => return skip(&format!("scripts/build-fixtures.sh {} failed ({s}); run it as root with debootstrap, umoci and skopeo installed", dir.display())),
            Err(e) => return skip(&format!("cannot run scripts/build-fixtures.sh: {e}")),
        }
    }
    Some(dir)
}

pub fn shared_data() -> Option<PathBuf> {
    let d = repo_root().join("../shared/data");
    if d.is_dir() {
        Some(d)
    } else {
        skip(&format!("{} not found", d.display()))
    }
}

pub fn patchline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run patchline")
}

/// Runs patchline, asserting success, and parses its stdout as JSON.
pub fn patchline_json(args: &[&str]) -> serde_json::Value {
    let out = patchline(args);
    assert!(
        out.status.success(),
        "patchline {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("patchline {args:?}: bad JSON: {e}"))
}

pub fn tool_exists(name: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {name}"))
        .output()
        .is_ok_and(|o| o.status.success())
}
