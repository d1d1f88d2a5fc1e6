//! The image config checks on the real fixture images (`scripts/build-fixtures.sh`),
//! resolved through patchline-image without reading any layer.

use patchline_checks::config::{check_config, ConfigOptions};
use patchline_image::{ImageRef, OpenOptions};
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

fn ids(info: &ImageInfo, opts: &ConfigOptions) -> Vec<String> {
    check_config(info, opts).into_iter().map(|f| f.id).collect()
}

#[test]
fn fixture_images_run_as_root_without_healthcheck() {
    let Some(fx) = fixtures() else { return };
    for tag in ["base", "child", "base-patched", "app-lang"] {
        let reference = format!("oci:{}/layout:{tag}", fx.display());
        let info = resolve(&reference);
        assert!(info.config.is_some(), "{tag}: the image config was read");
        // The fixtures set no User and no Healthcheck, expose nothing, and the children's
        // base annotation carries a digest (and a version tag).
        assert_eq!(
            ids(&info, &ConfigOptions::default()),
            ["config.root-user", "config.no-healthcheck"],
            "{tag}"
        );
        let root = &check_config(&info, &ConfigOptions::default())[0];
        assert_eq!(root.path.as_deref(), Some("config.User"));
        assert_eq!(root.evidence, None);
    }
}

#[test]
fn fixture_labels_and_age() {
    let Some(fx) = fixtures() else { return };
    let info = resolve(&format!("oci:{}/layout:child", fx.display()));
    let created = info
        .created
        .clone()
        .expect("the fixture has a creation time");
    let created =
        time::OffsetDateTime::parse(&created, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .date();
    let opts = ConfigOptions {
        // The fixtures carry the OCI title and vendor labels, no owner.
        required_labels: vec![
            "org.opencontainers.image.title".into(),
            "org.opencontainers.image.vendor".into(),
            "team".into(),
        ],
        max_age_days: Some(30),
        today: created + time::Duration::days(31),
    };
    let f = check_config(&info, &opts);
    let ids: Vec<&str> = f.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "config.root-user",
            "config.no-healthcheck",
            "config.image-age",
            "config.missing-label"
        ]
    );
    assert!(f[2].message.contains("31 days ago"), "{}", f[2].message);
    assert_eq!(f[3].message, "the image has no label team");
    // Built within the maximum: no age finding.
    let fresh = ConfigOptions {
        today: created + time::Duration::days(30),
        ..opts
    };
    assert!(!ids_of(&check_config(&info, &fresh)).contains(&"config.image-age"));
}

fn ids_of(f: &[patchline_checks::CheckFinding]) -> Vec<&str> {
    f.iter().map(|f| f.id.as_str()).collect()
}
