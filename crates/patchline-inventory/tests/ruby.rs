//! Installed-gem specifications against osv-scalibr's gemspec test data: every case of
//! its `TestExtract` and `TestFileRequired` tables (read from `gemspec_test.go.txt`),
//! with the deviations listed and checked to deviate the way they say.

mod lang_oracle;

use std::path::PathBuf;

use lang_oracle::{extract_cases, required_cases, sorted};
use patchline_inventory::lang::ruby::{parse_gemspec, Gemspec};
use patchline_inventory::Extractor;
use patchline_model::Ecosystem;
use patchline_test_support::shared_data_path;

const DIR: &str = "language/osv-scalibr/ruby/gemspec";

/// Cases where patchline differs from osv-scalibr on purpose, and why.
const DEVIATIONS: &[(&str, &str)] = &[
    ("version constant gemspec", CROSS_FILE),
    ("version constant with freeze", CROSS_FILE),
    ("version constant via File.join", CROSS_FILE),
    ("version constant via File.join multiline", CROSS_FILE),
    ("version constant via File.expand_path", CROSS_FILE),
    ("version constant via File.dirname", CROSS_FILE),
    ("version constant via require", CROSS_FILE),
    ("version constant via conditional require", CROSS_FILE),
    (
        "version constant via nested File.expand_path and File.join",
        CROSS_FILE,
    ),
    ("version constant class", CROSS_FILE),
    ("version constant different casing", CROSS_FILE),
];

/// Why the version-constant cases differ.
const CROSS_FILE: &str = "a source gemspec whose version is a constant of another file \
    (lib/.../version.rb, found through require_relative): an extractor is handed one file, \
    and installed specifications, the only gemspecs patchline reads, always carry the \
    version itself; the gem is skipped with a warning";

fn dir() -> Option<PathBuf> {
    shared_data_path(DIR)
}

#[test]
fn extract_cases_match_osv_scalibr() {
    let Some(dir) = dir() else { return };
    let cases = extract_cases(&dir.join("gemspec_test.go.txt"), "TestExtract");
    assert_eq!(cases.len(), 20, "the upstream table changed: {cases:#?}");
    let mut matched = 0;
    for case in &cases {
        let path = dir.join(&case.path);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let x = parse_gemspec(&case.path, &bytes)
            .unwrap_or_else(|e| panic!("{}: an error, not warnings: {e}", case.title));
        let got = sorted(
            x.packages
                .iter()
                .map(|p| (p.name.clone(), p.version.clone()))
                .collect(),
        );
        if let Some((_, why)) = DEVIATIONS.iter().find(|(t, _)| *t == case.title) {
            // Each listed deviation deviates as described: skipped with the warning.
            assert!(got.is_empty(), "{}: {got:?}", case.title);
            assert!(!case.packages.is_empty(), "{}", case.title);
            assert!(
                x.warnings
                    .iter()
                    .any(|w| w.contains("not assigned in this file")),
                "{} ({why}): {:?}",
                case.title,
                x.warnings
            );
            continue;
        }
        if case.want_err {
            // An error upstream; here the file's problem is a warning, with no package.
            assert!(got.is_empty(), "{}: {got:?}", case.title);
            assert!(!x.warnings.is_empty(), "{}: no warning", case.title);
        } else {
            assert_eq!(got, sorted(case.packages.clone()), "{}", case.title);
        }
        for p in &x.packages {
            assert_eq!(p.ecosystem, Ecosystem::Gem);
            assert_eq!(p.db_path, case.path);
        }
        matched += 1;
    }
    eprintln!(
        "gemspec: {matched}/{} osv-scalibr cases matched, {} deviations listed",
        cases.len(),
        DEVIATIONS.len()
    );
    assert_eq!(matched + DEVIATIONS.len(), cases.len());
}

#[test]
fn licenses_as_the_specifications_state_them() {
    let Some(dir) = dir() else { return };
    for (file, want) in [
        ("yaml-0.2.1.gemspec", &["Ruby", "BSD-2-Clause"][..]),
        ("rss-0.2.9.gemspec", &["BSD-2-Clause"][..]),
    ] {
        let bytes = std::fs::read(dir.join("testdata").join(file)).unwrap();
        let x = parse_gemspec(file, &bytes).unwrap();
        assert_eq!(x.warnings, Vec::<String>::new(), "{file}");
        assert_eq!(x.packages[0].licenses, want, "{file}");
    }
}

#[test]
fn malformed_cases_say_what_is_wrong() {
    let Some(dir) = dir() else { return };
    for (file, want) in [
        ("invalid.gemspec", "line 6: the name is missing"),
        (
            "badspec.gemspec",
            "no `Gem::Specification.new do |s|` block",
        ),
        (
            "version_method/version_method.gemspec",
            "line 7: the version is the expression \"ExampleApp.version\"",
        ),
        (
            "version_constant_missing/version_constant_missing.gemspec",
            "line 7: the version is the constant \"ExampleApp::VERSION\", not assigned",
        ),
    ] {
        let bytes = std::fs::read(dir.join("testdata").join(file)).unwrap();
        let x = parse_gemspec(file, &bytes).unwrap();
        assert!(x.packages.is_empty(), "{file}");
        assert_eq!(x.warnings.len(), 1, "{file}: {:?}", x.warnings);
        assert!(x.warnings[0].starts_with(want), "{file}: {}", x.warnings[0]);
    }
    let empty = std::fs::read(dir.join("testdata/empty.gemspec")).unwrap();
    assert_eq!(
        parse_gemspec("empty.gemspec", &empty).unwrap(),
        Default::default()
    );
}

#[test]
fn file_required_cases() {
    let Some(dir) = dir() else { return };
    let cases = required_cases(&dir.join("gemspec_test.go.txt"), "TestFileRequired");
    assert_eq!(cases.len(), 6, "{cases:#?}");
    let mut compared = 0;
    for case in cases.iter().filter(|c| !c.size_limited) {
        compared += 1;
        let got = Gemspec.wants(&case.path);
        if case.path == "testdata/yaml-0.2.1.gemspec" {
            // Deviation: osv-scalibr takes any `.gemspec`; patchline only installed
            // specifications, under `specifications/` (the same file there is wanted).
            assert!(case.want && !got, "{}", case.title);
            assert!(Gemspec.wants("usr/lib/ruby/gems/3.1.0/specifications/yaml-0.2.1.gemspec"));
        } else {
            assert_eq!(got, case.want, "{}", case.title);
        }
    }
    // The size cases are osv-scalibr's per-extractor limit; patchline's is inventory-wide.
    assert_eq!(compared, 2);
}

/// Through the inventory of a root filesystem: the installed specification is read, the
/// gem's own source gemspec is not.
#[test]
fn found_in_a_root_filesystem() {
    let Some(dir) = dir() else { return };
    let spec = std::fs::read(dir.join("testdata/yaml-0.2.1.gemspec")).unwrap();
    let root = tempfile::tempdir().unwrap();
    for rel in [
        "usr/lib/ruby/gems/3.1.0/specifications/yaml-0.2.1.gemspec",
        "usr/lib/ruby/gems/3.1.0/gems/yaml-0.2.1/yaml.gemspec",
    ] {
        let p = root.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, &spec).unwrap();
    }
    let inv = patchline_inventory::inventory_rootfs(
        root.path(),
        "dir:test",
        &patchline_inventory::InventoryOptions::default(),
    )
    .unwrap();
    let gems: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Gem)
        .map(|p| (p.name.as_str(), p.version.as_str(), p.db_path.as_str()))
        .collect();
    assert_eq!(
        gems,
        [(
            "yaml",
            "0.2.1",
            "usr/lib/ruby/gems/3.1.0/specifications/yaml-0.2.1.gemspec"
        )]
    );
    assert_eq!(inv.packages[0].purl, "pkg:gem/yaml@0.2.1");
}
