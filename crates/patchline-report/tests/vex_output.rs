//! VEX out: `patchline vex`'s OpenVEX document and the CycloneDX scan output's analyses
//! for findings and for what the policy stage left out, validated against the OpenVEX
//! v0.2.0 and CycloneDX 1.6 schemas (`../shared/data/schemas`).

mod scan_common;

use patchline_model::policy::{
    AppliedException, ExceptionRef, ExceptionsOutcome, PolicyOutcome, PolicyVerdict, Suppression,
};
use patchline_model::vuln::ScanReport;
use patchline_report::{render_openvex, ScanFormat, VexAuthor};
use patchline_test_support::shared_data;
use scan_common::{
    assert_valid, cyclonedx_validator, fixed_options, openvex_validator, render_json, report,
};
use serde_json::Value;

const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

/// The scan report with a policy outcome: an exception with a justification, one
/// without (an accepted risk), and two VEX suppressions (not_affected, fixed).
fn decided() -> ScanReport {
    let mut r = report();
    r.image.manifest_digest = Some(DIGEST.parse().unwrap());
    let sup = |id: &str, name: &str, by: &str| Suppression {
        id: id.into(),
        subject: format!("{name}@1.0-1"),
        purl: Some(format!(
            "pkg:deb/debian/{name}@1.0-1?arch=amd64&distro=debian-12"
        )),
        by: by.into(),
        ..Default::default()
    };
    r.policy = Some(PolicyOutcome {
        stage: "build".into(),
        file: Some("patchline.yaml".into()),
        verdict: PolicyVerdict::Pass,
        reasons: vec![],
        exceptions: ExceptionsOutcome {
            applied: vec![
                AppliedException {
                    exception: ExceptionRef {
                        id: "CVE-2023-0001".into(),
                        reason: "the TFTP client is never called".into(),
                        owner: Some("team-net".into()),
                        expires: Some("2025-01-31".into()),
                        justification: Some("vulnerable_code_not_in_execute_path".into()),
                        source: Some("exceptions.yaml:3".into()),
                        ..Default::default()
                    },
                    suppressed: vec![sup("CVE-2023-0001", "libfoo", "exception")],
                },
                AppliedException {
                    exception: ExceptionRef {
                        id: "CVE-2023-0002".into(),
                        reason: "patch scheduled for the next release".into(),
                        owner: Some("team-app".into()),
                        source: Some("exceptions.yaml:9".into()),
                        ..Default::default()
                    },
                    suppressed: vec![sup("CVE-2023-0002", "libbar", "exception")],
                },
            ],
            expired: vec![],
            unused: vec![],
        },
        vex: vec![
            Suppression {
                status: Some("not_affected".into()),
                justification: Some("vulnerable_code_not_present".into()),
                statement: Some("The vulnerable parser is compiled out.".into()),
                ..sup("CVE-2023-0003", "libbaz", "vex:vendor.openvex.json")
            },
            Suppression {
                status: Some("fixed".into()),
                ..sup("CVE-2023-0004", "libqux", "vex:vendor.cdx.json")
            },
        ],
    });
    r
}

fn openvex(r: &ScanReport) -> Value {
    let mut out = Vec::new();
    render_openvex(r, &VexAuthor::default(), &fixed_options(), &mut out).unwrap();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn openvex_is_valid_and_states_decisions_and_findings() {
    let Some(data) = shared_data() else { return };
    let v = openvex_validator(&data);
    let r = decided();
    let doc = openvex(&r);
    assert_valid(&v, &doc, "openvex");
    assert_valid(&v, &openvex(&report()), "openvex without policy");
    assert_eq!(doc["@context"], "https://openvex.dev/ns/v0.2.0");
    assert_eq!(doc["author"], "patchline");
    assert_eq!(doc["timestamp"], "2024-05-01T12:00:00Z");
    assert!(doc["@id"].as_str().unwrap().starts_with("urn:uuid:"));
    // Deterministic, and a different content gives a different id.
    assert_eq!(openvex(&r)["@id"], doc["@id"]);
    assert_ne!(openvex(&report())["@id"], doc["@id"]);

    let st = doc["statements"].as_array().unwrap();
    let image = "pkg:oci/curl@sha256%3A1111111111111111111111111111111111111111111111111111111111111111?repository_url=registry.example.com%2Fapp%2Fcurl";
    for s in st {
        assert_eq!(s["products"][0]["@id"], image, "{s}");
    }
    let by = |id: &str| {
        st.iter()
            .find(|s| s["vulnerability"]["name"] == id)
            .unwrap()
    };
    let s = by("CVE-2023-0001");
    assert_eq!(s["status"], "not_affected");
    assert_eq!(s["justification"], "vulnerable_code_not_in_execute_path");
    assert_eq!(
        s["impact_statement"],
        "the TFTP client is never called (owner: team-net, expires 2025-01-31)"
    );
    assert_eq!(
        s["products"][0]["subcomponents"][0]["@id"],
        "pkg:deb/debian/libfoo@1.0-1?arch=amd64&distro=debian-12"
    );
    // An accepted risk is no claim of not being affected.
    let s = by("CVE-2023-0002");
    assert_eq!(s["status"], "affected");
    assert!(s["action_statement"]
        .as_str()
        .unwrap()
        .starts_with("Risk accepted (owner: team-app)"));
    assert_eq!(by("CVE-2023-0003")["status"], "not_affected");
    assert_eq!(
        by("CVE-2023-0003")["justification"],
        "vulnerable_code_not_present"
    );
    assert_eq!(by("CVE-2023-0004")["status"], "fixed");

    // Every finding is `affected` with an action statement; none is not_affected.
    for f in &r.findings {
        let s = st
            .iter()
            .find(|s| {
                s["vulnerability"]["name"] == f.id.as_str()
                    && s["products"][0]["subcomponents"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|c| c["@id"] == f.package.purl.as_str())
            })
            .unwrap_or_else(|| panic!("{} {}", f.id, f.package.purl));
        assert_eq!(s["status"], "affected");
        assert!(!s["action_statement"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        st.iter().filter(|s| s["status"] == "not_affected").count(),
        2
    );
}

#[test]
fn cyclonedx_lists_what_was_left_out_with_the_decision() {
    let Some(data) = shared_data() else { return };
    let v = cyclonedx_validator(&data);
    let r = decided();
    let doc = render_json(&r, ScanFormat::CycloneDx);
    assert_valid(&v, &doc, "cyclonedx with decisions");
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    let refs: Vec<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    for v in vulns {
        for a in v["affects"].as_array().unwrap() {
            assert!(refs.contains(&a["ref"].as_str().unwrap()), "{a}");
        }
    }
    // Untriaged findings: in_triage, never exploitable.
    let findings = &vulns[..vulns.len() - 4];
    assert!(findings
        .iter()
        .all(|v| v["analysis"]["state"] == "in_triage"
            && v["analysis"].get("justification").is_none()));
    let by = |id: &str| vulns.iter().find(|v| v["id"] == id).unwrap();
    let a = &by("CVE-2023-0001")["analysis"];
    assert_eq!(a["state"], "not_affected");
    assert_eq!(a["justification"], "code_not_reachable");
    assert_eq!(
        a["detail"],
        "Not affected by team-net until 2025-01-31: the TFTP client is never called (exception in exceptions.yaml:3)"
    );
    assert_eq!(
        by("CVE-2023-0001")["affects"][0]["versions"][0]["status"],
        "unaffected"
    );
    let a = &by("CVE-2023-0002")["analysis"];
    assert_eq!(a["state"], "in_triage");
    assert_eq!(a["response"][0], "will_not_fix");
    let a = &by("CVE-2023-0003")["analysis"];
    assert_eq!(a["state"], "not_affected");
    assert_eq!(a["justification"], "code_not_present");
    assert!(a["detail"]
        .as_str()
        .unwrap()
        .contains("vex:vendor.openvex.json"));
    assert_eq!(by("CVE-2023-0004")["analysis"]["state"], "resolved");
}
