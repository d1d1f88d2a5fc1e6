//! The Python extractor against osv-scalibr's wheelegg test data
//! (`language/osv-scalibr/python/wheelegg`): the expectations are read from its
//! `wheelegg_test.go.txt`, case by case, and compared with what patchline finds.
//!
//! What is compared: name, version, and the author (osv-scalibr's `Author` and
//! `AuthorEmail`, which patchline keeps as the maintainer `Author <email>`). Not
//! comparable: osv-scalibr's `RequiresDist` and line locations, which patchline does not
//! keep. osv-scalibr reports no licences; patchline's are checked against the files by
//! hand (`OUR_LICENSES`). Where osv-scalibr returns an error (an empty file, bytes that
//! are not a zip), patchline gives a warning and no package.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use patchline_inventory::lang::python::Python;
use patchline_inventory::{Budget, Extracted, Extractor};
use patchline_model::Ecosystem;
use patchline_test_support::shared_data_path;

const DIR: &str = "language/osv-scalibr/python/wheelegg";

/// Where each test file would be in an image: the extractor chooses by the path.
const IMAGE_PATHS: &[(&str, &str)] = &[
    (
        "distinfo_meta",
        "usr/lib/python3.11/site-packages/pip-22.2.2.dist-info/METADATA",
    ),
    (
        "egginfo_pkginfo",
        "usr/lib/python3.9/site-packages/setuptools-57.4.0-py3.9.egg/EGG-INFO/PKG-INFO",
    ),
    (
        "egginfo",
        "usr/lib/python3/dist-packages/pycups-2.0.1.egg-info",
    ),
    (
        "pkginfo",
        "usr/local/lib/python3.10/dist-packages/httplib2-0.20.4.egg-info/PKG-INFO",
    ),
    (
        "malformed_pkginfo",
        "opt/venv/lib/python3.9/site-packages/passlib-1.7.4.egg-info/PKG-INFO",
    ),
    (
        "monotonic-1.6-py3.10.egg",
        "usr/lib/python3.10/site-packages/monotonic-1.6-py3.10.egg",
    ),
    (
        "monotonic-1.6-py2.py3-none-any.whl",
        "wheels/monotonic-1.6-py2.py3-none-any.whl",
    ),
    (
        "monotonic_no_pkginfo-1.6-py3.10.egg",
        "usr/lib/python3.10/site-packages/monotonic_no_pkginfo-1.6-py3.10.egg",
    ),
    ("mixed_case", "app/target/httplib2-1.0.dist-info/METADATA"),
    (
        "special_chars",
        "usr/lib/python2.7/dist-packages/backports.ssl_match_hostname-3.5.0.1.egg-info/PKG-INFO",
    ),
    (
        "pyopenssl-26.0.0.dist-info",
        "usr/lib/python3.12/site-packages/pyOpenSSL-26.0.0.dist-info/METADATA",
    ),
    (
        "repeated_pkginfo",
        "usr/lib/python3.12/site-packages/root-1.0.0.dist-info/METADATA",
    ),
    (
        "empty",
        "usr/lib/python3.12/site-packages/empty-1.dist-info/METADATA",
    ),
];

/// patchline's licences per test file (osv-scalibr reports none), from the files: the
/// `License` field when it names one, else the `License ::` classifiers.
const OUR_LICENSES: &[(&str, &[&str])] = &[
    ("distinfo_meta", &["MIT"]),
    // `License: UNKNOWN`: the classifier.
    ("egginfo_pkginfo", &["MIT License"]),
    ("egginfo", &["GPLv2+"]),
    ("pkginfo", &["MIT"]),
    ("malformed_pkginfo", &["BSD"]),
    ("monotonic-1.6-py3.10.egg", &["Apache"]),
    ("monotonic-1.6-py2.py3-none-any.whl", &["Apache"]),
    ("mixed_case", &[]),
    ("special_chars", &[]),
    (
        "pyopenssl-26.0.0.dist-info",
        &["Apache License, Version 2.0"],
    ),
    ("repeated_pkginfo", &[]),
];

/// The warnings patchline gives per test file (none for the others).
const OUR_WARNINGS: &[(&str, &str)] = &[
    (
        "malformed_pkginfo",
        "4 lines neither 'Field: value' nor a continuation ignored (first at line 12)",
    ),
    (
        "monotonic_no_pkginfo-1.6-py3.10.egg",
        "no EGG-INFO/PKG-INFO member among the archive's 6 members",
    ),
    ("empty", "the file is empty; skipped"),
];

fn lookup<T: Copy>(table: &[(&str, T)], key: &str) -> Option<T> {
    table.iter().find(|(k, _)| *k == key).map(|&(_, v)| v)
}

/// One case of a table-driven Go test: the text between `\t\t{` and the next.
fn go_cases<'a>(src: &'a str, func: &str) -> Vec<&'a str> {
    let start = src
        .find(&format!("func {func}("))
        .unwrap_or_else(|| panic!("no {func}"));
    let body = &src[start..];
    let table = &body[..body.find("for _, tt := range tests").expect("table end")];
    table.split("\n\t\t{\n").skip(1).collect()
}

/// The value of `key: value,` on a line of a case: a string's text (the test data's
/// have no escaped quotes), else the expression up to the comma.
fn go_field<'a>(case: &'a str, key: &str) -> Option<&'a str> {
    case.lines().find_map(|line| {
        let rest = line
            .trim_start()
            .strip_prefix(key)?
            .strip_prefix(':')?
            .trim();
        Some(match rest.strip_prefix('"') {
            Some(quoted) => &quoted[..quoted.find('"')?],
            None => rest.strip_suffix(',').unwrap_or(rest),
        })
    })
}

fn upstream(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("wheelegg_test.go.txt")).unwrap()
}

fn extract(dir: &Path, file: &str) -> Extracted {
    let image_path = lookup(IMAGE_PATHS, file).unwrap_or_else(|| panic!("no path for {file}"));
    let bytes = std::fs::read(dir.join("testdata").join(file)).unwrap();
    Python
        .extract(image_path, &bytes)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// What is compared per package: name, version, `Author <email>`.
fn expected_package(case: &str) -> Option<(String, String, Option<String>)> {
    let name = go_field(case, "Name")?;
    let version = go_field(case, "Version").expect("Version");
    let author = match (go_field(case, "Author"), go_field(case, "AuthorEmail")) {
        (Some(a), Some(e)) => Some(format!("{a} <{e}>")),
        (a, e) => a.or(e).map(str::to_string),
    };
    Some((name.to_string(), version.to_string(), author))
}

#[test]
fn test_extract_cases_agree_with_osv_scalibr() {
    let Some(dir) = shared_data_path(DIR) else {
        return;
    };
    let src = upstream(&dir);
    let cases = go_cases(&src, "TestExtract");
    assert_eq!(cases.len(), 13, "osv-scalibr's TestExtract cases");
    let mut files = BTreeSet::new();
    for case in cases {
        let name = go_field(case, "name").expect("case name");
        let path = go_field(case, "path").expect("case path");
        let file = path.strip_prefix("testdata/").expect("testdata path");
        files.insert(file.to_string());
        let x = extract(&dir, file);

        let want = expected_package(case);
        let got: Vec<(String, String, Option<String>)> = x
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.maintainer.clone()))
            .collect();
        match &want {
            Some(want) => assert_eq!(got, std::slice::from_ref(want), "case {name:?} ({file})"),
            // No package: none expected (`[]`), or an error expected.
            None => {
                assert!(got.is_empty(), "case {name:?} ({file}): {got:?}");
                assert!(
                    case.contains("wantPackages: []*extractor.Package{},")
                        || case.contains("wantErr:"),
                    "case {name:?}: neither packages nor an error expected?"
                );
            }
        }
        let warnings: Vec<&str> = lookup(OUR_WARNINGS, file).into_iter().collect();
        assert_eq!(x.warnings, warnings, "case {name:?} ({file})");
        for p in &x.packages {
            assert_eq!(p.ecosystem, Ecosystem::Pypi);
            assert_eq!(p.db_path, lookup(IMAGE_PATHS, file).unwrap());
            let licenses = lookup(OUR_LICENSES, file).expect("licences listed");
            assert_eq!(p.licenses, licenses, "licences of {file}");
        }
    }
    // Every test file is one of the cases.
    let on_disk: BTreeSet<String> = std::fs::read_dir(dir.join("testdata"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, on_disk);
}

/// osv-scalibr's `TestExtractWithoutReadAt`: the archives read from a plain stream,
/// which is how patchline always reads them.
#[test]
fn archives_read_from_a_stream() {
    let Some(dir) = shared_data_path(DIR) else {
        return;
    };
    let src = upstream(&dir);
    let cases = go_cases(&src, "TestExtractWithoutReadAt");
    assert_eq!(cases.len(), 2);
    for case in cases {
        let path = go_field(case, "path").unwrap();
        let file = path.strip_prefix("testdata/").unwrap();
        let image_path = lookup(IMAGE_PATHS, file).unwrap();
        let bytes = std::fs::read(dir.join(path)).unwrap();
        // One byte per read, the worst a stream can do.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(buf.len()).min(1);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let x = Python
            .extract_from(
                image_path,
                bytes.len() as u64,
                &mut Trickle(&bytes),
                &Budget::unlimited(),
            )
            .unwrap();
        let got: Vec<_> = x
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone(), p.maintainer.clone()))
            .collect();
        assert_eq!(got, [expected_package(case).unwrap()], "{file}");
        assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    }
}

/// osv-scalibr's `TestExtractErrorsWithFakeFiles` (bytes that are no zip, named `.egg`:
/// an error there, a warning here) and `TestExtractEggWithoutSize` (an error there,
/// since its zip reader needs the size; patchline streams and does not).
#[test]
fn fake_and_sizeless_eggs() {
    let Some(dir) = shared_data_path(DIR) else {
        return;
    };
    let src = upstream(&dir);
    let cases = go_cases(&src, "TestExtractErrorsWithFakeFiles");
    assert_eq!(cases.len(), 1);
    let case = cases[0];
    assert_eq!(go_field(case, "wantErr"), Some("cmpopts.AnyError"));
    let bytes = go_field(case, "fakeFileBytes").unwrap();
    let bytes = bytes
        .strip_prefix("[]byte(\"")
        .and_then(|b| b.strip_suffix("\")"))
        .unwrap();
    let path = go_field(case, "path").unwrap();
    let x = Python
        .extract(
            &format!("usr/lib/python3/site-packages/{path}"),
            bytes.as_bytes(),
        )
        .unwrap();
    assert!(x.packages.is_empty());
    assert_eq!(x.warnings, ["not a zip archive (it starts with \"inva\")"]);

    assert!(src.contains("wantErr := wheelegg.ErrSizeNotSet"));
    let file = "monotonic-1.6-py3.10.egg";
    let bytes = std::fs::read(dir.join("testdata").join(file)).unwrap();
    let x = Python
        .extract_from(
            lookup(IMAGE_PATHS, file).unwrap(),
            0,
            &mut &bytes[..],
            &Budget::unlimited(),
        )
        .unwrap();
    assert_eq!(x.packages[0].name, "monotonic");
}

/// osv-scalibr's `TestFileRequired`, by path. Its size cases configure a maximum file
/// size for this one extractor, which patchline has no option for: an egg over 100
/// bytes is required here (eggs and wheels are streamed, up to 4 GiB).
#[test]
fn file_required_agrees_with_osv_scalibr() {
    let Some(dir) = shared_data_path(DIR) else {
        return;
    };
    let src = upstream(&dir);
    let cases = go_cases(&src, "TestFileRequired");
    assert_eq!(cases.len(), 11);
    let mut size_cases = 0;
    for case in cases {
        let name = go_field(case, "name").unwrap();
        let path = go_field(case, "path").unwrap();
        let want: bool = go_field(case, "wantRequired").unwrap().parse().unwrap();
        let max: u64 = go_field(case, "maxFileSizeBytes").map_or(0, |m| m.parse().unwrap());
        let size: u64 = go_field(case, "fileSizeBytes").map_or(1000, |s| s.parse().unwrap());
        let got = Python.wants_file(path, 0o100644, size);
        if max > 0 && size > max {
            size_cases += 1;
            assert!(!want && got, "case {name:?}");
        } else {
            assert_eq!(got, want, "case {name:?} ({path})");
        }
    }
    assert_eq!(size_cases, 1);
}

/// The extractor is one of the inventory's: a root filesystem's site-packages, an
/// egg and a wheel are read.
#[test]
fn inventory_of_a_root_filesystem() {
    let Some(dir) = shared_data_path(DIR) else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let files = [
        "distinfo_meta",
        "egginfo",
        "monotonic-1.6-py3.10.egg",
        "monotonic-1.6-py2.py3-none-any.whl",
    ];
    for file in files {
        let to: PathBuf = root.path().join(lookup(IMAGE_PATHS, file).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(dir.join("testdata").join(file), &to).unwrap();
    }
    let inv = patchline_inventory::inventory_rootfs(
        root.path(),
        "dir:test",
        &patchline_inventory::InventoryOptions::default(),
    )
    .unwrap();
    let mut got: Vec<(&str, &str, &str, &str)> = inv
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
    got.sort();
    let path = |f| lookup(IMAGE_PATHS, f).unwrap();
    assert_eq!(
        got,
        [
            (
                "monotonic",
                "1.6",
                path("monotonic-1.6-py3.10.egg"),
                "pkg:pypi/monotonic@1.6"
            ),
            (
                "monotonic",
                "1.6",
                path("monotonic-1.6-py2.py3-none-any.whl"),
                "pkg:pypi/monotonic@1.6"
            ),
            (
                "pip",
                "22.2.2",
                path("distinfo_meta"),
                "pkg:pypi/pip@22.2.2"
            ),
            ("pycups", "2.0.1", path("egginfo"), "pkg:pypi/pycups@2.0.1"),
        ]
    );
    assert!(inv.complete, "{:?}", inv.warnings);
    assert!(inv.warnings.is_empty(), "{:?}", inv.warnings);
}
