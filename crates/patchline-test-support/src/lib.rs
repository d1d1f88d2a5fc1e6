//! Test support for patchline's crates (a dev-dependency only; `publish = false`).
//!
//! Many tests need something the repository does not hold:
//!
//! - the shared data directory `../shared/data` beside the workspace root (real feeds,
//!   schemas, package databases, the upstream version suites): [`shared_data`],
//!   [`shared_data_path`];
//! - the real-image fixtures that `bash scripts/build-fixtures.sh DIR` builds (as root, with
//!   debootstrap, umoci and skopeo), found through `PATCHLINE_FIXTURES`: [`fixtures`];
//! - external programs on `PATH` (`rpm`, `skopeo`, `docker-registry`, `htpasswd`, `umoci`,
//!   `dpkg-query`, ...): [`require_tools`];
//! - anything else a test checks for itself (a loopback address, a file of this machine):
//!   [`skip!`].
//!
//! All of them follow one rule. When something is missing the test **fails** under CI
//! ([`is_ci`]: `CI` set to anything but empty, `false` or `0`, in any case) with a message
//! naming what is missing and how to get it; anywhere else it **skips**: it prints one line
//! `SKIP <test>: <what is missing>; <how to get it>` to stderr and returns early.
//!
//! ```ignore
//! use patchline_test_support as ts;
//!
//! #[test]
//! fn imports_debian_osv() {
//!     let Some(dir) = ts::shared_data_path("osv/Debian") else { return };
//!     // ...
//! }
//!
//! #[test]
//! fn agrees_with_rpm() {
//!     if !ts::require_tools(&["rpm"]) {
//!         return;
//!     }
//!     // ...
//! }
//!
//! fn second_loopback() -> Option<std::net::TcpListener> {
//!     match std::net::TcpListener::bind("127.0.0.2:0") {
//!         Ok(l) => Some(l),
//!         // Reports the skip (or fails under CI), then returns `Default::default()`.
//!         Err(e) => ts::skip!("cannot bind 127.0.0.2: {e}"),
//!     }
//! }
//! ```
//!
//! # Skips in nextest's output
//!
//! nextest hides the output of passing tests, and a skipped test passes. The workspace's
//! `.config/nextest.toml` therefore shows the output of the test binaries that hold tests
//! which can skip (`success-output = "immediate"`), so the `SKIP` line appears under the
//! test's `PASS` line, and passes those binaries a marker argument ([`SKIPS_SHOWN_MARKER`]).
//! Under nextest every function here checks for that marker and fails the test when it is
//! absent, naming the binary to add to that list: a test that can skip is never hidden.

pub mod example;
pub mod oci;
pub mod services;

use std::collections::BTreeSet;
use std::fmt::Display;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest as _, Sha256};

/// The environment variable naming the fixtures directory.
pub const FIXTURES_ENV: &str = "PATCHLINE_FIXTURES";

/// The argument `.config/nextest.toml` passes (as `--skip MARKER`, which matches no test) to
/// the test binaries whose output it shows.
pub const SKIPS_SHOWN_MARKER: &str = "patchline-test-support:skips-shown";

/// Whether a missing prerequisite fails the test instead of skipping it: `CI` is set to a
/// value [`is_ci_value`] counts as CI.
pub fn is_ci() -> bool {
    let value = std::env::var_os("CI");
    is_ci_value(value.as_deref().map(|v| v.to_string_lossy()).as_deref())
}

/// The CI rule on the value of `CI` (`None` when unset): unset, empty (after trimming),
/// `false` and `0` are not CI, in any case; every other value is.
pub fn is_ci_value(value: Option<&str>) -> bool {
    match value.map(str::trim) {
        None | Some("") | Some("0") => false,
        Some(v) => !v.eq_ignore_ascii_case("false"),
    }
}

/// The workspace root (the directory of the root `Cargo.toml`).
pub fn workspace_root() -> &'static Path {
    // This crate is crates/patchline-test-support.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("crates/patchline-test-support sits two levels below the workspace root")
}

/// Where the shared data directory belongs: `../shared/data` relative to the workspace root.
pub fn shared_data_location() -> PathBuf {
    match workspace_root().parent() {
        Some(parent) => parent.join("shared/data"),
        None => workspace_root().join("../shared/data"),
    }
}

/// The shared data directory, or `None` after reporting that it is missing (see the crate
/// docs for the rule).
#[track_caller]
pub fn shared_data() -> Option<PathBuf> {
    check_skips_shown();
    let dir = shared_data_location();
    if dir.is_dir() {
        Some(dir)
    } else {
        missing(format_args!(
            "the shared data directory {} is missing; it holds the real feeds, schemas, \
             package databases and version suites (provenance in its SOURCES.md) and must sit \
             beside the repository, as ../shared/data from the workspace root",
            dir.display()
        ));
        None
    }
}

/// `rel` (a file or directory) inside the shared data directory, or `None` after reporting
/// that it is missing.
#[track_caller]
pub fn shared_data_path(rel: impl AsRef<Path>) -> Option<PathBuf> {
    let path = shared_data()?.join(rel.as_ref());
    if path.exists() {
        Some(path)
    } else {
        missing(format_args!(
            "{} is missing from the shared data directory {}",
            rel.as_ref().display(),
            shared_data_location().display()
        ));
        None
    }
}

/// The real-image fixtures: `$PATCHLINE_FIXTURES`, else `<workspace>/target/fixtures` (the
/// script's default output), when it holds a complete build by this checkout's
/// `scripts/build-fixtures.sh` (its `.complete` stamp matches). Otherwise `None` after
/// reporting what is missing. Tests never build the fixtures themselves.
#[track_caller]
pub fn fixtures() -> Option<PathBuf> {
    check_skips_shown();
    let from_env = std::env::var_os(FIXTURES_ENV).filter(|v| !v.is_empty());
    let dir = match &from_env {
        Some(d) => PathBuf::from(d),
        None => workspace_root().join("target/fixtures"),
    };
    let how = format!(
        "build them as root with `bash scripts/build-fixtures.sh DIR` (apt-get install -y \
         debootstrap umoci skopeo python3-pip npm golang-go golang-golang-x-net-dev; a few minutes), then set {FIXTURES_ENV}=DIR"
    );
    let found = std::fs::read_to_string(dir.join(".complete")).ok();
    match found {
        Some(stamp) if stamp.trim_end() == fixtures_stamp() => Some(dir),
        Some(_) => {
            missing(format_args!(
                "the fixtures in {} are stale: another version of scripts/build-fixtures.sh \
                 built them; {how}",
                dir.display()
            ));
            None
        }
        None if from_env.is_some() => {
            missing(format_args!(
                "no fixtures in {FIXTURES_ENV}={} (no .complete stamp); {how}",
                dir.display()
            ));
            None
        }
        None => {
            missing(format_args!(
                "no fixtures: {FIXTURES_ENV} is not set and {} holds none; {how}",
                dir.display()
            ));
            None
        }
    }
}

/// The `.complete` stamp this checkout's `scripts/build-fixtures.sh` writes (and accepts).
fn fixtures_stamp() -> &'static str {
    static STAMP: OnceLock<String> = OnceLock::new();
    STAMP.get_or_init(|| {
        let script = workspace_root().join("scripts/build-fixtures.sh");
        let bytes =
            std::fs::read(&script).unwrap_or_else(|e| panic!("reading {}: {e}", script.display()));
        format!("patchline-fixtures {:x}", Sha256::digest(&bytes))
    })
}

/// The executable `tool` on `PATH`, if any.
pub fn on_path(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| is_executable(p))
}

#[cfg(unix)]
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(p: &Path) -> bool {
    p.is_file()
}

/// True when every tool is on `PATH`; otherwise false after reporting the missing ones and
/// the Debian packages that provide them.
#[track_caller]
pub fn require_tools(tools: &[&str]) -> bool {
    check_skips_shown();
    let absent: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|t| on_path(t).is_none())
        .collect();
    if absent.is_empty() {
        return true;
    }
    let packages: BTreeSet<&str> = absent.iter().map(|t| debian_package(t)).collect();
    missing(format_args!(
        "{} not found on PATH; install with: apt-get install -y {}",
        absent.join(", "),
        packages.into_iter().collect::<Vec<_>>().join(" ")
    ));
    false
}

/// The Debian package that ships `tool`, where its name differs.
fn debian_package(tool: &str) -> &str {
    match tool {
        "htpasswd" => "apache2-utils",
        "dpkg-query" | "dpkg-deb" => "dpkg",
        "dpkg-source" => "dpkg-dev",
        other => other,
    }
}

/// The rule itself: reports that `reason` (what is missing and how to get it) keeps the
/// current test from running. Under CI this panics (the test fails); elsewhere it prints
/// `SKIP <test>: <reason>` to stderr and returns, and the caller returns early. Tests use
/// the accessors above or [`skip!`], which also returns.
#[track_caller]
pub fn missing(reason: impl Display) {
    check_skips_shown();
    let test = current_test();
    if is_ci() {
        panic!(
            "{test}: {reason}\n(CI is set, so a missing prerequisite fails the test instead of \
             skipping it)"
        );
    }
    eprintln!("SKIP {test}: {reason}");
}

/// Reports a missing prerequisite with [`missing`] (a failure under CI), then returns
/// `Default::default()` from the enclosing function: `()` in a test, `None` in a helper
/// returning an `Option`, `false` in one returning a `bool`.
#[macro_export]
macro_rules! skip {
    ($($arg:tt)+) => {{
        $crate::missing(::std::format!($($arg)+));
        return ::std::default::Default::default();
    }};
}

/// The name of the running test: nextest's `NEXTEST_TEST_NAME`, else libtest's name for the
/// test thread.
fn current_test() -> String {
    if let Ok(name) = std::env::var("NEXTEST_TEST_NAME") {
        return name;
    }
    match std::thread::current().name() {
        Some(name) if name != "main" => name.to_string(),
        _ => "this test".to_string(),
    }
}

/// Under nextest, fails the test unless `.config/nextest.toml` shows its output (see the
/// crate docs): otherwise a skip would pass silently.
#[track_caller]
fn check_skips_shown() {
    let Ok(binary) = std::env::var("NEXTEST_BINARY_ID") else {
        return;
    };
    if std::env::args().any(|a| a == SKIPS_SHOWN_MARKER) {
        return;
    }
    panic!(
        "{}: this test can skip, but nextest hides the output of passing tests and {binary} is \
         not among the test binaries whose output .config/nextest.toml shows; add \
         `binary_id({binary})` to the filter of its skip override",
        current_test()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_empty_false_and_zero_are_not_ci() {
        for value in [None, Some(""), Some("  "), Some("false"), Some("0")] {
            assert!(!is_ci_value(value), "{value:?}");
        }
    }

    #[test]
    fn false_in_any_case_is_not_ci() {
        for value in ["FALSE", "False", "fAlSe", " false "] {
            assert!(!is_ci_value(Some(value)), "{value:?}");
        }
    }

    #[test]
    fn any_other_value_is_ci() {
        for value in [
            "1",
            "true",
            "TRUE",
            "True",
            "yes",
            "on",
            "github-actions",
            "00",
            "no",
        ] {
            assert!(is_ci_value(Some(value)), "{value:?}");
        }
    }

    #[test]
    fn install_hints_name_debian_packages() {
        assert_eq!(debian_package("htpasswd"), "apache2-utils");
        assert_eq!(debian_package("dpkg-query"), "dpkg");
        assert_eq!(debian_package("skopeo"), "skopeo");
    }

    #[test]
    fn locations_follow_the_workspace_root() {
        let root = workspace_root();
        assert!(root.join("Cargo.toml").is_file(), "{}", root.display());
        assert!(root.join("scripts/build-fixtures.sh").is_file());
        assert_eq!(
            shared_data_location(),
            root.parent().unwrap().join("shared/data")
        );
        assert!(fixtures_stamp().starts_with("patchline-fixtures "));
        assert_eq!(fixtures_stamp().len(), "patchline-fixtures ".len() + 64);
    }

    #[test]
    fn finds_executables_on_path() {
        assert!(on_path("sh").is_some());
        assert!(on_path("patchline-no-such-tool").is_none());
    }
}
