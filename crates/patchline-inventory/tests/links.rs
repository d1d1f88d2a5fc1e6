//! Symlinks whose target has more `..` than the link has parents are harmless (the
//! kernel stops `..` at `/`): an image holding one is scanned, through a layer tar and
//! through `dir:` alike, and a link is resolved inside the image the same way in both.

use std::path::Path;

use patchline_image::LayerDesc;
use patchline_inventory::image::{analyze_layer, squash, LayerAnalysis};
use patchline_inventory::{extractors, inventory_rootfs, InventoryOptions};
use patchline_model::{Digest, ImageInfo, Inventory};
use patchline_test_support::shared_data_path;
use sha2::{Digest as _, Sha256};

const APK_DB: &str = "pkgdb/trivy/apk/lib/apk/db/installed";
const OS_RELEASE: &[u8] = b"NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.18.4\n";

/// (path, file content or symlink target)
enum E<'a> {
    File(&'a str, &'a [u8]),
    Link(&'a str, &'a str),
}

/// The image: the apk database at its place, os-release reached only through a link with
/// `..` past the root, and the link from the issue.
fn entries(db: &[u8]) -> Vec<E<'_>> {
    vec![
        E::File("lib/apk/db/installed", db),
        E::File("usr/lib/os-release", OS_RELEASE),
        E::Link("etc/os-release", "../../../../usr/lib/os-release"),
        E::Link("usr/lib/foo", "../../../../lib/foo"),
        E::Link("usr/lib/apk-db", "/../../lib/apk/db/installed"),
    ]
}

fn layer_tar(entries: &[E]) -> Vec<u8> {
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
            E::Link(p, t) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, p, t).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// The descriptor of a one-layer image made of `tar`.
fn layer_desc(tar: &[u8]) -> LayerDesc {
    LayerDesc {
        index: 0,
        digest: None,
        diff_id: Digest::sha256_from_bytes(&Sha256::digest(tar)),
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        size: Some(tar.len() as u64),
        created_by: None,
        locator: String::new(),
    }
}

fn write_rootfs(dir: &Path, entries: &[E]) {
    for e in entries {
        let (p, abs) = match e {
            E::File(p, _) | E::Link(p, _) => (p, dir.join(p)),
        };
        std::fs::create_dir_all(abs.parent().unwrap()).unwrap();
        match e {
            E::File(_, data) => std::fs::write(&abs, data).unwrap(),
            E::Link(_, t) => std::os::unix::fs::symlink(t, &abs)
                .unwrap_or_else(|err| panic!("symlink {p}: {err}")),
        }
    }
}

fn check(inv: &Inventory) {
    assert!(inv.complete, "{:?}", inv.warnings);
    // The trivy database has one record without a version, on purpose; nothing else.
    assert!(
        inv.warnings.iter().all(|w| w.source == "extractor:apk"),
        "{:?}",
        inv.warnings
    );
    assert_eq!(
        inv.packages.len(),
        15,
        "the trivy apk database has 15 packages"
    );
    assert!(inv.packages.iter().any(|p| p.name == "musl"));
    let distro = inv
        .distro
        .as_ref()
        .expect("os-release found through the link");
    assert_eq!(distro.id, "alpine");
    assert_eq!(distro.version_id.as_deref(), Some("3.18.4"));
}

#[test]
fn layer_with_dotdot_past_root_links_is_scanned() {
    let Some(db) = shared_data_path(APK_DB) else {
        return;
    };
    let db = std::fs::read(db).unwrap();
    let (desc, a) = analyze(&entries(&db)).expect("a link with too many `..` is not an error");
    assert_eq!(
        a.symlinks.get("usr/lib/foo").map(String::as_str),
        Some("../../../../lib/foo")
    );
    check(&squash(ImageInfo::default(), &[desc], &[a]));
}

#[test]
fn rootfs_with_dotdot_past_root_links_is_scanned() {
    let Some(db) = shared_data_path(APK_DB) else {
        return;
    };
    let db = std::fs::read(db).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_rootfs(dir.path(), &entries(&db));
    let inv = inventory_rootfs(dir.path(), "dir:test", &InventoryOptions::default()).unwrap();
    check(&inv);
}

/// A loop is a warning, never an error, and the scan goes on.
#[test]
fn symlink_loop_is_a_warning() {
    let Some(db) = shared_data_path(APK_DB) else {
        return;
    };
    let db = std::fs::read(db).unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_rootfs(
        dir.path(),
        &[
            E::File("lib/apk/db/installed", &db),
            E::Link("etc/os-release", "../../../usr/lib/os-release"),
            E::Link("usr/lib/os-release", "/etc/os-release"),
        ],
    );
    let inv = inventory_rootfs(dir.path(), "dir:test", &InventoryOptions::default()).unwrap();
    assert_eq!(inv.packages.len(), 15);
    let w: Vec<_> = inv
        .warnings
        .iter()
        .filter(|w| w.message.contains("symlink loop"))
        .collect();
    assert!(!w.is_empty(), "{:?}", inv.warnings);
    assert!(w.iter().any(|w| w.location == "etc/os-release"), "{w:?}");
}

/// A package database that is itself a symlink (to a file no extractor kept while the
/// layer streamed) is not reported as "no packages": the inventory is incomplete and a
/// warning names the link and its target.
#[test]
fn symlinked_package_database_makes_the_inventory_incomplete() {
    let Some(db) = shared_data_path(APK_DB) else {
        return;
    };
    let db = std::fs::read(db).unwrap();
    let entries = [
        E::File("usr/lib/os-release", OS_RELEASE),
        E::Link("etc/os-release", "../usr/lib/os-release"),
        E::File("var/apk-db", &db),
        E::Link("lib/apk/db/installed", "../../../var/apk-db"),
    ];
    for (name, inv) in as_dir_and_layer(&entries) {
        assert!(!inv.complete, "{name}: {:?}", inv.warnings);
        assert!(
            inv.warnings
                .iter()
                .any(|w| w.location.contains("lib/apk/db/installed")
                    && w.message.contains("is a symlink")
                    && w.message.contains("var/apk-db")),
            "{name}: {:?}",
            inv.warnings
        );
    }
}

/// A database path that links to another database path that was read is complete.
#[test]
fn database_link_to_a_read_database_is_complete() {
    let Some(db) = shared_data_path(APK_DB) else {
        return;
    };
    let db = std::fs::read(db).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Two wanted paths for dpkg: the status file links to a status.d entry.
    let status = b"Package: base-files\nStatus: install ok installed\nVersion: 12.4\nArchitecture: amd64\n\n";
    write_rootfs(
        dir.path(),
        &[
            E::File("lib/apk/db/installed", &db),
            E::File("var/lib/dpkg/status.d/base", status),
            E::Link("var/lib/dpkg/status", "status.d/base"),
        ],
    );
    let inv = inventory_rootfs(dir.path(), "dir:test", &InventoryOptions::default()).unwrap();
    assert!(
        !inv.warnings
            .iter()
            .any(|w| w.message.contains("is a symlink")),
        "{:?}",
        inv.warnings
    );
}

/// `entries` as a one-layer image: its descriptor and the layer's analysis.
fn analyze(entries: &[E]) -> Result<(LayerDesc, LayerAnalysis), patchline_image::ImageError> {
    let tar = layer_tar(entries);
    let desc = layer_desc(&tar);
    let a = analyze_layer(
        &tar[..],
        &desc,
        &InventoryOptions::default(),
        &extractors(),
        &patchline_inventory::Budget::unlimited(),
    )?;
    Ok((desc, a))
}

/// The inventory of `entries` read as a root filesystem and as a layer.
fn as_dir_and_layer(entries: &[E]) -> [(&'static str, Inventory); 2] {
    let dir = tempfile::tempdir().unwrap();
    write_rootfs(dir.path(), entries);
    let from_dir = inventory_rootfs(dir.path(), "dir:test", &InventoryOptions::default()).unwrap();
    let (desc, a) = analyze(entries).unwrap();
    [
        ("dir:", from_dir),
        ("layer", squash(ImageInfo::default(), &[desc], &[a])),
    ]
}

/// A database home reached only through a directory symlink (`lib/apk -> ../opt/apk`,
/// a `status.d` directory linked elsewhere) is not reported as "no packages".
#[test]
fn database_behind_a_directory_symlink_makes_the_inventory_incomplete() {
    let Some(db) = shared_data_path(APK_DB) else {
        return;
    };
    let db = std::fs::read(db).unwrap();
    let status = b"Package: base-files\nStatus: install ok installed\nVersion: 12.4\nArchitecture: amd64\n\n";
    for (entries, home) in [
        (
            vec![
                E::File("usr/lib/os-release", OS_RELEASE),
                E::File("opt/apk/db/installed", &db),
                E::Link("lib/apk", "../opt/apk"),
            ],
            "lib/apk/db/installed leads here",
        ),
        (
            vec![
                E::File("srv/status.d/base", status),
                E::Link("var/lib/dpkg/status.d", "/srv/status.d"),
            ],
            "var/lib/dpkg/status.d leads here",
        ),
    ] {
        for (name, inv) in as_dir_and_layer(&entries) {
            assert!(!inv.complete, "{name}: {:?}", inv.warnings);
            assert!(
                inv.warnings
                    .iter()
                    .any(|w| w.message.contains(home) && w.message.contains("directory symlink")),
                "{name}: {:?}",
                inv.warnings
            );
        }
    }
    // Merged /usr links and files that only share a database's name are no concern.
    let entries = [
        E::File("lib/apk/db/installed", &db),
        E::Link("bin", "usr/bin"),
        E::Link("sbin", "usr/sbin"),
        E::File("usr/share/doc/status", b"not a database"),
        E::File("home/app/installed", b"neither"),
    ];
    for (name, inv) in as_dir_and_layer(&entries) {
        assert!(inv.complete, "{name}: {:?}", inv.warnings);
        assert!(!inv.packages.is_empty(), "{name}");
    }
}

/// A Go binary and a hard link to it, as `ln` or a package's install script leaves them:
/// the binary is listed once (its packages keep the first path), and still when a later
/// layer deletes that path and leaves the link.
#[test]
fn hard_linked_binaries_are_listed_once_and_survive_the_target() {
    let Some(bin) = shared_data_path(
        "language/osv-scalibr/golang/gobinary/testdata/binary_with_module_replacement-linux-amd64",
    ) else {
        return;
    };
    let bin = std::fs::read(bin).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(bin.len() as u64);
    b.append_data(&mut h, "usr/bin/app", &bin[..]).unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    b.append_link(&mut h, "usr/local/bin/app", "usr/bin/app")
        .unwrap();
    let tar = b.into_inner().unwrap();
    let desc = layer_desc(&tar);
    let a = analyze_layer(
        &tar[..],
        &desc,
        &InventoryOptions::default(),
        &extractors(),
        &patchline_inventory::Budget::unlimited(),
    )
    .unwrap();
    assert!(
        matches!(
            a.files.get("usr/local/bin/app"),
            Some(patchline_inventory::image::FileResult::Packages { packages, .. }) if !packages.is_empty()
        ),
        "{:?}",
        a.files.keys().collect::<Vec<_>>()
    );
    let go = |inv: &Inventory| {
        let mut v: Vec<(String, String)> = inv
            .packages
            .iter()
            .map(|p| (p.name.clone(), p.db_path.clone()))
            .collect();
        v.sort();
        v
    };
    let one = squash(
        ImageInfo::default(),
        std::slice::from_ref(&desc),
        std::slice::from_ref(&a),
    );
    assert!(
        one.complete && one.warnings.is_empty(),
        "{:?}",
        one.warnings
    );
    assert!(!one.packages.is_empty());
    assert!(one.packages.iter().all(|p| p.db_path == "usr/bin/app"));
    // The target's path deleted by a later layer: the link still holds the binary.
    let mut gone = LayerAnalysis::default();
    gone.whiteouts.push("usr/bin/app".into());
    let mut desc2 = desc.clone();
    desc2.index = 1;
    let after = squash(ImageInfo::default(), &[desc, desc2], &[a, gone]);
    assert_eq!(go(&after), go(&one));
    // A hard link to a file that is nobody's binary is not kept.
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_mode(0o755);
    h.set_mtime(0);
    h.set_size(4);
    b.append_data(&mut h, "usr/bin/sh", &b"\x7fELF"[..])
        .unwrap();
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Link);
    h.set_size(0);
    b.append_link(&mut h, "bin/sh", "usr/bin/sh").unwrap();
    let tar = b.into_inner().unwrap();
    let a = analyze_layer(
        &tar[..],
        &layer_desc(&tar),
        &InventoryOptions::default(),
        &extractors(),
        &patchline_inventory::Budget::unlimited(),
    )
    .unwrap();
    assert!(
        !a.files.contains_key("bin/sh"),
        "{:?}",
        a.files.keys().collect::<Vec<_>>()
    );
}
