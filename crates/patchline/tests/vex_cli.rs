//! `patchline vex` on a scan report with a vendor's OpenVEX document (openvex/go-vex's
//! real example, in patchline-policy's test data), and `--vex` errors: a document that
//! cannot be read is exit 2 naming the file, before anything is scanned. Needs no
//! database and no image: the report is given with `--report`.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use serde_json::json;

const ALPINE: &str = "sha256:124c7d2707904eea7431fffe91522a01e5a861a624ee31d03372cc1d138a3126";

fn vex_data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../patchline-policy/tests/data/vex")
        .join(rel)
}

fn finding(id: &str, name: &str) -> serde_json::Value {
    json!({
        "id": id, "advisories": [format!("osv:{id}")], "ecosystem": "Alpine:v3.18",
        "package": {"ecosystem": "apk", "name": name, "version": "3.0.8-r3",
                    "purl": format!("pkg:apk/alpine/{name}@3.0.8-r3?arch=x86_64&distro=alpine-3.18.0")},
        "state": "fixed", "fixed_versions": ["3.0.9-r0"], "severity": "high",
        "severity_source": "nvd"
    })
}

fn report(dir: &Path) -> PathBuf {
    let r = json!({
        "schema": "patchline.scan/v1",
        "tool": {"name": "patchline", "version": "0.1.0"},
        "image": {"reference": "docker://docker.io/library/alpine:3.18", "manifest_digest": ALPINE},
        "db": {"path": "db.sqlite", "schema_version": 1},
        "packages_scanned": 15,
        "findings": [finding("CVE-2023-3446", "libssl3"), finding("CVE-2023-9999", "libssl3")],
        "inventory_complete": true
    });
    let p = dir.join("scan.json");
    std::fs::write(&p, serde_json::to_vec(&r).unwrap()).unwrap();
    p
}

#[test]
fn vex_restates_vendor_statements_and_findings() {
    let dir = tempfile::tempdir().unwrap();
    let scan = report(dir.path());
    let vendor = vex_data("openvex/go-vex-v0.2.0.json");
    let doc = patchline_json(&[
        "vex",
        "--report",
        scan.to_str().unwrap(),
        "--vex",
        vendor.to_str().unwrap(),
        "--author",
        "Team Alpine <t@example.com>",
    ]);
    assert_eq!(doc["author"], "Team Alpine <t@example.com>");
    let st = doc["statements"].as_array().unwrap();
    assert_eq!(st.len(), 2, "{doc:#}");
    let product = format!(
        "pkg:oci/alpine@{}?repository_url=docker.io%2Flibrary%2Falpine",
        ALPINE.replace(':', "%3A")
    );
    assert!(st
        .iter()
        .all(|s| s["products"][0]["@id"] == product.as_str()));
    let vendor_says = st
        .iter()
        .find(|s| s["vulnerability"]["name"] == "CVE-2023-3446")
        .unwrap();
    assert_eq!(vendor_says["status"], "not_affected");
    assert_eq!(vendor_says["justification"], "vulnerable_code_not_present");
    let ours = st
        .iter()
        .find(|s| s["vulnerability"]["name"] == "CVE-2023-9999")
        .unwrap();
    assert_eq!(ours["status"], "affected");
    assert_eq!(
        ours["action_statement"],
        "Upgrade libssl3 to 3.0.9-r0 or later"
    );

    let cdx = patchline_json(&[
        "vex",
        "--report",
        scan.to_str().unwrap(),
        "--vex",
        vendor.to_str().unwrap(),
        "--format",
        "cyclonedx",
    ]);
    let states: Vec<(&str, &str)> = cdx["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap(),
                v["analysis"]["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("CVE-2023-9999", "in_triage"),
            ("CVE-2023-3446", "not_affected")
        ]
    );
}

#[test]
fn an_unreadable_vex_document_is_exit_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("vendor.vex.json");
    std::fs::write(
        &bad,
        b"{\"@context\": \"https://openvex.dev/ns/v0.2.0\", \"statements\": 3}",
    )
    .unwrap();
    for cmd in [
        vec!["scan", "oci:/nonexistent", "--vex", bad.to_str().unwrap()],
        vec![
            "vex",
            "--report",
            "/nonexistent.json",
            "--vex",
            bad.to_str().unwrap(),
        ],
    ] {
        let out = patchline(&cmd);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("vendor.vex.json") && err.contains("`statements` is not an array"),
            "{err}"
        );
    }
}
