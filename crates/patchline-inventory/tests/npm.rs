//! The npm extractors against osv-scalibr's expectations: every case of its
//! `packagejson` and `packagelockjson` tests (`language/osv-scalibr/javascript/*/
//! *_test.go.txt` in the shared data), read from those files, compared by name and
//! version on the same inputs; the path rules against its `FileRequired` cases; and an
//! inventory of a directory holding both kinds of file.
//!
//! Deliberate deviations are listed in [`ACCEPTED`] with their reason; the test fails if
//! any other case differs, or if a listed one stops differing.

use std::path::{Path, PathBuf};

use patchline_inventory::lang::npm::{is_installed_manifest, is_lockfile, NpmLock, NpmPackage};
use patchline_inventory::{inventory_rootfs, Extracted, Extractor, InventoryOptions};
use patchline_model::Ecosystem;
use patchline_test_support::shared_data_path;

const ORACLE: &str = "language/osv-scalibr/javascript";

/// What an upstream case checks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The packages read from a file (`Extract`).
    Extract,
    /// Which paths are read (`FileRequired`).
    Path,
}

/// Cases whose result differs from osv-scalibr's on purpose: (test file, case, kind, why).
const ACCEPTED: &[(&str, &str, Kind, &str)] = &[
    (
        "packagelockjson_test.go.txt",
        "valid package-lock.json and npm-shrinkwrap.json and extract package-lock.json",
        Kind::Extract,
        "osv-scalibr drops a package-lock.json that has an npm-shrinkwrap.json beside it \
         (npm's precedence); an extractor here sees one streamed file at a time and lists \
         it, and the inventory drops it (shrinkwrap_beside_a_lockfile_wins: the same \
         result as osv-scalibr's for the whole directory)",
    ),
    (
        "packagejson_test.go.txt",
        "package.json at root",
        Kind::Path,
        "only package roots under node_modules (and Debian's module dirs) are installed \
         packages; an application's own manifest is not read",
    ),
    (
        "packagejson_test.go.txt",
        "top level package.json",
        Kind::Path,
        "same: testdata/package.json is not under node_modules",
    ),
    (
        "packagejson_test.go.txt",
        "tests library",
        Kind::Path,
        "same: testdata/deps/accepts/package.json is not under node_modules",
    ),
];

fn accepted(test_file: &str, case: &str, kind: Kind) -> bool {
    ACCEPTED
        .iter()
        .any(|(f, name, k, _)| test_file.ends_with(f) && *name == case && *k == kind)
}

/// One case of an upstream Go test table.
#[derive(Debug)]
struct Case {
    file: String,
    name: String,
    path: String,
    /// Expected (name, version) pairs, in the order written.
    packages: Vec<(String, String)>,
    wants_error: bool,
    /// `includeDeps: true`: the packages after the first are the manifest's dependency
    /// ranges resolved to their lowest version, an option patchline does not have.
    include_deps: bool,
    /// `wantRequired`, for `FileRequired` cases.
    required: Option<bool>,
    /// The case is about file sizes (`maxFileSizeBytes`), which patchline handles with
    /// its own limits and warnings.
    about_size: bool,
}

fn quoted_value(line: &str) -> Option<String> {
    let start = line.find('"')? + 1;
    let end = line.rfind('"')?;
    (end >= start).then(|| line[start..end].to_string())
}

/// The cases of every `func Test…` table in one upstream test file. A case starts at a
/// line `\t\t{`; packages are the `Name:` lines at five tabs followed by a `Version:` line.
fn cases(test_file: &Path) -> Vec<(String, Case)> {
    let text = std::fs::read_to_string(test_file)
        .unwrap_or_else(|e| panic!("{}: {e}", test_file.display()));
    let file = test_file
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let mut out = Vec::new();
    for func in text.split("\nfunc ").skip(1) {
        let func_name = func.split('(').next().unwrap().to_string();
        for block in func.split("\n\t\t{\n").skip(1) {
            let lines: Vec<&str> = block.lines().collect();
            let field = |key: &str| {
                lines
                    .iter()
                    .find(|l| l.trim_start().starts_with(key))
                    .map(|l| l.to_string())
            };
            let mut c = Case {
                file: file.clone(),
                name: field("name:")
                    .or_else(|| field("Name:"))
                    .and_then(|l| quoted_value(&l))
                    .unwrap_or_default(),
                path: field("path:")
                    .or_else(|| field("Path:"))
                    .and_then(|l| quoted_value(&l))
                    .unwrap_or_default(),
                packages: Vec::new(),
                wants_error: field("wantErr:").is_some() || field("WantErr:").is_some(),
                include_deps: field("includeDeps:").is_some_and(|l| l.contains("true")),
                required: field("wantRequired:").map(|l| l.contains("true")),
                about_size: field("maxFileSizeBytes:").is_some(),
            };
            for pair in lines.windows(2) {
                let (n, v) = (pair[0], pair[1]);
                if n.starts_with("\t\t\t\t\tName:") && v.starts_with("\t\t\t\t\tVersion:") {
                    c.packages
                        .push((quoted_value(n).unwrap(), quoted_value(v).unwrap()));
                }
            }
            out.push((func_name.clone(), c));
        }
    }
    out
}

fn sorted(mut v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.sort();
    v
}

fn got_pairs(x: &Extracted) -> Vec<(String, String)> {
    sorted(
        x.packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect(),
    )
}

/// Runs every extraction case of `test_file` with `extractor`; returns the lines of a
/// report and the cases that differ.
fn run_extract_cases(
    dir: &Path,
    test_file: &str,
    extractor: &dyn Extractor,
) -> (usize, Vec<String>, Vec<(String, String)>) {
    let mut compared = 0;
    let mut report = Vec::new();
    let mut differ = Vec::new();
    for (func, c) in cases(&dir.join(test_file)) {
        if !(func == "TestExtract" || func.contains("_Extract_")) {
            continue;
        }
        let input: PathBuf = dir.join(&c.path);
        let bytes = std::fs::read(&input).unwrap_or_else(|e| panic!("{}: {e}", input.display()));
        // The oracle's own relative path: outside node_modules, as in its tests.
        let x = extractor
            .extract(&c.path, &bytes)
            .unwrap_or_else(|e| panic!("{}: {} must not fail the inventory: {e}", c.file, c.name));
        for p in &x.packages {
            assert_eq!(p.ecosystem, Ecosystem::Npm);
            assert_eq!(p.db_path, c.path);
        }
        let mut want = c.packages.clone();
        if c.include_deps {
            want.truncate(1);
        }
        let want = sorted(want);
        let got = got_pairs(&x);
        let ok = if c.wants_error {
            // An error upstream is a warning here (a malformed file does not fail the
            // inventory), with no package.
            x.packages.is_empty() && !x.warnings.is_empty()
        } else {
            got == want && x.warnings.is_empty()
        };
        compared += 1;
        report.push(format!(
            "{} {test_file} / {:?} ({}): want {}{}, got {} packages, {} warnings",
            if ok { "ok  " } else { "DIFF" },
            c.name,
            c.path,
            if c.wants_error {
                "an error".to_string()
            } else {
                format!("{} packages", want.len())
            },
            if c.include_deps {
                " (the manifest's own; includeDependencies not implemented)"
            } else {
                ""
            },
            got.len(),
            x.warnings.len()
        ));
        if !ok {
            differ.push((
                c.name.clone(),
                format!("want {want:?}, got {got:?}, warnings {:?}", x.warnings),
            ));
        }
    }
    (compared, report, differ)
}

/// Every case that differs is accepted, and every accepted one still differs.
fn check_accepted(differ: &[(String, String)], test_file: &str) {
    for (case, what) in differ {
        assert!(
            accepted(test_file, case, Kind::Extract),
            "{test_file}: {case}: {what}"
        );
    }
    for (_, name, ..) in ACCEPTED
        .iter()
        .filter(|(f, _, k, _)| *f == test_file && *k == Kind::Extract)
    {
        assert!(
            differ.iter().any(|(case, _)| case == name),
            "{test_file}: {name} is listed as a deviation but now agrees"
        );
    }
}

#[test]
fn package_json_cases_agree_with_osv_scalibr() {
    let Some(dir) = shared_data_path(format!("{ORACLE}/packagejson")) else {
        return;
    };
    let (n, report, differ) = run_extract_cases(&dir, "packagejson_test.go.txt", &NpmPackage);
    eprintln!("{}", report.join("\n"));
    // The upstream table: 15 extraction cases, the invalid file among them.
    assert_eq!(n, 15, "{report:#?}");
    check_accepted(&differ, "packagejson_test.go.txt");
}

#[test]
fn package_lock_cases_agree_with_osv_scalibr() {
    let Some(dir) = shared_data_path(format!("{ORACLE}/packagelockjson")) else {
        return;
    };
    let mut total = 0;
    let mut all_differ = Vec::new();
    for (file, expected_cases) in [
        ("packagelockjson-v1_test.go.txt", 13),
        ("packagelockjson-v2_test.go.txt", 14),
        // Shrinkwrap cases (6) and the line-number case (1); the two metric cases check
        // metrics only, on inputs the other tables cover.
        ("packagelockjson_test.go.txt", 7),
    ] {
        let (n, report, differ) = run_extract_cases(&dir, file, &NpmLock);
        eprintln!("{}", report.join("\n"));
        assert_eq!(n, expected_cases, "{file}: {report:#?}");
        check_accepted(&differ, file);
        total += n;
        all_differ.extend(differ);
    }
    assert_eq!(total, 34);
    assert_eq!(all_differ.len(), 1, "{all_differ:#?}");
}

#[test]
fn path_rules_agree_with_file_required_cases() {
    let Some(base) = shared_data_path(ORACLE) else {
        return;
    };
    let mut seen = 0;
    for (test_file, wants) in [
        (
            "packagejson/packagejson_test.go.txt",
            is_installed_manifest as fn(&str) -> bool,
        ),
        (
            "packagelockjson/packagelockjson_test.go.txt",
            is_lockfile as fn(&str) -> bool,
        ),
    ] {
        for (func, c) in cases(&base.join(test_file)) {
            let Some(required) = c.required else { continue };
            assert!(func.contains("FileRequired"), "{func}");
            if c.about_size {
                continue;
            }
            seen += 1;
            let got = wants(&c.path);
            if accepted(test_file, &c.name, Kind::Path) {
                assert_ne!(got, required, "{}: {} now agrees", c.file, c.name);
            } else {
                assert_eq!(got, required, "{}: {} ({:?})", c.file, c.name, c.path);
            }
        }
    }
    // packagejson: 4 path cases; packagelockjson: 12.
    assert_eq!(seen, 16);
}

#[test]
fn licenses_and_authors_are_those_the_manifests_state() {
    let Some(dir) = shared_data_path(format!("{ORACLE}/packagejson/testdata")) else {
        return;
    };
    for (file, licenses, author) in [
        ("deps/accepts/package.json", &["MIT"][..], None),
        ("undici-package.json", &["MIT"], None),
        (
            "not-vscode.json",
            &["MIT"],
            Some("Tim Caswell <tim@creationix.com>"),
        ),
        ("package.json", &[], Some("Developer <dev@corp.com>")),
        ("deps/with/deps/acorn/package.json", &["MIT"], None),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let x = NpmPackage.extract(file, &bytes).unwrap();
        assert_eq!(x.packages.len(), 1, "{file}");
        let p = &x.packages[0];
        assert_eq!(p.licenses, licenses, "{file}");
        assert_eq!(p.maintainer.as_deref(), author, "{file}");
        // The same as an independent reading of the field.
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let stated: Vec<&str> = v["license"].as_str().into_iter().collect();
        assert_eq!(p.licenses, stated, "{file}");
    }
}

fn write(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
}

#[test]
fn an_image_with_node_modules_and_a_lockfile_lists_the_installed_packages_once() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let manifest = |name: &str, version: &str| {
        format!(r#"{{"name": "{name}", "version": "{version}", "license": "MIT"}}"#)
    };
    write(root, "app/package.json", &manifest("my-app", "1.0.0"));
    write(
        root,
        "app/node_modules/a/package.json",
        &manifest("a", "1.0.0"),
    );
    write(
        root,
        "app/node_modules/a/test/fixture/package.json",
        &manifest("fixture", "0.0.1"),
    );
    write(
        root,
        "app/node_modules/@s/b/package.json",
        &manifest("@s/b", "2.0.0"),
    );
    write(
        root,
        "app/node_modules/@s/b/node_modules/a/package.json",
        &manifest("a", "0.9.0"),
    );
    write(root, "app/node_modules/broken/package.json", "{\"name\": ");
    write(
        root,
        "app/package-lock.json",
        r#"{"lockfileVersion": 3, "packages": {
            "": {"name": "my-app", "version": "1.0.0"},
            "node_modules/a": {"version": "1.0.0"},
            "node_modules/@s/b": {"version": "2.0.0"}}}"#,
    );
    // npm's hidden lockfile restates node_modules: not read.
    write(
        root,
        "app/node_modules/.package-lock.json",
        r#"{"lockfileVersion": 3, "packages": {"node_modules/a": {"version": "1.0.0"}}}"#,
    );
    write(
        root,
        "usr/lib/node_modules/npm/package.json",
        &manifest("npm", "10.2.0"),
    );
    // A lockfile with nothing installed beside it: what it lists is all there is.
    write(
        root,
        "srv/other/package-lock.json",
        r#"{"lockfileVersion": 3, "packages": {
            "node_modules/c": {"version": "3.0.0"}}}"#,
    );
    write(root, "srv/other/node_modules/.bin/x", "");
    let inv = inventory_rootfs(root, "dir:test", &InventoryOptions::default()).unwrap();
    let mut got: Vec<(String, String, String, String)> = inv
        .packages
        .iter()
        .map(|p| {
            assert_eq!(p.ecosystem, Ecosystem::Npm);
            (
                p.name.clone(),
                p.version.clone(),
                p.db_path.clone(),
                p.purl.clone(),
            )
        })
        .collect();
    got.sort();
    let row = |n: &str, v: &str, db: &str, purl: &str| {
        (
            n.to_string(),
            v.to_string(),
            db.to_string(),
            purl.to_string(),
        )
    };
    assert_eq!(
        got,
        [
            row(
                "@s/b",
                "2.0.0",
                "app/node_modules/@s/b/package.json",
                "pkg:npm/%40s/b@2.0.0"
            ),
            row(
                "a",
                "0.9.0",
                "app/node_modules/@s/b/node_modules/a/package.json",
                "pkg:npm/a@0.9.0"
            ),
            row(
                "a",
                "1.0.0",
                "app/node_modules/a/package.json",
                "pkg:npm/a@1.0.0"
            ),
            row(
                "c",
                "3.0.0",
                "srv/other/package-lock.json",
                "pkg:npm/c@3.0.0"
            ),
            row(
                "npm",
                "10.2.0",
                "usr/lib/node_modules/npm/package.json",
                "pkg:npm/npm@10.2.0"
            ),
        ]
    );
    assert!(inv.complete, "{:?}", inv.warnings);
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    let w = &inv.warnings[0];
    assert_eq!(w.source, "extractor:npm");
    assert!(
        w.location.contains("app/node_modules/broken/package.json"),
        "{w:?}"
    );
    assert!(w.message.contains("EOF while parsing"), "{w:?}");
}

/// osv-scalibr's `both` directory: npm reads the shrinkwrap, not the package-lock.json
/// beside it, and so does the inventory.
#[test]
fn shrinkwrap_beside_a_lockfile_wins() {
    let Some(dir) = shared_data_path(format!("{ORACLE}/packagelockjson/testdata/both")) else {
        return;
    };
    let inv = inventory_rootfs(&dir, "dir:both", &InventoryOptions::default()).unwrap();
    assert!(
        inv.complete && inv.warnings.is_empty(),
        "{:?}",
        inv.warnings
    );
    assert!(!inv.packages.is_empty());
    for p in &inv.packages {
        assert_eq!(p.db_path, "npm-shrinkwrap.json", "{p:?}");
    }
    let shrinkwrap = std::fs::read(dir.join("npm-shrinkwrap.json")).unwrap();
    let x = NpmLock.extract("npm-shrinkwrap.json", &shrinkwrap).unwrap();
    assert_eq!(inv.packages.len(), x.packages.len());
}

/// Layer by layer: the lockfile's packages count until a later layer installs
/// node_modules, and again once a layer deletes it.
#[test]
fn the_lockfile_counts_until_node_modules_arrives() {
    use patchline_inventory::image::{squash, FileResult, LayerAnalysis};
    let lock = br#"{"lockfileVersion": 3, "packages": {
        "node_modules/a": {"version": "1.0.0"}, "node_modules/dev": {"version": "2.0.0"}}}"#;
    let manifest = br#"{"name": "a", "version": "1.0.0"}"#;
    let file = |ex: &dyn Extractor, path: &str, bytes: &[u8]| {
        let x = ex.extract(path, bytes).unwrap();
        FileResult::Packages {
            extractor: ex.name().into(),
            packages: x.packages,
            warnings: x.warnings,
            owned: x.owned,
            deferred: x.deferred,
            superseded_by: x.superseded_by,
        }
    };
    let mut l0 = LayerAnalysis::default();
    l0.files.insert(
        "app/package-lock.json".into(),
        file(&NpmLock, "app/package-lock.json", lock),
    );
    let mut l1 = LayerAnalysis::default();
    l1.files.insert(
        "app/node_modules/a/package.json".into(),
        file(&NpmPackage, "app/node_modules/a/package.json", manifest),
    );
    let mut l2 = LayerAnalysis::default();
    l2.whiteouts.push("app/node_modules".into());
    let names = |layers: &[LayerAnalysis]| {
        let inv = squash(Default::default(), &[], layers);
        let mut v: Vec<(String, String)> = inv
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.db_path.clone()))
            .collect();
        v.sort();
        v
    };
    let pair = |n: &str, p: &str| (n.to_string(), p.to_string());
    assert_eq!(
        names(&[l0.clone()]),
        [
            pair("a", "app/package-lock.json"),
            pair("dev", "app/package-lock.json")
        ]
    );
    assert_eq!(
        names(&[l0.clone(), l1.clone()]),
        [pair("a", "app/node_modules/a/package.json")]
    );
    assert_eq!(
        names(&[l0, l1, l2]),
        [
            pair("a", "app/package-lock.json"),
            pair("dev", "app/package-lock.json")
        ]
    );
}
