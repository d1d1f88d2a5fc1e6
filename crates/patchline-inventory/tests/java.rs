//! The Java archive extractor against osv-scalibr's `java/archive` expectations, read from
//! its test sources in `language/osv-scalibr/java/archive` of the shared data (each case
//! of `TestExtract`, `TestFileRequired`, `TestParseFilename` and
//! `TestParseFilenameVersionNotFound`), and in an inventory of a root filesystem.
//!
//! A case "wants an error" upstream when osv-scalibr's `Extract` returns one; here the
//! file then gives warnings (a corrupt archive is no error of the inventory), and a case
//! wanting none must give no warning.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

use patchline_inventory::lang::java::{parse_filename, FileName, JavaArchive};
use patchline_inventory::{inventory_rootfs, Extractor, InventoryOptions};
use patchline_model::Ecosystem;
use patchline_test_support::shared_data;

fn oracle() -> Option<PathBuf> {
    Some(shared_data()?.join("language/osv-scalibr/java/archive"))
}

/// The body lines of each case (`\t\t{` ... `\t\t},`) of the table in Go function `func`.
fn go_cases<'a>(src: &'a str, func: &str) -> Vec<Vec<&'a str>> {
    let start = src
        .find(&format!("func {func}("))
        .unwrap_or_else(|| panic!("no {func}"));
    let body = &src[start..];
    let end = body.find("\n}\n").unwrap_or(body.len());
    let mut cases = Vec::new();
    let mut cur: Option<Vec<&str>> = None;
    for line in body[..end].lines() {
        if line == "\t\t{" {
            cur = Some(Vec::new());
        } else if line == "\t\t}," {
            cases.extend(cur.take());
        } else if let Some(c) = cur.as_mut() {
            c.push(line);
        }
    }
    cases
}

/// The value of `key: ...` among a case's lines at the case's own level (three tabs).
fn field<'a>(case: &[&'a str], key: &str) -> Option<&'a str> {
    case.iter().find_map(|l| {
        l.strip_prefix("\t\t\t")
            .filter(|r| !r.starts_with('\t'))
            .and_then(|r| r.strip_prefix(key))
            .and_then(|r| r.strip_prefix(':'))
            .map(|r| r.trim().trim_end_matches(','))
    })
}

/// The text of the first Go string literal in `v` (the tests' literals have no escapes).
fn literal(v: &str) -> String {
    let a = v.find('"').expect("a string literal") + 1;
    let b = a + v[a..].find('"').expect("a closed literal");
    v[a..b].to_string()
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start_matches('\t').len()
}

struct ExtractCase {
    name: String,
    path: String,
    content_path: Option<String>,
    from_filename: bool,
    max_opened_bytes: u64,
    want_err: bool,
    /// (name, version) of the packages wanted, sorted.
    want: Vec<(String, String)>,
}

fn extract_cases(src: &str) -> Vec<ExtractCase> {
    go_cases(src, "TestExtract")
        .iter()
        .map(|c| {
            // A package's `Name:` and `Version:` are at the same depth; the `Version:`
            // lines of its metadata (dependencies, parent) are deeper.
            let mut want = Vec::new();
            let mut name: Option<(usize, String)> = None;
            for l in c {
                let t = l.trim_start();
                if let Some(v) = t.strip_prefix("Name:") {
                    name = Some((indent(l), literal(v)));
                } else if let Some(v) = t.strip_prefix("Version:") {
                    if let Some((_, n)) = name.take_if(|(i, _)| *i == indent(l)) {
                        want.push((n, literal(v)));
                    }
                }
            }
            want.sort();
            ExtractCase {
                name: literal(field(c, "name").expect("name")),
                path: literal(field(c, "path").expect("path")),
                content_path: field(c, "contentPath").map(literal),
                from_filename: field(c, "extractFilename") == Some("true"),
                max_opened_bytes: field(c, "maxOpenedBytes").map_or(0, |v| v.parse().unwrap()),
                want_err: field(c, "wantErr").is_some(),
                want,
            }
        })
        .collect()
}

/// A jar holding only `file` at its root, under its base name: what the upstream test's
/// `mustJar` builds for the manifest cases.
fn jar_of(file: &Path) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let name = file.file_name().unwrap().to_str().unwrap();
    w.start_file(name, zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(&std::fs::read(file).unwrap()).unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn extract_matches_osv_scalibr_expectations() {
    let Some(dir) = oracle() else { return };
    let src = std::fs::read_to_string(dir.join("archive_test.go.txt")).unwrap();
    let cases = extract_cases(&src);
    assert_eq!(cases.len(), 25, "cases of TestExtract");
    // The reading of the Go source itself: every wanted package was seen.
    let wanted: usize = cases.iter().map(|c| c.want.len()).sum();
    assert_eq!(wanted, 18, "packages wanted by TestExtract");
    assert_eq!(cases.iter().filter(|c| c.want_err).count(), 4);
    let mut failed = Vec::new();
    for c in &cases {
        let bytes = match &c.content_path {
            Some(p) => jar_of(&dir.join(p)),
            None => std::fs::read(dir.join(&c.path)).unwrap(),
        };
        let mut ex = JavaArchive {
            from_filename: c.from_filename,
            ..JavaArchive::default()
        };
        if c.max_opened_bytes > 0 {
            // osv-scalibr counts the archive's own bytes in its limit, which patchline
            // leaves to the memory budget: what is left of it for the members.
            ex.max_total_bytes = c.max_opened_bytes - bytes.len() as u64;
        }
        let got = match ex.extract(&c.path, &bytes) {
            Ok(x) => x,
            Err(e) => {
                failed.push(format!("{}: error {e}", c.name));
                continue;
            }
        };
        let mut pkgs: Vec<(String, String)> = got
            .packages
            .iter()
            .map(|p| {
                assert_eq!(p.ecosystem, Ecosystem::Maven);
                assert_eq!(p.db_path, c.path);
                (p.name.clone(), p.version.clone())
            })
            .collect();
        pkgs.sort();
        if pkgs != c.want {
            failed.push(format!("{}: got {pkgs:?}, want {:?}", c.name, c.want));
        }
        if c.want_err == got.warnings.is_empty() {
            failed.push(format!(
                "{}: warnings {:?}, upstream wants an error: {}",
                c.name, got.warnings, c.want_err
            ));
        }
    }
    println!(
        "TestExtract: {} of {} cases agree",
        cases.len() - failed.len(),
        cases.len()
    );
    assert!(failed.is_empty(), "{failed:#?}");
}

#[test]
fn warnings_name_the_nested_path() {
    let Some(dir) = oracle() else { return };
    let deep = std::fs::read(dir.join("testdata/nested_at_100.jar")).unwrap();
    let x = JavaArchive::default()
        .extract("app/deep.jar", &deep)
        .unwrap();
    assert_eq!(x.warnings.len(), 1, "{:?}", x.warnings);
    let want = format!(
        "app/deep.jar{}: not read: nested deeper than 16 archives",
        "!/nested.jar".repeat(16)
    );
    assert_eq!(x.warnings[0], want);

    let complex = std::fs::read(dir.join("testdata/complex.jar")).unwrap();
    let ex = JavaArchive {
        max_total_bytes: 100,
        ..JavaArchive::default()
    };
    let x = ex.extract("srv/complex.jar", &complex).unwrap();
    assert_eq!(x.packages.len(), 1);
    assert_eq!(
        x.warnings,
        ["srv/complex.jar!/BOOT-INF/lib/inner.jar: not read: its 215 bytes would pass the limit of 100 bytes decompressed from this file's archives"]
    );
}

#[test]
fn file_selection_matches_osv_scalibr_expectations() {
    let Some(dir) = oracle() else { return };
    let src = std::fs::read_to_string(dir.join("archive_test.go.txt")).unwrap();
    let cases = go_cases(&src, "TestFileRequired");
    assert_eq!(cases.len(), 17, "cases of TestFileRequired");
    let ex = JavaArchive::default();
    let mut size_limited = 0;
    for c in &cases {
        let name = literal(field(c, "name").unwrap());
        let path = literal(field(c, "path").unwrap());
        let want = field(c, "wantRequired") == Some("true");
        let num = |k| field(c, k).map_or(0, |v: &str| v.parse::<u64>().unwrap());
        let (max, size) = (num("maxFileSizeBytes"), num("fileSizeBytes"));
        if max > 0 && size > max {
            // The size limit is the inventory's (`max_file_bytes`): a file over it is
            // reported as not read, never silently skipped, so the path is still wanted.
            assert!(!want && ex.wants(&path), "{name}");
            size_limited += 1;
            continue;
        }
        assert_eq!(ex.wants(&path), want, "{name}: {path}");
    }
    assert_eq!(size_limited, 1);
}

#[test]
fn filenames_match_osv_scalibr_expectations() {
    let Some(dir) = oracle() else { return };
    let src = std::fs::read_to_string(dir.join("filename_test.go.txt")).unwrap();
    let found = go_cases(&src, "TestParseFilename");
    assert_eq!(found.len(), 12, "cases of TestParseFilename");
    for c in &found {
        let path = literal(field(c, "path").unwrap());
        // The wanted JarProps' fields are one level deeper.
        let want_field = |k: &str| {
            c.iter()
                .map(|l| l.trim_start())
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':')))
                .map(literal)
        };
        let want = FileName {
            artifact: want_field("ArtifactID").unwrap(),
            version: want_field("Version").unwrap(),
            group: want_field("GroupID"),
        };
        assert_eq!(parse_filename(&path), Some(want), "{path}");
    }
    let none = go_cases(&src, "TestParseFilenameVersionNotFound");
    assert_eq!(none.len(), 3, "cases of TestParseFilenameVersionNotFound");
    for c in &none {
        let path = literal(field(c, "path").unwrap());
        assert_eq!(parse_filename(&path), None, "{path:?}");
    }
}

#[test]
fn inventory_of_a_root_filesystem_lists_the_jars() {
    let Some(dir) = oracle() else { return };
    let root = tempfile::tempdir().unwrap();
    let lib = root.path().join("opt/app/lib");
    std::fs::create_dir_all(&lib).unwrap();
    for f in ["guava-31.1-jre.jar", "complex.jar", "invalid_jar.jar"] {
        std::fs::copy(dir.join("testdata").join(f), lib.join(f)).unwrap();
    }
    let inv = inventory_rootfs(root.path(), "dir:test", &InventoryOptions::default()).unwrap();
    let got: Vec<(&str, &str, &str, &str)> = inv
        .packages
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.version.as_str(),
                p.db_path.as_str(),
                p.purl.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "com.google.guava:guava",
                "31.1-jre",
                "opt/app/lib/guava-31.1-jre.jar",
                "pkg:maven/com.google.guava/guava@31.1-jre"
            ),
            (
                "com.some.anotherpackage:another-package-name",
                "3.2.1",
                "opt/app/lib/complex.jar",
                "pkg:maven/com.some.anotherpackage/another-package-name@3.2.1"
            ),
            (
                "com.some.package:package-name",
                "1.2.3",
                "opt/app/lib/complex.jar",
                "pkg:maven/com.some.package/package-name@1.2.3"
            ),
        ]
    );
    // The corrupt jar is a warning, the inventory still complete.
    assert!(inv.complete);
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    assert!(
        inv.warnings[0].location.contains("invalid_jar.jar")
            && inv.warnings[0]
                .message
                .starts_with("not a readable zip archive"),
        "{:?}",
        inv.warnings
    );
}
