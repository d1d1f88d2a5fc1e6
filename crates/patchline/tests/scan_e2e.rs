//! `patchline scan` end to end on a real Debian 12 image whose dpkg database holds a
//! genuinely vulnerable curl (`layout:child`: curl/libcurl4 7.88.1-10+deb12u5 from
//! bookworm-security), against a small Debian security tracker feed of real facts
//! (`tests/data/debian-tracker-bookworm.json`, provenance in `tests/data/README.md`)
//! imported with `patchline db import`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use serde_json::Value;

struct Env {
    adv: AdvisoryEnv,
    child: String,
}

impl std::ops::Deref for Env {
    type Target = AdvisoryEnv;
    fn deref(&self) -> &AdvisoryEnv {
        &self.adv
    }
}

/// Imports the feed into a fresh DB and locates the fixture image.
fn setup() -> Option<Env> {
    let fx = fixtures()?;
    Some(Env {
        adv: AdvisoryEnv::with_feeds(&[Path::new(DEBIAN_FEED)]),
        child: format!("oci:{}:child", fx.join("layout").display()),
    })
}

fn scan(env: &Env, image: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["scan", image, "--db", &env.db, "--cache-dir", &env.cache];
    args.extend_from_slice(extra);
    patchline(&args)
}

fn scan_json(env: &Env, image: &str, extra: &[&str]) -> Value {
    let mut args = vec!["--format", "json"];
    args.extend_from_slice(extra);
    let out = scan(env, image, &args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "scan {image} {extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("scan JSON")
}

type Row = (String, String, String, String, Vec<String>, String, String);

/// (id, binary package, installed version, state, fixed versions, severity, source).
fn rows(report: &Value) -> BTreeSet<Row> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |v: &Value| v.as_str().unwrap_or("").to_string();
            (
                s(&f["id"]),
                s(&f["package"]["name"]),
                s(&f["package"]["version"]),
                s(&f["state"]),
                f["fixed_versions"]
                    .as_array()
                    .map(|a| a.iter().map(s).collect())
                    .unwrap_or_default(),
                s(&f["severity"]),
                s(&f["severity_source"]),
            )
        })
        .collect()
}

const CURL_FIXED: &[(&str, &str)] = &[
    ("CVE-2024-2004", "7.88.1-10+deb12u6"),
    ("CVE-2024-2398", "7.88.1-10+deb12u6"),
    ("CVE-2024-7264", "7.88.1-10+deb12u7"),
    ("CVE-2024-8096", "7.88.1-10+deb12u8"),
    ("CVE-2024-9681", "7.88.1-10+deb12u9"),
    ("CVE-2024-11053", "7.88.1-10+deb12u10"),
    ("CVE-2025-0167", "7.88.1-10+deb12u11"),
    ("CVE-2025-10148", "7.88.1-10+deb12u15"),
    ("CVE-2025-14524", "7.88.1-10+deb12u15"),
    ("CVE-2025-14819", "7.88.1-10+deb12u15"),
    ("CVE-2026-3783", "7.88.1-10+deb12u15"),
    ("CVE-2026-3784", "7.88.1-10+deb12u15"),
    ("CVE-2026-5773", "7.88.1-10+deb12u15"),
    ("CVE-2026-7168", "7.88.1-10+deb12u15"),
];

fn expected() -> BTreeSet<Row> {
    let row =
        |id: &str, pkg: &str, ver: &str, state: &str, fixed: &[&str], sev: &str, src: &str| {
            (
                id.to_string(),
                pkg.to_string(),
                ver.to_string(),
                state.to_string(),
                fixed.iter().map(|s| s.to_string()).collect(),
                sev.to_string(),
                src.to_string(),
            )
        };
    let mut want = BTreeSet::new();
    for (id, fixed) in CURL_FIXED {
        for pkg in ["curl", "libcurl4"] {
            // The feed carries no urgency for these and no NVD data is imported.
            want.insert(row(
                id,
                pkg,
                "7.88.1-10+deb12u5",
                "fixed",
                &[fixed],
                "unknown",
                "none",
            ));
        }
    }
    for pkg in ["apt", "libapt-pkg6.0"] {
        want.insert(row(
            "CVE-2011-3374",
            pkg,
            "2.6.1",
            "unimportant",
            &[],
            "negligible",
            "debian",
        ));
    }
    for (pkg, ver) in [
        ("bsdutils", "1:2.38.1-5+deb12u3"),
        ("libblkid1", "2.38.1-5+deb12u3"),
        ("libmount1", "2.38.1-5+deb12u3"),
        ("libsmartcols1", "2.38.1-5+deb12u3"),
        ("libuuid1", "2.38.1-5+deb12u3"),
        ("mount", "2.38.1-5+deb12u3"),
        ("util-linux", "2.38.1-5+deb12u3"),
        ("util-linux-extra", "2.38.1-5+deb12u3"),
    ] {
        want.insert(row(
            "CVE-2022-0563",
            pkg,
            ver,
            "unimportant",
            &[],
            "negligible",
            "debian",
        ));
    }
    for pkg in ["libc-bin", "libc6"] {
        want.insert(row(
            "CVE-2010-4756",
            pkg,
            "2.36-9+deb12u14",
            "unimportant",
            &[],
            "negligible",
            "debian",
        ));
    }
    want.insert(row(
        "CVE-2005-2541",
        "tar",
        "1.34+dfsg-1.2+deb12u1",
        "unimportant",
        &[],
        "negligible",
        "debian",
    ));
    want.insert(row(
        "CVE-2016-2781",
        "coreutils",
        "9.1-1",
        "unfixed",
        &[],
        "low",
        "debian",
    ));
    want
}

#[test]
fn child_image_findings_are_exact() {
    let Some(env) = setup() else { return };
    let r = scan_json(&env, &env.child, &[]);
    assert_eq!(r["schema"], "patchline.scan/v1");
    assert_eq!(r["distro"]["id"], "debian");
    assert_eq!(r["distro_eol"], false);
    assert_eq!(r["packages_scanned"], 104);
    assert_eq!(r["inventory_complete"], true);
    assert_eq!(r["db"]["path"], env.db.as_str());
    assert_eq!(r["db"]["schema_version"], 2);
    let got = rows(&r);
    let want = expected();
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    assert_eq!(r["findings"].as_array().unwrap().len(), 42);

    let findings = r["findings"].as_array().unwrap();
    let ids: BTreeSet<&str> = findings.iter().map(|f| f["id"].as_str().unwrap()).collect();
    // Real negatives: fixed before or at the installed version, KEV-listed but fixed, or
    // never affected.
    for absent in [
        "CVE-2023-38545",
        "CVE-2023-38546",
        "CVE-2023-46218",
        "CVE-2023-46219",
        "CVE-2023-4911",
        "CVE-2024-3094",
    ] {
        assert!(!ids.contains(absent), "{absent} must not be reported");
    }
    for f in findings {
        let name = f["package"]["name"].as_str().unwrap();
        // Matched on the source package, reported on the binary, with its layer.
        let layer = f["package"]["introduced"]["index"].as_u64().unwrap();
        let want_layer = if name == "curl" || name == "libcurl4" {
            1
        } else {
            0
        };
        assert_eq!(layer, want_layer, "{name}");
        assert_eq!(f["ecosystem"], "Debian:12");
        let id = f["id"].as_str().unwrap();
        assert_eq!(
            f["aliases"],
            serde_json::json!([format!("DEBIAN-{id}")]),
            "{id}"
        );
        assert!(f["package"]["purl"]
            .as_str()
            .unwrap()
            .starts_with("pkg:deb/debian/"));
    }
    let bsdutils = findings
        .iter()
        .find(|f| f["package"]["name"] == "bsdutils")
        .unwrap();
    assert_eq!(bsdutils["package"]["source_name"], "util-linux");
    assert_eq!(bsdutils["package"]["source_version"], "2.38.1-5+deb12u3");
    // Risk order: the unknown-severity curl findings (fixed ones first, by id) rank with
    // medium, before the one low, and the negligible ones come last.
    let sev: Vec<&str> = findings
        .iter()
        .map(|f| f["severity"].as_str().unwrap())
        .collect();
    assert_eq!(sev.len(), 28 + 1 + 13);
    assert!(sev[..28].iter().all(|s| *s == "unknown"), "{sev:?}");
    assert_eq!(sev[28], "low");
    assert!(sev[29..].iter().all(|s| *s == "negligible"), "{sev:?}");
    let fixed_first = findings[..28]
        .iter()
        .take_while(|f| f["state"] == "fixed")
        .count();
    assert!(fixed_first > 0, "fixable unknown-severity findings lead");
}

#[test]
fn fail_on_and_filters() {
    let Some(env) = setup() else { return };
    // The vulnerability gate alone: the checks' own findings (the image runs as root)
    // are judged by the same threshold, which `checks_gate_with_fail_on` covers.
    let code = |extra: &[&str]| {
        let mut a = vec!["--format", "json", "--scanners", "vuln"];
        a.extend_from_slice(extra);
        scan(&env, &env.child, &a).status.code()
    };
    assert_eq!(code(&["--fail-on", "negligible"]), Some(1));
    assert_eq!(code(&["--fail-on", "low"]), Some(1));
    assert_eq!(code(&["--fail-on", "medium"]), Some(0));
    assert_eq!(code(&["--fail-on", "critical"]), Some(0));
    // Without the unfixed coreutils finding nothing is rated low or above.
    assert_eq!(code(&["--fail-on", "low", "--ignore-unfixed"]), Some(0));
    assert_eq!(code(&["--fail-on", "bogus"]), Some(2));

    let curl_only: BTreeSet<(String, String)> = CURL_FIXED
        .iter()
        .flat_map(|(id, _)| ["curl", "libcurl4"].map(|p| (id.to_string(), p.to_string())))
        .collect();
    for flag in ["--only-fixed", "--ignore-unfixed"] {
        let r = scan_json(&env, &env.child, &[flag]);
        let got: BTreeSet<(String, String)> = rows(&r)
            .into_iter()
            .map(|(id, pkg, ..)| (id, pkg))
            .collect();
        assert_eq!(got, curl_only, "{flag}");
    }
}

#[test]
fn output_file_formats_and_stale_warning() {
    let Some(env) = setup() else { return };
    let out_file = env.dir.join("report.json");
    let out = scan(
        &env,
        &env.child,
        &[
            "--format",
            "json",
            "-o",
            out_file.to_str().unwrap(),
            "--max-db-age",
            "0",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("patchline db update"),
        "no staleness warning: {stderr}"
    );
    let r: Value = serde_json::from_slice(&std::fs::read(&out_file).unwrap()).unwrap();
    assert_eq!(r["findings"].as_array().unwrap().len(), 42);
    assert!(r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["source"] == "advisory-db"));
    // A fresh DB is not stale by default.
    let out = scan(&env, &env.child, &["--format", "json"]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("patchline db update"));
    for format in ["table", "sarif", "cyclonedx"] {
        let out = scan(&env, &env.child, &["--format", format]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "{format}");
    }
}

#[test]
fn bad_input_exits_2() {
    let Some(env) = setup() else { return };
    let missing = env.dir.join("nope.sqlite");
    let out = patchline(&["scan", &env.child, "--db", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("patchline db import") && stderr.contains("patchline db update"),
        "{stderr}"
    );
    let out = scan(&env, "oci:/nonexistent/layout:child", &[]);
    assert_eq!(out.status.code(), Some(2));
    let out = scan(&env, "sbom:/nonexistent/sbom.json", &[]);
    assert_eq!(out.status.code(), Some(2));
    let garbage = env.dir.join("garbage.json");
    std::fs::write(&garbage, b"{\"not\": \"an sbom\"").unwrap();
    let out = scan(&env, &format!("sbom:{}", garbage.display()), &[]);
    assert_eq!(out.status.code(), Some(2));
}

/// Rescanning the image's own SBOM gives the same findings as scanning the image.
#[test]
fn sbom_rescan_matches_image_scan() {
    let Some(env) = setup() else { return };
    let image = scan_json(&env, &env.child, &[]);
    for format in ["cyclonedx", "spdx"] {
        let sbom = env.dir.join(format!("child.{format}.json"));
        let out = patchline(&[
            "sbom",
            &env.child,
            "--format",
            format,
            "--cache-dir",
            &env.cache,
            "-o",
            sbom.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rescan = scan_json(&env, &format!("sbom:{}", sbom.display()), &[]);
        assert_eq!(rows(&rescan), rows(&image), "sbom:{format}");
        assert_eq!(
            rescan["packages_scanned"], image["packages_scanned"],
            "{format}"
        );
        let layers = |r: &Value| -> Vec<Value> {
            r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["package"]["introduced"].clone())
                .collect()
        };
        assert_eq!(
            layers(&rescan),
            layers(&image),
            "sbom:{format}: layer attribution"
        );
    }
}
