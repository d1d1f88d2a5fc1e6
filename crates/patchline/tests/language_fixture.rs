//! The `app-lang` fixture image (scripts/build-fixtures.sh: a venv with pip-installed
//! packages, Debian packages shipping Python, npm, Java and Go files, an npm app with its
//! lock file, a Go program and a cargo-auditable Rust program) inventoried and compared
//! with what each ecosystem's own tool said when the image was built (`pip inspect`,
//! `npm ls --all --json`, `go version -m`, `rust-audit-info`, dpkg's file lists), then
//! scanned against osv.dev's real records in `../shared/data/osv`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::*;
use patchline_test_support::shared_data_path;
use serde_json::Value;

type Set = BTreeSet<(String, String)>;

fn inventory(fx: &Path) -> Value {
    let image = format!("oci:{}:app-lang", fx.join("layout").display());
    patchline_json(&["sbom", &image, "--format", "json", "--no-cache"])
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

/// (name, version) of the inventory's packages of `ecosystem` read from files under
/// `prefix`.
fn found(inv: &Value, ecosystem: &str, prefix: &str) -> Set {
    inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] == ecosystem)
        .filter(|p| p["db_path"].as_str().unwrap_or("").starts_with(prefix))
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn inventory_matches_each_ecosystems_own_tool() {
    let Some(fx) = fixtures() else { return };
    let inv = inventory(&fx);

    // pip inspect of the venv.
    let pip = read_json(&fx.join("app-lang-pip.json"));
    let want: Set = pip["installed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["metadata"]["name"].as_str().unwrap().to_string(),
                i["metadata"]["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(found(&inv, "pypi", "opt/pyapp/venv/"), want, "pip inspect");

    // npm ls --all --json of the app: every installed package, nested ones included.
    fn walk(deps: &Value, out: &mut Set) {
        if let Some(m) = deps.as_object() {
            for (name, d) in m {
                if let Some(v) = d["version"].as_str() {
                    out.insert((name.clone(), v.to_string()));
                }
                walk(&d["dependencies"], out);
            }
        }
    }
    let mut want = Set::new();
    walk(
        &read_json(&fx.join("app-lang-npm.json"))["dependencies"],
        &mut want,
    );
    assert!(!want.is_empty());
    assert_eq!(
        found(&inv, "npm", "opt/nodeapp/node_modules/"),
        want,
        "npm ls, installed packages"
    );
    // The lock file names the same packages, but what is installed beside it wins (as
    // Trivy and Syft read images): each package is listed once, from node_modules.
    assert_eq!(
        found(&inv, "npm", "opt/nodeapp/package-lock.json"),
        Set::new(),
        "the lock file's packages are superseded by the installed ones"
    );

    // go version -m of the Go program: the toolchain, the main module and each dep.
    let go = std::fs::read_to_string(fx.join("app-lang-go.txt")).unwrap();
    let mut want = Set::new();
    for line in go.lines() {
        let f: Vec<&str> = line.split('\t').map(str::trim).collect();
        if let Some(v) = line
            .split(": go")
            .nth(1)
            .filter(|_| !line.starts_with('\t'))
        {
            want.insert(("stdlib".to_string(), v.trim().to_string()));
        }
        if f.len() >= 4 && (f[1] == "dep" || f[1] == "mod") {
            let v = f[3].trim_start_matches('v').to_string();
            want.insert((f[2].to_string(), v));
        }
    }
    assert_eq!(found(&inv, "golang", "opt/goapp/"), want, "go version -m");

    // rust-audit-info of the Rust program: every crate compiled in (build-only ones,
    // such as build scripts' dependencies, are not in the binary).
    let audit = read_json(&fx.join("app-lang-cargo-audit.json"));
    let want: Set = audit["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] != "build")
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_string(),
                p["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        found(&inv, "cargo", "opt/rustapp/"),
        want,
        "rust-audit-info"
    );

    // dpkg's file lists: the language files Debian packages ship are theirs.
    let owned = std::fs::read_to_string(fx.join("app-lang-dpkg-owned.txt")).unwrap();
    let by_path: BTreeMap<&str, &Value> = inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] != "deb")
        .map(|p| (p["db_path"].as_str().unwrap(), p))
        .collect();
    let mut checked = 0;
    for line in owned.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let (pkg, kind, path) = (f[0], f[2], f[3]);
        if !matches!(
            kind,
            "python-metadata" | "python-wheel" | "npm-package-json" | "java-jar" | "go-binary"
        ) {
            continue;
        }
        let p = by_path
            .get(path)
            .unwrap_or_else(|| panic!("{kind} {path} of {pkg}: not inventoried"));
        assert_eq!(p["managed_by"], pkg, "{path}");
        checked += 1;
    }
    assert!(checked >= 10, "{checked}");
    // Nothing outside an OS package is marked managed.
    for p in inv["packages"].as_array().unwrap() {
        let path = p["db_path"].as_str().unwrap_or("");
        if path.starts_with("opt/") {
            assert!(p["managed_by"].is_null(), "{p}");
        }
    }
}

#[test]
fn scan_finds_the_osv_advisories_of_the_apps_own_packages_only() {
    let Some(fx) = fixtures() else { return };
    let feeds: Vec<_> = ["osv/PyPI", "osv/Go", "osv/crates.io"]
        .iter()
        .filter_map(shared_data_path)
        .collect();
    if feeds.len() < 3 {
        return;
    }
    let refs: Vec<&Path> = feeds.iter().map(|p| p.as_path()).collect();
    let env = AdvisoryEnv::with_feeds(&refs);
    let image = format!("oci:{}:app-lang", fx.join("layout").display());
    let report = patchline_json(&[
        "scan",
        &image,
        "--db",
        &env.db,
        "--format",
        "json",
        "--cache-dir",
        &env.cache,
    ]);
    let findings = report["findings"].as_array().unwrap();
    let of = |name: &str, path_prefix: &str| -> BTreeSet<String> {
        findings
            .iter()
            .filter(|f| f["package"]["name"] == name)
            .filter(|f| {
                f["package"]["path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with(path_prefix))
            })
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect()
    };
    // The venv's requests 2.25.0 and urllib3 1.26.4: exactly the records whose ranges
    // hold them (read off the records, as in language_scan.rs).
    assert_eq!(
        of("requests", "opt/pyapp/"),
        ["CVE-2023-32681".to_string()].into()
    );
    assert_eq!(
        of("urllib3", "opt/pyapp/"),
        ["CVE-2021-33503", "CVE-2023-43804", "CVE-2023-45803"]
            .map(String::from)
            .into()
    );
    // Debian's python3-requests / python3-urllib3 files are matched through Debian's
    // own data, never through PyPI ranges.
    assert!(of("requests", "usr/").is_empty() && of("urllib3", "usr/").is_empty());
    assert!(
        report["packages_managed_by_os"].as_u64().unwrap() >= 10,
        "{}",
        report["packages_managed_by_os"]
    );
    // Go and Rust programs.
    assert!(of("golang.org/x/net", "opt/goapp/").contains("CVE-2023-39325"));
    assert!(!of("json", "opt/rustapp/").is_empty(), "RUSTSEC-2022-0081");
    assert!(
        !of("crossbeam-utils", "opt/rustapp/").is_empty(),
        "RUSTSEC-2022-0041"
    );

    // The image's SBOMs say the same: the same findings, the same packages managed by
    // OS packages (CycloneDX property, SPDX sourceInfo).
    let ids = |r: &Value| -> BTreeSet<(String, String)> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_string(),
                    f["package"]["purl"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    for format in ["cyclonedx", "spdx"] {
        let file = dir.path().join(format!("app.{format}.json"));
        let out = patchline(&[
            "sbom",
            &image,
            "--format",
            format,
            "-o",
            file.to_str().unwrap(),
            "--cache-dir",
            &env.cache,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let from_sbom = patchline_json(&[
            "scan",
            &format!("sbom:{}", file.display()),
            "--db",
            &env.db,
            "--format",
            "json",
        ]);
        assert_eq!(ids(&from_sbom), ids(&report), "{format}");
        assert_eq!(
            from_sbom["packages_managed_by_os"], report["packages_managed_by_os"],
            "{format}"
        );
    }
}
