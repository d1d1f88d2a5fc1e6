//! Advisory data the server tests share: a DB built from real feeds, and the feed update
//! that adds a real curl advisory (each test binary includes this module).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use patchline_test_support::{shared_data_path, workspace_root};

/// An advisory DB from real data: the Debian tracker extract of the CLI's tests (facts
/// from Debian's changelogs) and CISA's KEV catalogue from ../shared/data.
pub fn advisory_db(dir: &Path) -> Option<PathBuf> {
    let kev = shared_data_path("feeds/kev/known_exploited_vulnerabilities.json")?;
    let tracker = workspace_root().join("crates/patchline/tests/data/debian-tracker-bookworm.json");
    let db = dir.join("advisories.sqlite");
    patchline_advisory::import_files(
        &db,
        &[tracker, kev],
        &patchline_advisory::ImportOptions::default(),
    )
    .expect("importing the advisory feeds");
    Some(db)
}

/// Imports a Debian security tracker document as the `debian-tracker` source (a second
/// import replaces the source: a feed update).
pub fn import_tracker(db: &Path, file: &Path) {
    let opts = patchline_advisory::ImportOptions {
        source: Some("debian-tracker".into()),
        ..Default::default()
    };
    patchline_advisory::import_files(db, &[file.to_path_buf()], &opts).unwrap();
}

/// The tracker sample plus curl's CVE-2024-2398 as the tracker writes an entry.
pub fn tracker_with_curl(sample: &Path) -> String {
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample).unwrap()).unwrap();
    doc["curl"] = serde_json::json!({
        "CVE-2024-2398": {
            "description": "When an application tells libcurl it wants to allow HTTP/2 server push and the amount of received headers for the push surpasses the maximum allowed limit (1000), libcurl aborts the server push and leaks the memory allocated for the previously allocated headers.",
            "scope": "remote",
            "releases": {
                "bookworm": {
                    "status": "resolved",
                    "repositories": {"bookworm": "7.88.1-10+deb12u6"},
                    "fixed_version": "7.88.1-10+deb12u6",
                    "urgency": "medium"
                }
            }
        }
    });
    serde_json::to_string(&doc).unwrap()
}
