//! CycloneDX 1.6 JSON.
//!
//! Shape, chosen to match what Trivy and Syft emit for images so that consumers treat
//! ours the same way: the image is `metadata.component` (type `container`, version = the
//! manifest digest), the distro is an `operating-system` component, every OS package is a
//! `library` component identified by its purl, and the dependency graph is
//! image → operating system → packages (image → packages when no distro was found).
//!
//! What CycloneDX has no field for is written as `patchline:` properties:
//! per package its source package, architecture, database path, the OS package that
//! owns a language package's file (`patchline:package:managed_by`) and the layers that
//! introduced and last changed it; per image its layers (`patchline:image:layer:N:*`),
//! config digest and platform; per document the inventory schema, whether it is complete
//! and each warning (`metadata.properties`).

use std::collections::HashSet;
use std::io;

use patchline_model::{DigestAlgorithm, Distro, Inventory, LayerRef, Package};
use serde::Serialize;

use crate::license::{classify, Spdx};
use crate::{sorted_packages, split_maintainer, RenderOptions};

const SCHEMA: &str = "http://cyclonedx.org/schema/bom-1.6.schema.json";
/// `version` is limited to this many characters by the schema.
const MAX_VERSION_CHARS: usize = 1024;

#[derive(Serialize)]
pub(crate) struct Bom {
    #[serde(rename = "$schema")]
    schema: &'static str,
    #[serde(rename = "bomFormat")]
    bom_format: &'static str,
    #[serde(rename = "specVersion")]
    spec_version: &'static str,
    #[serde(rename = "serialNumber")]
    serial_number: String,
    version: u32,
    metadata: Metadata,
    components: Vec<Component>,
    dependencies: Vec<Dependency>,
}

#[derive(Serialize)]
struct Metadata {
    timestamp: String,
    tools: Tools,
    component: Component,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Tools {
    components: Vec<Component>,
}

#[derive(Serialize, Default)]
struct Component {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "bom-ref", skip_serializing_if = "Option::is_none")]
    bom_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    supplier: Option<Supplier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    publisher: Option<String>,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    hashes: Vec<Hash>,
    // An empty array would match both branches of the schema's `oneOf`, so it is omitted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    licenses: Vec<LicenseChoice>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cpe: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    purl: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Supplier {
    name: String,
}

#[derive(Serialize)]
struct Hash {
    alg: &'static str,
    content: String,
}

#[derive(Serialize)]
#[serde(untagged)]
enum LicenseChoice {
    License { license: License },
    Expression { expression: String },
}

#[derive(Serialize)]
struct License {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct Property {
    name: String,
    value: String,
}

#[derive(Serialize)]
struct Dependency {
    #[serde(rename = "ref")]
    bom_ref: String,
    #[serde(rename = "dependsOn")]
    depends_on: Vec<String>,
}

pub(crate) fn prop(name: impl Into<String>, value: impl Into<String>) -> Property {
    Property {
        name: name.into(),
        value: value.into(),
    }
}

/// Hands out bom-refs, appending `|N` to repeats: `|` cannot occur in a purl, so a
/// disambiguated ref is never mistaken for another package's purl.
#[derive(Default)]
struct Refs(HashSet<String>);

impl Refs {
    fn unique(&mut self, wanted: String) -> String {
        let mut candidate = wanted.clone();
        let mut n = 2;
        while self.0.contains(&candidate) {
            candidate = format!("{wanted}|{n}");
            n += 1;
        }
        self.0.insert(candidate.clone());
        candidate
    }
}

fn limit_version(v: &str) -> String {
    v.chars().take(MAX_VERSION_CHARS).collect()
}

pub(crate) fn render(
    inv: &Inventory,
    opts: &RenderOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let bom = build(inv, opts)?;
    crate::write_json(&bom, out)
}

fn build(inv: &Inventory, opts: &RenderOptions) -> io::Result<Bom> {
    build_with(inv, opts, document_properties(inv)).map(|(bom, _)| bom)
}

/// The BOM of `inv` with `properties` as its document properties, and the bom-refs of
/// the packages in [`sorted_packages`] order. The scan renderer builds its VEX BOM on it.
pub(crate) fn build_with(
    inv: &Inventory,
    opts: &RenderOptions,
    properties: Vec<Property>,
) -> io::Result<(Bom, Vec<String>)> {
    let mut refs = Refs::default();
    let image = image_component(inv, &mut refs);
    let image_ref = image.bom_ref.clone().unwrap_or_default();

    let mut components = Vec::new();
    let os_ref = inv.distro.as_ref().map(|d| {
        let c = os_component(d, &mut refs);
        let r = c.bom_ref.clone().unwrap_or_default();
        components.push(c);
        r
    });

    let mut package_refs = Vec::new();
    for p in sorted_packages(inv) {
        let c = package_component(p, &mut refs);
        package_refs.push(c.bom_ref.clone().unwrap_or_default());
        components.push(c);
    }

    let dependencies = match os_ref {
        Some(os_ref) => vec![
            Dependency {
                bom_ref: image_ref,
                depends_on: vec![os_ref.clone()],
            },
            Dependency {
                bom_ref: os_ref,
                depends_on: package_refs.clone(),
            },
        ],
        None => vec![Dependency {
            bom_ref: image_ref,
            depends_on: package_refs.clone(),
        }],
    };

    let bom = Bom {
        schema: SCHEMA,
        bom_format: "CycloneDX",
        spec_version: "1.6",
        serial_number: format!("urn:uuid:{}", crate::serial(opts).hyphenated()),
        version: 1,
        metadata: Metadata {
            timestamp: crate::timestamp(opts)?,
            tools: Tools {
                components: vec![Component {
                    kind: "application",
                    name: inv.tool.name.clone(),
                    version: Some(limit_version(&inv.tool.version)),
                    ..Default::default()
                }],
            },
            component: image,
            properties,
        },
        components,
        dependencies,
    };
    Ok((bom, package_refs))
}

fn image_component(inv: &Inventory, refs: &mut Refs) -> Component {
    let img = &inv.image;
    let bom_ref = match &img.manifest_digest {
        Some(d) => format!("patchline:image:{d}"),
        None if img.reference.is_empty() => "patchline:image".to_string(),
        None => format!("patchline:image:{}", img.reference),
    };
    let mut props = Vec::new();
    let mut opt = |name: &str, v: &Option<String>| {
        if let Some(v) = v {
            props.push(prop(format!("patchline:image:{name}"), v.clone()));
        }
    };
    opt("os", &img.os);
    opt("architecture", &img.architecture);
    opt("variant", &img.variant);
    opt("created", &img.created);
    if let Some(d) = &img.config_digest {
        props.push(prop("patchline:image:config_digest", d.to_string()));
    }
    for l in &img.layers {
        let key = |k: &str| format!("patchline:image:layer:{}:{k}", l.index);
        props.push(prop(key("diff_id"), l.diff_id.to_string()));
        if let Some(d) = &l.digest {
            props.push(prop(key("digest"), d.to_string()));
        }
        props.push(prop(key("media_type"), l.media_type.clone()));
        if let Some(s) = l.size {
            props.push(prop(key("size"), s.to_string()));
        }
        if let Some(c) = &l.created_by {
            props.push(prop(key("created_by"), c.clone()));
        }
    }
    for (k, v) in &img.labels {
        props.push(prop(format!("patchline:image:label:{k}"), v.clone()));
    }
    for (k, v) in &img.annotations {
        props.push(prop(format!("patchline:image:annotation:{k}"), v.clone()));
    }
    let hashes = img
        .manifest_digest
        .iter()
        .map(|d| Hash {
            alg: match d.algorithm() {
                DigestAlgorithm::Sha256 => "SHA-256",
                DigestAlgorithm::Sha512 => "SHA-512",
            },
            content: d.hex().to_string(),
        })
        .collect();
    Component {
        kind: "container",
        bom_ref: Some(refs.unique(bom_ref)),
        supplier: crate::image_vendor(img).map(|name| Supplier { name }),
        name: img.reference.clone(),
        version: img.manifest_digest.as_ref().map(|d| d.to_string()),
        hashes,
        properties: props,
        ..Default::default()
    }
}

fn os_component(d: &Distro, refs: &mut Refs) -> Component {
    let mut props = vec![prop("patchline:distro:source", d.source.clone())];
    if let Some(c) = &d.version_codename {
        props.push(prop("patchline:distro:version_codename", c.clone()));
    }
    if !d.id_like.is_empty() {
        props.push(prop("patchline:distro:id_like", d.id_like.join(" ")));
    }
    Component {
        kind: "operating-system",
        bom_ref: Some(refs.unique(format!("patchline:os:{}", d.purl_qualifier()))),
        supplier: Some(Supplier {
            name: crate::distro_supplier(d),
        }),
        name: d.id.clone(),
        version: d.version_id.as_deref().map(limit_version),
        description: d.pretty_name.clone().or_else(|| d.name.clone()),
        cpe: d.cpe_name.clone(),
        properties: props,
        ..Default::default()
    }
}

fn package_component(p: &Package, refs: &mut Refs) -> Component {
    // A package read from an SBOM keeps that SBOM's bom-ref, so that VEX `affects` and
    // other tools can join the two documents.
    let wanted = if let Some(r) = p.sbom_ref.as_ref().filter(|r| !r.is_empty()) {
        r.clone()
    } else if p.purl.is_empty() {
        format!("patchline:package:{}/{}@{}", p.ecosystem, p.name, p.version)
    } else {
        p.purl.clone()
    };
    let (maint_name, maint_email) = p
        .maintainer
        .as_deref()
        .map(split_maintainer)
        .unwrap_or((None, None));
    let supplier = maint_name.or(maint_email).map(|n| Supplier {
        name: n.to_string(),
    });

    let mut props = vec![prop("patchline:package:ecosystem", p.ecosystem.as_str())];
    if let Some(s) = &p.source_name {
        props.push(prop("patchline:package:source_name", s.clone()));
    }
    if let Some(s) = &p.source_version {
        props.push(prop("patchline:package:source_version", s.clone()));
    }
    if let Some(a) = &p.arch {
        props.push(prop("patchline:package:arch", a.clone()));
    }
    if let Some(e) = p.epoch {
        props.push(prop("patchline:package:epoch", e.to_string()));
    }
    if !p.db_path.is_empty() {
        props.push(prop("patchline:package:db_path", p.db_path.clone()));
    }
    if let Some(m) = &p.managed_by {
        props.push(prop("patchline:package:managed_by", m.clone()));
    }
    let mut layer = |which: &str, l: &Option<LayerRef>| {
        if let Some(l) = l {
            let key = |k: &str| format!("patchline:layer:{which}:{k}");
            props.push(prop(key("index"), l.index.to_string()));
            props.push(prop(key("diff_id"), l.diff_id.to_string()));
        }
    };
    layer("introduced", &p.introduced);
    layer("last_changed", &p.last_changed);

    Component {
        kind: "library",
        bom_ref: Some(refs.unique(wanted)),
        supplier,
        publisher: p.maintainer.clone().filter(|m| !m.trim().is_empty()),
        name: p.name.clone(),
        version: Some(limit_version(&p.version)),
        licenses: licenses(&p.licenses),
        purl: (!p.purl.is_empty()).then(|| p.purl.clone()),
        properties: props,
        ..Default::default()
    }
}

/// One expression when the package has a single compound SPDX expression (the schema
/// allows an expression only alone); otherwise one entry per licence, by SPDX id when
/// it is a listed identifier and by name, verbatim, when it is anything else.
fn licenses(ls: &[String]) -> Vec<LicenseChoice> {
    let mut seen = HashSet::new();
    let ls: Vec<&String> = ls.iter().filter(|l| seen.insert(l.as_str())).collect();
    if let [only] = ls.as_slice() {
        if let Spdx::Expression { text, .. } = classify(only) {
            return vec![LicenseChoice::Expression { expression: text }];
        }
    }
    ls.into_iter()
        .map(|l| {
            let license = match classify(l) {
                Spdx::Id(id) => License {
                    id: Some(id),
                    name: None,
                },
                _ => License {
                    id: None,
                    name: Some(l.clone()),
                },
            };
            LicenseChoice::License { license }
        })
        .collect()
}

fn document_properties(inv: &Inventory) -> Vec<Property> {
    let mut props = vec![
        prop("patchline:inventory:schema", inv.schema.clone()),
        prop("patchline:inventory:complete", inv.complete.to_string()),
    ];
    for (i, w) in inv.warnings.iter().enumerate() {
        let key = |k: &str| format!("patchline:warning:{i}:{k}");
        props.push(prop(key("source"), w.source.clone()));
        props.push(prop(key("location"), w.location.clone()));
        props.push(prop(key("message"), w.message.clone()));
    }
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_unique() {
        let mut r = Refs::default();
        assert_eq!(r.unique("pkg:deb/debian/a@1".into()), "pkg:deb/debian/a@1");
        assert_eq!(
            r.unique("pkg:deb/debian/a@1".into()),
            "pkg:deb/debian/a@1|2"
        );
        assert_eq!(
            r.unique("pkg:deb/debian/a@1|2".into()),
            "pkg:deb/debian/a@1|2|2"
        );
        assert_eq!(
            r.unique("pkg:deb/debian/a@1".into()),
            "pkg:deb/debian/a@1|3"
        );
    }

    #[test]
    fn license_choices() {
        let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let j = |ls: Vec<LicenseChoice>| serde_json::to_string(&ls).unwrap();
        assert_eq!(j(licenses(&v(&[]))), "[]");
        assert_eq!(
            j(licenses(&v(&["MIT", "GPLv2+ and LGPLv2+", "MIT"]))),
            r#"[{"license":{"id":"MIT"}},{"license":{"name":"GPLv2+ and LGPLv2+"}}]"#
        );
        assert_eq!(
            j(licenses(&v(&["MIT OR Apache-2.0"]))),
            r#"[{"expression":"MIT OR Apache-2.0"}]"#
        );
        assert_eq!(
            j(licenses(&v(&["MIT OR Apache-2.0", "Zlib"]))),
            r#"[{"license":{"name":"MIT OR Apache-2.0"}},{"license":{"id":"Zlib"}}]"#
        );
    }
}
