//! The real databases in shared/data/pkgdb, against what the upstream projects assert
//! (pkgdb/EXPECTED.md) and the counts measured with rpm itself.

mod common;

use common::*;
use patchline_rpmdb::{detect, read_packages, split_source_rpm, ErrorKind, Format, RpmPackage};

fn find<'a>(pkgs: &'a [RpmPackage], name: &str) -> &'a RpmPackage {
    pkgs.iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("package {name} not found"))
}

#[test]
fn sqlite_cbl_mariner() {
    let Some(dir) = pkgdb_dir() else { return };
    let bytes = read(&dir, SQLITE);
    // rpm left this file in WAL mode; the reader must cope.
    assert_eq!((bytes[18], bytes[19]), (2, 2));
    assert_eq!(detect(&bytes), Some(Format::Sqlite));
    let r = read_packages(&bytes).unwrap();
    assert_eq!(r.format, Format::Sqlite);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    // `rpm --dbpath ... -qa | wc -l` prints 129.
    assert_eq!(r.packages.len(), 129);
    assert_eq!(r.packages.iter().filter(|p| p.is_gpg_pubkey()).count(), 0);
    let curl = find(&r.packages, "curl");
    assert_eq!(curl.version, "7.76.0");
    assert_eq!(curl.release, "6.cm2");
    assert_eq!(curl.epoch, None);
    assert_eq!(curl.arch.as_deref(), Some("x86_64"));
    assert_eq!(
        curl.source_rpm.as_deref(),
        Some("curl-7.76.0-6.cm2.src.rpm")
    );
    assert_eq!(curl.vendor.as_deref(), Some("Microsoft Corporation"));
    // First row, values as printed by rpm --qf.
    let first = &r.packages[0];
    assert_eq!(first.name, "mariner-release");
    assert_eq!(first.size, Some(608));
    assert_eq!(first.license.as_deref(), Some("MIT"));
    assert_eq!(first.summary.as_deref(), Some("CBL-Mariner release files"));
    assert_eq!(
        first.sigmd5.as_deref(),
        Some("f7bd337ae2962162ac73a509ed7129f0")
    );
    assert_eq!(
        curl.source(),
        Some(("curl".into(), "7.76.0".into(), "6.cm2".into()))
    );
}

#[test]
fn berkeleydb_libuuid() {
    let Some(dir) = pkgdb_dir() else { return };
    let bytes = read(&dir, BDB_LIBUUID);
    assert_eq!(detect(&bytes), Some(Format::BerkeleyDb));
    let r = read_packages(&bytes).unwrap();
    assert_eq!(r.format, Format::BerkeleyDb);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.packages.len(), 1);
    let p = &r.packages[0];
    assert_eq!(
        (p.name.as_str(), p.version.as_str(), p.release.as_str()),
        ("libuuid", "2.32.1", "42.el8_8")
    );
    assert_eq!(p.epoch, None);
    assert_eq!(p.arch.as_deref(), Some("x86_64"));
    assert_eq!(
        p.source_rpm.as_deref(),
        Some("util-linux-2.32.1-42.el8_8.src.rpm")
    );
    assert_eq!(p.vendor.as_deref(), Some("Red Hat, Inc."));
    assert_eq!(p.license.as_deref(), Some("BSD"));
    assert_eq!(p.size, Some(35104));
    assert_eq!(
        p.sigmd5.as_deref(),
        Some("c1e561f13d39aee443a1f00258fba000")
    );
    assert_eq!(p.modularity_label, None);
    assert_eq!(
        split_source_rpm(p.source_rpm.as_deref().unwrap()),
        Some(("util-linux".into(), "2.32.1".into(), "42.el8_8".into()))
    );
}

#[test]
fn berkeleydb_epoch() {
    let Some(dir) = pkgdb_dir() else { return };
    let r = read_packages(&read(&dir, BDB_EPOCH)).unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(
        r.packages,
        vec![RpmPackage {
            name: "hello".into(),
            epoch: Some(1),
            version: "0.0.1".into(),
            release: "rls".into(),
            arch: Some("x86_64".into()),
            source_rpm: Some("hello-0.0.1-rls.src.rpm".into()),
            license: Some("GPL".into()),
            vendor: None,
            summary: Some("summary goes here".into()),
            size: Some(29),
            modularity_label: None,
            sigmd5: Some("cf2ddad93eb8bde0848348b7dd2318a9".into()),
            // `rpm -ql hello` prints this one file.
            files: vec!["/usr/bin/hello.sh".into()],
        }]
    );
}

/// name, version, release, epoch, arch
type Nevra = (String, String, String, Option<u32>, Option<String>);

#[test]
fn ndb_sle15() {
    let Some(dir) = pkgdb_dir() else { return };
    let bytes = read(&dir, NDB);
    assert_eq!(detect(&bytes), Some(Format::Ndb));
    let r = read_packages(&bytes).unwrap();
    assert_eq!(r.format, Format::Ndb);
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    let tsv = String::from_utf8(read(&dir, "go-rpmdb/sle15-bci/expected_packages.tsv")).unwrap();
    let expected: Vec<Nevra> = tsv
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 5, "bad expected line {l:?}");
            let epoch = f[3].strip_prefix("epoch=").unwrap();
            (
                f[0].to_owned(),
                f[1].to_owned(),
                f[2].to_owned(),
                (!epoch.is_empty()).then(|| epoch.parse().unwrap()),
                Some(f[4].to_owned()),
            )
        })
        .collect();
    assert_eq!(expected.len(), 35);
    let got: Vec<_> = r
        .packages
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.version.clone(),
                p.release.clone(),
                p.epoch,
                p.arch.clone(),
            )
        })
        .collect();
    // Same packages, and in the same (installation) order as upstream lists them.
    assert_eq!(got, expected);
    let bash = find(&r.packages, "bash");
    assert_eq!(bash.source_rpm.as_deref(), Some("bash-4.4-19.6.1.src.rpm"));
    assert_eq!(bash.license.as_deref(), Some("GPL-3.0-or-later"));
    assert_eq!(
        bash.vendor.as_deref(),
        Some("SUSE LLC <https://www.suse.com/>")
    );
    // Debian's rpm has no NDB backend to compare with: the file list is checked for
    // what SUSE's bash package is known to hold.
    for f in [
        "/bin/bash",
        "/usr/bin/bash",
        "/usr/share/bash/helpfiles/alias",
    ] {
        assert!(bash.files.iter().any(|g| g == f), "{f}: {:?}", bash.files);
    }
    assert!(
        bash.files.iter().all(|f| f.starts_with('/')),
        "{:?}",
        bash.files
    );
}

#[test]
fn osv_scalibr_empty_and_invalid() {
    let Some(dir) = pkgdb_dir() else { return };
    let empty = read(&dir, "osv-scalibr/rpm/testdata/empty.sqlite");
    assert!(empty.is_empty());
    assert_eq!(detect(&empty), None);
    let e = read_packages(&empty).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownFormat);
    assert!(e.to_string().contains("input is empty"), "{e}");

    let invalid = read(&dir, "osv-scalibr/rpm/testdata/invalid");
    assert_eq!(detect(&invalid), None);
    let e = read_packages(&invalid).unwrap_err();
    assert_eq!(e.kind, ErrorKind::UnknownFormat);
    assert!(e.to_string().contains("not an rpm database"), "{e}");
}
