//! CSAF 2.0 VEX profile (`document.category: csaf_vex`; other CSAF categories carrying
//! `product_status` are read the same way, as Red Hat's advisories are).
//!
//! Each `vulnerabilities[]` entry names its vulnerability by `cve`, else its first
//! `ids[].text`; every `ids[].text` is an alias. `product_status` lists product ids per
//! status:
//!
//! | CSAF | OpenVEX |
//! |---|---|
//! | `known_not_affected` | `not_affected` |
//! | `fixed`, `first_fixed` | `fixed` |
//! | `known_affected`, `first_affected`, `last_affected` | `affected` |
//! | `under_investigation` | `under_investigation` |
//!
//! (`recommended` says which version to use, not a status of one, and is not read.)
//!
//! Product ids resolve through `product_tree`: `full_product_names`, `branches`
//! (recursively, to [`MAX_BRANCH_DEPTH`]) and `relationships`, to the product's
//! `product_identification_helper.purl` and `cpe`, else its name. A relationship (`X
//! default_component_of Y`) is the product Y with the subcomponent X; when X has a
//! versioned purl, the statement is also made about X itself, since a purl with its
//! version names the very build the vendor assessed (how Red Hat's VEX files are used
//! by scanners, whose product names are distributions rather than images).
//!
//! A product's justification is the `flags[].label` (CSAF's labels are OpenVEX's
//! justifications) listing it or its group; its impact statement the `threats[]` entry
//! of category `impact` listing it; its action statement the `remediations[]` details
//! listing it. Flags, threats and remediations that name a `group_ids` entry apply to
//! each product of the group (`product_tree.product_groups`).

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{push_unique, str_field, VexStatement, VexStatus};

/// How deep `product_tree.branches` are followed; CSAF nests vendor → product name →
/// version, a few levels.
pub const MAX_BRANCH_DEPTH: usize = 32;

pub(crate) fn is_csaf(doc: &Map<String, Value>) -> bool {
    doc.get("document")
        .and_then(Value::as_object)
        .is_some_and(|d| d.contains_key("csaf_version"))
}

/// What a product id stands for.
#[derive(Clone, Default)]
struct Product {
    /// purl, cpe, else the name.
    names: Vec<String>,
    /// For a relationship: the component's names (the product is `names`).
    component: Vec<String>,
}

pub(crate) fn read(doc: &Map<String, Value>, source: &str) -> Result<Vec<VexStatement>, String> {
    let tree = doc.get("product_tree").and_then(Value::as_object);
    let mut products: HashMap<String, Product> = HashMap::new();
    let mut groups: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(tree) = tree {
        if let Some(Value::Array(fs)) = tree.get("full_product_names") {
            for f in fs {
                full_product_name(f, &mut products);
            }
        }
        if let Some(Value::Array(bs)) = tree.get("branches") {
            for b in bs {
                branch(b, &mut products, 0);
            }
        }
        if let Some(Value::Array(rs)) = tree.get("relationships") {
            for r in rs.iter().filter_map(Value::as_object) {
                let (Some(component), Some(parent), Some(id)) = (
                    str_field(r, "product_reference"),
                    str_field(r, "relates_to_product_reference"),
                    r.get("full_product_name")
                        .and_then(Value::as_object)
                        .and_then(|f| str_field(f, "product_id")),
                ) else {
                    continue;
                };
                let names_of = |pid: &str| {
                    products
                        .get(pid)
                        .map(|p| p.names.clone())
                        .unwrap_or_else(|| vec![pid.to_string()])
                };
                let p = Product {
                    names: names_of(parent),
                    component: names_of(component),
                };
                products.insert(id.to_string(), p);
            }
        }
        if let Some(Value::Array(gs)) = tree.get("product_groups") {
            for g in gs.iter().filter_map(Value::as_object) {
                if let (Some(id), Some(Value::Array(ids))) =
                    (str_field(g, "group_id"), g.get("product_ids"))
                {
                    groups.insert(
                        id.to_string(),
                        ids.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect(),
                    );
                }
            }
        }
    }
    let doc_time = doc
        .get("document")
        .and_then(Value::as_object)
        .and_then(|d| d.get("tracking"))
        .and_then(Value::as_object)
        .and_then(|t| str_field(t, "current_release_date"));

    let vulns = match doc.get("vulnerabilities") {
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err("CSAF: `vulnerabilities` is not an array".into()),
        None => &[],
    };
    let mut out = Vec::new();
    for v in vulns.iter().filter_map(Value::as_object) {
        let mut ids = Vec::new();
        if let Some(Value::Array(a)) = v.get("ids") {
            for i in a.iter().filter_map(Value::as_object) {
                if let Some(t) = str_field(i, "text") {
                    push_unique(&mut ids, t);
                }
            }
        }
        let Some(id) = str_field(v, "cve")
            .map(str::to_string)
            .or_else(|| ids.first().cloned())
        else {
            continue;
        };
        ids.retain(|a| *a != id);
        let Some(Value::Object(status)) = v.get("product_status") else {
            continue;
        };
        let per_product = |key: &str, field: &str| -> HashMap<String, String> {
            let mut m = HashMap::new();
            if let Some(Value::Array(items)) = v.get(key) {
                for item in items.iter().filter_map(Value::as_object) {
                    if key == "threats" && str_field(item, "category") != Some("impact") {
                        continue;
                    }
                    let Some(text) = str_field(item, field) else {
                        continue;
                    };
                    for pid in product_ids(item, &groups) {
                        m.entry(pid).or_insert_with(|| text.to_string());
                    }
                }
            }
            m
        };
        let flags = per_product("flags", "label");
        let threats = per_product("threats", "details");
        let remediations = per_product("remediations", "details");

        for (key, st) in [
            ("known_not_affected", VexStatus::NotAffected),
            ("fixed", VexStatus::Fixed),
            ("first_fixed", VexStatus::Fixed),
            ("known_affected", VexStatus::Affected),
            ("first_affected", VexStatus::Affected),
            ("last_affected", VexStatus::Affected),
            ("under_investigation", VexStatus::UnderInvestigation),
        ] {
            let Some(Value::Array(pids)) = status.get(key) else {
                continue;
            };
            let mut statements: Vec<VexStatement> = Vec::new();
            for pid in pids.iter().filter_map(Value::as_str) {
                let product = products.get(pid).cloned().unwrap_or_else(|| Product {
                    names: vec![pid.to_string()],
                    component: vec![],
                });
                let template = VexStatement {
                    vulnerability: id.clone(),
                    aliases: ids.clone(),
                    products: vec![],
                    subcomponents: product.component.clone(),
                    status: st,
                    justification: (st == VexStatus::NotAffected)
                        .then(|| flags.get(pid).cloned())
                        .flatten(),
                    impact_statement: threats.get(pid).cloned(),
                    source: source.to_string(),
                    action_statement: (st == VexStatus::Affected)
                        .then(|| remediations.get(pid).cloned())
                        .flatten(),
                    timestamp: doc_time.map(str::to_string),
                };
                add(&mut statements, template.clone(), &product.names);
                let versioned: Vec<String> = product
                    .component
                    .iter()
                    .filter(|c| c.starts_with("pkg:") && c.contains('@'))
                    .cloned()
                    .collect();
                if !versioned.is_empty() {
                    let alone = VexStatement {
                        subcomponents: vec![],
                        ..template
                    };
                    add(&mut statements, alone, &versioned);
                }
            }
            out.extend(statements);
        }
    }
    Ok(out)
}

/// Merges products into an existing statement that differs only by its products.
fn add(statements: &mut Vec<VexStatement>, template: VexStatement, names: &[String]) {
    let same = |s: &VexStatement| {
        VexStatement {
            products: vec![],
            ..s.clone()
        } == template
    };
    match statements.iter_mut().find(|s| same(s)) {
        Some(s) => names.iter().for_each(|n| push_unique(&mut s.products, n)),
        None => statements.push(VexStatement {
            products: names.to_vec(),
            ..template
        }),
    }
}

fn product_ids(item: &Map<String, Value>, groups: &HashMap<String, Vec<String>>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(Value::Array(ids)) = item.get("product_ids") {
        for id in ids.iter().filter_map(Value::as_str) {
            push_unique(&mut out, id);
        }
    }
    if let Some(Value::Array(gs)) = item.get("group_ids") {
        for g in gs.iter().filter_map(Value::as_str) {
            for id in groups.get(g).into_iter().flatten() {
                push_unique(&mut out, id);
            }
        }
    }
    out
}

fn full_product_name(f: &Value, products: &mut HashMap<String, Product>) {
    let Some(f) = f.as_object() else { return };
    let Some(id) = str_field(f, "product_id") else {
        return;
    };
    let mut names = Vec::new();
    if let Some(Value::Object(h)) = f.get("product_identification_helper") {
        for key in ["purl", "cpe"] {
            if let Some(n) = str_field(h, key) {
                push_unique(&mut names, n);
            }
        }
    }
    if names.is_empty() {
        if let Some(n) = str_field(f, "name") {
            names.push(n.to_string());
        }
    }
    products.insert(
        id.to_string(),
        Product {
            names,
            component: vec![],
        },
    );
}

fn branch(b: &Value, products: &mut HashMap<String, Product>, depth: usize) {
    let Some(b) = b.as_object() else { return };
    if let Some(p) = b.get("product") {
        full_product_name(p, products);
    }
    if depth >= MAX_BRANCH_DEPTH {
        return;
    }
    if let Some(Value::Array(bs)) = b.get("branches") {
        for sub in bs {
            branch(sub, products, depth + 1);
        }
    }
}
