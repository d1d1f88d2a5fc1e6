//! `patchline sbom` on real Debian 12 images (debootstrap → umoci → skopeo), checked
//! against dpkg-query run on the very root filesystem the base image was packed from.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::*;
use serde_json::Value;

/// name → (version, source name, source version) from dpkg-query on the rootfs.
fn dpkg_oracle(admindir: &std::path::Path) -> Option<BTreeMap<String, (String, String, String)>> {
    if !patchline_test_support::require_tools(&["dpkg-query"]) {
        return None;
    }
    let out = Command::new("dpkg-query")
        .arg(format!("--admindir={}", admindir.display()))
        .args([
            "-W",
            "-f",
            "${Package}\t${Version}\t${source:Package}\t${source:Version}\t${db:Status-Status}\n",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut m = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f[4] != "installed" {
            continue;
        }
        m.insert(
            f[0].to_string(),
            (f[1].to_string(), f[2].to_string(), f[3].to_string()),
        );
    }
    Some(m)
}

fn packages(inv: &Value) -> BTreeMap<String, Value> {
    inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p.clone()))
        .collect()
}

fn sbom_json(image: &str, cache: &std::path::Path) -> Value {
    patchline_json(&[
        "sbom",
        image,
        "--format",
        "json",
        "--cache-dir",
        cache.to_str().unwrap(),
    ])
}

#[test]
fn base_image_equals_dpkg_query_on_its_rootfs() {
    let Some(fx) = fixtures() else { return };
    let Some(oracle) = dpkg_oracle(&fx.join("rootfs-base/var/lib/dpkg")) else {
        return;
    };
    let cache = tempfile::tempdir().unwrap();
    let inv = sbom_json(
        &format!("oci:{}:base", fx.join("layout").display()),
        cache.path(),
    );
    assert_eq!(inv["schema"], "patchline.inventory/v1");
    assert_eq!(inv["complete"], true);
    assert_eq!(inv["distro"]["id"], "debian");
    assert_eq!(inv["distro"]["version_id"], "12");
    let pk = packages(&inv);
    let got: BTreeMap<String, (String, String, String)> = pk
        .iter()
        .map(|(n, p)| {
            (
                n.clone(),
                (
                    p["version"].as_str().unwrap().to_string(),
                    p["source_name"].as_str().unwrap().to_string(),
                    p["source_version"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    assert_eq!(got, oracle, "inventory differs from dpkg-query");
    assert!(
        got.len() > 80,
        "a minbase bookworm has ~88 packages, got {}",
        got.len()
    );
    let layers = inv["image"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    for p in pk.values() {
        assert_eq!(p["introduced"]["index"], 0);
        assert_eq!(p["introduced"]["diff_id"], layers[0]["diff_id"]);
        assert_eq!(p["db_path"], "var/lib/dpkg/status");
        let purl = p["purl"].as_str().unwrap();
        assert!(
            purl.starts_with("pkg:deb/debian/") && purl.contains("distro=debian-12"),
            "{purl}"
        );
    }
}

#[test]
fn child_layer_gets_the_packages_it_installed() {
    let Some(fx) = fixtures() else { return };
    let Some(base_oracle) = dpkg_oracle(&fx.join("rootfs-base/var/lib/dpkg")) else {
        return;
    };
    let curl_version = std::fs::read_to_string(fx.join("child-curl-version"))
        .unwrap()
        .trim()
        .to_string();
    let cache = tempfile::tempdir().unwrap();
    let inv = sbom_json(
        &format!("oci:{}:child", fx.join("layout").display()),
        cache.path(),
    );
    let pk = packages(&inv);
    let layers = inv["image"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 2);
    assert_eq!(pk["curl"]["version"], curl_version.as_str());
    assert_eq!(pk["libcurl4"]["version"], curl_version.as_str());
    let mut new = 0;
    for (name, p) in &pk {
        let expect = if base_oracle.contains_key(name) { 0 } else { 1 };
        assert_eq!(p["introduced"]["index"], expect, "{name}");
        assert_eq!(
            p["introduced"]["diff_id"], layers[expect]["diff_id"],
            "{name}"
        );
        if expect == 1 {
            new += 1;
            assert_eq!(p["last_changed"]["index"], 1, "{name}");
        }
    }
    assert!(
        new >= 2,
        "curl and libcurl4 at least are new in the child layer"
    );
    assert!(pk.contains_key("curl") && pk["curl"]["introduced"]["index"] == 1);
    // The child's own history step is kept.
    assert!(
        layers[1]["created_by"]
            .as_str()
            .is_some_and(|c| c.contains("curl")),
        "{:?}",
        layers[1]
    );
}

#[test]
fn every_transport_gives_the_same_inventory() {
    let Some(fx) = fixtures() else { return };
    let cache = tempfile::tempdir().unwrap();
    let strip = |v: &Value| {
        let mut v = v.clone();
        v["image"] = Value::Null;
        v
    };
    for tag in ["base", "child"] {
        let oci = sbom_json(
            &format!("oci:{}:{tag}", fx.join("layout").display()),
            cache.path(),
        );
        let archive = sbom_json(
            &format!(
                "oci-archive:{}",
                fx.join(format!("{tag}.oci.tar")).display()
            ),
            cache.path(),
        );
        let docker = sbom_json(
            &format!(
                "docker-archive:{}",
                fx.join(format!("{tag}.docker.tar")).display()
            ),
            cache.path(),
        );
        let uncached = patchline_json(&[
            "sbom",
            &format!(
                "docker-archive:{}:{tag}:1",
                fx.join(format!("{tag}.docker.tar")).display()
            ),
            "--format",
            "json",
            "--no-cache",
        ]);
        assert_eq!(strip(&oci), strip(&archive), "{tag}: oci vs oci-archive");
        assert_eq!(strip(&oci), strip(&docker), "{tag}: oci vs docker-archive");
        assert_eq!(strip(&oci), strip(&uncached), "{tag}: cached vs --no-cache");
        // Same diff_ids whatever the transport: lineage compares these.
        let ids = |v: &Value| {
            v["image"]["layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["diff_id"].clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&oci), ids(&docker));
        assert_eq!(
            oci["image"]["manifest_digest"],
            archive["image"]["manifest_digest"]
        );
    }
    // The rootfs the base was packed from: same packages, no layers.
    let dir = sbom_json(
        &format!("dir:{}", fx.join("rootfs-base").display()),
        cache.path(),
    );
    let base = sbom_json(
        &format!("oci:{}:base", fx.join("layout").display()),
        cache.path(),
    );
    let names = |v: &Value| {
        v["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["purl"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&dir), names(&base));
    assert!(dir["packages"][0].get("introduced").is_none());
}

#[test]
fn warm_cache_gives_identical_output() {
    let Some(fx) = fixtures() else { return };
    let cache = tempfile::tempdir().unwrap();
    let image = format!("oci:{}:child", fx.join("layout").display());
    let cold = sbom_json(&image, cache.path());
    let entries = walk_count(&cache.path().join("layers"));
    assert_eq!(entries, 2, "one cache entry per layer");
    let warm = sbom_json(&image, cache.path());
    assert_eq!(cold, warm);
}

fn walk_count(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            n += walk_count(&e.path());
        } else {
            n += 1;
        }
    }
    n
}

#[test]
fn sbom_formats_carry_every_purl() {
    let Some(fx) = fixtures() else { return };
    let image = format!("oci:{}:child", fx.join("layout").display());
    let inv = patchline_json(&["sbom", &image, "--format", "json", "--no-cache"]);
    let purls: std::collections::BTreeSet<String> = inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["purl"].as_str().unwrap().to_string())
        .collect();
    let cdx = patchline_json(&["sbom", &image, "--format", "cyclonedx", "--no-cache"]);
    let cdx_purls: std::collections::BTreeSet<String> = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["purl"].as_str().map(String::from))
        .collect();
    assert_eq!(purls, cdx_purls);
    let spdx = patchline_json(&["sbom", &image, "--format", "spdx", "--no-cache"]);
    let spdx_purls: std::collections::BTreeSet<String> = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["externalRefs"].as_array().cloned().unwrap_or_default())
        .filter(|r| r["referenceType"] == "purl")
        .map(|r| r["referenceLocator"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(purls, spdx_purls);
    let table = patchline(&["sbom", &image, "--no-cache"]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("curl") && text.contains("debian"), "{text}");
}

/// `docker save` since Docker 25 writes an OCI layout plus the classic `manifest.json`
/// whose `Layers` point into `blobs/sha256/` (uncompressed tars named by diff_id, or the
/// registry's compressed blobs with the containerd image store). Both are built here from
/// the real child image.
#[test]
fn docker_archive_oci_style_both_flavours() {
    let Some(fx) = fixtures() else { return };
    let layout = fx.join("layout");
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let desc = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == "child")
        .unwrap()
        .clone();
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(blob(desc["digest"].as_str().unwrap())).unwrap())
            .unwrap();
    let config_digest = manifest["config"]["digest"].as_str().unwrap().to_string();
    let config: Value =
        serde_json::from_slice(&std::fs::read(blob(&config_digest)).unwrap()).unwrap();
    let expected = patchline_json(&[
        "sbom",
        &format!("oci:{}:child", layout.display()),
        "--format",
        "json",
        "--no-cache",
    ]);

    for compressed in [false, true] {
        let work = tempfile::tempdir().unwrap();
        let file = work.path().join("save.tar");
        let mut b = tar::Builder::new(std::fs::File::create(&file).unwrap());
        let mut add = |name: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, data).unwrap();
        };
        add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
        add(
            &format!(
                "blobs/sha256/{}",
                config_digest.trim_start_matches("sha256:")
            ),
            &std::fs::read(blob(&config_digest)).unwrap(),
        );
        let mut layers = Vec::new();
        for (i, l) in manifest["layers"].as_array().unwrap().iter().enumerate() {
            let d = l["digest"].as_str().unwrap();
            let bytes = std::fs::read(blob(d)).unwrap();
            let (name, data) = if compressed {
                (d.trim_start_matches("sha256:").to_string(), bytes)
            } else {
                let mut out = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut out)
                    .unwrap();
                let diff_id = config["rootfs"]["diff_ids"][i].as_str().unwrap();
                (diff_id.trim_start_matches("sha256:").to_string(), out)
            };
            add(&format!("blobs/sha256/{name}"), &data);
            layers.push(format!("blobs/sha256/{name}"));
        }
        let m = serde_json::json!([{
            "Config": format!("blobs/sha256/{}", config_digest.trim_start_matches("sha256:")),
            "RepoTags": ["docker.io/library/child:1"],
            "Layers": layers,
        }]);
        add("manifest.json", &serde_json::to_vec(&m).unwrap());
        add("index.json", br#"{"schemaVersion":2,"manifests":[]}"#);
        b.finish().unwrap();
        drop(b);
        for reference in [
            format!("docker-archive:{}", file.display()),
            format!("docker-archive:{}:child:1", file.display()),
        ] {
            let got = patchline_json(&["sbom", &reference, "--format", "json", "--no-cache"]);
            assert_eq!(
                got["packages"], expected["packages"],
                "{reference} compressed={compressed}"
            );
            assert_eq!(
                got["image"]["config_digest"].as_str(),
                Some(config_digest.as_str())
            );
        }
        // A tag the archive does not hold.
        let out = patchline(&[
            "sbom",
            &format!("docker-archive:{}:other:2", file.display()),
        ]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("docker.io/library/child:1"));
    }
}
