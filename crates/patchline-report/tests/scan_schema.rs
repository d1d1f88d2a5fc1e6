//! SARIF and CycloneDX scan output validated against the official schemas in
//! `../shared/data/schemas` (SARIF 2.1.0 is draft-04, CycloneDX 1.6 draft-07), GitLab's
//! container-scanning report against GitLab's schema 15.0.7 (`tests/schemas/gitlab`), plus
//! what the schemas cannot say: refs that point somewhere, rule indexes that match, ids
//! that are unique.

mod scan_common;

use std::collections::HashSet;

use patchline_report::ScanFormat;
use patchline_test_support::shared_data;
use scan_common::{
    assert_valid, clean_report, cyclonedx_validator, eol_incomplete, gitlab_validator, render_json,
    report, sarif_validator,
};
use serde_json::Value;

fn fixtures() -> Vec<(&'static str, patchline_model::vuln::ScanReport)> {
    vec![
        ("report", report()),
        ("eol_incomplete", eol_incomplete()),
        ("clean", clean_report()),
    ]
}

#[test]
fn validators_reject_what_they_should() {
    // Guards against a validator that accepts everything.
    let Some(data) = shared_data() else { return };
    let s = sarif_validator(&data);
    let mut doc = render_json(&report(), ScanFormat::Sarif);
    doc["runs"][0]["results"][0]["level"] = "fatal".into();
    assert!(!s.is_valid(&doc), "an unknown level must be rejected");
    let mut doc = render_json(&report(), ScanFormat::Sarif);
    doc["runs"][0]["results"][0]["message"] = serde_json::json!({});
    assert!(!s.is_valid(&doc), "a message without text must be rejected");
    let c = cyclonedx_validator(&data);
    let mut doc = render_json(&report(), ScanFormat::CycloneDx);
    doc["vulnerabilities"][0]["analysis"]["state"] = "affected".into();
    assert!(
        !c.is_valid(&doc),
        "an unknown analysis state must be rejected"
    );
    let mut doc = render_json(&report(), ScanFormat::CycloneDx);
    doc["vulnerabilities"][0]["ratings"][0]["method"] = "CVSSv5".into();
    assert!(!c.is_valid(&doc));
}

#[test]
fn sarif_is_valid() {
    let Some(data) = shared_data() else { return };
    let v = sarif_validator(&data);
    for (name, r) in fixtures() {
        let doc = render_json(&r, ScanFormat::Sarif);
        assert_valid(&v, &doc, name);
        let run = &doc["runs"][0];
        let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
        let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids.iter().collect::<HashSet<_>>().len(),
            ids.len(),
            "{name}: rule ids repeat"
        );
        for res in run["results"].as_array().unwrap() {
            let i = res["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(res["ruleId"], rules[i]["id"], "{name}: ruleIndex");
            let uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap();
            assert!(!uri.is_empty(), "{name}: GitHub needs an artifact URI");
        }
    }
}

#[test]
fn cyclonedx_is_valid() {
    let Some(data) = shared_data() else { return };
    let v = cyclonedx_validator(&data);
    for (name, r) in fixtures() {
        let doc = render_json(&r, ScanFormat::CycloneDx);
        assert_valid(&v, &doc, name);
        check_refs(&doc, name);
    }
}

fn check_refs(doc: &Value, name: &str) {
    let mut refs = HashSet::new();
    refs.insert(doc["metadata"]["component"]["bom-ref"].as_str().unwrap());
    for c in doc["components"].as_array().unwrap() {
        let r = c["bom-ref"].as_str().unwrap();
        assert!(refs.insert(r), "{name}: bom-ref {r} repeated");
    }
    for v in doc["vulnerabilities"].as_array().unwrap() {
        let r = v["bom-ref"].as_str().unwrap();
        assert!(refs.insert(r), "{name}: bom-ref {r} repeated");
        for a in v["affects"].as_array().unwrap() {
            let r = a["ref"].as_str().unwrap();
            assert!(
                doc["components"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c["bom-ref"] == r),
                "{name}: affects names unknown component {r}"
            );
        }
    }
}

#[test]
fn gitlab_is_valid() {
    let v = gitlab_validator();
    for (name, r) in fixtures() {
        let doc = render_json(&r, ScanFormat::Gitlab);
        assert_valid(&v, &doc, name);
        let vulns = doc["vulnerabilities"].as_array().unwrap();
        assert_eq!(
            vulns.len(),
            r.findings.len(),
            "{name}: one entry per finding"
        );
        let ids: HashSet<&str> = vulns.iter().map(|v| v["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), vulns.len(), "{name}: vulnerability ids repeat");
        for (v, f) in vulns.iter().zip(&r.findings) {
            assert_eq!(
                v["identifiers"][0]["value"],
                f.id.as_str(),
                "{name}: primary id"
            );
            assert_eq!(
                v["location"]["dependency"]["package"]["name"],
                f.package.name.as_str()
            );
            assert_eq!(v["location"]["operating_system"], "debian 12");
        }
    }
    // What a reader needs before trusting an empty list: incomplete inventory, said.
    let doc = render_json(&eol_incomplete(), ScanFormat::Gitlab);
    let messages = doc["scan"]["messages"].as_array().unwrap();
    assert!(
        messages
            .iter()
            .any(|m| m["value"].as_str().unwrap().contains("incomplete")),
        "{messages:?}"
    );
}

#[test]
fn gitlab_fits_hostile_advisory_text_to_the_schema() {
    // GitLab drops a whole report that breaks its schema: advisory text is fitted to it.
    let mut r = report();
    let f = &mut r.findings[0];
    f.summary = Some(format!("{}\nsecond line", "x".repeat(300)));
    f.references = vec!["javascript:alert(1)".into(), "https://ok.example/a".into()];
    f.cvss.push(patchline_model::vuln::Cvss {
        version: "4.0".into(),
        vector: "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".into(),
        base_score: 9.3,
        source: "nvd".into(),
    });
    f.cvss.push(patchline_model::vuln::Cvss {
        version: "3.1".into(),
        vector: "CVSS:3.1/AV:N/AC:L/garbage".into(),
        base_score: 9.8,
        source: String::new(),
    });
    let doc = render_json(&r, ScanFormat::Gitlab);
    assert_valid(&gitlab_validator(), &doc, "hostile");
    let v = &doc["vulnerabilities"][0];
    assert_eq!(v["name"].as_str().unwrap().chars().count(), 255);
    let links: Vec<&str> = v["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["url"].as_str().unwrap())
        .collect();
    assert!(
        links.contains(&"https://ok.example/a")
            && !links.iter().any(|l| l.starts_with("javascript")),
        "{links:?}"
    );
    assert!(
        !v["cvss_vectors"].as_array().into_iter().flatten().any(|c| {
            let s = c["vector"].as_str().unwrap();
            s.starts_with("CVSS:4.0") || s.contains("garbage")
        }),
        "{v}"
    );
}

#[test]
fn gitlab_schema_rejects_what_it_should() {
    // Guards against a validator that accepts everything.
    let v = gitlab_validator();
    let mut doc = render_json(&report(), ScanFormat::Gitlab);
    doc["scan"]["start_time"] = "2024-05-01T12:00:00Z".into();
    assert!(!v.is_valid(&doc), "a zone suffix must be rejected");
    let mut doc = render_json(&report(), ScanFormat::Gitlab);
    doc["vulnerabilities"][0]["location"]
        .as_object_mut()
        .unwrap()
        .remove("operating_system");
    assert!(
        !v.is_valid(&doc),
        "a location without an OS must be rejected"
    );
    let mut doc = render_json(&report(), ScanFormat::Gitlab);
    doc["vulnerabilities"][0]["severity"] = "Negligible".into();
    assert!(!v.is_valid(&doc));
}
