//! `*.deps.json` files against osv-scalibr's depsjson test data: every case of its
//! `TestExtract` and `TestFileRequired` tables (read from `depsjson_test.go.txt`).

mod lang_oracle;

use std::path::PathBuf;

use lang_oracle::{extract_cases, required_cases, sorted};
use patchline_inventory::lang::dotnet::{parse_deps_json, parse_deps_json_from, DepsJson};
use patchline_inventory::{Budget, Extractor};
use patchline_model::Ecosystem;
use patchline_test_support::shared_data_path;

const DIR: &str = "language/osv-scalibr/dotnet/depsjson";

fn dir() -> Option<PathBuf> {
    shared_data_path(DIR)
}

#[test]
fn extract_cases_match_osv_scalibr() {
    let Some(dir) = dir() else { return };
    let cases = extract_cases(&dir.join("depsjson_test.go.txt"), "TestExtract");
    assert_eq!(cases.len(), 4, "the upstream table changed: {cases:#?}");
    for case in &cases {
        let path = dir.join(&case.path);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let x = parse_deps_json(&case.path, &bytes)
            .unwrap_or_else(|e| panic!("{}: an error, not warnings: {e}", case.title));
        let streamed =
            parse_deps_json_from(&case.path, &mut &bytes[..], &Budget::new(4 << 20)).unwrap();
        assert_eq!(streamed, x, "{}", case.title);
        let got = sorted(
            x.packages
                .iter()
                .map(|p| (p.name.clone(), p.version.clone()))
                .collect(),
        );
        if case.want_err {
            assert!(got.is_empty(), "{}: {got:?}", case.title);
            assert_eq!(x.warnings.len(), 1, "{}: {:?}", case.title, x.warnings);
        } else {
            assert_eq!(got, sorted(case.packages.clone()), "{}", case.title);
        }
        for p in &x.packages {
            assert_eq!(p.ecosystem, Ecosystem::Nuget);
            assert_eq!(p.db_path, case.path);
        }
    }
    eprintln!("deps.json: {0}/{0} osv-scalibr cases matched", cases.len());
}

#[test]
fn warnings_of_the_malformed_cases() {
    let Some(dir) = dir() else { return };
    for (file, want) in [
        ("invalid", "reading stopped: expected ident at line 1 column 2"),
        ("empty", "no \"libraries\" object"),
        (
            "nopackagename",
            "libraries[\"Microsoft.Extensions.DependencyInjection\"]: not \"Name/Version\"; skipped",
        ),
        ("valid", ""),
    ] {
        let bytes = std::fs::read(dir.join("testdata").join(file)).unwrap();
        let x = parse_deps_json(file, &bytes).unwrap();
        if want.is_empty() {
            assert_eq!(x.warnings, Vec::<String>::new());
        } else {
            assert_eq!(x.warnings.len(), 1, "{file}: {:?}", x.warnings);
            assert!(x.warnings[0].starts_with(want), "{file}: {}", x.warnings[0]);
        }
    }
}

#[test]
fn file_required_cases() {
    let Some(dir) = dir() else { return };
    let cases = required_cases(&dir.join("depsjson_test.go.txt"), "TestFileRequired");
    assert_eq!(cases.len(), 7, "{cases:#?}");
    let mut compared = 0;
    for case in cases.iter().filter(|c| !c.size_limited) {
        compared += 1;
        // osv-scalibr's paths may start with `/`; patchline's are root-relative.
        let path = case.path.trim_start_matches('/');
        assert_eq!(DepsJson.wants(path), case.want, "{}", case.title);
    }
    // The size cases are osv-scalibr's per-extractor limit; patchline's is inventory-wide.
    assert_eq!(compared, 3);
}

/// Through the inventory of a root filesystem.
#[test]
fn found_in_a_root_filesystem() {
    let Some(dir) = dir() else { return };
    let deps = std::fs::read(dir.join("testdata/valid")).unwrap();
    let root = tempfile::tempdir().unwrap();
    let p = root.path().join("app/TestLibrary.deps.json");
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, deps).unwrap();
    let inv = patchline_inventory::inventory_rootfs(
        root.path(),
        "dir:test",
        &patchline_inventory::InventoryOptions::default(),
    )
    .unwrap();
    let mut got: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Nuget)
        .map(|p| (p.name.as_str(), p.version.as_str(), p.purl.as_str()))
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("AWSSDK.Core", "3.7.10.6", "pkg:nuget/AWSSDK.Core@3.7.10.6"),
            (
                "Microsoft.Extensions.DependencyInjection",
                "6.0.0",
                "pkg:nuget/Microsoft.Extensions.DependencyInjection@6.0.0"
            ),
            ("TestLibrary", "1.0.0", "pkg:nuget/TestLibrary@1.0.0"),
        ]
    );
    assert!(inv
        .packages
        .iter()
        .all(|p| p.db_path == "app/TestLibrary.deps.json"));
}
