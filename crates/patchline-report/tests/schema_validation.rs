//! CycloneDX and SPDX output validated against the official JSON schemas in
//! `../shared/data/schemas`, plus the rules those schemas cannot express (unique refs,
//! relationships that point somewhere, SPDXID syntax, licence ids from the list).

mod common;

use common::schemas::{assert_valid, cyclonedx_validator, load, spdx_validator};
use common::{alpine, debian, empty, odd, render_json, rhel};
use patchline_model::Inventory;
use patchline_report::SbomFormat;
use patchline_test_support::shared_data;
use serde_json::Value;
use std::collections::HashSet;

fn fixtures() -> Vec<(&'static str, Inventory)> {
    vec![
        ("debian", debian()),
        ("alpine", alpine()),
        ("rhel", rhel()),
        ("empty", empty()),
        ("odd", odd()),
    ]
}

#[test]
fn validator_rejects_what_it_should() {
    // Guards against a validator that accepts everything (an unresolved $ref, say).
    let Some(data) = shared_data() else { return };
    let v = cyclonedx_validator(&data);
    let mut doc = render_json(&debian(), SbomFormat::CycloneDx);
    doc["components"][1]["licenses"] = serde_json::json!([{"license": {"id": "GPLv2+"}}]);
    assert!(!v.is_valid(&doc), "a non-SPDX license.id must be rejected");
    let mut doc = render_json(&debian(), SbomFormat::CycloneDx);
    doc["serialNumber"] = "urn:uuid:nope".into();
    assert!(!v.is_valid(&doc));
    let s = spdx_validator(&data);
    let mut doc = render_json(&debian(), SbomFormat::Spdx);
    doc["packages"][0]["primaryPackagePurpose"] = "IMAGE".into();
    assert!(!s.is_valid(&doc));
}

#[test]
fn cyclonedx_is_valid() {
    let Some(data) = shared_data() else { return };
    let v = cyclonedx_validator(&data);
    for (name, inv) in fixtures() {
        let doc = render_json(&inv, SbomFormat::CycloneDx);
        assert_valid(&v, &doc, name);
        check_cyclonedx_refs(&doc, &inv, name);
    }
}

#[test]
fn spdx_is_valid() {
    let Some(data) = shared_data() else { return };
    let v = spdx_validator(&data);
    for (name, inv) in fixtures() {
        let doc = render_json(&inv, SbomFormat::Spdx);
        assert_valid(&v, &doc, name);
        check_spdx_rules(&doc, &inv, name);
    }
}

fn check_cyclonedx_refs(doc: &Value, inv: &Inventory, name: &str) {
    let comps = doc["components"].as_array().unwrap();
    let os = usize::from(inv.distro.is_some());
    assert_eq!(comps.len(), inv.packages.len() + os, "{name}");
    let mut refs = HashSet::new();
    refs.insert(
        doc["metadata"]["component"]["bom-ref"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    for c in comps {
        let r = c["bom-ref"].as_str().unwrap();
        assert!(
            !r.is_empty() && refs.insert(r.to_string()),
            "{name}: bom-ref {r:?} repeated"
        );
    }
    for d in doc["dependencies"].as_array().unwrap() {
        assert!(refs.contains(d["ref"].as_str().unwrap()), "{name}: {d}");
        for r in d["dependsOn"].as_array().unwrap() {
            assert!(refs.contains(r.as_str().unwrap()), "{name}: dangling {r}");
        }
    }
}

fn check_spdx_rules(doc: &Value, inv: &Inventory, name: &str) {
    let created = doc["creationInfo"]["created"].as_str().unwrap();
    assert_eq!(created, "2024-05-01T12:00:00Z", "{name}");
    let ns = doc["documentNamespace"].as_str().unwrap();
    assert!(
        ns.starts_with("https://") && ns.contains(&common::SERIAL.to_string()),
        "{ns}"
    );
    assert!(
        !ns.contains('#') && !ns.contains(char::is_whitespace),
        "{ns}"
    );

    let valid_id = |s: &str| {
        s.strip_prefix("SPDXRef-").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
    };
    let pkgs = doc["packages"].as_array().unwrap();
    let os = usize::from(inv.distro.is_some());
    assert_eq!(pkgs.len(), 1 + os + inv.packages.len(), "{name}");
    let mut ids = HashSet::from(["SPDXRef-DOCUMENT".to_string()]);
    for p in pkgs {
        let id = p["SPDXID"].as_str().unwrap();
        assert!(valid_id(id), "{name}: bad SPDXID {id:?}");
        assert!(ids.insert(id.to_string()), "{name}: SPDXID {id} repeated");
        assert!(
            !p["name"].as_str().unwrap().is_empty(),
            "{name}: empty name for {id}"
        );
        let declared = p["licenseDeclared"].as_str().unwrap();
        assert!(
            declared == "NOASSERTION" || licence_tokens_known(declared),
            "{name}: licenseDeclared {declared:?}"
        );
        for r in p["externalRefs"].as_array().into_iter().flatten() {
            let loc = r["referenceLocator"].as_str().unwrap();
            assert!(loc.starts_with("pkg:") && !loc.contains(' '), "{loc}");
        }
    }
    let rels = doc["relationships"].as_array().unwrap();
    assert_eq!(
        rels.len(),
        pkgs.len(),
        "{name}: one DESCRIBES plus one CONTAINS per package"
    );
    for r in rels {
        for k in ["spdxElementId", "relatedSpdxElement"] {
            let id = r[k].as_str().unwrap();
            assert!(ids.contains(id), "{name}: relationship to unknown {id}");
        }
    }
}

/// Every token of a declared licence is an operator, a parenthesis or an id of the SPDX
/// list shipped with the CycloneDX schema.
fn licence_tokens_known(expr: &str) -> bool {
    let Some(data) = shared_data() else {
        return true;
    };
    let list = load(&data.join("schemas/cyclonedx/spdx.schema.json"));
    let known: HashSet<&str> = list["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    expr.replace(['(', ')'], " ")
        .split_whitespace()
        .all(|t| matches!(t, "AND" | "OR" | "WITH") || known.contains(t))
}

#[test]
fn licences_are_mapped_conservatively() {
    let cdx = render_json(&rhel(), SbomFormat::CycloneDx);
    let by_name = |doc: &Value, n: &str| {
        doc["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(
        by_name(&cdx, "rpm-libs")["licenses"],
        serde_json::json!([{"license": {"name": "GPLv2+ and LGPLv2+"}}])
    );
    assert_eq!(
        by_name(&cdx, "libyaml")["licenses"],
        serde_json::json!([{"license": {"id": "MIT"}}])
    );
    let spdx = render_json(&rhel(), SbomFormat::Spdx);
    let pkg = |n: &str| {
        spdx["packages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == n)
            .cloned()
            .unwrap()
    };
    assert_eq!(pkg("rpm-libs")["licenseDeclared"], "NOASSERTION");
    assert!(pkg("rpm-libs")["licenseComments"]
        .as_str()
        .unwrap()
        .contains("GPLv2+ and LGPLv2+"));
    assert_eq!(pkg("libyaml")["licenseDeclared"], "MIT");

    let alpine = render_json(&alpine(), SbomFormat::CycloneDx);
    assert_eq!(
        by_name(&alpine, "ca-certificates-bundle")["licenses"],
        serde_json::json!([{"expression": "MPL-2.0 AND MIT"}])
    );
    let deb = render_json(&debian(), SbomFormat::Spdx);
    let libc = deb["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "libc6")
        .unwrap();
    assert_eq!(
        libc["licenseDeclared"],
        "LGPL-2.1-or-later AND GPL-2.0-or-later"
    );
}

#[test]
fn layers_and_completeness_survive() {
    let cdx = render_json(&debian(), SbomFormat::CycloneDx);
    let props = |v: &Value| -> Vec<(String, String)> {
        v["properties"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().into(),
                    p["value"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    let meta = props(&cdx["metadata"]);
    assert!(meta.contains(&("patchline:inventory:complete".into(), "false".into())));
    assert!(meta.iter().any(|(k, _)| k == "patchline:warning:0:message"));
    let image = props(&cdx["metadata"]["component"]);
    assert!(image
        .iter()
        .any(|(k, v)| k == "patchline:image:layer:1:diff_id" && v.starts_with("sha256:a3ed95")));
    let libssl = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "libssl3")
        .unwrap();
    let p = props(libssl);
    assert!(p.contains(&("patchline:layer:introduced:index".into(), "0".into())));
    assert!(p.contains(&("patchline:layer:last_changed:index".into(), "1".into())));
    assert!(p.contains(&("patchline:package:source_name".into(), "openssl".into())));
    assert_eq!(
        cdx["metadata"]["component"]["version"],
        "sha256:5b0bcabd1ed22e9fb1310cf6c2dec7cdef19f0ad69efa1f392e94a4333501270"
    );
    let os = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "operating-system")
        .unwrap();
    assert_eq!(
        (os["name"].as_str(), os["version"].as_str()),
        (Some("debian"), Some("12"))
    );

    let spdx = render_json(&debian(), SbomFormat::Spdx);
    assert!(spdx["comment"].as_str().unwrap().contains("incomplete"));
    let login = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "login")
        .unwrap();
    assert_eq!(login["versionInfo"], "1:4.13+dfsg1-1+b1");
    assert!(login["sourceInfo"]
        .as_str()
        .unwrap()
        .contains("introduced in layer 0 (sha256:1f1d5ae3"));
    assert_eq!(
        login["supplier"],
        "Organization: Shadow package maintainers (pkg-shadow-devel@lists.alioth.debian.org)"
    );
}

#[test]
fn odd_inventory_keeps_identifiers_unique() {
    let cdx = render_json(&odd(), SbomFormat::CycloneDx);
    let refs: Vec<&str> = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    let unique: HashSet<&&str> = refs.iter().collect();
    assert_eq!(unique.len(), refs.len(), "{refs:?}");
    assert!(refs.iter().any(|r| r.ends_with("|2")), "{refs:?}");
}
