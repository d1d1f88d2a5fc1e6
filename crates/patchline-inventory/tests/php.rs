//! Composer files against osv-scalibr's composerlock test data: every case of its
//! `TestExtractor_Extract` and `TestExtractor_FileRequired` tables (read from
//! `composerlock_test.go.txt`).

mod lang_oracle;

use std::path::PathBuf;

use lang_oracle::{extract_cases, required_cases, sorted};
use patchline_inventory::lang::php::{parse_composer, parse_composer_from, Composer};
use patchline_inventory::{Budget, Extractor};
use patchline_model::Ecosystem;
use patchline_test_support::shared_data_path;

const DIR: &str = "language/osv-scalibr/php/composerlock";

fn dir() -> Option<PathBuf> {
    shared_data_path(DIR)
}

#[test]
fn extract_cases_match_osv_scalibr() {
    let Some(dir) = dir() else { return };
    let cases = extract_cases(
        &dir.join("composerlock_test.go.txt"),
        "TestExtractor_Extract",
    );
    assert_eq!(cases.len(), 9, "the upstream table changed: {cases:#?}");
    for case in &cases {
        let path = dir.join(&case.path);
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let x = parse_composer(&case.path, &bytes)
            .unwrap_or_else(|e| panic!("{}: an error, not warnings: {e}", case.title));
        // The streamed read gives the same.
        let streamed =
            parse_composer_from(&case.path, &mut &bytes[..], &Budget::new(4 << 20)).unwrap();
        assert_eq!(streamed, x, "{}", case.title);
        let got = sorted(
            x.packages
                .iter()
                .map(|p| (p.name.clone(), p.version.clone()))
                .collect(),
        );
        if case.want_err {
            // An error upstream; here a warning, with no package.
            assert!(got.is_empty(), "{}: {got:?}", case.title);
            assert_eq!(x.warnings.len(), 1, "{}: {:?}", case.title, x.warnings);
        } else {
            assert_eq!(got, sorted(case.packages.clone()), "{}", case.title);
            assert_eq!(x.warnings, Vec::<String>::new(), "{}", case.title);
        }
        for p in &x.packages {
            assert_eq!(p.ecosystem, Ecosystem::Composer);
            assert_eq!(p.db_path, case.path);
        }
    }
    eprintln!("composer: {0}/{0} osv-scalibr cases matched", cases.len());
}

#[test]
fn licenses_and_dev_packages() {
    let Some(dir) = dir() else { return };
    let bytes = std::fs::read(dir.join("testdata/drupal-packages.json")).unwrap();
    let x = parse_composer("composer.lock", &bytes).unwrap();
    let got: Vec<(&str, Vec<&str>)> = x
        .packages
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.licenses.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    // File order: `packages`, then `packages-dev` (drupal/field_time).
    assert_eq!(
        got,
        [
            ("drupal/core", vec!["GPL-2.0-or-later"]),
            ("drupal/tfa", vec!["GPL-2.0-or-later"]),
            ("theseer/tokenizer", vec!["BSD-3-Clause"]),
            ("drupal/field_time", vec!["GPL-2.0-or-later"]),
        ]
    );
    let bytes = std::fs::read(dir.join("testdata/one-package-dev.json")).unwrap();
    let x = parse_composer("composer.lock", &bytes).unwrap();
    assert_eq!(x.packages[0].licenses, ["MIT"]);
}

#[test]
fn malformed_cases_say_what_is_wrong() {
    let Some(dir) = dir() else { return };
    for (file, want) in [
        (
            "not-json.txt",
            "reading stopped: expected ident at line 1 column 2",
        ),
        (
            "null.jsontest",
            "the file is null, not a composer.lock or installed.json",
        ),
    ] {
        let bytes = std::fs::read(dir.join("testdata").join(file)).unwrap();
        let x = parse_composer(file, &bytes).unwrap();
        assert!(x.warnings[0].starts_with(want), "{file}: {:?}", x.warnings);
    }
}

#[test]
fn file_required_cases() {
    let Some(dir) = dir() else { return };
    let cases = required_cases(
        &dir.join("composerlock_test.go.txt"),
        "TestExtractor_FileRequired",
    );
    assert_eq!(cases.len(), 6, "{cases:#?}");
    for case in &cases {
        assert_eq!(Composer.wants(&case.path), case.want, "{}", case.title);
    }
}

/// Through the inventory of a root filesystem: a Composer 2 `installed.json` and the
/// project's `composer.lock` are both read.
#[test]
fn found_in_a_root_filesystem() {
    let Some(dir) = dir() else { return };
    let lock = std::fs::read(dir.join("testdata/two-packages.json")).unwrap();
    let root = tempfile::tempdir().unwrap();
    let installed =
        br#"{"packages": [{"name": "sentry/sdk", "version": "2.0.4", "license": ["MIT"]}],
                        "dev": false, "dev-package-names": []}"#;
    for (rel, content) in [
        ("var/www/app/composer.lock", &lock[..]),
        ("var/www/app/vendor/composer/installed.json", &installed[..]),
    ] {
        let p = root.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    let inv = patchline_inventory::inventory_rootfs(
        root.path(),
        "dir:test",
        &patchline_inventory::InventoryOptions::default(),
    )
    .unwrap();
    let mut got: Vec<_> = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Composer)
        .map(|p| {
            (
                p.name.as_str(),
                p.version.as_str(),
                p.db_path.as_str(),
                p.purl.as_str(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            (
                "sentry/sdk",
                "2.0.4",
                "var/www/app/composer.lock",
                "pkg:composer/sentry/sdk@2.0.4"
            ),
            (
                "sentry/sdk",
                "2.0.4",
                "var/www/app/vendor/composer/installed.json",
                "pkg:composer/sentry/sdk@2.0.4"
            ),
            (
                "theseer/tokenizer",
                "1.1.3",
                "var/www/app/composer.lock",
                "pkg:composer/theseer/tokenizer@1.1.3"
            ),
        ]
    );
}
