//! Shared helpers for the CLI's integration tests: running the CLI, and a temporary
//! advisory DB to scan against.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

// Where the fixtures and the shared data are, and the skip rule: patchline-test-support.
#[allow(unused_imports)] // each test crate uses a different subset
pub use patchline_test_support::{fixtures, shared_data};

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

/// The real Debian tracker extract for bookworm that the scan tests import.
pub const DEBIAN_FEED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/debian-tracker-bookworm.json"
);

/// A temporary directory holding an advisory DB imported from real feeds and a layer
/// cache, for `scan --db DB --cache-dir CACHE`.
pub struct AdvisoryEnv {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub db: String,
    pub cache: String,
}

impl AdvisoryEnv {
    /// Imports `feeds` with `patchline db import`, asserting it succeeds.
    pub fn with_feeds(feeds: &[&Path]) -> AdvisoryEnv {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let db = dir.join("advisories.sqlite").display().to_string();
        let feeds: Vec<String> = feeds.iter().map(|p| p.display().to_string()).collect();
        let mut args = vec!["db", "import", "--db", db.as_str()];
        args.extend(feeds.iter().map(String::as_str));
        let out = patchline(&args);
        assert!(
            out.status.success(),
            "db import failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        AdvisoryEnv {
            _tmp: tmp,
            cache: dir.join("cache").display().to_string(),
            dir,
            db,
        }
    }
}

/// What the matcher reads of one package, and the database it was read from.
pub type PackageKey = (
    patchline_model::Ecosystem,
    String,
    String,
    Option<u32>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<patchline_model::LayerRef>,
    Option<patchline_model::LayerRef>,
);

/// [`PackageKey`] of every package, sorted. `db_path` is left empty unless
/// `with_db_path`: documents of different formats describing one image agree on the rest.
pub fn matcher_view(inv: &patchline_model::Inventory, with_db_path: bool) -> Vec<PackageKey> {
    let mut v: Vec<PackageKey> = inv
        .packages
        .iter()
        .map(|p| {
            (
                p.ecosystem,
                p.name.clone(),
                p.version.clone(),
                p.epoch,
                p.arch.clone(),
                p.source_name.clone(),
                p.source_version.clone(),
                p.purl.clone(),
                if with_db_path {
                    p.db_path.clone()
                } else {
                    String::new()
                },
                p.introduced.clone(),
                p.last_changed.clone(),
            )
        })
        .collect();
    v.sort_by(|a, b| (a.0, &a.1, &a.4, &a.2, &a.7).cmp(&(b.0, &b.1, &b.4, &b.2, &b.7)));
    v
}
