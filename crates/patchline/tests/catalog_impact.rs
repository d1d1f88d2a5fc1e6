//! `impact --package` names the catalogued images it could not look into (no stored
//! inventory) instead of leaving them out silently. A tiny Alpine rootfs made in a
//! temporary directory, catalogued with `catalog add dir:ROOTFS`, and an image row
//! without inventory written through the store.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use patchline_lineage::{CatalogEntry, Tier};

/// A rootfs with one apk package (`name`), as `dir:PATH`.
fn rootfs(t: &Path, name: &str) -> String {
    let r = t.join("rootfs");
    fs::create_dir_all(r.join("lib/apk/db")).unwrap();
    fs::create_dir_all(r.join("etc")).unwrap();
    fs::write(
        r.join("lib/apk/db/installed"),
        format!("P:{name}\nV:1.0-r0\nA:x86_64\no:{name}\n\n"),
    )
    .unwrap();
    fs::write(r.join("etc/os-release"), "ID=alpine\nVERSION_ID=3.18.4\n").unwrap();
    format!("dir:{}", r.display())
}

#[test]
fn impact_package_lists_images_without_inventory() {
    let t = tempfile::tempdir().unwrap();
    let with = rootfs(t.path(), "musl");
    let state = t.path().join("catalog.sqlite");
    let state = state.to_str().unwrap();
    let add = [
        "catalog", "add", "--state", state, "--tier", "base", "--owner", "team", &with,
    ];
    let o = patchline(&add);
    assert!(o.status.success(), "{o:?}");
    // An image row without its inventory, as an interrupted older patchline or another
    // writer leaves it.
    let without = "r.example/old:1".to_string();
    patchline_lineage::Catalog::open(state)
        .unwrap()
        .add(CatalogEntry::new(without.as_str(), Tier::Application))
        .unwrap();

    let r = patchline_json(&[
        "impact",
        "--package",
        "musl",
        "--state",
        state,
        "--format",
        "json",
    ]);
    let hit: Vec<&str> = r["images"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["image"].as_str())
        .collect();
    assert_eq!(hit, [with.as_str()], "{r}");
    assert_eq!(r["not_examined"], serde_json::json!([without]), "{r}");

    // In text, a warning names it (on stdout with the report, and on stderr).
    let o = patchline(&["impact", "--package", "musl", "--state", state]);
    assert!(o.status.success(), "{o:?}");
    for stream in [&o.stdout, &o.stderr] {
        let s = String::from_utf8_lossy(stream);
        assert!(
            s.contains("1 image(s) not examined") && s.contains(&without),
            "{s}"
        );
    }
}

#[test]
fn catalog_add_failing_to_store_the_inventory_adds_nothing() {
    if !patchline_test_support::require_tools(&["sqlite3"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let image = rootfs(t.path(), "musl");
    let state = t.path().join("catalog.sqlite");
    let state = state.to_str().unwrap();
    // Creates the store, then makes every inventory write fail inside the transaction.
    patchline_lineage::Catalog::open(state).unwrap();
    let o = std::process::Command::new("sqlite3")
        .args([
            state,
            "CREATE TRIGGER boom BEFORE INSERT ON inventories BEGIN SELECT RAISE(ABORT, 'boom'); END;",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let o = patchline(&[
        "catalog", "add", "--state", state, "--tier", "base", "--owner", "team", &image,
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("boom"), "{err}");
    let list = patchline_json(&["catalog", "list", "--state", state, "--format", "json"]);
    assert_eq!(list, serde_json::json!([]), "{list}");
}
