//! CycloneDX XML (1.4 to 1.7), converted into the JSON shape [`cyclonedx`] reads, so
//! that an XML SBOM gives exactly the inventory its JSON twin gives.
//!
//! Only what the CycloneDX reader uses is carried over: the metadata's tools, component
//! and properties; each component's `type`, `bom-ref`, name, version, description,
//! publisher, supplier name, purl, cpe, hashes, licences, properties and nested
//! components. Elements of other namespaces (extensions) are ignored.
//!
//! The input is untrusted: the document must be UTF-8; a DTD with an internal subset is
//! refused (so no entity is ever declared: no external entity, no billion laughs), and
//! an unknown entity reference is an error; component nesting is bounded
//! ([`MAX_NESTING`]), and so is the node count ([`MAX_NODES`]).

use roxmltree::{Document, Node, ParsingOptions};
use serde_json::{json, Map};

use super::*;

/// Components nested deeper than this are refused: real SBOMs nest a handful of levels.
pub(super) const MAX_NESTING: usize = 64;

/// The most XML nodes (elements, text) one document may have. A large real image SBOM
/// (10,000 components of about 30 nodes each) has well under a million; the bound keeps a
/// document of tiny elements from taking gigabytes as a tree.
pub(super) const MAX_NODES: u32 = 16 * 1024 * 1024;

const NS_PREFIX: &str = "http://cyclonedx.org/schema/bom/";

/// The CycloneDX JSON value (`bomFormat`, `specVersion`, `metadata`, `components`) an
/// XML BOM stands for.
pub(super) fn to_cyclonedx_json(bytes: &[u8], origin: &str) -> Result<Value, SbomInputError> {
    let invalid = |message: String| SbomInputError::Invalid {
        origin: origin.into(),
        format: "XML".into(),
        message,
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| invalid(format!("not UTF-8 ({e}); only UTF-8 XML is read")))?;
    let doc = Document::parse_with_options(
        text,
        ParsingOptions {
            allow_dtd: false,
            nodes_limit: MAX_NODES,
            ..ParsingOptions::default()
        },
    )
    .map_err(|e| match e {
        roxmltree::Error::DtdDetected => invalid(
            "the document has a DTD (<!DOCTYPE ... [ ... ]>): DTDs and entity declarations \
             are refused"
                .into(),
        ),
        e => invalid(e.to_string()),
    })?;
    let root = doc.root_element();
    let ns = root.tag_name().namespace().unwrap_or("");
    let Some(version) = ns.strip_prefix(NS_PREFIX) else {
        return Err(match root.tag_name().name() {
            "bom" => SbomInputError::UnknownFormat {
                origin: origin.into(),
                reason: format!(
                    "a <bom> element in namespace {}, not {NS_PREFIX}1.x (CycloneDX XML)",
                    short(ns)
                ),
            },
            "RDF" => SbomInputError::Unsupported {
                origin: origin.into(),
                what: "SPDX RDF/XML document: use SPDX JSON".into(),
            },
            other => SbomInputError::UnknownFormat {
                origin: origin.into(),
                reason: format!(
                    "an XML document whose root element is {}, not CycloneDX's bom",
                    short(other)
                ),
            },
        });
    };
    if root.tag_name().name() != "bom" {
        return Err(invalid(format!(
            "the root element is {}, expected bom",
            short(root.tag_name().name())
        )));
    }
    if !CYCLONEDX_VERSIONS.contains(&version) {
        return Err(SbomInputError::Unsupported {
            origin: origin.into(),
            what: format!(
                "CycloneDX XML version {} (1.4 to 1.7 are read)",
                short(version)
            ),
        });
    }
    let x = Reader { ns, origin };
    let mut bom = Map::new();
    bom.insert("bomFormat".into(), json!("CycloneDX"));
    bom.insert("specVersion".into(), json!(version));
    if let Some(m) = x.child(root, "metadata") {
        bom.insert("metadata".into(), x.metadata(m)?);
    }
    if let Some(cs) = x.child(root, "components") {
        bom.insert("components".into(), x.components(cs, 1)?);
    }
    Ok(Value::Object(bom))
}

struct Reader<'a> {
    ns: &'a str,
    origin: &'a str,
}

impl Reader<'_> {
    fn is(&self, n: Node, name: &str) -> bool {
        n.is_element() && n.tag_name().name() == name && n.tag_name().namespace() == Some(self.ns)
    }

    fn children<'d, 'i>(
        &self,
        n: Node<'d, 'i>,
        name: &'static str,
    ) -> impl Iterator<Item = Node<'d, 'i>> + use<'_, 'd, 'i> {
        n.children().filter(move |c| self.is(*c, name))
    }

    fn child<'d, 'i>(&self, n: Node<'d, 'i>, name: &'static str) -> Option<Node<'d, 'i>> {
        self.children(n, name).next()
    }

    fn text_of(&self, n: Node, name: &'static str) -> Option<String> {
        self.child(n, name).map(text)
    }

    fn metadata(&self, m: Node) -> Result<Value, SbomInputError> {
        let mut out = Map::new();
        if let Some(t) = self.child(m, "tools") {
            out.insert("tools".into(), self.tools(t));
        }
        if let Some(c) = self.child(m, "component") {
            out.insert("component".into(), self.component(c, 1)?);
        }
        if let Some(p) = self.child(m, "properties") {
            out.insert("properties".into(), self.properties(p));
        }
        Ok(Value::Object(out))
    }

    /// 1.4's `<tool>` list becomes the JSON array; 1.5's `<components>`/`<services>`
    /// the JSON object.
    fn tools(&self, t: Node) -> Value {
        let entry = |n: Node| {
            let mut o = Map::new();
            for k in ["vendor", "name", "version"] {
                if let Some(v) = self.text_of(n, k) {
                    o.insert(k.into(), json!(v));
                }
            }
            Value::Object(o)
        };
        let legacy: Vec<Value> = self.children(t, "tool").map(entry).collect();
        if !legacy.is_empty() {
            return Value::Array(legacy);
        }
        let mut o = Map::new();
        if let Some(cs) = self.child(t, "components") {
            o.insert(
                "components".into(),
                self.children(cs, "component").map(entry).collect(),
            );
        }
        if let Some(ss) = self.child(t, "services") {
            o.insert(
                "services".into(),
                self.children(ss, "service").map(entry).collect(),
            );
        }
        Value::Object(o)
    }

    fn components(&self, cs: Node, depth: usize) -> Result<Value, SbomInputError> {
        self.children(cs, "component")
            .map(|c| self.component(c, depth))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array)
    }

    fn component(&self, c: Node, depth: usize) -> Result<Value, SbomInputError> {
        if depth > MAX_NESTING {
            return Err(SbomInputError::Invalid {
                origin: self.origin.into(),
                format: "CycloneDX XML".into(),
                message: format!(
                    "components nested more than {MAX_NESTING} levels deep (line {})",
                    c.document().text_pos_at(c.range().start).row
                ),
            });
        }
        let mut o = Map::new();
        for (attr, key) in [("type", "type"), ("bom-ref", "bom-ref")] {
            if let Some(v) = c.attribute(attr) {
                o.insert(key.into(), json!(v));
            }
        }
        for k in [
            "name",
            "version",
            "group",
            "description",
            "publisher",
            "purl",
            "cpe",
        ] {
            if let Some(v) = self.text_of(c, k) {
                o.insert(k.into(), json!(v));
            }
        }
        if let Some(name) = self
            .child(c, "supplier")
            .and_then(|s| self.text_of(s, "name"))
        {
            o.insert("supplier".into(), json!({ "name": name }));
        }
        if let Some(hs) = self.child(c, "hashes") {
            let hashes: Vec<Value> = self
                .children(hs, "hash")
                .map(|h| json!({ "alg": h.attribute("alg").unwrap_or(""), "content": text(h) }))
                .collect();
            o.insert("hashes".into(), Value::Array(hashes));
        }
        if let Some(ls) = self.child(c, "licenses") {
            o.insert("licenses".into(), self.licenses(ls));
        }
        if let Some(p) = self.child(c, "properties") {
            o.insert("properties".into(), self.properties(p));
        }
        if let Some(cs) = self.child(c, "components") {
            o.insert("components".into(), self.components(cs, depth + 1)?);
        }
        Ok(Value::Object(o))
    }

    fn licenses(&self, ls: Node) -> Value {
        ls.children()
            .filter(|n| n.is_element() && n.tag_name().namespace() == Some(self.ns))
            .filter_map(|n| match n.tag_name().name() {
                "license" => {
                    let mut l = Map::new();
                    for k in ["id", "name"] {
                        if let Some(v) = self.text_of(n, k) {
                            l.insert(k.into(), json!(v));
                        }
                    }
                    Some(json!({ "license": l }))
                }
                "expression" => Some(json!({ "expression": text(n) })),
                _ => None,
            })
            .collect()
    }

    fn properties(&self, p: Node) -> Value {
        self.children(p, "property")
            .map(|p| json!({ "name": p.attribute("name").unwrap_or(""), "value": text(p) }))
            .collect()
    }
}

/// An element's text content (its text and CDATA children).
fn text(n: Node) -> String {
    n.children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect()
}
