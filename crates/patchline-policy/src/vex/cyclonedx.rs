//! CycloneDX VEX (JSON, spec 1.4 to 1.6): a BOM's `vulnerabilities[]`, each with an
//! `analysis` (the statement) and `affects[].ref` (the products).
//!
//! `analysis.state` maps onto OpenVEX's statuses:
//!
//! | CycloneDX | OpenVEX |
//! |---|---|
//! | `not_affected`, `false_positive` | `not_affected` |
//! | `resolved`, `resolved_with_pedigree` | `fixed` |
//! | `exploitable` | `affected` |
//! | `in_triage` | `under_investigation` |
//!
//! A vulnerability without an `analysis.state` states nothing and is left out: a BOM
//! listing vulnerabilities is not a VEX about them until someone analysed them.
//!
//! `analysis.justification` (CycloneDX's words) maps onto OpenVEX's, which has fewer:
//! `code_not_present` → `vulnerable_code_not_present`, `code_not_reachable` →
//! `vulnerable_code_not_in_execute_path`, `requires_dependency` →
//! `component_not_present`, `requires_configuration` / `requires_environment` /
//! `protected_at_perimeter` → `vulnerable_code_cannot_be_controlled_by_adversary`,
//! `protected_by_compiler` / `protected_at_runtime` / `protected_by_mitigating_control`
//! → `inline_mitigations_already_exist`. `false_positive` has no justification; its
//! statement says so. `analysis.detail` is the impact statement; `recommendation` the
//! action statement. `references[].id` are aliases.
//!
//! `affects[].ref` is a bom-ref, resolved to its component's purl (in `components`,
//! nested ones, or `metadata.component`); a BOM-Link (`urn:cdx:SERIAL/VERSION#REF`)
//! is resolved by its fragment; a ref that is itself a purl is used as is. A ref naming
//! a component without a purl stays as the bom-ref, which names no package or image
//! patchline knows, so the statement then applies to nothing here.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{push_unique, str_field, VexStatement, VexStatus};

/// How deep nested `components` are followed.
const MAX_COMPONENT_DEPTH: usize = 32;

pub(crate) fn is_cyclonedx(doc: &Map<String, Value>) -> bool {
    str_field(doc, "bomFormat").is_some_and(|f| f.eq_ignore_ascii_case("CycloneDX"))
}

pub(crate) fn read(doc: &Map<String, Value>, source: &str) -> Result<Vec<VexStatement>, String> {
    let vulns = match doc.get("vulnerabilities") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err("CycloneDX: `vulnerabilities` is not an array".into()),
        None => return Err("CycloneDX: no `vulnerabilities`: an SBOM, not a VEX document".into()),
    };
    let mut purls: HashMap<String, String> = HashMap::new();
    if let Some(Value::Object(meta)) = doc.get("metadata") {
        if let Some(c) = meta.get("component") {
            collect_purls(c, &mut purls, 0);
        }
    }
    if let Some(Value::Array(cs)) = doc.get("components") {
        for c in cs {
            collect_purls(c, &mut purls, 0);
        }
    }
    let doc_time = doc
        .get("metadata")
        .and_then(Value::as_object)
        .and_then(|m| str_field(m, "timestamp"));

    let mut out = Vec::new();
    for v in vulns {
        let Some(v) = v.as_object() else { continue };
        let Some(id) = str_field(v, "id") else {
            continue;
        };
        let Some(analysis) = v.get("analysis").and_then(Value::as_object) else {
            continue;
        };
        let Some(state) = str_field(analysis, "state") else {
            continue;
        };
        let Some(status) = status(state) else {
            continue;
        };
        let mut aliases = Vec::new();
        if let Some(Value::Array(refs)) = v.get("references") {
            for r in refs.iter().filter_map(Value::as_object) {
                if let Some(a) = str_field(r, "id") {
                    if a != id {
                        push_unique(&mut aliases, a);
                    }
                }
            }
        }
        let mut products = Vec::new();
        if let Some(Value::Array(affects)) = v.get("affects") {
            for a in affects.iter().filter_map(Value::as_object) {
                if let Some(r) = str_field(a, "ref") {
                    push_unique(&mut products, &resolve(r, &purls));
                }
            }
            if products.is_empty() && !affects.is_empty() {
                // Affects entries none of which names anything: a statement about
                // unknown products must not become one about every product.
                continue;
            }
        }
        let justification = str_field(analysis, "justification")
            .map(|j| justification(j).unwrap_or(j).to_string())
            .or_else(|| {
                (state == "false_positive").then(|| "vulnerable_code_not_present".to_string())
            });
        let mut impact = str_field(analysis, "detail").map(str::to_string);
        if state == "false_positive" {
            impact = Some(match impact {
                Some(d) => format!("False positive: {d}"),
                None => "False positive".into(),
            });
        }
        out.push(VexStatement {
            vulnerability: id.to_string(),
            aliases,
            products,
            subcomponents: vec![],
            status,
            justification: if status == VexStatus::NotAffected {
                justification
            } else {
                None
            },
            impact_statement: impact,
            source: source.to_string(),
            action_statement: str_field(v, "recommendation").map(str::to_string),
            timestamp: str_field(analysis, "lastUpdated")
                .or_else(|| str_field(analysis, "firstIssued"))
                .or_else(|| str_field(v, "updated"))
                .or_else(|| str_field(v, "published"))
                .or(doc_time)
                .map(str::to_string),
        });
    }
    Ok(out)
}

/// `analysis.state` as an OpenVEX status.
pub fn status(state: &str) -> Option<VexStatus> {
    Some(match state {
        "not_affected" | "false_positive" => VexStatus::NotAffected,
        "resolved" | "resolved_with_pedigree" => VexStatus::Fixed,
        "exploitable" => VexStatus::Affected,
        "in_triage" => VexStatus::UnderInvestigation,
        _ => return None,
    })
}

/// CycloneDX's `analysis.justification` as OpenVEX's.
pub fn justification(j: &str) -> Option<&'static str> {
    Some(match j {
        "code_not_present" => "vulnerable_code_not_present",
        "code_not_reachable" => "vulnerable_code_not_in_execute_path",
        "requires_dependency" => "component_not_present",
        "requires_configuration" | "requires_environment" | "protected_at_perimeter" => {
            "vulnerable_code_cannot_be_controlled_by_adversary"
        }
        "protected_by_compiler" | "protected_at_runtime" | "protected_by_mitigating_control" => {
            "inline_mitigations_already_exist"
        }
        _ => return None,
    })
}

/// OpenVEX's justification as CycloneDX's (for writing); CycloneDX words pass through.
pub fn justification_to_cyclonedx(j: &str) -> Option<&'static str> {
    Some(match j {
        "vulnerable_code_not_present" | "code_not_present" => "code_not_present",
        "component_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path" | "code_not_reachable" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" | "requires_environment" => {
            "requires_environment"
        }
        "inline_mitigations_already_exist" | "protected_by_mitigating_control" => {
            "protected_by_mitigating_control"
        }
        "requires_configuration" => "requires_configuration",
        "requires_dependency" => "requires_dependency",
        "protected_by_compiler" => "protected_by_compiler",
        "protected_at_runtime" => "protected_at_runtime",
        "protected_at_perimeter" => "protected_at_perimeter",
        _ => return None,
    })
}

fn collect_purls(c: &Value, out: &mut HashMap<String, String>, depth: usize) {
    let Some(c) = c.as_object() else { return };
    if let (Some(r), Some(p)) = (str_field(c, "bom-ref"), str_field(c, "purl")) {
        out.entry(r.to_string()).or_insert_with(|| p.to_string());
    }
    if depth >= MAX_COMPONENT_DEPTH {
        return;
    }
    if let Some(Value::Array(cs)) = c.get("components") {
        for sub in cs {
            collect_purls(sub, out, depth + 1);
        }
    }
}

fn resolve(r: &str, purls: &HashMap<String, String>) -> String {
    if let Some(p) = purls.get(r) {
        return p.clone();
    }
    // BOM-Link: `urn:cdx:SERIAL/VERSION#BOM-REF`, the fragment naming the component in
    // another BOM; patchline's own BOMs make the bom-ref the purl.
    if r.starts_with("urn:cdx:") {
        if let Some((_, frag)) = r.split_once('#') {
            let frag = percent_decode(frag);
            return purls.get(&frag).cloned().unwrap_or(frag);
        }
    }
    r.to_string()
}

/// A BOM-Link fragment is percent-encoded where a bom-ref holds reserved characters.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}
