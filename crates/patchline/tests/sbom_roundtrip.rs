//! The SBOMs `patchline sbom` writes for the real Debian 12 images read back
//! (`patchline_inventory::sbom_input`) into the inventory the image gave: every field the
//! matcher uses survives, so that `patchline scan sbom:FILE` finds what scanning the
//! image finds.

mod common;

use common::*;
use patchline_inventory::sbom_input::{parse_sbom, read_sbom};
use patchline_model::Inventory;

fn sbom(image: &str, format: &str, cache: &std::path::Path) -> Vec<u8> {
    let out = patchline(&[
        "sbom",
        image,
        "--format",
        format,
        "--cache-dir",
        cache.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "patchline sbom {image} --format {format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn real_image_sboms_read_back_to_the_image_inventory() {
    let Some(fx) = fixtures() else { return };
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    for tag in ["base", "child"] {
        let image = format!("oci:{}:{tag}", fx.join("layout").display());
        let json = sbom(&image, "json", cache.path());
        let want: Inventory = serde_json::from_slice(&json).unwrap();
        assert!(want.packages.len() > 80, "{tag}: {}", want.packages.len());
        assert!(
            want.packages.iter().any(|p| p.epoch.is_some()),
            "{tag}: a bookworm minbase has packages with epochs"
        );
        assert!(
            want.packages
                .iter()
                .any(|p| p.source_version.as_deref() != Some(p.version.as_str())),
            "{tag}: a bookworm minbase has binNMUs"
        );

        for format in ["json", "cyclonedx", "spdx"] {
            let what = format!("{tag} via {format}");
            let bytes = if format == "json" {
                json.clone()
            } else {
                sbom(&image, format, cache.path())
            };
            let path = out.path().join(format!("{tag}.{format}.json"));
            std::fs::write(&path, &bytes).unwrap();
            let got = read_sbom(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(
                matcher_view(&got, true),
                matcher_view(&want, true),
                "{what}: packages"
            );
            let distro = |i: &Inventory| {
                i.distro
                    .as_ref()
                    .map(|d| (d.id.clone(), d.version_id.clone()))
            };
            assert_eq!(distro(&got), distro(&want), "{what}: distro");
            assert_eq!(
                distro(&got),
                Some(("debian".to_string(), Some("12".to_string())))
            );
            assert_eq!(got.image.reference, want.image.reference, "{what}");
            assert_eq!(
                got.image.manifest_digest, want.image.manifest_digest,
                "{what}"
            );
            let layers = |i: &Inventory| {
                i.image
                    .layers
                    .iter()
                    .map(|l| (l.index, l.diff_id.clone()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(layers(&got), layers(&want), "{what}: layers");
            assert_eq!(got.complete, want.complete, "{what}");
            assert!(got.warnings.is_empty(), "{what}: {:?}", got.warnings);
            if format != "spdx" {
                // CycloneDX and JSON carry the whole inventory (SPDX has no place for
                // the distro's codename, layer media types and sizes).
                let mut w = want.clone();
                w.packages.sort_by(|a, b| {
                    (a.ecosystem, &a.name, &a.arch).cmp(&(b.ecosystem, &b.name, &b.arch))
                });
                let mut g = got.clone();
                g.packages.sort_by(|a, b| {
                    (a.ecosystem, &a.name, &a.arch).cmp(&(b.ecosystem, &b.name, &b.arch))
                });
                // Read back, each package also knows its id in the SBOM (its bom-ref).
                if format == "cyclonedx" {
                    for p in &mut g.packages {
                        assert_eq!(p.sbom_ref.as_deref(), Some(p.purl.as_str()), "{what}");
                        p.sbom_ref = None;
                    }
                }
                if format == "cyclonedx" {
                    if let Some(d) = &mut w.distro {
                        d.name = None;
                    }
                    // The image's runtime config (user, ports, environment) is not part of
                    // a bill of materials; its environment may hold secrets besides.
                    w.image.config = None;
                }
                assert_eq!(g, w, "{what}: whole inventory");
            }
            // The bytes parse the same without the file.
            assert_eq!(
                parse_sbom(&bytes, "x").unwrap().packages.len(),
                want.packages.len()
            );
        }
    }
}
