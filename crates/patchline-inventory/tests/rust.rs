//! cargo-auditable binaries and `Cargo.lock` files against osv-scalibr's expectations
//! (`cargoauditable_test.go.txt`, `cargolock_test.go.txt` in the shared data), case by
//! case. Binaries are read three ways that must agree: in memory, streamed and kept
//! whole, and streamed with nothing kept whole.

use std::path::{Path, PathBuf};

use patchline_inventory::lang::binary::Executables;
use patchline_inventory::lang::rust::{parse_lock, CargoLock};
use patchline_inventory::{Budget, Extracted, Extractor};
use patchline_model::Ecosystem;
use patchline_test_support as ts;

fn dir(rel: &str) -> Option<PathBuf> {
    ts::shared_data_path(format!("language/osv-scalibr/rust/{rel}"))
}

fn read_binary(path: &Path, rel: &str) -> Extracted {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let size = bytes.len() as u64;
    let whole = Executables::default().extract(rel, &bytes).unwrap();
    let kept = Executables::default()
        .extract_from(rel, size, &mut &bytes[..], &Budget::new(1 << 30))
        .unwrap();
    let streamed = Executables::with_whole_file_cap(0)
        .extract_from(rel, size, &mut &bytes[..], &Budget::new(32 << 20))
        .unwrap();
    assert_eq!(whole, kept, "{rel}: kept whole");
    assert_eq!(whole, streamed, "{rel}: streamed");
    whole
}

fn pairs(x: &Extracted) -> Vec<(&str, &str)> {
    let mut v: Vec<(&str, &str)> = x
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    v.sort();
    v
}

#[test]
fn cargo_auditable_expectations() {
    let Some(d) = dir("cargoauditable") else {
        return;
    };
    let t = d.join("testdata");
    let rel = "testdata/uses_serde_json/uses_serde_json";
    let x = read_binary(&t.join("uses_serde_json/uses_serde_json"), rel);
    assert_eq!(
        pairs(&x),
        [
            ("itoa", "1.0.14"),
            ("memchr", "2.7.4"),
            ("proc-macro2", "1.0.92"),
            ("quote", "1.0.38"),
            ("ryu", "1.0.18"),
            ("serde", "1.0.217"),
            ("serde_derive", "1.0.217"),
            ("serde_json", "1.0.135"),
            ("syn", "2.0.95"),
            ("unicode-ident", "1.0.14"),
            ("uses_json", "0.1.0"),
        ]
    );
    assert!(x
        .packages
        .iter()
        .all(|p| p.ecosystem == Ecosystem::Cargo && p.db_path == rel));
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);

    let x = read_binary(&t.join("no_deps/no_deps"), "testdata/no_deps/no_deps");
    assert_eq!(pairs(&x), [("no_deps", "0.1.0")]);
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);

    // "not_binary" (a shell script): osv-scalibr returns no packages and records an
    // error metric; here it is not a binary, so nothing at all (present only).
    let x = read_binary(
        &t.join("not_binary/not_binary"),
        "testdata/not_binary/not_binary",
    );
    assert_eq!(x, Extracted::default());
}

fn lock(d: &Path, file: &str) -> Extracted {
    let path = d.join("testdata").join(file);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rel = format!("srv/{file}");
    let x = parse_lock(&rel, &bytes);
    let budget = Budget::new(1 << 20);
    let streamed = CargoLock
        .extract_from(&rel, bytes.len() as u64, &mut &bytes[..], &budget)
        .unwrap();
    assert_eq!(x, streamed, "{file}");
    assert!(x
        .packages
        .iter()
        .all(|p| p.ecosystem == Ecosystem::Cargo && p.db_path == rel));
    x
}

/// Packages in file order, as osv-scalibr lists them (by line).
fn in_order(x: &Extracted) -> Vec<(&str, &str)> {
    x.packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect()
}

#[test]
fn cargo_lock_expectations() {
    let Some(d) = dir("cargolock") else { return };
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("empty.lock", &[]),
        ("one-package.lock", &[("addr2line", "0.15.2")]),
        (
            "two-packages.lock",
            &[("addr2line", "0.15.2"), ("syn", "1.0.73")],
        ),
        (
            "two-packages-with-local.lock",
            &[("addr2line", "0.15.2"), ("local-rust-pkg", "0.1.0")],
        ),
        (
            "package-with-build-string.lock",
            &[("wasi", "0.10.2+wasi-snapshot-preview1")],
        ),
        ("duplicate.lock", &[("syn", "1.0.73"), ("syn", "2.0.0")]),
        (
            "package-with-comments.lock",
            &[("addr2line", "0.15.2"), ("syn", "1.0.73")],
        ),
        (
            "many-packages.lock",
            &[
                ("zstd", "0.11.2"),
                ("aho-corasick", "0.7.18"),
                ("memchr", "2.4.1"),
                ("syn", "1.0.109"),
                ("libc", "0.2.140"),
                ("syn", "2.0.15"),
            ],
        ),
    ];
    for (file, want) in cases {
        let x = lock(&d, file);
        assert_eq!(in_order(&x), *want, "{file}");
        assert!(x.warnings.is_empty(), "{file}: {:?}", x.warnings);
    }
    // "Invalid toml": osv-scalibr fails with "could not extract"; here the file gives
    // no packages and a warning (a malformed file does not fail the inventory).
    let x = lock(&d, "not-toml.txt");
    assert!(x.packages.is_empty());
    assert_eq!(x.warnings.len(), 1, "{:?}", x.warnings);
    assert!(
        x.warnings[0].starts_with("not a Cargo.lock: TOML error at line 1"),
        "{:?}",
        x.warnings
    );
}

#[test]
fn cargo_lock_file_selection_matches_osv_scalibr() {
    for (path, want) in [
        ("", false),
        ("Cargo.lock", true),
        ("path/to/my/Cargo.lock", true),
        ("path/to/my/Cargo.lock/file", false),
        ("path/to/my/Cargo.lock.file", false),
        ("path.to.my.Cargo.lock", false),
    ] {
        assert_eq!(CargoLock.wants(path), want, "{path}");
    }
}

#[test]
fn a_cargo_lock_over_the_budget_is_an_error() {
    let text = b"[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n";
    let e = CargoLock
        .extract_from(
            "Cargo.lock",
            text.len() as u64,
            &mut &text[..],
            &Budget::new(64),
        )
        .unwrap_err();
    assert!(e.reason.contains("memory budget"), "{e}");
}
