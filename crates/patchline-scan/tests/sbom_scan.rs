//! The library end to end, without the CLI: an `sbom:` input (a CycloneDX SBOM of an
//! Ubuntu 22.04 image, as Trivy and Syft write them) scanned against Canonical's real OSV
//! record of CVE-2023-38545 (curl SOCKS5 heap overflow,
//! `../shared/data/osv/Ubuntu/UBUNTU-CVE-2023-38545.json`) imported into a temporary
//! advisory DB, with other real OSV records (PyPI) beside it.
//!
//! The installed versions are facts of that record: `7.81.0-1ubuntu1.13` is the last
//! 22.04 version it lists as affected, `7.81.0-1ubuntu1.14` its fix.

use std::path::{Path, PathBuf};
use std::time::Duration;

use patchline_inventory::NoProgress;
use patchline_model::vuln::{FixState, Severity};
use patchline_scan::{scan, Input, Policy, ScanError, ScanOptions};

const AFFECTED: &str = "7.81.0-1ubuntu1.13";
const FIXED: &str = "7.81.0-1ubuntu1.14";

struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
}

/// A fresh DB with the Ubuntu and PyPI OSV records of the shared data.
fn setup() -> Option<Env> {
    let data = patchline_test_support::shared_data()?;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("advisories.sqlite");
    let report = patchline_advisory::import_files(
        &db,
        &[data.join("osv/Ubuntu"), data.join("osv/PyPI")],
        &patchline_advisory::ImportOptions::default(),
    )
    .expect("import the OSV records");
    assert!(report.total().advisories() > 100, "{:?}", report.total());
    Some(Env { dir, db })
}

/// A CycloneDX 1.5 SBOM of an Ubuntu 22.04 image with curl and libcurl4 (binary of the
/// curl source package) at `curl_version`, and libc6, which no record names.
fn write_sbom(dir: &Path, name: &str, curl_version: &str) -> PathBuf {
    let deb = |name: &str, version: &str, upstream: Option<&str>| {
        let mut purl = format!("pkg:deb/ubuntu/{name}@{version}?arch=amd64&distro=ubuntu-22.04");
        if let Some(u) = upstream {
            purl.push_str(&format!("&upstream={u}"));
        }
        serde_json::json!({
            "bom-ref": purl,
            "type": "library",
            "name": name,
            "version": version,
            "purl": purl,
        })
    };
    let doc = serde_json::json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:8d0a4b9c-5d5e-4b8e-9f57-0e3c1f2a6b7d",
        "version": 1,
        "metadata": {
            "component": {"bom-ref": "image", "type": "container", "name": "registry.example.com/app:1.0"}
        },
        "components": [
            {"bom-ref": "os", "type": "operating-system", "name": "ubuntu", "version": "22.04"},
            deb("curl", curl_version, None),
            deb("libcurl4", curl_version, Some("curl")),
            deb("libc6", "2.35-0ubuntu3.4", Some("glibc")),
        ]
    });
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    path
}

fn options(env: &Env, policy: Policy) -> ScanOptions {
    ScanOptions {
        db: Some(env.db.clone()),
        policy,
        ..ScanOptions::default()
    }
}

#[test]
fn sbom_input_is_matched_judged_and_carries_its_fix() {
    let Some(env) = setup() else { return };
    let sbom = write_sbom(env.dir.path(), "affected.cdx.json", AFFECTED);
    let input = Input::parse(&format!("sbom:{}", sbom.display()));
    assert!(matches!(&input, Input::Sbom(p) if p == &sbom));

    let opts = options(&env, Policy::from_flags(Some(Severity::High), false, false));
    let s = scan(input, &opts, &NoProgress).expect("scan");

    // Inventory: the SBOM's three packages on Ubuntu 22.04.
    assert_eq!(s.inventory.packages.len(), 3);
    let distro = s.report.distro.as_ref().expect("distro");
    assert_eq!(
        (distro.id.as_str(), distro.version_id.as_deref()),
        ("ubuntu", Some("22.04"))
    );
    assert_eq!(s.report.packages_scanned, 3);
    assert_eq!(s.report.db.path, env.db.display().to_string());
    assert!(s.report.db.sources.values().sum::<u64>() > 100);

    // Match: the curl source package's two binaries, in Ubuntu 22.04 (`Ubuntu:22.04:LTS` in the record).
    let got: Vec<(&str, &str, &str)> = s
        .report
        .findings
        .iter()
        .map(|f| (f.id.as_str(), f.package.name.as_str(), f.ecosystem.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("CVE-2023-38545", "curl", "Ubuntu:22.04"),
            ("CVE-2023-38545", "libcurl4", "Ubuntu:22.04"),
        ]
    );
    for f in &s.report.findings {
        assert_eq!(f.state, FixState::Fixed);
        assert_eq!(f.fixed_versions, [FIXED]);
        assert_eq!(f.package.version, AFFECTED);
        // Ubuntu's own priority (`ubuntu_priority: high`), not the CVSS 9.8 of the record.
        assert_eq!(
            (f.severity, f.severity_source.as_str()),
            (Severity::High, "ubuntu")
        );
        assert_eq!(f.advisories, ["osv:UBUNTU-CVE-2023-38545"]);
        // What the renderers will print as the upgrade.
        assert_eq!(patchline_match::recommended_fix(f), Some(FIXED));
    }
    assert_eq!(
        patchline_match::upgrade_target(&s.report.findings),
        Some(FIXED)
    );

    // Policy: both findings breach --fail-on high.
    assert!(s.verdict.failed());
    assert_eq!(s.verdict.breaches.len(), 1);
    let b = &s.verdict.breaches[0];
    assert_eq!(b.rule, "fail-on high");
    assert_eq!(
        b.findings
            .iter()
            .map(|f| (f.id.as_str(), f.package.as_str()))
            .collect::<Vec<_>>(),
        [("CVE-2023-38545", "curl"), ("CVE-2023-38545", "libcurl4")]
    );

    // Critical is above Ubuntu's rating: pass, the same findings reported.
    let opts = options(
        &env,
        Policy::from_flags(Some(Severity::Critical), true, true),
    );
    let again = scan(Input::Sbom(sbom.clone()), &opts, &NoProgress).unwrap();
    assert!(again.verdict.passed(), "{:?}", again.verdict);
    assert_eq!(
        again.report.findings.len(),
        2,
        "both are fixed: --only-fixed keeps them"
    );
    assert!(again.verdict.filtered.is_empty());

    // Rematching the stored inventory (a catalog, a server) gives the same report.
    let rematch = scan(
        Input::Inventory(Box::new(s.inventory.clone())),
        &options(&env, Policy::new()),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(rematch.report.findings, s.report.findings);
    assert!(rematch.verdict.passed());
}

#[test]
fn fixed_sbom_is_clean_and_a_stale_db_is_a_warning() {
    let Some(env) = setup() else { return };
    let sbom = write_sbom(env.dir.path(), "fixed.cdx.json", FIXED);
    let mut opts = options(
        &env,
        Policy::from_flags(Some(Severity::Negligible), false, false),
    );
    opts.max_db_age = Some(Duration::ZERO);
    let s = scan(Input::Sbom(sbom), &opts, &NoProgress).unwrap();
    assert!(s.report.findings.is_empty(), "{:?}", s.report.findings);
    assert!(s.verdict.passed());
    let stale: Vec<_> = s
        .report
        .warnings
        .iter()
        .filter(|w| w.source == "advisory-db")
        .collect();
    assert_eq!(stale.len(), 1, "{:?}", s.report.warnings);
    assert_eq!(stale[0].location, env.db.display().to_string());
    // The default: no age limit, no warning.
    opts.max_db_age = None;
    let sbom = env.dir.path().join("fixed.cdx.json");
    let s = scan(Input::Sbom(sbom), &opts, &NoProgress).unwrap();
    assert!(!s.report.warnings.iter().any(|w| w.source == "advisory-db"));
}

#[test]
fn errors_name_what_and_where() {
    let Some(env) = setup() else { return };
    // The database is checked first, before the (also missing) SBOM.
    let missing_db = env.dir.path().join("none.sqlite");
    let opts = ScanOptions {
        db: Some(missing_db.clone()),
        ..ScanOptions::default()
    };
    let e = scan(
        Input::parse("sbom:/nonexistent/sbom.json"),
        &opts,
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        matches!(&e, ScanError::Db { path, .. } if path == &missing_db),
        "{e:?}"
    );
    assert!(
        e.to_string().contains(&missing_db.display().to_string()),
        "{e}"
    );
    assert!(e.to_string().contains("patchline db import"), "{e}");

    let opts = options(&env, Policy::new());
    let e = scan(
        Input::parse("sbom:/nonexistent/sbom.json"),
        &opts,
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(e, ScanError::Sbom { .. }), "{e:?}");
    assert!(e.to_string().contains("/nonexistent/sbom.json"), "{e}");

    let garbage = env.dir.path().join("garbage.json");
    std::fs::write(&garbage, b"{\"not\": \"an sbom\"}").unwrap();
    let e = scan(Input::Sbom(garbage.clone()), &opts, &NoProgress).unwrap_err();
    assert!(
        e.to_string().contains(&garbage.display().to_string()),
        "{e}"
    );

    let e = scan(Input::parse("podman:foo"), &opts, &NoProgress).unwrap_err();
    assert!(matches!(e, ScanError::Reference { .. }), "{e:?}");
    assert!(
        e.to_string().contains("unknown transport \"podman\""),
        "{e}"
    );

    let e = scan(Input::parse("dir:/nonexistent/rootfs"), &opts, &NoProgress).unwrap_err();
    assert!(matches!(e, ScanError::Image { .. }), "{e:?}");
    assert!(e.to_string().contains("/nonexistent/rootfs"), "{e}");
}
