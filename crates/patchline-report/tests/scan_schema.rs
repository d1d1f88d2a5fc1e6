//! SARIF and CycloneDX scan output validated against the official schemas in
//! `../shared/data/schemas` (SARIF 2.1.0 is draft-04, CycloneDX 1.6 draft-07), plus what
//! the schemas cannot say: refs that point somewhere, rule indexes that match.

mod scan_common;

use std::collections::HashSet;

use patchline_report::ScanFormat;
use patchline_test_support::shared_data;
use scan_common::{
    assert_valid, clean_report, cyclonedx_validator, eol_incomplete, render_json, report,
    sarif_validator,
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
