//! Language packages read from files an OS package owns are marked `managed_by` it,
//! through real layer tars: dpkg's `info/*.list` (as Debian 12 writes them), distroless
//! `status.d/*.md5sums`, apk's `F:`/`R:` lines and an rpm database's file lists (the real
//! CBL-Mariner database in shared data). A stand-in language extractor reports the files
//! a real one would read.

use std::io::Read;

use patchline_image::LayerDesc;
use patchline_inventory::image::{analyze_layer, squash, FileResult, LayerAnalysis};
use patchline_inventory::{
    extractors, Budget, ExtractError, Extracted, Extractor, InventoryOptions,
};
use patchline_model::{Digest, Ecosystem, ImageInfo, Inventory, Package};
use patchline_test_support::shared_data_path;
use sha2::{Digest as _, Sha256};

/// Reads `Name:` and `Version:` lines from Python metadata and from files in `usr/bin`
/// (standing in for Go binaries' build info).
struct FakeLang;

impl Extractor for FakeLang {
    fn name(&self) -> &'static str {
        "fake-lang"
    }
    fn wants(&self, path: &str) -> bool {
        path.ends_with(".egg-info/PKG-INFO")
            || path.ends_with(".dist-info/METADATA")
            || path.starts_with("usr/bin/")
    }
    fn locations(&self) -> Vec<String> {
        vec![]
    }
    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        let text = String::from_utf8_lossy(content);
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k))
                .map(|v| v.trim().to_string())
        };
        let (Some(name), Some(version)) = (field("Name:"), field("Version:")) else {
            return Ok(Extracted::default());
        };
        let eco = if path.starts_with("usr/bin/") {
            Ecosystem::Golang
        } else {
            Ecosystem::Pypi
        };
        let mut p = Package::new(eco, name, version);
        p.db_path = path.to_string();
        Ok(Extracted {
            packages: vec![p],
            ..Default::default()
        })
    }
}

enum E<'a> {
    File(&'a str, &'a [u8]),
    Whiteout(&'a str),
    Link(&'a str, &'a str),
}

fn layer(index: usize, entries: &[E]) -> (LayerDesc, LayerAnalysis) {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_mtime(0);
        match e {
            E::File(p, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, *data).unwrap();
            }
            E::Whiteout(p) => {
                let (dir, file) = p.rsplit_once('/').unwrap();
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(0);
                b.append_data(&mut h, format!("{dir}/.wh.{file}"), &[][..])
                    .unwrap();
            }
            E::Link(p, t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, p, t).unwrap();
            }
        }
    }
    let tar = b.into_inner().unwrap();
    let desc = LayerDesc {
        index,
        digest: None,
        diff_id: Digest::sha256_from_bytes(&Sha256::digest(&tar)),
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        size: Some(tar.len() as u64),
        created_by: None,
        locator: String::new(),
    };
    let mut ex = extractors();
    ex.push(Box::new(FakeLang));
    let a = analyze_layer(
        &tar[..],
        &desc,
        &InventoryOptions::default(),
        &ex,
        &Budget::unlimited(),
    )
    .unwrap();
    (desc, a)
}

fn inventory(layers: Vec<(LayerDesc, LayerAnalysis)>) -> Inventory {
    let (descs, analyses): (Vec<_>, Vec<_>) = layers.into_iter().unzip();
    squash(ImageInfo::default(), &descs, &analyses)
}

/// (db_path, managed_by) of every language package.
fn managed(inv: &Inventory) -> Vec<(String, Option<String>)> {
    inv.packages
        .iter()
        .filter(|p| !p.ecosystem.is_os())
        .map(|p| (p.db_path.clone(), p.managed_by.clone()))
        .collect()
}

const DEBIAN: &[u8] = b"ID=debian\nVERSION_ID=\"12\"\n";
const STATUS: &[u8] = b"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nArchitecture: amd64\n\n\
Package: python3-xmltodict\nStatus: install ok installed\nVersion: 0.13.0-1\nArchitecture: all\nSource: python-xmltodict\n";
const STATUS_AFTER_PURGE: &[u8] =
    b"Package: bash\nStatus: install ok installed\nVersion: 5.2.15-2+b2\nArchitecture: amd64\n";
/// `var/lib/dpkg/info/python3-xmltodict.list` of Debian 12, as dpkg wrote it.
const LIST: &[u8] = b"/.
/usr
/usr/lib
/usr/lib/python3
/usr/lib/python3/dist-packages
/usr/lib/python3/dist-packages/xmltodict-0.13.0.egg-info
/usr/lib/python3/dist-packages/xmltodict-0.13.0.egg-info/PKG-INFO
/usr/lib/python3/dist-packages/xmltodict-0.13.0.egg-info/dependency_links.txt
/usr/lib/python3/dist-packages/xmltodict-0.13.0.egg-info/top_level.txt
/usr/lib/python3/dist-packages/xmltodict.py
/usr/share
/usr/share/doc
/usr/share/doc/python3-xmltodict
/usr/share/doc/python3-xmltodict/changelog.Debian.gz
/usr/share/doc/python3-xmltodict/copyright
";
const EGG: &str = "usr/lib/python3/dist-packages/xmltodict-0.13.0.egg-info/PKG-INFO";
const VENV: &str = "opt/venv/lib/python3.11/site-packages/xmltodict-0.13.0.dist-info/METADATA";
const PKG_INFO: &[u8] = b"Metadata-Version: 2.1\nName: xmltodict\nVersion: 0.13.0\n";

#[test]
fn dpkg_lists_mark_packages_until_the_os_package_is_purged() {
    let base = || {
        layer(
            0,
            &[
                E::File("etc/os-release", DEBIAN),
                E::File("var/lib/dpkg/status", STATUS),
                E::File("var/lib/dpkg/info/python3-xmltodict.list", LIST),
                E::File("var/lib/dpkg/info/bash.list", b"/.\n/bin\n/bin/bash\n"),
                E::File(EGG, PKG_INFO),
                E::File(VENV, PKG_INFO),
            ],
        )
    };
    let (_, a) = base();
    match &a.files["var/lib/dpkg/info/python3-xmltodict.list"] {
        FileResult::Owned {
            owned, warnings, ..
        } => {
            assert!(warnings.is_empty(), "{warnings:?}");
            let paths: Vec<&str> = owned.iter().map(|(p, _)| p.as_str()).collect();
            assert_eq!(
                paths,
                [
                    "usr/lib/python3/dist-packages/xmltodict-0.13.0.egg-info",
                    EGG
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    let inv = inventory(vec![base()]);
    assert!(
        inv.complete && inv.warnings.is_empty(),
        "{:?}",
        inv.warnings
    );
    // The lists are no database: the same two deb packages.
    let debs: Vec<&str> = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Deb)
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(debs, ["bash", "python3-xmltodict"]);
    assert_eq!(
        managed(&inv),
        [
            (VENV.into(), None),
            (EGG.into(), Some("python3-xmltodict".into()))
        ]
    );

    // `apt-get purge python3-xmltodict`, the egg-info left (a copy pip put back).
    let purge = layer(
        1,
        &[
            E::File("var/lib/dpkg/status", STATUS_AFTER_PURGE),
            E::Whiteout("var/lib/dpkg/info/python3-xmltodict.list"),
        ],
    );
    let inv = inventory(vec![base(), purge]);
    assert!(inv.complete, "{:?}", inv.warnings);
    assert_eq!(managed(&inv), [(VENV.into(), None), (EGG.into(), None)]);
}

/// A list that is a link (not followed while streaming) or unreadable costs only the
/// ownership it tells; the inventory stays complete.
#[test]
fn broken_or_linked_lists_only_warn() {
    let inv = inventory(vec![layer(
        0,
        &[
            E::File("etc/os-release", DEBIAN),
            E::File("var/lib/dpkg/status", STATUS),
            E::Link(
                "var/lib/dpkg/info/python3-xmltodict.list",
                "/opt/lists/python3-xmltodict.list",
            ),
            E::File("var/lib/dpkg/info/bash.list", b"bin/bash\n/bin/bash\n"),
            E::File(EGG, PKG_INFO),
        ],
    )]);
    assert!(inv.complete, "{:?}", inv.warnings);
    assert_eq!(inv.warnings.len(), 1, "{:?}", inv.warnings);
    let w = &inv.warnings[0];
    assert_eq!(w.source, "extractor:dpkg-files");
    assert!(w.location.ends_with("var/lib/dpkg/info/bash.list"), "{w:?}");
    assert!(
        w.message.contains("1 line is not an absolute path"),
        "{w:?}"
    );
    assert_eq!(managed(&inv), [(EGG.into(), None)]);
}

/// Distroless: one stanza file per package in `status.d`, with its `.md5sums` beside.
#[test]
fn distroless_md5sums() {
    let inv = inventory(vec![layer(
        0,
        &[
            E::File("etc/os-release", DEBIAN),
            E::File(
                "var/lib/dpkg/status.d/python3-xmltodict",
                b"Package: python3-xmltodict\nVersion: 0.13.0-1\nArchitecture: all\n",
            ),
            E::File(
                "var/lib/dpkg/status.d/python3-xmltodict.md5sums",
                b"ca50e07b0670123b29bfd80946f2b6ab  usr/lib/python3/dist-packages/xmltodict-0.13.0.egg-info/PKG-INFO\n\
2a009b2f1e6d1b0069797e6d0139c67e  usr/lib/python3/dist-packages/xmltodict-0.13.0.egg-info/top_level.txt\n",
            ),
            E::File(EGG, PKG_INFO),
        ],
    )]);
    assert!(
        inv.complete && inv.warnings.is_empty(),
        "{:?}",
        inv.warnings
    );
    assert_eq!(inv.packages.len(), 2);
    assert_eq!(
        managed(&inv),
        [(EGG.into(), Some("python3-xmltodict".into()))]
    );
}

#[test]
fn apk_folders_and_files() {
    let db = b"P:py3-xmltodict\nV:0.13.0-r2\nA:noarch\no:py3-xmltodict\n\
F:usr/lib/python3.11/site-packages/xmltodict-0.13.0-py3.11.egg-info\nR:PKG-INFO\nZ:Q1abc=\nR:top_level.txt\n\
\n\
P:musl\nV:1.2.4-r2\nF:lib\nR:ld-musl-x86_64.so.1\n";
    let egg = "usr/lib/python3.11/site-packages/xmltodict-0.13.0-py3.11.egg-info/PKG-INFO";
    let inv = inventory(vec![layer(
        0,
        &[
            E::File("etc/os-release", b"ID=alpine\nVERSION_ID=3.19.1\n"),
            E::File("lib/apk/db/installed", db),
            E::File(egg, PKG_INFO),
        ],
    )]);
    assert!(
        inv.complete && inv.warnings.is_empty(),
        "{:?}",
        inv.warnings
    );
    assert_eq!(managed(&inv), [(egg.into(), Some("py3-xmltodict".into()))]);
}

/// CBL-Mariner's curl package owns `/usr/bin/curl`: a (stand-in) Go binary there is
/// curl's; one rpm owns no file of is nobody's.
#[test]
fn rpm_file_lists() {
    let Some(path) = shared_data_path("pkgdb/go-rpmdb/cbl-mariner-2.0/rpmdb.sqlite") else {
        return;
    };
    let mut db = Vec::new();
    std::fs::File::open(path)
        .unwrap()
        .read_to_end(&mut db)
        .unwrap();
    let go = b"Name: example.com/curl-wrapper\nVersion: v1.0.0\n";
    let inv = inventory(vec![layer(
        0,
        &[
            E::File("etc/os-release", b"ID=mariner\nVERSION_ID=2.0\n"),
            E::File("var/lib/rpm/rpmdb.sqlite", &db),
            E::File("usr/bin/curl", go),
            E::File("usr/bin/mytool", go),
        ],
    )]);
    assert!(
        inv.complete && inv.warnings.is_empty(),
        "{:?}",
        inv.warnings
    );
    assert_eq!(
        managed(&inv),
        [
            ("usr/bin/curl".into(), Some("curl".into())),
            ("usr/bin/mytool".into(), None)
        ]
    );
}
