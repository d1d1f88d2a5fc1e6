//! SPDX 2.3 JSON.
//!
//! The document DESCRIBES one package for the image (purpose `CONTAINER`, version = the
//! manifest digest); the image CONTAINS a package for the distro (`OPERATING_SYSTEM`)
//! when one was found, and one package per installed OS package, identified by its purl
//! as a `PACKAGE-MANAGER` external reference. Nothing was downloaded and no file was
//! analysed, so download location, concluded licence and copyright are `NOASSERTION`;
//! the declared licence is an SPDX expression only when the package's licences all are
//! (see `license.rs`), the verbatim text otherwise going to `licenseComments`. The layers
//! that introduced and last changed a package, its source package and the database it was
//! read from go to `sourceInfo`; an incomplete inventory and its warnings go to the
//! document `comment`.

use std::collections::HashSet;
use std::io;

use patchline_model::{Distro, Inventory, Package};
use serde::Serialize;

use crate::license::combined_expression;
use crate::{sorted_packages, split_maintainer, RenderOptions};

const NOASSERTION: &str = "NOASSERTION";
/// The SPDX License List release our identifier list comes from (see `spdx_ids.rs`).
const LICENSE_LIST_VERSION: &str = "3.28";
const IMAGE_ID: &str = "SPDXRef-Image";
const OS_ID: &str = "SPDXRef-OperatingSystem";

#[derive(Serialize)]
struct Document {
    #[serde(rename = "spdxVersion")]
    spdx_version: &'static str,
    #[serde(rename = "dataLicense")]
    data_license: &'static str,
    #[serde(rename = "SPDXID")]
    spdx_id: &'static str,
    name: String,
    #[serde(rename = "documentNamespace")]
    document_namespace: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(rename = "creationInfo")]
    creation_info: CreationInfo,
    packages: Vec<SpdxPackage>,
    relationships: Vec<Relationship>,
}

#[derive(Serialize)]
struct CreationInfo {
    created: String,
    creators: Vec<String>,
    #[serde(rename = "licenseListVersion")]
    license_list_version: &'static str,
}

#[derive(Serialize)]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: String,
    name: String,
    #[serde(rename = "versionInfo", skip_serializing_if = "Option::is_none")]
    version_info: Option<String>,
    supplier: String,
    #[serde(rename = "downloadLocation")]
    download_location: &'static str,
    #[serde(rename = "filesAnalyzed")]
    files_analyzed: bool,
    #[serde(rename = "sourceInfo", skip_serializing_if = "Option::is_none")]
    source_info: Option<String>,
    #[serde(rename = "licenseConcluded")]
    license_concluded: &'static str,
    #[serde(rename = "licenseDeclared")]
    license_declared: String,
    #[serde(rename = "licenseComments", skip_serializing_if = "Option::is_none")]
    license_comments: Option<String>,
    #[serde(rename = "copyrightText")]
    copyright_text: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
    #[serde(rename = "externalRefs", skip_serializing_if = "Vec::is_empty")]
    external_refs: Vec<ExternalRef>,
    #[serde(
        rename = "primaryPackagePurpose",
        skip_serializing_if = "Option::is_none"
    )]
    primary_package_purpose: Option<&'static str>,
}

impl SpdxPackage {
    fn new(spdx_id: String, name: String) -> Self {
        SpdxPackage {
            spdx_id,
            name,
            version_info: None,
            supplier: NOASSERTION.into(),
            download_location: NOASSERTION,
            files_analyzed: false,
            source_info: None,
            license_concluded: NOASSERTION,
            license_declared: NOASSERTION.into(),
            license_comments: None,
            copyright_text: NOASSERTION,
            description: None,
            comment: None,
            external_refs: Vec::new(),
            primary_package_purpose: None,
        }
    }
}

#[derive(Serialize)]
struct ExternalRef {
    #[serde(rename = "referenceCategory")]
    category: &'static str,
    #[serde(rename = "referenceType")]
    kind: &'static str,
    #[serde(rename = "referenceLocator")]
    locator: String,
}

#[derive(Serialize)]
struct Relationship {
    #[serde(rename = "spdxElementId")]
    element: String,
    #[serde(rename = "relationshipType")]
    kind: &'static str,
    #[serde(rename = "relatedSpdxElement")]
    related: String,
}

pub(crate) fn render(
    inv: &Inventory,
    opts: &RenderOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let doc = build(inv, opts)?;
    crate::write_json(&doc, out)
}

fn build(inv: &Inventory, opts: &RenderOptions) -> io::Result<Document> {
    let name = if inv.image.reference.is_empty() {
        "patchline-inventory".to_string()
    } else {
        inv.image.reference.clone()
    };
    let namespace = format!(
        "https://spdx.org/spdxdocs/patchline/{}-{}",
        uri_segment(&name),
        crate::serial(opts).hyphenated()
    );

    let mut packages = vec![image_package(inv, &name)];
    let mut relationships = vec![Relationship {
        element: "SPDXRef-DOCUMENT".into(),
        kind: "DESCRIBES",
        related: IMAGE_ID.into(),
    }];
    if let Some(d) = &inv.distro {
        packages.push(os_package(d));
        relationships.push(contains(OS_ID.into()));
    }
    let mut ids: HashSet<String> = packages.iter().map(|p| p.spdx_id.clone()).collect();
    for p in sorted_packages(inv) {
        let pkg = package(p, &mut ids);
        relationships.push(contains(pkg.spdx_id.clone()));
        packages.push(pkg);
    }

    Ok(Document {
        spdx_version: "SPDX-2.3",
        data_license: "CC0-1.0",
        spdx_id: "SPDXRef-DOCUMENT",
        name,
        document_namespace: namespace,
        comment: document_comment(inv),
        creation_info: CreationInfo {
            created: crate::timestamp(opts)?,
            creators: vec![format!("Tool: {}-{}", inv.tool.name, inv.tool.version)],
            license_list_version: LICENSE_LIST_VERSION,
        },
        packages,
        relationships,
    })
}

fn contains(related: String) -> Relationship {
    Relationship {
        element: IMAGE_ID.into(),
        kind: "CONTAINS",
        related,
    }
}

fn image_package(inv: &Inventory, name: &str) -> SpdxPackage {
    let img = &inv.image;
    let mut p = SpdxPackage::new(IMAGE_ID.into(), name.to_string());
    p.version_info = img.manifest_digest.as_ref().map(|d| d.to_string());
    p.primary_package_purpose = Some("CONTAINER");
    if let Some(v) = crate::image_vendor(img) {
        p.supplier = supplier(Some(&v));
    }
    let mut notes = Vec::new();
    if let Some(c) = &img.config_digest {
        notes.push(format!("config {c}"));
    }
    if let Some(platform) = platform(inv) {
        notes.push(format!("platform {platform}"));
    }
    if !img.layers.is_empty() {
        let layers: Vec<String> = img
            .layers
            .iter()
            .map(|l| format!("{} {}", l.index, l.diff_id))
            .collect();
        notes.push(format!(
            "layers (index diff_id, bottom first): {}",
            layers.join(", ")
        ));
    }
    p.comment = (!notes.is_empty()).then(|| notes.join("; "));
    p
}

fn platform(inv: &Inventory) -> Option<String> {
    let img = &inv.image;
    let mut parts: Vec<&str> = Vec::new();
    parts.extend(img.os.as_deref());
    parts.extend(img.architecture.as_deref());
    parts.extend(img.variant.as_deref());
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn os_package(d: &Distro) -> SpdxPackage {
    let mut p = SpdxPackage::new(OS_ID.into(), d.id.clone());
    p.version_info = d.version_id.clone();
    p.description = d.pretty_name.clone().or_else(|| d.name.clone());
    p.source_info = Some(format!("read from {}", d.source));
    p.primary_package_purpose = Some("OPERATING_SYSTEM");
    p.supplier = supplier(Some(&crate::distro_supplier(d)));
    p
}

fn package(pkg: &Package, ids: &mut HashSet<String>) -> SpdxPackage {
    let mut wanted = format!(
        "SPDXRef-Package-{}-{}-{}",
        pkg.ecosystem, pkg.name, pkg.version
    );
    if let Some(a) = &pkg.arch {
        wanted.push('-');
        wanted.push_str(a);
    }
    let mut p = SpdxPackage::new(unique_id(&wanted, ids), pkg.name.clone());
    p.version_info = Some(pkg.version.clone());
    p.supplier = supplier(pkg.maintainer.as_deref());
    p.source_info = Some(source_info(pkg));
    match combined_expression(&pkg.licenses) {
        Some(expr) => p.license_declared = expr,
        None if !pkg.licenses.is_empty() => {
            p.license_comments = Some(format!(
                "licences as declared by the package database, not SPDX expressions: {}",
                pkg.licenses.join("; ")
            ))
        }
        None => {}
    }
    if !pkg.purl.is_empty() && !pkg.purl.contains(char::is_whitespace) {
        p.external_refs.push(ExternalRef {
            category: "PACKAGE-MANAGER",
            kind: "purl",
            locator: pkg.purl.clone(),
        });
    }
    p
}

/// Turns `wanted` into an SPDXID (`SPDXRef-` then `[A-Za-z0-9.-]+`) not in `ids`.
fn unique_id(wanted: &str, ids: &mut HashSet<String>) -> String {
    const MAX: usize = 160;
    let mut base: String = wanted
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .take(MAX)
        .collect();
    // `SPDXRef-` itself survives sanitising; guard anyway so the id is never bare.
    if !base.starts_with("SPDXRef-") || base.len() == "SPDXRef-".len() {
        base = format!("SPDXRef-{}x", base.trim_start_matches("SPDXRef-"));
    }
    let mut candidate = base.clone();
    let mut n = 2;
    while ids.contains(&candidate) {
        candidate = format!("{base}-{n}");
        n += 1;
    }
    ids.insert(candidate.clone());
    candidate
}

/// SPDX agent syntax: `Organization: NAME (EMAIL)`. Maintainer fields name teams and
/// lists far more often than people, hence Organization.
fn supplier(maintainer: Option<&str>) -> String {
    let (name, email) = maintainer.map(split_maintainer).unwrap_or((None, None));
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    };
    match (name, email) {
        (Some(n), Some(e)) => format!("Organization: {} ({})", clean(n), clean(e)),
        (Some(n), None) => format!("Organization: {}", clean(n)),
        (None, Some(e)) => format!("Organization: {} ({})", clean(e), clean(e)),
        (None, None) => NOASSERTION.into(),
    }
}

fn source_info(p: &Package) -> String {
    let mut parts = Vec::new();
    let mut db = format!("acquired package info from {} database", p.ecosystem);
    if !p.db_path.is_empty() {
        db.push(' ');
        db.push_str(&p.db_path);
    }
    parts.push(db);
    // A language file an OS package installed: matched through that package only.
    if let Some(os) = &p.managed_by {
        parts.push(format!("installed by OS package {os}"));
    }
    if let Some(src) = &p.source_name {
        match &p.source_version {
            Some(v) => parts.push(format!("built from source package {src} {v}")),
            None => parts.push(format!("built from source package {src}")),
        }
    }
    if let Some(l) = &p.introduced {
        parts.push(format!("introduced in layer {} ({})", l.index, l.diff_id));
    }
    if let Some(l) = &p.last_changed {
        parts.push(format!("last changed in layer {} ({})", l.index, l.diff_id));
    }
    parts.join("; ")
}

fn document_comment(inv: &Inventory) -> Option<String> {
    let mut parts = Vec::new();
    if !inv.complete {
        parts.push("Inventory incomplete: some packages may be missing.".to_string());
    }
    for w in &inv.warnings {
        parts.push(format!(
            "Warning from {} at {}: {}",
            w.source, w.location, w.message
        ));
    }
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// A name as one path segment: unreserved ASCII kept, the rest `-`, bounded length.
fn uri_segment(s: &str) -> String {
    let seg: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if seg.trim_matches(['-', '.']).is_empty() {
        "image".into()
    } else {
        seg
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_valid_and_unique() {
        let mut ids = HashSet::new();
        let a = unique_id("SPDXRef-Package-deb-libc6-2.36-9+deb12u4-amd64", &mut ids);
        assert_eq!(a, "SPDXRef-Package-deb-libc6-2.36-9-deb12u4-amd64");
        let b = unique_id("SPDXRef-Package-deb-libc6-2.36-9~deb12u4-amd64", &mut ids);
        assert_eq!(b, "SPDXRef-Package-deb-libc6-2.36-9-deb12u4-amd64-2");
        let c = unique_id("SPDXRef-Package-deb-ünï 1:2", &mut ids);
        assert_eq!(c, "SPDXRef-Package-deb--n--1-2");
    }

    #[test]
    fn suppliers() {
        assert_eq!(
            supplier(Some("GNU Libc Maintainers <debian-glibc@lists.debian.org>")),
            "Organization: GNU Libc Maintainers (debian-glibc@lists.debian.org)"
        );
        assert_eq!(
            supplier(Some("Fedora Project")),
            "Organization: Fedora Project"
        );
        assert_eq!(supplier(Some("")), NOASSERTION);
        assert_eq!(supplier(None), NOASSERTION);
    }

    #[test]
    fn namespace_segment() {
        assert_eq!(
            uri_segment("oci:build/layout:base"),
            "oci-build-layout-base"
        );
        assert_eq!(uri_segment("///"), "image");
        assert_eq!(uri_segment(""), "image");
    }
}
