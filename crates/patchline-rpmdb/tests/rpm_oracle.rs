//! Differential test: every field this crate reads, for every package, against what the
//! real `rpm` prints for the same database (SQLite and BerkeleyDB; Debian's rpm has no NDB
//! backend). Skipped with a message when `rpm` is not installed, except under CI=true.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use patchline_rpmdb::{read_packages, RpmPackage};

/// The fields compared, as rpm's query format and as this crate renders them.
const QUERY_FORMAT: &str =
    "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\t%{SOURCERPM}\\t\
%{LICENSE}\\t%{VENDOR}\\t%{SUMMARY}\\t%{LONGSIZE}\\t%{MODULARITYLABEL}\\t%{SIGMD5}\\n";

fn render(p: &RpmPackage) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".into());
    [
        p.name.clone(),
        p.epoch.map_or("(none)".into(), |e| e.to_string()),
        p.version.clone(),
        p.release.clone(),
        opt(&p.arch),
        opt(&p.source_rpm),
        opt(&p.license),
        opt(&p.vendor),
        opt(&p.summary),
        p.size.map_or("(none)".into(), |s| s.to_string()),
        opt(&p.modularity_label),
        opt(&p.sigmd5),
    ]
    .join("\t")
}

/// `rpm -qa` over a copy of the database, or `None` when rpm is not installed.
fn rpm_query(db: &[u8], file_name: &str) -> Option<Vec<String>> {
    if !patchline_test_support::require_tools(&["rpm"]) {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(file_name), db).unwrap();
    let dbpath = tmp.path().to_str().unwrap();
    let out = Command::new("rpm")
        .env("LC_ALL", "C")
        .env("HOME", tmp.path())
        .args(["--dbpath", dbpath, "-qa", "--qf", QUERY_FORMAT])
        .output()
        .unwrap_or_else(|e| panic!("running rpm: {e}"));
    assert!(
        out.status.success(),
        "rpm failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    Some(lines)
}

fn compare(dir: &Path, rel: &str, file_name: &str, expected_count: usize) {
    let bytes = read(dir, rel);
    let Some(want) = rpm_query(&bytes, file_name) else {
        return;
    };
    let r = read_packages(&bytes).unwrap();
    assert!(r.warnings.is_empty(), "{rel}: {:?}", r.warnings);
    let mut got: Vec<String> = r.packages.iter().map(render).collect();
    got.sort();
    assert_eq!(want.len(), expected_count, "{rel}: rpm's own count changed");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "{rel}: first difference with rpm");
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{rel}: package count differs from rpm"
    );
}

#[test]
fn sqlite_matches_rpm() {
    let Some(dir) = pkgdb_dir() else { return };
    compare(&dir, SQLITE, "rpmdb.sqlite", 129);
}

#[test]
fn berkeleydb_libuuid_matches_rpm() {
    let Some(dir) = pkgdb_dir() else { return };
    compare(&dir, BDB_LIBUUID, "Packages", 1);
}

#[test]
fn berkeleydb_epoch_matches_rpm() {
    let Some(dir) = pkgdb_dir() else { return };
    compare(&dir, BDB_EPOCH, "Packages", 1);
}

/// rpm's read-only BerkeleyDB reader also handles the other byte order: both readers must
/// agree on a byte-swapped copy.
#[test]
fn big_endian_berkeleydb_matches_rpm() {
    let Some(dir) = pkgdb_dir() else { return };
    for rel in [BDB_LIBUUID, BDB_EPOCH] {
        let be = bdb_to_big_endian(&read(&dir, rel));
        let Some(want) = rpm_query(&be, "Packages") else {
            return;
        };
        let r = read_packages(&be).unwrap();
        assert!(r.warnings.is_empty(), "{rel}: {:?}", r.warnings);
        let got: Vec<String> = r.packages.iter().map(render).collect();
        assert_eq!(got, want, "{rel} (big-endian)");
    }
}

/// `NAME-VERSION-RELEASE.ARCH<TAB>path` for every file of every package, as rpm lists
/// them (`rpm -ql` of each package), or `None` when rpm is not installed.
fn rpm_files(db: &[u8], file_name: &str) -> Option<Vec<String>> {
    if !patchline_test_support::require_tools(&["rpm"]) {
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(file_name), db).unwrap();
    let out = Command::new("rpm")
        .env("LC_ALL", "C")
        .env("HOME", tmp.path())
        .args([
            "--dbpath",
            tmp.path().to_str().unwrap(),
            "-qa",
            "--qf",
            "[%{=NAME}-%{=VERSION}-%{=RELEASE}.%{=ARCH}\\t%{FILENAMES}\\n]",
        ])
        .output()
        .unwrap_or_else(|e| panic!("running rpm: {e}"));
    // rpm warns on stderr about BerkeleyDB index files it cannot find; an error there
    // means the query format was refused.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && !stderr.contains("error:"),
        "rpm failed ({}): {stderr}",
        out.status,
    );
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    Some(lines)
}

fn files(p: &RpmPackage) -> impl Iterator<Item = String> + '_ {
    let nevra = format!(
        "{}-{}-{}.{}",
        p.name,
        p.version,
        p.release,
        p.arch.as_deref().unwrap_or("(none)")
    );
    p.files.iter().map(move |f| format!("{nevra}\t{f}"))
}

/// Every package's file list (BASENAMES, DIRNAMES, DIRINDEXES) against rpm's.
#[test]
fn file_lists_match_rpm() {
    let Some(dir) = pkgdb_dir() else { return };
    for (rel, file_name, expected) in [
        (SQLITE, "rpmdb.sqlite", 7269),
        (BDB_LIBUUID, "Packages", 7),
        (BDB_EPOCH, "Packages", 1),
    ] {
        let bytes = read(&dir, rel);
        let Some(want) = rpm_files(&bytes, file_name) else {
            return;
        };
        let r = read_packages(&bytes).unwrap();
        assert!(r.warnings.is_empty(), "{rel}: {:?}", r.warnings);
        let mut got: Vec<String> = r.packages.iter().flat_map(files).collect();
        got.sort();
        assert_eq!(want.len(), expected, "{rel}: rpm's own count changed");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{rel}: first difference with rpm");
        }
        assert_eq!(got.len(), want.len(), "{rel}: file count differs from rpm");
    }
}
