//! Syft's own JSON format (`syft -o json`: top-level `artifacts`, `source`, `distro`,
//! `descriptor.name: "syft"`, `schema.version`), schema 1 to 16.
//!
//! Each artifact is carried over into the CycloneDX component Syft's own CycloneDX
//! encoder writes for it (`syft:package:type`, `syft:metadata:source` / `sourceVersion`
//! / `originPackage` / `sourceRpm`, `syft:location:0:path` / `layerID`), the distro into
//! its `operating-system` component (`syft:distro:*`), and the result is read by
//! [`cyclonedx`]: a Syft JSON document and Syft's CycloneDX for the same image give the
//! same packages. What Syft JSON has and its CycloneDX lacks rides along in properties
//! the CycloneDX reader already reads: the rpm epoch and the architecture from the
//! artifact's metadata (`patchline:package:epoch` / `arch`), and the image's layers
//! from `source.metadata.layers` (`patchline:image:layer:*`), so that a package's
//! `locations[0].layerID` names its layer. Syft names the layer holding the database
//! file it read, so that layer is both the package's introducing and last-changing one,
//! as for Trivy's `LayerDiffID`.

use serde_json::{json, Map};

use super::*;

#[derive(Deserialize)]
pub(super) struct Document {
    #[serde(default)]
    artifacts: Vec<Artifact>,
    #[serde(default)]
    source: Option<Source>,
    #[serde(default)]
    distro: Option<SyftDistro>,
    #[serde(default)]
    descriptor: Option<Descriptor>,
}

#[derive(Deserialize)]
struct Artifact {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    purl: Option<String>,
    #[serde(default)]
    locations: Vec<Location>,
    #[serde(default)]
    licenses: Vec<Value>,
    #[serde(default)]
    metadata: Option<Value>,
}

#[derive(Deserialize)]
struct Location {
    #[serde(default)]
    path: Option<String>,
    #[serde(rename = "layerID", default)]
    layer_id: Option<String>,
}

#[derive(Deserialize)]
struct Source {
    #[serde(default)]
    name: Option<String>,
    /// Schema 2 and later.
    #[serde(default)]
    metadata: Option<Value>,
    /// Schema 1.
    #[serde(default)]
    target: Option<Value>,
}

#[derive(Deserialize)]
struct SyftDistro {
    #[serde(default)]
    id: Option<String>,
    /// Schema 1: the distro id.
    #[serde(default)]
    name: Option<String>,
    #[serde(rename = "versionID", default)]
    version_id: Option<String>,
    /// Schema 1.
    #[serde(default)]
    version: Option<String>,
    #[serde(rename = "versionCodename", default)]
    version_codename: Option<String>,
    #[serde(rename = "prettyName", default)]
    pretty_name: Option<String>,
    /// A list, or in schema 1 a space-separated string.
    #[serde(rename = "idLike", default)]
    id_like: Option<Value>,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(default)]
    name: String,
    #[serde(default)]
    version: Option<String>,
}

pub(super) fn to_inventory(doc: Document, origin: &str) -> Result<Inventory, SbomInputError> {
    let bom = to_cyclonedx_json(&doc);
    let bom: cyclonedx::Bom = from_value(bom, origin, "Syft JSON (as CycloneDX)")?;
    Ok(cyclonedx::to_inventory(bom, origin))
}

fn prop(name: &str, value: &str) -> Value {
    json!({ "name": name, "value": value })
}

fn to_cyclonedx_json(doc: &Document) -> Value {
    let mut metadata = Map::new();
    if let Some(d) = &doc.descriptor {
        metadata.insert(
            "tools".into(),
            json!([{ "name": d.name, "version": d.version.clone().unwrap_or_default() }]),
        );
    }
    if let Some(c) = doc.source.as_ref().and_then(image_component) {
        metadata.insert("component".into(), c);
    }
    let mut components: Vec<Value> = doc.artifacts.iter().map(component).collect();
    if let Some(d) = &doc.distro {
        if let Some(os) = os_component(d) {
            components.push(os);
        }
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "metadata": metadata,
        "components": components,
    })
}

fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The image (`source.type: image`) as the metadata component: the reference the user
/// gave, the manifest digest as its version, the config digest and layers as properties.
fn image_component(s: &Source) -> Option<Value> {
    let m = s.metadata.as_ref().or(s.target.as_ref())?;
    if !m.is_object() {
        return None;
    }
    let name = str_field(m, "userInput")
        .or_else(|| {
            m.get("tags")
                .and_then(Value::as_array)
                .and_then(|t| t.first())
                .and_then(Value::as_str)
        })
        .or(s.name.as_deref())
        .unwrap_or("");
    let mut props = Vec::new();
    if let Some(id) = str_field(m, "imageID") {
        props.push(prop("patchline:image:config_digest", id));
    }
    for k in ["architecture", "os", "variant"] {
        if let Some(v) = str_field(m, k) {
            props.push(prop(&format!("patchline:image:{k}"), v));
        }
    }
    let layers = m.get("layers").and_then(Value::as_array);
    for (i, l) in layers.into_iter().flatten().enumerate() {
        // Syft's layer `digest` is the diff_id (the uncompressed layer's digest), the
        // one `locations[].layerID` names.
        let Some(d) = str_field(l, "digest") else {
            continue;
        };
        props.push(prop(&format!("patchline:image:layer:{i}:diff_id"), d));
        if let Some(t) = str_field(l, "mediaType") {
            props.push(prop(&format!("patchline:image:layer:{i}:media_type"), t));
        }
        if let Some(n) = l.get("size").and_then(Value::as_u64) {
            props.push(prop(
                &format!("patchline:image:layer:{i}:size"),
                &n.to_string(),
            ));
        }
    }
    let mut c = json!({ "type": "container", "name": name, "properties": props });
    if let Some(d) = str_field(m, "manifestDigest") {
        c["version"] = json!(d);
    }
    Some(c)
}

fn component(a: &Artifact) -> Value {
    let mut props = vec![prop("syft:package:type", &a.kind)];
    if let Some(l) = a.locations.first() {
        if let Some(p) = l.path.as_deref() {
            props.push(prop("syft:location:0:path", p));
        }
        if let Some(id) = l.layer_id.as_deref() {
            props.push(prop("syft:location:0:layerID", id));
        }
    }
    let meta = a.metadata.as_ref().filter(|m| m.is_object());
    let mut publisher = None;
    if let Some(m) = meta {
        for k in ["source", "sourceVersion", "originPackage", "sourceRpm"] {
            if let Some(v) = str_field(m, k) {
                props.push(prop(&format!("syft:metadata:{k}"), v));
            }
        }
        if let Some(e) = m.get("epoch").and_then(Value::as_u64) {
            props.push(prop("patchline:package:epoch", &e.to_string()));
        }
        if let Some(arch) = str_field(m, "architecture").or_else(|| str_field(m, "arch")) {
            props.push(prop("patchline:package:arch", arch));
        }
        publisher = str_field(m, "maintainer");
    }
    let mut c = json!({
        "type": "library",
        "name": a.name,
        "version": a.version,
        "licenses": licenses(&a.licenses),
        "properties": props,
    });
    if let Some(p) = a.purl.as_deref().filter(|p| !p.trim().is_empty()) {
        c["purl"] = json!(p);
    }
    if let Some(p) = publisher {
        c["publisher"] = json!(p);
    }
    c
}

/// Schema 1 to 8 list strings; later schemas objects with `value` and, when it is one,
/// the `spdxExpression`.
fn licenses(ls: &[Value]) -> Vec<Value> {
    ls.iter()
        .filter_map(|l| match l {
            Value::String(s) if !s.trim().is_empty() => Some(json!({ "expression": s })),
            Value::Object(_) => str_field(l, "spdxExpression")
                .or_else(|| str_field(l, "value"))
                .map(|v| json!({ "expression": v })),
            _ => None,
        })
        .collect()
}

fn os_component(d: &SyftDistro) -> Option<Value> {
    let id = d.id.as_deref().or(d.name.as_deref())?.trim();
    if id.is_empty() {
        return None;
    }
    let mut props = vec![prop("syft:distro:id", id)];
    let version = d.version_id.as_deref().or(d.version.as_deref());
    if let Some(v) = version {
        props.push(prop("syft:distro:versionID", v));
    }
    if let Some(v) = &d.version_codename {
        props.push(prop("syft:distro:versionCodename", v));
    }
    if let Some(v) = &d.pretty_name {
        props.push(prop("syft:distro:prettyName", v));
    }
    let like: Vec<String> = match &d.id_like {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => s.split_whitespace().map(str::to_string).collect(),
        _ => Vec::new(),
    };
    for (i, l) in like.iter().enumerate() {
        props.push(prop(&format!("syft:distro:idLike:{i}"), l));
    }
    let mut c = json!({ "type": "operating-system", "name": id, "properties": props });
    if let Some(v) = version {
        c["version"] = json!(v);
    }
    if let Some(p) = &d.pretty_name {
        c["description"] = json!(p);
    }
    Some(c)
}
