//! A gate fails closed on an incomplete inventory: `scan --fail-on` exits 2 when a
//! package could not be read (here an OS package whose purl does not parse), says why,
//! and `--allow-incomplete` judges what was read instead. Needs no fixtures: the DB is
//! the real Debian tracker extract in `tests/data`.

mod common;

use common::*;
use serde_json::json;

#[test]
fn fail_on_exits_2_on_an_incomplete_inventory() {
    let env = AdvisoryEnv::with_feeds(&[std::path::Path::new(DEBIAN_FEED)]);
    let db = &env.db;
    let sbom = env.dir.join("sbom.json");
    let doc = json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "components": [
            {"type": "operating-system", "name": "debian", "version": "12"},
            {"type": "library", "name": "zlib1g", "version": "1:1.2.13.dfsg-1",
             "purl": "pkg:deb/debian/zlib1g@1.2.13.dfsg-1?arch=amd64&distro=debian-12&epoch=1"},
            {"type": "library", "name": "broken", "version": "1",
             "purl": "pkg:deb/debian/broken@1%zz?distro=debian-12"}
        ]
    });
    std::fs::write(&sbom, serde_json::to_vec(&doc).unwrap()).unwrap();
    let input = format!("sbom:{}", sbom.display());
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", input.as_str(), "--db", db, "--format", "json"];
        args.extend_from_slice(extra);
        patchline(&args)
    };

    // Without a gate the scan reports (incomplete) and exits 0.
    let out = scan(&[]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inventory_complete"], false);

    // With one, it cannot be judged: exit 2, and stderr says why.
    let out = scan(&["--fail-on", "critical"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("inventory is incomplete"), "{err}");
    assert!(err.contains("broken"), "the unread package is named: {err}");

    // --allow-incomplete judges what was read: nothing critical in zlib1g here.
    let out = scan(&["--fail-on", "critical", "--allow-incomplete"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // --allow-incomplete means nothing without a gate.
    let out = scan(&["--allow-incomplete"]);
    assert_eq!(out.status.code(), Some(2));
}

/// An SBOM whose packages carry no purl (names and versions only) is never a clean
/// result: every package is listed as not matched, with why, in every format, and a gate
/// exits 2 unless --allow-unmatched.
#[test]
fn an_sbom_without_purls_is_not_clean() {
    let env = AdvisoryEnv::with_feeds(&[std::path::Path::new(DEBIAN_FEED)]);
    let sbom = env.dir.join("names-only.spdx.json");
    let doc = json!({
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": "names-only", "documentNamespace": "https://example.com/names-only",
        "creationInfo": {"created": "2024-01-01T00:00:00Z", "creators": ["Tool: hand"]},
        "packages": [
            {"SPDXID": "SPDXRef-1", "name": "curl", "versionInfo": "7.88.1-10+deb12u5",
             "downloadLocation": "NOASSERTION"},
            {"SPDXID": "SPDXRef-2", "name": "openssl", "versionInfo": "3.0.11-1~deb12u2",
             "downloadLocation": "NOASSERTION"}
        ]
    });
    std::fs::write(&sbom, serde_json::to_vec(&doc).unwrap()).unwrap();
    let input = format!("sbom:{}", sbom.display());
    let scan = |extra: &[&str]| {
        let mut args = vec!["scan", input.as_str(), "--db", env.db.as_str()];
        args.extend_from_slice(extra);
        patchline(&args)
    };

    let out = scan(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["packages_not_matched"], 2);
    assert_eq!(v["unmatched"][0]["package"], "curl@7.88.1-10+deb12u5");
    assert!(v["unmatched"][1]["reason"]
        .as_str()
        .unwrap()
        .contains("no package URL"));

    let table = String::from_utf8(scan(&[]).stdout).unwrap();
    assert!(table.contains("not a clean result"), "{table}");
    assert!(table.contains("Not matched (2):"), "{table}");
    assert!(!table.contains("No vulnerabilities found"), "{table}");

    let sarif: serde_json::Value =
        serde_json::from_slice(&scan(&["--format", "sarif"]).stdout).unwrap();
    let props = &sarif["runs"][0]["properties"];
    assert_eq!(props["packagesNotMatched"], 2);
    assert_eq!(props["unmatched"].as_array().unwrap().len(), 2);

    let gated = scan(&["--fail-on", "low"]);
    let stderr = String::from_utf8_lossy(&gated.stderr);
    assert_eq!(gated.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--allow-unmatched"), "{stderr}");
    assert_eq!(
        scan(&["--fail-on", "low", "--allow-unmatched"])
            .status
            .code(),
        Some(0)
    );
}

/// A scan of an SBOM refers to the SBOM's own components: CycloneDX VEX `affects[].ref`
/// and a SARIF logical location carry the input's `bom-ref`, so other tools can join.
#[test]
fn reports_on_an_sbom_use_its_bom_refs() {
    let env = AdvisoryEnv::with_feeds(&[std::path::Path::new(DEBIAN_FEED)]);
    let sbom = env.dir.join("refs.cdx.json");
    let doc = json!({
        "bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
        "components": [
            {"type": "operating-system", "name": "debian", "version": "12"},
            {"type": "library", "bom-ref": "their-ref-curl", "name": "curl",
             "version": "7.88.1-10+deb12u5",
             "purl": "pkg:deb/debian/curl@7.88.1-10%2Bdeb12u5?arch=amd64&distro=debian-12"}
        ]
    });
    std::fs::write(&sbom, serde_json::to_vec(&doc).unwrap()).unwrap();
    let input = format!("sbom:{}", sbom.display());
    let run = |format: &str| -> serde_json::Value {
        let out = patchline(&["scan", &input, "--db", &env.db, "--format", format]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let vex = run("cyclonedx");
    let vulns = vex["vulnerabilities"].as_array().unwrap();
    assert!(!vulns.is_empty(), "curl 7.88.1-10+deb12u5 has findings");
    for v in vulns {
        assert_eq!(v["affects"][0]["ref"], "their-ref-curl", "{v}");
    }
    assert!(vex["components"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["bom-ref"] == "their-ref-curl"));
    let sarif = run("sarif");
    let result = &sarif["runs"][0]["results"][0];
    assert!(
        result["locations"][0]["logicalLocations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["name"] == "their-ref-curl"),
        "{result}"
    );
}
