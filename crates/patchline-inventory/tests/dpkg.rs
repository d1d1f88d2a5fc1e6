//! dpkg status parsing against the upstream test data of Trivy and osv-scalibr (what their
//! tests assert, see `pkgdb/EXPECTED.md`), against `dpkg-query` itself, and on edge cases.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use patchline_inventory::dpkg::{parse_status, Dpkg};
use patchline_inventory::{Extracted, Extractor};
use patchline_model::{Ecosystem, Package};
use patchline_test_support::{require_tools, shared_data, skip};

fn parse_file(path: &Path) -> Extracted {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_status("var/lib/dpkg/status", &bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn names(x: &Extracted) -> Vec<&str> {
    let mut v: Vec<&str> = x.packages.iter().map(|p| p.name.as_str()).collect();
    v.sort_unstable();
    v
}

fn find<'a>(x: &'a Extracted, name: &str) -> &'a Package {
    x.packages
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("package {name} not found"))
}

/// Rows of a fenced block under a heading of `pkgdb/EXPECTED.md`.
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

/// Trivy splits versions into epoch, version, release; put them back together.
fn join_version(epoch: &str, version: &str, release: &str) -> String {
    let mut s = String::new();
    if !epoch.is_empty() {
        s.push_str(epoch);
        s.push(':');
    }
    s.push_str(version);
    if !release.is_empty() {
        s.push('-');
        s.push_str(release);
    }
    s
}

#[test]
fn trivy_valid_matches_expected_90_packages() {
    let Some(data) = shared_data() else { return };
    let x = parse_file(&data.join("pkgdb/trivy/dpkg/valid/var/lib/dpkg/status"));
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    let rows = expected_rows(&data, "pkgdb/trivy/dpkg/valid/var/lib/dpkg/status");
    assert_eq!(rows.len(), 90);
    assert_eq!(x.packages.len(), 90);
    for row in &rows {
        let [name, version, release, epoch, src_name, src_version, src_release, src_epoch] =
            &row[..8]
        else {
            panic!("bad row {row:?}")
        };
        let p = find(&x, name);
        assert_eq!(p.ecosystem, Ecosystem::Deb);
        assert_eq!(p.version, join_version(epoch, version, release), "{name}");
        let want_epoch = (!epoch.is_empty()).then(|| epoch.parse::<u32>().unwrap());
        assert_eq!(p.epoch, want_epoch, "{name}");
        assert_eq!(p.source_name.as_deref(), Some(src_name.as_str()), "{name}");
        // Trivy's source epoch is the binary's when Source: gives no version and empty
        // when Source: gives one without an epoch, which is the literal source version.
        let src_full = join_version(src_epoch, src_version, src_release);
        assert_eq!(
            p.source_version.as_deref(),
            Some(src_full.as_str()),
            "{name}"
        );
        assert_eq!(p.db_path, "var/lib/dpkg/status");
        assert!(p.licenses.is_empty());
    }
    // The one stanza with `deinstall ok config-files` is the only one left out.
    let status =
        std::fs::read_to_string(data.join("pkgdb/trivy/dpkg/valid/var/lib/dpkg/status")).unwrap();
    assert_eq!(status.matches("\nPackage: ").count() + 1, 91);
    let bash = find(&x, "bash");
    assert_eq!(bash.arch.as_deref(), Some("amd64"));
    assert_eq!(
        bash.maintainer.as_deref(),
        Some("Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>")
    );
    // binNMU: the binary is +b3, the source is not.
    let lzma = find(&x, "liblzma5");
    assert_eq!(lzma.version, "5.1.1alpha+20120614-2+b3");
    assert_eq!(
        lzma.source_version.as_deref(),
        Some("5.1.1alpha+20120614-2")
    );
}

#[test]
fn trivy_corrupsed_keeps_the_four_good_stanzas() {
    let Some(data) = shared_data() else { return };
    let x = parse_file(&data.join("pkgdb/trivy/dpkg/corrupsed/var/lib/dpkg/status"));
    assert_eq!(
        names(&x),
        ["libgcc1", "libpam-modules-bin", "libpam-runtime", "makedev"]
    );
    let gcc = find(&x, "libgcc1");
    assert_eq!(gcc.version, "1:5.1.1-12ubuntu1");
    assert_eq!(gcc.epoch, Some(1));
    assert_eq!(gcc.source_name.as_deref(), Some("gcc-5"));
    assert_eq!(gcc.source_version.as_deref(), Some("5.1.1-12ubuntu1"));
    assert_eq!(find(&x, "makedev").source_name.as_deref(), Some("makedev"));
    assert_eq!(x.warnings.len(), 2, "{:?}", x.warnings);
    assert!(x.warnings[0].contains("stanza 4"), "{}", x.warnings[0]);
    assert!(x.warnings[0].contains("brokenPackageWithNoVersionThatShouldGetThrownOut"));
    assert!(x.warnings[0].contains("no Version"));
    assert!(x.warnings[1].contains("stanza 6"), "{}", x.warnings[1]);
    assert!(x.warnings[1].contains("invalidpkg") && x.warnings[1].contains("1:5.#"));
}

#[test]
fn trivy_small_cases() {
    let Some(data) = shared_data() else { return };
    let dir = data.join("pkgdb/trivy/dpkg");

    let x = parse_file(&dir.join("only-apt/var/lib/dpkg/status"));
    assert_eq!(names(&x), ["apt"]);
    assert_eq!(x.packages[0].version, "1.6.3ubuntu0.1");
    assert_eq!(x.packages[0].source_name.as_deref(), Some("apt"));
    assert_eq!(
        x.packages[0].source_version.as_deref(),
        Some("1.6.3ubuntu0.1")
    );

    let x = parse_file(&dir.join("third-party/var/lib/dpkg/status"));
    assert_eq!(names(&x), ["apt", "docker-ce"]);
    let docker = find(&x, "docker-ce");
    assert_eq!(docker.version, "5:20.10.7~3-0~debian-buster");
    assert_eq!(docker.epoch, Some(5));

    let x = parse_file(&dir.join("digest/var/lib/dpkg/status"));
    assert_eq!(names(&x), ["sed", "tar"]);
    assert_eq!(find(&x, "tar").version, "1.34+dfsg-1");
    assert_eq!(
        find(&x, "tar").maintainer.as_deref(),
        Some("Janos Lenart <ocsi@debian.org>")
    );
    // `available` is a stanza file too, though nobody asks this extractor to read it.
    let x = parse_file(&dir.join("digest/var/lib/dpkg/available"));
    assert_eq!(x.packages.len(), 2);

    let x = parse_file(&dir.join("md5sums/var/lib/dpkg/status"));
    assert_eq!(names(&x), ["tar"]);
    assert_eq!(x.packages[0].version, "1.29b-2");

    let md5 = std::fs::read(dir.join("md5sums/var/lib/dpkg/info/tar.md5sums")).unwrap();
    let err = parse_status("var/lib/dpkg/info/tar.md5sums", &md5).unwrap_err();
    assert_eq!(err.path, "var/lib/dpkg/info/tar.md5sums");
    assert!(err.reason.contains("not a dpkg status file"), "{err}");
}

#[test]
fn osv_scalibr_cases() {
    let Some(data) = shared_data() else { return };
    let dir = data.join("pkgdb/osv-scalibr/dpkg/testdata/dpkg");

    let x = parse_file(&dir.join("valid"));
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    let got: Vec<(&str, &str)> = x
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("accountsservice", "22.08.8-6"),
            ("acl", "2.3.1-3"),
            ("adduser", "3.131"),
            ("admin-session", "2023.06.26.c543406313-00"),
            ("attr", "1:2.5.1-4"),
            ("libacl1", "2.3.1-3"),
            ("util-linux-extra", "2.38.1-5+b1"),
        ]
    );
    assert_eq!(find(&x, "libacl1").source_name.as_deref(), Some("acl"));
    assert_eq!(
        find(&x, "libacl1").source_version.as_deref(),
        Some("2.3.1-3")
    );
    let ule = find(&x, "util-linux-extra");
    assert_eq!(ule.source_name.as_deref(), Some("util-linux"));
    assert_eq!(ule.source_version.as_deref(), Some("2.38.1-5"));
    assert_eq!(
        find(&x, "admin-session").maintainer.as_deref(),
        Some("nobody@google.com")
    );
    assert_eq!(find(&x, "adduser").arch.as_deref(), Some("all"));

    for (file, missing) in [("noversion", "no Version"), ("nopackage", "no Package")] {
        let x = parse_file(&dir.join(file));
        assert_eq!(names(&x), ["bar", "foo"], "{file}");
        assert_eq!(x.warnings.len(), 1, "{file}: {:?}", x.warnings);
        assert!(
            x.warnings[0].starts_with("stanza 2 (line 5)"),
            "{}",
            x.warnings[0]
        );
        assert!(x.warnings[0].contains(missing), "{}", x.warnings[0]);
    }

    // Our rule: listed unless the state is not-installed or config-files (see dpkg.rs);
    // osv-scalibr lists only the `installed` state, Trivy drops deinstall/purge wants.
    let x = parse_file(&dir.join("statusfield"));
    assert_eq!(
        names(&x),
        [
            "wantdeinstall_installed",
            "wantinstall_halfinstalled",
            "wantinstall_installed",
            "wantinstall_unpacked",
            "wantnostatus",
            "wantpurge_installed",
        ]
    );
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);

    let x = parse_file(&dir.join("empty"));
    assert!(x.packages.is_empty() && x.warnings.is_empty());

    let bytes = std::fs::read(dir.join("invalid")).unwrap();
    let err = parse_status("var/lib/dpkg/status", &bytes).unwrap_err();
    assert!(err.reason.contains("line 1"), "{err}");

    for file in ["single", "trailingnewlines"] {
        let x = parse_file(&dir.join(file));
        assert_eq!(names(&x), ["acl"], "{file}");
        assert!(x.warnings.is_empty(), "{file}: {:?}", x.warnings);
        let acl = &x.packages[0];
        assert_eq!(acl.version, "2.3.1-3");
        assert_eq!(
            acl.maintainer.as_deref(),
            Some("Guillem Jover <guillem@debian.org>")
        );
        assert_eq!(acl.arch.as_deref(), Some("amd64"));
        assert_eq!(acl.source_name.as_deref(), Some("acl"));
        assert_eq!(acl.source_version.as_deref(), Some("2.3.1-3"));
    }

    let x = parse_file(&dir.join("transitional"));
    assert_eq!(names(&x), ["iceweasel"]);
    assert_eq!(x.packages[0].source_name.as_deref(), Some("firefox-esr"));
    assert_eq!(x.packages[0].version, "78.13.0esr-1~deb10u1");
    assert_eq!(
        names(&parse_file(&dir.join("transitional_dummy"))),
        ["git-core"]
    );
    assert_eq!(
        names(&parse_file(&dir.join("transitional_empty"))),
        ["runit-systemd"]
    );

    // Distroless status.d: foo has no Status (listed), bar is config-files (not listed).
    let bytes = std::fs::read(dir.join("status.d/foo")).unwrap();
    let x = parse_status("var/lib/dpkg/status.d/foo", &bytes).unwrap();
    assert_eq!(names(&x), ["foo"]);
    assert_eq!(x.packages[0].version, "1.2.3");
    assert_eq!(x.packages[0].maintainer.as_deref(), Some("someone"));
    assert_eq!(x.packages[0].db_path, "var/lib/dpkg/status.d/foo");
    let md5 = std::fs::read(dir.join("status.d/foo.md5sums")).unwrap();
    assert!(parse_status("var/lib/dpkg/status.d/foo.md5sums", &md5).is_err());

    // opkg (OpenWrt) writes the same format.
    let opkg = data.join("pkgdb/osv-scalibr/dpkg/testdata/opkg");
    assert_eq!(
        names(&parse_file(&opkg.join("valid"))),
        ["busybox", "libuci20130104", "ubus"]
    );
}

#[test]
fn wanted_paths() {
    let d = Dpkg;
    assert_eq!(d.name(), "dpkg");
    for yes in [
        "var/lib/dpkg/status",
        "var/lib/dpkg/status.d/foo",
        "var/lib/dpkg/status.d/libssl3",
        "var/lib/dpkg/status.d/python3.11",
    ] {
        assert!(d.wants(yes), "{yes}");
    }
    for no in [
        "var/lib/dpkg/status.d",
        "var/lib/dpkg/status.d/",
        "var/lib/dpkg/status.d/foo.md5sums",
        "var/lib/dpkg/status.d/sub/foo",
        "var/lib/dpkg/status.d/.hidden",
        "var/lib/dpkg/status-old",
        "var/lib/dpkg/available",
        "var/lib/dpkg/info/bash.md5sums",
        "var/lib/dpkg/info/bash.list",
        "usr/var/lib/dpkg/status",
        "/var/lib/dpkg/status",
    ] {
        assert!(!d.wants(no), "{no}");
    }
}

#[test]
fn crlf_continuations_and_non_utf8() {
    let mut content = Vec::new();
    content.extend_from_slice(b"\xef\xbb\xbfPackage: foo\r\nStatus: install ok installed\r\n");
    content.extend_from_slice(b"maintainer: J\xe9r\xf4me <j@example.org>\r\n");
    content.extend_from_slice(b"Version: 1:2.0-1\r\nDescription: caf\xe9\r\n d\xe9tails\r\n .\r\n");
    content.extend_from_slice(b"\tmore\r\nSource: foo-src (1:2.0-1)\r\n\r\n  \r\n\t\r\n");
    content.extend_from_slice(b"Package: bar\nVersion: 3\nArchitecture: arm64\n\n\n");
    let x = parse_status("var/lib/dpkg/status", &content).unwrap();
    assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    assert_eq!(x.packages.len(), 2);
    let foo = &x.packages[0];
    assert_eq!(foo.name, "foo");
    assert_eq!(foo.version, "1:2.0-1");
    assert_eq!(foo.epoch, Some(1));
    assert_eq!(
        foo.maintainer.as_deref(),
        Some("J\u{fffd}r\u{fffd}me <j@example.org>")
    );
    assert_eq!(foo.source_name.as_deref(), Some("foo-src"));
    assert_eq!(foo.source_version.as_deref(), Some("1:2.0-1"));
    assert_eq!(foo.arch, None);
    let bar = &x.packages[1];
    assert_eq!((bar.name.as_str(), bar.version.as_str()), ("bar", "3"));
    assert_eq!(bar.epoch, None);
    assert_eq!(bar.arch.as_deref(), Some("arm64"));
}

#[test]
fn status_states_and_odd_stanzas() {
    let content = b"\
Package: a\nStatus: install ok half-configured\nVersion: 1\n\n\
Package: b\nStatus: purge ok not-installed\n\n\
Package: c\nStatus: hold ok triggers-pending\nVersion: 1\n\n\
Package: d\nStatus: weird\nVersion: 1\n\n\
Package: e\nVersion: 1\nsome garbage line\nAnother: field\n\n\
Package: Bad_Name!\nVersion: 1\n\n\
Package: f\nVersion: 1\nSource: (1.0)\n\n\
Package: g\nVersion: 2\nSource: gsrc (not a version)\n\n\
Package: h\nVersion: 1\n 2\n\n\
# comment\nPackage: i\nVersion: 1\nVersion: 2\n";
    let x = parse_status("var/lib/dpkg/status", content).unwrap();
    let got: Vec<&str> = x.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(got, ["a", "c", "d", "e", "f", "g", "i"]);
    let f = &x.packages[4];
    assert_eq!(f.source_name.as_deref(), Some("f"));
    let g = &x.packages[5];
    assert_eq!(g.source_name.as_deref(), Some("gsrc"));
    assert_eq!(g.source_version, None);
    assert_eq!(x.packages[6].version, "1");
    let w = x.warnings.join("\n");
    assert!(
        w.contains("stanza 4 (line 12), package \"d\": unrecognised Status"),
        "{w}"
    );
    assert!(
        w.contains("stanza 5 (line 16), package \"e\": 1 line not"),
        "{w}"
    );
    assert!(
        w.contains("stanza 6 (line 21), package \"Bad_Name!\": invalid package name"),
        "{w}"
    );
    assert!(
        w.contains("package \"f\": Source \"(1.0)\" is not a valid"),
        "{w}"
    );
    assert!(w.contains("package \"g\": Source"), "{w}");
    assert!(w.contains("package \"h\": Version field continues"), "{w}");
    assert!(w.contains("package \"i\": Version field repeated"), "{w}");
    assert_eq!(x.warnings.len(), 7, "{w}");
}

#[test]
fn garbage_is_an_error_and_warnings_are_capped() {
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let err = parse_status("var/lib/dpkg/status", &garbage).unwrap_err();
    assert!(err.reason.starts_with("not a dpkg status file"), "{err}");
    assert!(parse_status("x", b"\0\0\0\0").is_err());
    assert!(parse_status("x", b"hello world\n").is_err());
    // Blank or comment-only content is an empty database, not an error.
    assert_eq!(
        parse_status("x", b"\n\n  \n").unwrap(),
        Extracted::default()
    );

    let mut many = Vec::new();
    for i in 0..500 {
        many.extend_from_slice(format!("Package: p{i}\n\n").as_bytes());
    }
    let x = parse_status("x", &many).unwrap();
    assert!(x.packages.is_empty());
    assert_eq!(x.warnings.len(), 101);
    assert_eq!(x.warnings[100], "400 further warnings not shown");
}

/// (name, version, source name, source version, arch)
type Row = (String, String, String, String, String);

/// Runs `dpkg-query` on a copy of `status` and returns what it lists as present, in the
/// shape we compare.
fn dpkg_query(status: &Path) -> Option<BTreeSet<Row>> {
    if !require_tools(&["dpkg-query"]) {
        return None;
    }
    let admin = tempfile::tempdir().unwrap();
    std::fs::copy(status, admin.path().join("status")).unwrap();
    let out = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admin.path().display()))
        .args([
            "-W",
            "-f",
            "${Package}\t${Version}\t${source:Package}\t${source:Version}\t${Architecture}\t${db:Status-Status}\n",
        ])
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => skip!("dpkg-query not runnable: {e}"),
    };
    assert!(
        out.status.success(),
        "dpkg-query failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    Some(
        text.lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                // dpkg-query -W lists config-files leftovers too; we do not.
                (f[5] != "config-files" && f[5] != "not-installed").then(|| {
                    (
                        f[0].to_string(),
                        f[1].to_string(),
                        f[2].to_string(),
                        f[3].to_string(),
                        f[4].to_string(),
                    )
                })
            })
            .collect(),
    )
}

fn ours(status: &Path) -> BTreeSet<Row> {
    parse_file(status)
        .packages
        .into_iter()
        .map(|p| {
            (
                p.name,
                p.version,
                p.source_name.unwrap_or_default(),
                p.source_version.unwrap_or_default(),
                p.arch.unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn oracle_dpkg_query_on_trivy_valid() {
    let Some(data) = shared_data() else { return };
    let status = data.join("pkgdb/trivy/dpkg/valid/var/lib/dpkg/status");
    let Some(want) = dpkg_query(&status) else {
        return;
    };
    assert_eq!(want.len(), 90);
    assert_eq!(ours(&status), want);
}

#[test]
fn oracle_dpkg_query_on_this_machine() {
    let status = Path::new("/var/lib/dpkg/status");
    if !status.is_file() {
        skip!("/var/lib/dpkg/status not found: this machine is not a Debian system");
    }
    let Some(want) = dpkg_query(status) else {
        return;
    };
    assert!(!want.is_empty());
    assert_eq!(ours(status), want);
}
