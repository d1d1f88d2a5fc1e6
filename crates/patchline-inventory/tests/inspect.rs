//! The inspector hook: checks see every entry and the files they ask for during the one
//! layer walk, a file both an extractor and an inspector want is read once for both, and
//! the squash gives each finding its layer and says which a later layer deleted.

use std::sync::Arc;

use patchline_image::layer::EntryKind;
use patchline_image::LayerDesc;
use patchline_inventory::image::{analyze_layer, squash};
use patchline_inventory::{extractors, Budget, Inspector, InventoryOptions};
use patchline_model::check::CheckFinding;
use patchline_model::vuln::Severity;
use patchline_model::{Digest, ImageInfo};
use sha2::{Digest as _, Sha256};

/// Flags world-writable directories by mode and files that contain `TOKEN=`.
#[derive(Debug)]
struct Toy;

impl Inspector for Toy {
    fn name(&self) -> &'static str {
        "toy-1"
    }
    fn entry(
        &self,
        _path: &str,
        kind: &EntryKind,
        mode: u32,
        _size: u64,
        out: &mut Vec<CheckFinding>,
    ) {
        if matches!(kind, EntryKind::Dir) && mode & 0o002 != 0 {
            out.push(CheckFinding::new(
                "fs.world-writable",
                Severity::Medium,
                "dir",
                "chmod o-w",
            ));
        }
    }
    fn wants_content(&self, _path: &str, _mode: u32, _size: u64) -> bool {
        true
    }
    fn max_content_bytes(&self) -> u64 {
        1 << 20
    }
    fn content(&self, _path: &str, bytes: &[u8], out: &mut Vec<CheckFinding>) {
        if bytes.windows(6).any(|w| w == b"TOKEN=") {
            out.push(CheckFinding::new(
                "secret.toy",
                Severity::High,
                "token",
                "remove it",
            ));
        }
    }
}

enum E<'a> {
    Dir(&'a str, u32),
    File(&'a str, &'a [u8]),
    Whiteout(&'a str),
}

fn tar(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(0);
        match e {
            E::Dir(p, mode) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*mode);
                h.set_size(0);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            E::File(p, data) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, *data).unwrap();
            }
            E::Whiteout(p) => {
                let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
                let wh = if dir.is_empty() {
                    format!(".wh.{name}")
                } else {
                    format!("{dir}/.wh.{name}")
                };
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(0o644);
                h.set_size(0);
                b.append_data(&mut h, wh, &[][..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn desc(index: usize, tar: &[u8]) -> LayerDesc {
    LayerDesc {
        index,
        digest: None,
        diff_id: Digest::sha256_from_bytes(&Sha256::digest(tar)),
        media_type: "application/vnd.oci.image.layer.v1.tar".into(),
        size: Some(tar.len() as u64),
        created_by: None,
        locator: String::new(),
    }
}

#[test]
fn inspectors_ride_the_walk_and_the_squash_marks_deleted_files() {
    let opts = InventoryOptions {
        inspectors: vec![Arc::new(Toy)],
        ..InventoryOptions::default()
    };
    let status = b"Package: tzdata\nStatus: install ok installed\nVersion: 2024a-0+deb12u1\nArchitecture: all\n\nTOKEN=in-a-database\n";
    let layers = [
        tar(&[
            E::Dir("tmp", 0o1777),
            E::Dir("srv/drop", 0o777),
            E::File("root/.env", b"TOKEN=abc\n"),
            E::File("var/lib/dpkg/status", status),
        ]),
        tar(&[E::Whiteout("root/.env"), E::Dir("srv/drop", 0o755)]),
    ];
    let descs: Vec<LayerDesc> = layers.iter().enumerate().map(|(i, t)| desc(i, t)).collect();
    let budget = Budget::unlimited();
    let analyses: Vec<_> = layers
        .iter()
        .zip(&descs)
        .map(|(t, d)| analyze_layer(&t[..], d, &opts, &extractors(), &budget).unwrap())
        .collect();
    let inv = squash(ImageInfo::default(), &descs, &analyses);

    // The extractor still read the database the inspector read too.
    assert_eq!(inv.packages.len(), 1, "{:?}", inv.warnings);
    let got: Vec<(String, String, usize, Option<usize>)> = inv
        .checks
        .iter()
        .map(|f| {
            (
                f.id.clone(),
                f.path.clone().unwrap_or_default(),
                f.layer.as_ref().unwrap().index,
                f.removed_in.as_ref().map(|l| l.index),
            )
        })
        .collect();
    // `tmp` is world-writable with the sticky bit: the toy flags it anyway; the checks
    // crate is where the sticky bit is judged. `srv/drop` was fixed by layer 1 only in
    // mode, which the toy does not flag, so the layer-0 finding stays (a limitation the
    // checks document: a later chmod is only seen when the check flags the new mode).
    assert_eq!(
        got,
        vec![
            ("fs.world-writable".into(), "tmp".into(), 0, None),
            ("fs.world-writable".into(), "srv/drop".into(), 0, None),
            ("secret.toy".into(), "root/.env".into(), 0, Some(1)),
            ("secret.toy".into(), "var/lib/dpkg/status".into(), 0, None),
        ]
    );
}
