//! Layer streaming on real tar/gzip/zstd blobs built here, including hostile ones.

use std::io::{Read, Write};
use std::path::Path;

use patchline_image::layer::{self, EntryKind, Limits};
use patchline_image::source::{ImageSource, OpenOptions};
use patchline_image::{ImageError, ImageRef};
use patchline_model::Digest;
use patchline_test_support::oci;
use sha2::{Digest as _, Sha256};

fn sha(b: &[u8]) -> Digest {
    Digest::sha256_from_bytes(&Sha256::digest(b))
}

/// A tar entry spec. Paths are written verbatim into the header (bypassing the tar
/// crate's own path checks) so hostile names can be produced.
enum E<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
}

fn raw_header(name: &str, kind: tar::EntryType, size: u64, link: Option<&str>) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    {
        let old = h.as_old_mut();
        old.name = [0; 100];
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            old.linkname = [0; 100];
            old.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_cksum();
    h
}

fn tar_of(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            E::File(p, data) => {
                let h = raw_header(p, tar::EntryType::Regular, data.len() as u64, None);
                b.append(&h, *data).unwrap();
            }
            E::Dir(p) => b
                .append(&raw_header(p, tar::EntryType::Directory, 0, None), &[][..])
                .unwrap(),
            E::Symlink(p, t) => b
                .append(&raw_header(p, tar::EntryType::Symlink, 0, Some(t)), &[][..])
                .unwrap(),
            E::Hardlink(p, t) => b
                .append(&raw_header(p, tar::EntryType::Link, 0, Some(t)), &[][..])
                .unwrap(),
        }
    }
    b.into_inner().unwrap()
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

/// Writes an OCI layout with one image (tag `t`) made of the given (blob, diff_id) layers.
fn write_layout(dir: &Path, layers: &[(Vec<u8>, Digest)]) {
    let layers: Vec<oci::Layer> = layers
        .iter()
        .map(|(blob, diff_id)| oci::Layer {
            digest: oci::put_blob(dir, blob),
            size: blob.len() as u64,
            diff_id: diff_id.to_string(),
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
        })
        .collect();
    oci::write_layout(dir, "t", &layers);
}

fn open_tag(dir: &Path, tag: &str) -> Result<Box<dyn ImageSource>, ImageError> {
    let raw = format!("oci:{}:{tag}", dir.display());
    patchline_image::open(
        &ImageRef::parse(&raw).unwrap(),
        &raw,
        &OpenOptions::default(),
    )
}

fn open(dir: &Path) -> Box<dyn ImageSource> {
    open_tag(dir, "t").unwrap()
}

/// Walks every layer of the layout's image, collecting (path, kind) pairs.
fn walk_all(dir: &Path, limits: &Limits) -> Result<Vec<(String, EntryKind, Vec<u8>)>, ImageError> {
    let src = open(dir);
    let img = src.resolve()?;
    let mut out = Vec::new();
    for l in &img.layers {
        let blob = src.open_layer(l)?;
        layer::walk(blob, l, limits, &mut |e| {
            let content = if e.kind == EntryKind::File {
                let mut buf = Vec::new();
                e.reader()
                    .read_to_end(&mut buf)
                    .map_err(|err| ImageError::invalid(e.path.clone(), err.to_string()))?;
                buf
            } else {
                vec![]
            };
            out.push((e.path.clone(), e.kind.clone(), content));
            Ok(())
        })?;
    }
    Ok(out)
}

fn layer_with(entries: &[E]) -> (Vec<u8>, Digest) {
    let t = tar_of(entries);
    let d = sha(&t);
    (gzip(&t), d)
}

#[test]
fn walks_gzip_zstd_plain_with_whiteouts_and_links() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = tar_of(&[
        E::Dir("./etc/"),
        E::File("./etc/os-release", b"ID=debian\n"),
        E::Symlink("usr/lib/os-release", "../../etc/os-release"),
        E::Hardlink("etc/os-release.bak", "./etc/os-release"),
    ]);
    let t1 = tar_of(&[
        E::File("var/.wh.cache", b""),
        E::File("opt/.wh..wh..opq", b""),
        E::File("opt/x", b"1"),
    ]);
    let t2 = tar_of(&[
        E::File("abs-target", b""),
        E::Symlink("abs", "/etc/os-release"),
    ]);
    let zstd_blob = zstd::encode_all(&t1[..], 3).unwrap();
    write_layout(
        dir.path(),
        &[
            (gzip(&t0), sha(&t0)),
            (zstd_blob, sha(&t1)),
            (t2.clone(), sha(&t2)),
        ],
    );
    let got = walk_all(dir.path(), &Limits::default()).unwrap();
    let find = |p: &str| {
        got.iter()
            .find(|(q, _, _)| q == p)
            .unwrap_or_else(|| panic!("{p} missing: {got:?}"))
    };
    assert_eq!(find("etc/os-release").2, b"ID=debian\n");
    assert_eq!(
        find("usr/lib/os-release").1,
        EntryKind::Symlink("../../etc/os-release".into())
    );
    assert_eq!(
        find("etc/os-release.bak").1,
        EntryKind::Hardlink("etc/os-release".into())
    );
    assert_eq!(find("var/cache").1, EntryKind::Whiteout);
    assert_eq!(find("opt").1, EntryKind::OpaqueDir);
    assert_eq!(find("abs").1, EntryKind::Symlink("/etc/os-release".into()));
}

fn expect_err(dir: &Path, limits: &Limits, needle: &str) -> String {
    let e = walk_all(dir, limits).unwrap_err().to_string();
    assert!(e.contains(needle), "error {e:?} should mention {needle:?}");
    e
}

#[test]
fn truncated_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let (blob, d) = layer_with(&[E::File("etc/big", &vec![7u8; 200_000])]);
    // The manifest digest names the truncated blob, so only the stream itself can tell.
    let cut = blob[..blob.len() / 2].to_vec();
    write_layout(dir.path(), &[(cut, d)]);
    let e = expect_err(dir.path(), &Limits::default(), "etc/big");
    assert!(e.contains("incomplete deflate stream"), "{e}");
    // Cut inside the tar headers' region, the walker itself reports it.
    let dir = tempfile::tempdir().unwrap();
    let (blob, d) = layer_with(&[E::File("etc/a", b"a"), E::File("etc/b", b"b")]);
    write_layout(dir.path(), &[(blob[..30].to_vec(), d)]);
    let e = expect_err(dir.path(), &Limits::default(), "layer 0");
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn blob_digest_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let (blob, d) = layer_with(&[E::File("etc/a", b"a")]);
    write_layout(dir.path(), &[(blob.clone(), d)]);
    // Change the blob behind its digest name, keeping its size: a byte of the gzip
    // header's mtime, which decoders ignore.
    let mut other = blob.clone();
    other[4] ^= 0xff;
    std::fs::write(
        dir.path().join("blobs/sha256").join(sha(&blob).hex()),
        other,
    )
    .unwrap();
    expect_err(dir.path(), &Limits::default(), "blob digest mismatch");
}

#[test]
fn local_blob_longer_or_shorter_than_its_descriptor() {
    // A local OCI descriptor's size is enforced as a registry's is: reading stops one
    // byte past it.
    let dir = tempfile::tempdir().unwrap();
    let (blob, d) = layer_with(&[E::File("etc/a", b"a")]);
    write_layout(dir.path(), &[(blob.clone(), d.clone())]);
    let path = dir.path().join("blobs/sha256").join(sha(&blob).hex());
    let mut longer = blob.clone();
    longer.extend(std::iter::repeat_n(0u8, 1 << 20));
    std::fs::write(&path, &longer).unwrap();
    let e = expect_err(dir.path(), &Limits::default(), "blob size mismatch");
    assert!(
        e.contains(&format!("more than the {} bytes", blob.len())),
        "{e}"
    );
    std::fs::write(&path, &blob[..blob.len() - 1]).unwrap();
    expect_err(dir.path(), &Limits::default(), "layer 0");
}

#[test]
fn diff_id_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let (blob, _) = layer_with(&[E::File("etc/a", b"a")]);
    write_layout(dir.path(), &[(blob, sha(b"something else"))]);
    expect_err(dir.path(), &Limits::default(), "diff_id mismatch");
}

#[test]
fn dotdot_and_absolute_paths() {
    for (entries, needle) in [
        (vec![E::File("../../etc/passwd", b"x")], "contains '..'"),
        (vec![E::File("a/../../b", b"x")], "contains '..'"),
        (vec![E::File("/etc/passwd", b"x")], "absolute path"),
        (vec![E::Hardlink("etc/evil", "../etc/shadow")], "hard link"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let l = layer_with(&entries);
        write_layout(dir.path(), &[l]);
        expect_err(dir.path(), &Limits::default(), needle);
    }
}

/// Entry names with `..` are refused (above); a symlink *target* with `..` past the root
/// is harmless, as in the kernel, where `..` at `/` stays at `/`.
#[test]
fn symlink_with_too_many_dotdots_is_walked() {
    let dir = tempfile::tempdir().unwrap();
    let l = layer_with(&[
        E::Symlink("usr/lib/foo", "../../../../lib/foo"),
        E::Symlink("etc/shadow-link", "../../../../etc/shadow"),
        E::File("lib/foo", b"x"),
    ]);
    write_layout(dir.path(), &[l]);
    let got = walk_all(dir.path(), &Limits::default()).unwrap();
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].1, EntryKind::Symlink("../../../../lib/foo".into()));
    assert_eq!(
        layer::resolve_link(&got[0].0, "../../../../lib/foo"),
        "lib/foo"
    );
}

#[test]
fn decompression_bomb_and_entry_count() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 64 << 20];
    let l = layer_with(&[E::File("bomb", &zeros)]);
    assert!(l.0.len() < 1 << 20, "the bomb compresses well");
    write_layout(dir.path(), &[l]);
    let limits = Limits {
        max_layer_bytes: 8 << 20,
        max_entries: 1000,
    };
    expect_err(dir.path(), &limits, "decompression bomb");

    let dir = tempfile::tempdir().unwrap();
    let names: Vec<String> = (0..50).map(|i| format!("f{i}")).collect();
    let entries: Vec<E> = names.iter().map(|n| E::File(n, b"")).collect();
    write_layout(dir.path(), &[layer_with(&entries)]);
    let limits = Limits {
        max_layer_bytes: 1 << 30,
        max_entries: 10,
    };
    expect_err(dir.path(), &limits, "more than 10 entries");
}

#[test]
fn missing_blob_and_unknown_tag() {
    let dir = tempfile::tempdir().unwrap();
    let (blob, d) = layer_with(&[E::File("etc/a", b"a")]);
    write_layout(dir.path(), &[(blob.clone(), d)]);
    std::fs::remove_file(dir.path().join("blobs/sha256").join(sha(&blob).hex())).unwrap();
    let src = open(dir.path());
    let img = src.resolve().unwrap();
    let e = match src.open_layer(&img.layers[0]) {
        Ok(_) => panic!("opened a missing blob"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("not found") && e.contains(&sha(&blob).to_string()),
        "{e}"
    );

    let raw = format!("oci:{}:nope", dir.path().display());
    let src = patchline_image::open(
        &ImageRef::parse(&raw).unwrap(),
        &raw,
        &OpenOptions::default(),
    )
    .unwrap();
    let e = src.resolve().unwrap_err().to_string();
    assert!(
        e.contains("no image tagged \"nope\"") && e.contains("tags: t"),
        "{e}"
    );
}

#[test]
fn not_a_layout_and_unknown_transport() {
    let dir = tempfile::tempdir().unwrap();
    let raw = format!("oci:{}", dir.path().display());
    let e = match patchline_image::open(
        &ImageRef::parse(&raw).unwrap(),
        &raw,
        &OpenOptions::default(),
    ) {
        Ok(_) => panic!("opened an empty dir"),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("not an OCI image layout"), "{e}");
    let e = ImageRef::parse("podman:whatever").unwrap_err().to_string();
    assert!(e.contains("unknown transport \"podman\""), "{e}");
}

#[test]
fn blob_reads_are_streamed() {
    // A layer is read through a plain `Read`: walking never needs the blob in memory.
    let (blob, d) = layer_with(&[E::File("etc/a", b"a")]);
    let desc = patchline_image::LayerDesc {
        index: 0,
        digest: Some(sha(&blob)),
        diff_id: d,
        media_type: String::new(),
        size: None,
        created_by: None,
        locator: String::new(),
    };
    struct OneByte<'a>(&'a [u8]);
    impl Read for OneByte<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }
    let stats = layer::walk(OneByte(&blob), &desc, &Limits::default(), &mut |_| Ok(())).unwrap();
    assert_eq!(stats.entries, 1);
    assert_eq!(stats.compressed_bytes, blob.len() as u64);
}

/// Adds an entry to the layout's `index.json`.
fn add_index_entry(dir: &Path, entry: serde_json::Value) {
    let path = dir.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    index["manifests"].as_array_mut().unwrap().push(entry);
    std::fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
}

#[test]
fn a_broken_index_entry_fails_only_its_own_tag() {
    let dir = tempfile::tempdir().unwrap();
    let (blob, d) = layer_with(&[E::File("etc/a", b"a")]);
    write_layout(dir.path(), &[(blob, d)]);
    add_index_entry(
        dir.path(),
        serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": "sha256:zz", "size": 1,
            "annotations": {"org.opencontainers.image.ref.name": "bad"}}),
    );
    open(dir.path()).resolve().unwrap();
    let e = match open_tag(dir.path(), "bad").and_then(|s| s.resolve()) {
        Ok(_) => panic!("a broken entry resolved"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("entry 2 (tag \"bad\"): invalid descriptor: invalid digest"),
        "{e}"
    );
    // A well-formed JSON value that is not valid is not called malformed JSON.
    assert!(!e.contains("malformed JSON"), "{e}");
}

#[test]
fn nested_index_without_platform_is_descended_or_explained() {
    let dir = tempfile::tempdir().unwrap();
    let (blob, d) = layer_with(&[E::File("etc/a", b"a")]);
    write_layout(dir.path(), &[(blob, d)]);
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let mut manifest = index["manifests"][0].clone();
    // The host's platform, which the resolver picks by default.
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    manifest["platform"] = serde_json::json!({"os": "linux", "architecture": arch});
    manifest["annotations"] = serde_json::json!({});
    let inner = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [manifest]}))
    .unwrap();
    let inner_digest = oci::put_blob(dir.path(), &inner);
    let nested = |tag: &str| {
        serde_json::json!({"mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": inner_digest, "size": inner.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag}})
    };
    add_index_entry(dir.path(), nested("one"));
    let img = open_tag(dir.path(), "one").unwrap().resolve().unwrap();
    assert_eq!(img.layers.len(), 1);

    // An index of two platform-less indexes: the message says why nothing matched.
    let two = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [nested("x"), nested("y")]}))
    .unwrap();
    let two_digest = oci::put_blob(dir.path(), &two);
    add_index_entry(
        dir.path(),
        serde_json::json!({"mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": two_digest, "size": two.len(),
            "annotations": {"org.opencontainers.image.ref.name": "two"}}),
    );
    let e = match open_tag(dir.path(), "two").unwrap().resolve() {
        Ok(_) => panic!("resolved an ambiguous nested index"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("available: none named: 2 entries carry no platform"),
        "{e}"
    );
}
