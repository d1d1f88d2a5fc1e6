//! Bad input: a clear error naming what and where, exit code 2, and nothing written.

mod common;

use common::*;

fn assert_exit2(args: &[&str], needle: &str) -> String {
    let out = patchline(args);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "patchline {args:?}: {err}");
    assert!(
        err.contains(needle),
        "patchline {args:?}: stderr {err:?} should mention {needle:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout on error");
    // Each message is whole lines: nothing runs into the next message.
    assert!(
        err.ends_with('\n'),
        "stderr must end with a newline: {err:?}"
    );
    for line in err.lines().filter(|l| l.contains("error:")) {
        assert!(
            // clap's usage errors start with `error:`, patchline's own with its name.
            (line.starts_with("patchline: error: ") || line.starts_with("error: "))
                && line.matches("error:").count() == 1,
            "one error per line: {line:?}"
        );
    }
    err
}

#[test]
fn unknown_transport_and_missing_files() {
    assert_exit2(&["sbom", "podman:foo"], "unknown transport \"podman\"");
    assert_exit2(
        &["sbom", "oci-archive:/nonexistent/x.tar"],
        "/nonexistent/x.tar",
    );
    assert_exit2(
        &["sbom", "docker-archive:/nonexistent/x.tar"],
        "/nonexistent/x.tar",
    );
    assert_exit2(&["sbom", "dir:/nonexistent/rootfs"], "/nonexistent/rootfs");
    assert_exit2(&["sbom", "oci:/tmp"], "not an OCI image layout");
    // Usage errors are exit 2 too (clap's own).
    assert_exit2(&["sbom", "oci:/tmp", "--format", "xml"], "invalid value");
}

#[test]
fn corrupt_database_is_reported_and_the_rest_still_read() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::create_dir_all(r.join("var/lib/dpkg")).unwrap();
    std::fs::create_dir_all(r.join("lib/apk/db")).unwrap();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::write(
        r.join("var/lib/dpkg/status"),
        [0u8, 159, 146, 150, 0, 0, 1, 2, 3],
    )
    .unwrap();
    std::fs::write(
        r.join("lib/apk/db/installed"),
        "P:musl\nV:1.2.4-r2\nA:x86_64\no:musl\n\n",
    )
    .unwrap();
    std::fs::write(r.join("etc/os-release"), "ID=alpine\nVERSION_ID=3.18.4\n").unwrap();
    let image = format!("dir:{}", r.display());
    let out = patchline(&["sbom", &image, "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inv: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(inv["complete"], false);
    assert_eq!(inv["packages"].as_array().unwrap().len(), 1);
    assert_eq!(
        inv["packages"][0]["purl"],
        "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.18.4"
    );
    let w = &inv["warnings"][0];
    assert_eq!(w["source"], "extractor:dpkg");
    assert!(w["location"]
        .as_str()
        .unwrap()
        .contains("var/lib/dpkg/status"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("var/lib/dpkg/status"),
        "the warning is printed: {err}"
    );
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), t).unwrap();
        }
    }
}

/// The blob of the top layer of `tag` in an OCI layout.
fn top_layer_blob(layout: &std::path::Path, tag: &str) -> std::path::PathBuf {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let m = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap();
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(m["digest"].as_str().unwrap())).unwrap())
            .unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    blob(layers.last().unwrap()["digest"].as_str().unwrap())
}

#[test]
fn truncated_and_swapped_layers_write_nothing() {
    let Some(fx) = fixtures() else { return };
    let work = tempfile::tempdir().unwrap();
    let layout = work.path().join("layout");
    copy_dir(&fx.join("layout"), &layout);
    let blob = top_layer_blob(&layout, "child");
    let bytes = std::fs::read(&blob).unwrap();
    std::fs::write(&blob, &bytes[..bytes.len() / 3]).unwrap();
    let out_file = work.path().join("out.json");
    let image = format!("oci:{}:child", layout.display());
    let err = assert_exit2(
        &[
            "sbom",
            &image,
            "--no-cache",
            "-o",
            out_file.to_str().unwrap(),
        ],
        "layer 1",
    );
    assert!(
        err.contains("truncated") || err.contains("incomplete"),
        "{err}"
    );
    assert!(!out_file.exists(), "no partial output");

    // Same length, other bytes: only the digest can tell.
    let mut swapped = bytes.clone();
    let mid = swapped.len() / 2;
    swapped[mid] ^= 0xff;
    std::fs::write(&blob, &swapped).unwrap();
    let err = assert_exit2(
        &[
            "sbom",
            &image,
            "--no-cache",
            "-o",
            out_file.to_str().unwrap(),
        ],
        "layer 1",
    );
    assert!(
        err.contains("mismatch") || err.contains("corrupt") || err.contains("invalid"),
        "{err}"
    );
    assert!(!out_file.exists());

    // A manifest naming a blob that is not there.
    std::fs::remove_file(&blob).unwrap();
    let err = assert_exit2(&["sbom", &image, "--no-cache"], "not found");
    assert!(
        err.contains(blob.file_name().unwrap().to_str().unwrap()),
        "{err}"
    );
}

#[test]
fn decompression_bomb_limit_applies_to_real_layers() {
    let Some(fx) = fixtures() else { return };
    let image = format!("oci:{}:base", fx.join("layout").display());
    assert_exit2(
        &["sbom", &image, "--no-cache", "--max-layer-size", "1000000"],
        "decompression bomb",
    );
    assert_exit2(
        &["sbom", &image, "--no-cache", "--max-entries", "100"],
        "more than 100 entries",
    );
}

/// A warning is said once: in the table when the table goes to stdout, else on stderr.
#[test]
fn warnings_are_printed_once() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::create_dir_all(root.join("opt/dpkg")).unwrap();
    std::fs::create_dir_all(root.join("var/lib")).unwrap();
    std::fs::write(
        root.join("etc/os-release"),
        "ID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
    )
    .unwrap();
    std::fs::write(
        root.join("opt/dpkg/status"),
        "Package: curl\nStatus: install ok installed\nVersion: 7.88.1-10+deb12u5\n\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("../../opt/dpkg", root.join("var/lib/dpkg")).unwrap();
    let image = format!("dir:{}", root.display());
    let needle = "leads here through a directory symlink";

    let out = patchline(&["sbom", &image]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(stdout.matches(needle).count(), 1, "{stdout}");
    assert!(!stderr.contains(needle), "said twice: {stderr}");

    for args in [
        vec!["sbom", image.as_str(), "--format", "json"],
        vec![
            "sbom",
            image.as_str(),
            "-o",
            t.path().join("table.txt").to_str().unwrap(),
        ],
    ] {
        let out = patchline(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.matches(needle).count(), 1, "{args:?}: {stderr}");
    }
}
