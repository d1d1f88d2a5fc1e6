//! apk installed-database parsing against the upstream test data of Trivy and
//! osv-scalibr (what their tests assert, see `pkgdb/EXPECTED.md`) and on edge cases.

use std::path::Path;

use patchline_inventory::apk::{parse_installed, Apk};
use patchline_inventory::{Extracted, Extractor};
use patchline_model::{Ecosystem, Package};
use patchline_test_support::shared_data;

const DB: &str = "lib/apk/db/installed";

fn parse_file(path: &Path) -> Extracted {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_installed(DB, &bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn find<'a>(x: &'a Extracted, name: &str) -> &'a Package {
    x.packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("package {name} not found"))
}

/// Rows of the fenced block under a heading of `pkgdb/EXPECTED.md`.
fn expected_rows(data: &Path, heading: &str) -> Vec<Vec<String>> {
    let md = std::fs::read_to_string(data.join("pkgdb/EXPECTED.md")).unwrap();
    let section = md
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("no section {heading}"));
    let block = section.split("```").nth(1).expect("fenced block");
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn trivy_installed_matches_expected_15_packages() {
    let Some(data) = shared_data() else { return };
    let x = parse_file(&data.join("pkgdb/trivy/apk/lib/apk/db/installed"));
    let rows = expected_rows(&data, "pkgdb/trivy/apk/lib/apk/db/installed");
    assert_eq!(rows.len(), 15);
    let got: Vec<(&str, &str, &str, &str)> = x
        .packages
        .iter()
        .map(|p| {
            (
                p.name.as_str(),
                p.version.as_str(),
                p.source_name.as_deref().unwrap_or(""),
                p.source_version.as_deref().unwrap_or(""),
            )
        })
        .collect();
    let want: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str(), r[4].as_str(), r[5].as_str()))
        .collect();
    // Same order as the file, which is the order Trivy asserts.
    assert_eq!(got, want);

    assert_eq!(x.warnings.len(), 1, "{:?}", x.warnings);
    assert!(
        x.warnings[0].starts_with("record 2 (line 23), package \"invalidPackageWithoutAVersion\""),
        "{}",
        x.warnings[0]
    );
    assert!(x.warnings[0].contains("no V:"), "{}", x.warnings[0]);

    let musl = find(&x, "musl");
    assert_eq!(musl.ecosystem, Ecosystem::Apk);
    assert_eq!(musl.arch.as_deref(), Some("x86_64"));
    assert_eq!(musl.licenses, ["MIT"]);
    assert_eq!(
        musl.maintainer.as_deref(),
        Some("Timo Teräs <timo.teras@iki.fi>")
    );
    assert_eq!(musl.epoch, None);
    assert_eq!(musl.db_path, DB);
    // License values are kept whole, expression or legacy list.
    assert_eq!(find(&x, "musl-utils").licenses, ["MIT BSD GPL2+"]);
    assert_eq!(
        find(&x, "ada-libs").licenses,
        ["( Apache-2.0 OR MIT ) AND MPL-2.0"]
    );
}

#[test]
fn osv_scalibr_installed_matches_expected() {
    let Some(data) = shared_data() else { return };
    let dir = data.join("pkgdb/osv-scalibr/apk/testdata");
    let x = parse_file(&dir.join("installed"));
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    let rows = expected_rows(&data, "pkgdb/osv-scalibr/apk/testdata/installed");
    assert_eq!(rows.len(), 15);
    assert_eq!(x.packages.len(), 15);
    for row in rows {
        let p = find(&x, &row[0]);
        assert_eq!(p.version, row[1], "{}", row[0]);
        let origin = row[2].strip_prefix("origin=").unwrap();
        assert_eq!(p.source_name.as_deref(), Some(origin), "{}", row[0]);
        assert_eq!(p.source_version.as_deref(), Some(row[1].as_str()));
    }
    // Licenses and maintainers as osv-scalibr asserts them.
    assert_eq!(
        find(&x, "musl-utils").licenses,
        ["MIT AND BSD-2-Clause AND GPL-2.0-or-later"]
    );
    assert_eq!(
        find(&x, "busybox").maintainer.as_deref(),
        Some("Sören Tempel <soeren+alpine@soeren-tempel.net>")
    );
    assert_eq!(find(&x, "libcrypto3").licenses, ["Apache-2.0"]);
}

#[test]
fn osv_scalibr_small_cases() {
    let Some(data) = shared_data() else { return };
    let dir = data.join("pkgdb/osv-scalibr/apk/testdata");

    let x = parse_file(&dir.join("no-origin"));
    assert_eq!(x.packages.len(), 1);
    let p = &x.packages[0];
    assert_eq!((p.name.as_str(), p.version.as_str()), ("pkgname", "1.2.3"));
    // No origin: the package is its own source (osv-scalibr leaves it empty).
    assert_eq!(p.source_name.as_deref(), Some("pkgname"));
    assert_eq!(p.licenses, ["GPL-2.0-only"]);
    assert_eq!(p.maintainer, None);

    for (file, arch) in [("single", "x86_64"), ("different-arch", "noarch")] {
        let x = parse_file(&dir.join(file));
        assert_eq!(x.packages.len(), 1, "{file}");
        let p = &x.packages[0];
        assert_eq!(p.name, "alpine-baselayout-data");
        assert_eq!(p.version, "3.4.3-r1");
        assert_eq!(p.arch.as_deref(), Some(arch));
        assert_eq!(p.source_name.as_deref(), Some("alpine-baselayout"));
    }

    let x = parse_file(&dir.join("empty"));
    assert_eq!(x, Extracted::default());

    let bytes = std::fs::read(dir.join("invalid")).unwrap();
    let err = parse_installed(DB, &bytes).unwrap_err();
    assert_eq!(err.path, DB);
    assert!(
        err.reason.contains("not an apk installed database"),
        "{err}"
    );
}

#[test]
fn wanted_paths() {
    assert_eq!(Apk.name(), "apk");
    assert!(Apk.wants("lib/apk/db/installed"));
    for no in [
        "lib/apk/db/installed/test",
        "foo/lib/apk/db/installed",
        "/lib/apk/db/installed",
        "lib/apk/db/triggers",
    ] {
        assert!(!Apk.wants(no), "{no}");
    }
}

#[test]
fn edge_cases() {
    let content = b"C:Q1abc=\r\nP:foo\r\nV:1.0-r0\r\nA:aarch64\r\nL:\r\nF:usr\r\nR:x\r\n\r\n\r\n\
P:bar\nV:2.0-r1\no:bar-src\nbroken line\nm:M\xe4intainer <m@x>\n\n\
P:baz\n\nV:9\n\nP:two words\nV:1\n\nP:qux\nV:1 2\n";
    let x = parse_installed(DB, content).unwrap();
    let got: Vec<&str> = x.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(got, ["foo", "bar"]);
    let foo = &x.packages[0];
    assert_eq!(foo.arch.as_deref(), Some("aarch64"));
    assert!(foo.licenses.is_empty());
    assert_eq!(foo.source_name.as_deref(), Some("foo"));
    let bar = &x.packages[1];
    assert_eq!(bar.source_name.as_deref(), Some("bar-src"));
    assert_eq!(bar.source_version.as_deref(), Some("2.0-r1"));
    assert_eq!(bar.maintainer.as_deref(), Some("M\u{fffd}intainer <m@x>"));
    let w = x.warnings.join("\n");
    assert!(
        w.contains("record 2 (line 10), package \"bar\": 1 line not in"),
        "{w}"
    );
    assert!(
        w.contains("record 3 (line 16), package \"baz\": no V:"),
        "{w}"
    );
    assert!(w.contains("record 4 (line 18): no P:"), "{w}");
    assert!(
        w.contains("package \"two words\": package name has spaces"),
        "{w}"
    );
    assert!(
        w.contains("package \"qux\": version \"1 2\" has spaces"),
        "{w}"
    );
    assert_eq!(x.warnings.len(), 5, "{w}");
}

#[test]
fn garbage_is_an_error_and_warnings_are_capped() {
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    assert!(parse_installed(DB, &garbage).is_err());
    assert!(parse_installed(DB, b"\0\0\0").is_err());
    assert_eq!(parse_installed(DB, b"\n \n").unwrap(), Extracted::default());

    let mut many = Vec::new();
    for i in 0..300 {
        many.extend_from_slice(format!("P:p{i}\n\n").as_bytes());
    }
    let x = parse_installed(DB, &many).unwrap();
    assert!(x.packages.is_empty());
    assert_eq!(x.warnings.len(), 101);
    assert_eq!(x.warnings[100], "200 further warnings not shown");
}

/// A huge package name is quoted capped, once: the warning still names the record and its
/// line, and stays short.
#[test]
fn huge_package_name_is_capped_in_warnings() {
    let name = "n".repeat(1 << 20);
    let db = format!("P:musl\nV:1.2.4-r2\n\nP:{name}\nV:1 2\nbad line\n");
    let x = parse_installed(DB, db.as_bytes()).unwrap();
    assert_eq!(x.packages.len(), 1);
    assert_eq!(x.warnings.len(), 2, "{:?}", x.warnings);
    for w in &x.warnings {
        assert!(
            w.chars().count() < 300,
            "{} chars: {w:.400}",
            w.chars().count()
        );
        assert!(w.contains("record 2 (line 4)"), "{w:.400}");
        assert!(w.contains("(1048576 bytes)"), "{w:.400}");
        // The name's first 80 characters, once, and never more of it.
        assert_eq!(w.matches(&"n".repeat(80)).count(), 1, "{w:.400}");
        assert!(!w.contains(&"n".repeat(81)), "{w:.400}");
    }
    let all = x.warnings.concat();
    assert!(
        all.matches('n').count() < 2 * 100,
        "the name is never echoed whole"
    );

    // A huge version, and a huge bad line in a file that is not a database at all.
    let db = format!("P:a\nV:{}\n", "1 ".repeat(1 << 19));
    let x = parse_installed(DB, db.as_bytes()).unwrap();
    assert!(x.warnings[0].len() < 300, "{:.400}", x.warnings[0]);
    let junk = "\u{1b}[31m".repeat(1 << 18);
    let e = parse_installed(DB, junk.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(e.len() < 400, "{e:.500}");
    assert!(
        !e.contains('\u{1b}'),
        "control characters are escaped: {e:.500}"
    );
}
