//! OpenVEX (<https://github.com/openvex/spec>, v0.2.0, and v0.0.1 as vexctl wrote it).
//!
//! A document has `@context` (`https://openvex.dev/ns/v0.2.0`, or `https://openvex.dev/ns`
//! in v0.0.1), a `timestamp`, and `statements[]`, each with:
//!
//! - `vulnerability`: `{name, @id, aliases}` (v0.2.0) or a plain id string (v0.0.1); the
//!   statement's id is `name`, else `@id`; `aliases` become aliases;
//! - `products[]`: `{@id, identifiers: {purl, cpe22, cpe23}, subcomponents: [{@id,
//!   identifiers}]}` or plain strings (v0.0.1, which also has statement-level
//!   `subcomponents`). Products with different subcomponents become separate statements,
//!   so that one product's subcomponents never narrow another;
//! - `status`, `justification`, `impact_statement`, `action_statement`, `timestamp`
//!   (the document's when absent).
//!
//! A statement with an unknown status, or without a vulnerability, is left out.

use serde_json::{Map, Value};

use super::{push_unique, str_field, VexStatement, VexStatus};

pub(crate) fn is_openvex(doc: &Map<String, Value>) -> bool {
    match doc.get("@context").and_then(Value::as_str) {
        Some(c) => c.contains("openvex"),
        None => doc.get("statements").is_some_and(Value::is_array),
    }
}

pub(crate) fn read(doc: &Map<String, Value>, source: &str) -> Result<Vec<VexStatement>, String> {
    let statements = match doc.get("statements") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err("OpenVEX: `statements` is not an array".into()),
        None => return Err("OpenVEX: no `statements`".into()),
    };
    let doc_time = str_field(doc, "timestamp");
    let mut out = Vec::new();
    for s in statements {
        let Some(s) = s.as_object() else { continue };
        let Some(status) = str_field(s, "status").and_then(VexStatus::from_openvex) else {
            continue;
        };
        let (vulnerability, aliases) = match s.get("vulnerability") {
            Some(Value::String(id)) => (id.trim().to_string(), vec![]),
            Some(Value::Object(v)) => {
                let Some(id) = str_field(v, "name").or_else(|| str_field(v, "@id")) else {
                    continue;
                };
                let mut aliases = Vec::new();
                if let Some(Value::Array(a)) = v.get("aliases") {
                    for alias in a.iter().filter_map(Value::as_str) {
                        push_unique(&mut aliases, alias.trim());
                    }
                }
                if let Some(iri) = str_field(v, "@id") {
                    if iri != id {
                        push_unique(&mut aliases, iri);
                    }
                }
                (id.to_string(), aliases)
            }
            _ => continue,
        };
        if vulnerability.is_empty() {
            continue;
        }
        let base = VexStatement {
            vulnerability,
            aliases,
            products: vec![],
            subcomponents: vec![],
            status,
            justification: str_field(s, "justification").map(str::to_string),
            impact_statement: str_field(s, "impact_statement").map(str::to_string),
            source: source.to_string(),
            action_statement: str_field(s, "action_statement").map(str::to_string),
            timestamp: str_field(s, "timestamp").or(doc_time).map(str::to_string),
        };
        let statement_subs = components(s.get("subcomponents"));
        // (subcomponents, products with them), in document order.
        let mut groups: Vec<(Vec<String>, Vec<String>)> = Vec::new();
        if let Some(Value::Array(products)) = s.get("products") {
            for p in products {
                let mut names = Vec::new();
                identities(p, &mut names);
                if names.is_empty() {
                    continue;
                }
                let mut subs = statement_subs.clone();
                if let Some(p) = p.as_object() {
                    for sub in components(p.get("subcomponents")) {
                        push_unique(&mut subs, &sub);
                    }
                }
                match groups.iter_mut().find(|(s, _)| *s == subs) {
                    Some((_, ps)) => names.iter().for_each(|n| push_unique(ps, n)),
                    None => groups.push((subs, names)),
                }
            }
        }
        if groups.is_empty() {
            out.push(VexStatement {
                subcomponents: statement_subs,
                ..base
            });
        } else {
            for (subcomponents, products) in groups {
                out.push(VexStatement {
                    products,
                    subcomponents,
                    ..base.clone()
                });
            }
        }
    }
    Ok(out)
}

/// The names of a component: its `@id` and its `identifiers.purl` (or the string).
fn identities(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if !s.trim().is_empty() => push_unique(out, s.trim()),
        Value::Object(o) => {
            if let Some(id) = str_field(o, "@id") {
                push_unique(out, id);
            }
            if let Some(Value::Object(ids)) = o.get("identifiers") {
                for key in ["purl", "cpe23", "cpe22"] {
                    if let Some(id) = str_field(ids, key) {
                        push_unique(out, id);
                    }
                }
            }
        }
        _ => {}
    }
}

fn components(v: Option<&Value>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(Value::Array(a)) = v {
        for c in a {
            identities(c, &mut out);
        }
    }
    out
}
