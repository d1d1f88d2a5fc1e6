//! Gemspecs against osv-scalibr's gemspec test data: every case of its `TestExtract` and
//! `TestFileRequired` tables (read from `gemspec_test.go.txt`). The cases are read the
//! way an image is: the inventory of the `testdata` directory as a root filesystem, so a
//! source gemspec's version constant is found in the `lib/.../version.rb` it requires.

mod lang_oracle;

use std::path::PathBuf;

use lang_oracle::{extract_cases, required_cases, sorted};
use patchline_inventory::lang::ruby::{parse_gemspec, Gemspec};
use patchline_inventory::{inventory_rootfs, Extractor, InventoryOptions};
use patchline_model::Ecosystem;
use patchline_test_support::shared_data_path;

const DIR: &str = "language/osv-scalibr/ruby/gemspec";

fn dir() -> Option<PathBuf> {
    shared_data_path(DIR)
}

#[test]
fn extract_cases_match_osv_scalibr() {
    let Some(dir) = dir() else { return };
    let cases = extract_cases(&dir.join("gemspec_test.go.txt"), "TestExtract");
    assert_eq!(cases.len(), 20, "the upstream table changed: {cases:#?}");
    let inv = inventory_rootfs(
        &dir.join("testdata"),
        "dir:testdata",
        &InventoryOptions::default(),
    )
    .unwrap();
    assert!(inv.complete, "{:?}", inv.warnings);
    let mut matched = 0;
    for case in &cases {
        let rel = case.path.strip_prefix("testdata/").unwrap();
        let got = sorted(
            inv.packages
                .iter()
                .filter(|p| p.db_path == rel)
                .map(|p| (p.name.clone(), p.version.clone()))
                .collect(),
        );
        let warned: Vec<&str> = inv
            .warnings
            .iter()
            .filter(|w| w.location == rel)
            .map(|w| w.message.as_str())
            .collect();
        if case.want_err {
            // An error upstream; here the file's problem is a warning, with no package.
            assert!(got.is_empty(), "{}: {got:?}", case.title);
            assert_eq!(warned.len(), 1, "{}: {warned:?}", case.title);
        } else {
            assert_eq!(got, sorted(case.packages.clone()), "{}", case.title);
            // A file that is no specification at all (badspec) still says so.
            assert!(
                warned.is_empty() || case.packages.is_empty(),
                "{}: {warned:?}",
                case.title
            );
        }
        matched += 1;
    }
    for p in &inv.packages {
        assert_eq!(p.ecosystem, Ecosystem::Gem);
        assert_eq!(p.purl, format!("pkg:gem/{}@{}", p.name, p.version));
    }
    eprintln!(
        "gemspec: {matched}/{} osv-scalibr cases matched",
        cases.len()
    );
    assert_eq!(matched, cases.len());
}

/// The cases osv-scalibr rejects, with what patchline says instead of an error.
#[test]
fn unknowable_versions_say_why() {
    let Some(dir) = dir() else { return };
    let inv = inventory_rootfs(
        &dir.join("testdata"),
        "dir:testdata",
        &InventoryOptions::default(),
    )
    .unwrap();
    let warning = |path: &str| {
        let w: Vec<&str> = inv
            .warnings
            .iter()
            .filter(|w| w.location == path)
            .map(|w| w.message.as_str())
            .collect();
        assert_eq!(w.len(), 1, "{path}: {w:?}");
        w[0].to_string()
    };
    assert_eq!(
        warning("version_constant_missing/version_constant_missing.gemspec"),
        "line 7: the version is the constant \"ExampleApp::VERSION\", which \
         version_constant_missing/lib/example_app/version.rb does not assign a string to \
         \"VERSION\"; no package for \"example_missing\""
    );
    assert!(
        warning("version_load_path/version_load_path.gemspec").starts_with(
            "line 9: the version is the constant \"ExampleApp::VERSION\", not assigned in \
             this file nor in a file it requires that this reader follows"
        ),
        "{}",
        warning("version_load_path/version_load_path.gemspec")
    );
    assert!(warning("version_method/version_method.gemspec")
        .starts_with("line 7: the version is the expression \"ExampleApp.version\""));
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
        assert_eq!(Gemspec.wants(&case.path), case.want, "{}", case.title);
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
