//! Lineage of the real fixture images (a debootstrap'd Debian 12 base and a child adding
//! one layer, built by `scripts/build-fixtures.sh`), resolved through patchline-image
//! without reading any layer.

use patchline_image::{ImageRef, OpenOptions};
use patchline_lineage::graph::ChosenBy;
use patchline_lineage::render::{self, RenderOptions};
use patchline_lineage::{Catalog, CatalogEntry, Graph, Tier};
use patchline_model::ImageInfo;
use patchline_test_support::fixtures;

fn resolve(reference: &str) -> ImageInfo {
    let r = ImageRef::parse(reference).unwrap();
    patchline_image::open(&r, reference, &OpenOptions::default())
        .unwrap_or_else(|e| panic!("open {reference}: {e}"))
        .resolve()
        .unwrap_or_else(|e| panic!("resolve {reference}: {e}"))
        .info
}

#[test]
fn child_descends_from_base() {
    let Some(fx) = fixtures() else { return };
    let base_ref = format!("oci:{}/layout:base", fx.display());
    let child_ref = format!("oci:{}/layout:child", fx.display());
    // docker-archive stores the child's layers uncompressed: other blob digests, another
    // manifest, the same diff_ids.
    let child_docker_ref = format!("docker-archive:{}/child.docker.tar", fx.display());
    let base = resolve(&base_ref);
    let child = resolve(&child_ref);
    let child_docker = resolve(&child_docker_ref);
    assert_ne!(
        child.layers.last().unwrap().digest,
        child_docker.layers.last().unwrap().digest,
        "the docker archive should carry other blobs"
    );

    let dir = tempfile::tempdir().unwrap();
    let mut catalog = Catalog::open(dir.path().join("state.sqlite")).unwrap();
    catalog
        .add(CatalogEntry::from_image_info(&base_ref, Tier::Base, &base))
        .unwrap();
    catalog
        .add(CatalogEntry::from_image_info(
            &child_ref,
            Tier::Application,
            &child,
        ))
        .unwrap();
    catalog
        .add(CatalogEntry::from_image_info(
            &child_docker_ref,
            Tier::Application,
            &child_docker,
        ))
        .unwrap();
    let g: Graph = catalog.graph().unwrap();
    let b = g.find(&base_ref).unwrap();
    for r in [&child_ref, &child_docker_ref] {
        let c = g.find(r).unwrap();
        assert_eq!(g.parent(c), Some(b), "{r}");
        let n = g.node(c);
        assert!(n.signals.layers, "{r}");
        assert!(!n.signals.declared, "{r}");
        assert!(!n.stale);
        assert_eq!(n.entry.chain_ids.len(), 2);
    }
    assert_eq!(g.roots(), [b]);
    // The fixture's child manifest carries the base annotations (base.digest = the base's
    // manifest digest): they agree with the layers. The docker archive has no manifest
    // annotations: its parent comes from layers alone.
    let oci_child = g.node(g.find(&child_ref).unwrap());
    if child
        .annotations
        .contains_key("org.opencontainers.image.base.digest")
    {
        assert_eq!(oci_child.chosen_by, Some(ChosenBy::Annotation));
        assert!(oci_child.signals.annotation);
    }
    let docker_child = g.node(g.find(&child_docker_ref).unwrap());
    if child_docker.annotations.is_empty() {
        assert_eq!(docker_child.chosen_by, Some(ChosenBy::Layers));
    }
    // The chain ID the spec defines for the child's two layers (see chain.rs).
    let top = g.node(g.find(&child_ref).unwrap()).entry.chain_ids[1].to_string();
    let manifest = std::fs::read_to_string(fx.join("manifest.txt")).unwrap();
    if manifest.contains("sha256:0e1d001a3ef9922903f6d49adf91c52f6f9f34dafd63c4fd3d27e4be0d646367")
    {
        assert_eq!(
            top,
            "sha256:c369c675b404d9405e84e94f59485490c26d713eed399d2b582fb280e07a2fe4"
        );
    }
    let dot = render::dot(&g, &RenderOptions::default());
    assert!(
        dot.contains(&format!("  \"{base_ref}\" -> \"{child_ref}\";\n")),
        "{dot}"
    );
    assert_eq!(dot.matches(" -> ").count(), 2, "{dot}");

    // Declaring the base in the Containerfile agrees with the layers and annotations.
    catalog
        .set_declared_base(&child_ref, Some(&base_ref), &[])
        .unwrap();
    let g = catalog.graph().unwrap();
    let n = g.node(g.find(&child_ref).unwrap());
    assert_eq!(g.parent(n.id), Some(g.find(&base_ref).unwrap()));
    assert!(n.signals.layers && n.signals.declared);
    assert!(g.issues().is_empty(), "{:?}", g.issues());
}
