//! The filesystem and secret inspectors on real images from scripts/build-fixtures.sh:
//! the Debian base (no secret may be found: false positives there are noise on every
//! scan) and `app-checks`, whose planted problems the script lists in
//! `app-checks-planted.tsv` (the oracle) and whose planted secret values it lists in
//! `app-checks-secrets.txt` (none may appear in any output).

use std::collections::BTreeSet;
use std::path::Path;

use patchline_checks::{fs, inspectors, secrets, CheckFinding, CheckKind, Scanners};
use patchline_image::{ImageRef, OpenOptions};
use patchline_inventory::{inventory_image, InventoryOptions, NoProgress};
use patchline_model::vuln::Severity;
use patchline_model::Inventory;
use patchline_test_support as ts;

/// The inventory of a layout tag with every inspector, caches merged and the config
/// checked, as a scan does it.
fn inspect(fixtures: &Path, tag: &str) -> Inventory {
    let raw = format!("oci:{}:{tag}", fixtures.join("layout").display());
    let parsed = ImageRef::parse(&raw).unwrap();
    let source = patchline_image::open(&parsed, &raw, &OpenOptions::default()).unwrap();
    let opts = InventoryOptions {
        inspectors: inspectors(Scanners::default()),
        ..InventoryOptions::default()
    };
    let mut inv = inventory_image(source.as_ref(), &opts, &NoProgress).unwrap();
    fs::merge_package_caches(&mut inv.checks);
    let config = secrets::check_config(&mut inv.image);
    inv.checks.extend(config);
    inv
}

fn row(f: &CheckFinding) -> (String, String, Option<usize>, Option<usize>) {
    (
        f.id.clone(),
        f.path.clone().unwrap_or_default(),
        f.layer.as_ref().map(|l| l.index),
        f.removed_in.as_ref().map(|l| l.index),
    )
}

#[test]
fn the_debian_base_has_no_secrets_and_only_its_own_setuid_programs() {
    let Some(dir) = ts::fixtures() else { return };
    let inv = inspect(&dir, "base");
    let secrets: Vec<_> = inv
        .checks
        .iter()
        .filter(|f| f.kind() == Some(CheckKind::Secret))
        .map(row)
        .collect();
    eprintln!(
        "base: {} secret finding(s) (false positives): {secrets:?}",
        secrets.len()
    );
    assert!(secrets.is_empty());
    for f in &inv.checks {
        eprintln!("base: {} {:?} {}", f.id, f.severity, f.location());
        // Debian's own setuid/setgid programs, low; nothing world-writable, no cache.
        assert!(
            matches!(f.id.as_str(), "fs.setuid" | "fs.setgid") && f.severity == Severity::Low,
            "{f:?}"
        );
        assert_eq!(f.layer.as_ref().map(|l| l.index), Some(0));
    }
    let setuid: BTreeSet<&str> = inv
        .checks
        .iter()
        .filter(|f| f.id == "fs.setuid")
        .filter_map(|f| f.path.as_deref())
        .collect();
    // minbase's login and passwd packages.
    for p in ["usr/bin/passwd", "usr/bin/su", "usr/bin/mount"] {
        assert!(setuid.contains(p), "{p} not flagged setuid: {setuid:?}");
    }
}

#[test]
fn app_checks_every_planted_problem_with_its_layer_and_no_secret_shown() {
    let Some(dir) = ts::fixtures() else { return };
    let oracle = std::fs::read_to_string(dir.join("app-checks-planted.tsv")).unwrap();
    let planted: Vec<(String, String, Option<usize>, Option<usize>)> = oracle
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let n = |s: &str| (s != "-").then(|| s.parse::<usize>().unwrap());
            (c[0].to_string(), c[1].to_string(), n(c[2]), n(c[3]))
        })
        .collect();
    assert!(planted.len() >= 15, "{oracle}");
    let base: BTreeSet<_> = inspect(&dir, "base").checks.iter().map(row).collect();
    let inv = inspect(&dir, "app-checks");
    let found: Vec<_> = inv.checks.iter().map(row).collect();

    let missed: Vec<_> = planted.iter().filter(|p| !found.contains(p)).collect();
    eprintln!(
        "app-checks: recall {}/{} planted problems",
        planted.len() - missed.len(),
        planted.len()
    );
    assert!(missed.is_empty(), "missed {missed:#?}\nfound {found:#?}");
    // Nothing beyond the planted set and the base's own findings. The lists apt's
    // update fetched and the binary caches it wrote in var/cache/apt come with the
    // planted download.
    let extra: Vec<_> = found
        .iter()
        .filter(|f| !planted.contains(f) && !base.contains(f))
        .filter(|f| !(f.0 == "fs.package-cache" && f.1 == "var/cache/apt"))
        .collect();
    assert!(extra.is_empty(), "unexpected {extra:#?}");

    // The setuid copy outside the distribution's directories is high.
    let suid = inv
        .checks
        .iter()
        .find(|f| f.path.as_deref() == Some("usr/local/bin/ls-suid"))
        .unwrap();
    assert_eq!(suid.severity, Severity::High);

    // No planted secret in the findings or in the image info written beside them.
    let shown = serde_json::to_string(&(&inv.checks, &inv.image)).unwrap();
    let values = std::fs::read_to_string(dir.join("app-checks-secrets.txt")).unwrap();
    let values: Vec<&str> = values.lines().filter(|l| !l.is_empty()).collect();
    assert!(values.len() >= 10);
    for v in values {
        assert!(
            !shown.contains(v),
            "a planted secret is shown: {}...",
            &v[..6]
        );
    }
    assert!(inv
        .image
        .config
        .as_ref()
        .unwrap()
        .env
        .iter()
        .any(|e| e.starts_with("GITHUB_TOKEN=ghp_") && e.contains("****")));
}
