use super::*;

#[derive(Deserialize)]
pub(super) struct Document {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(rename = "creationInfo", default)]
    creation_info: Option<CreationInfo>,
    #[serde(default)]
    packages: Vec<SpdxPackage>,
    #[serde(rename = "documentDescribes", default)]
    document_describes: Vec<String>,
    #[serde(default)]
    relationships: Vec<Relationship>,
}

#[derive(Deserialize)]
struct CreationInfo {
    #[serde(default)]
    creators: Vec<String>,
}

#[derive(Deserialize)]
struct SpdxPackage {
    #[serde(rename = "SPDXID", default)]
    spdx_id: String,
    #[serde(default)]
    name: String,
    #[serde(rename = "versionInfo", default)]
    version_info: Option<String>,
    #[serde(default)]
    supplier: Option<String>,
    #[serde(rename = "sourceInfo", default)]
    source_info: Option<String>,
    #[serde(rename = "licenseDeclared", default)]
    license_declared: Option<String>,
    #[serde(rename = "licenseComments", default)]
    license_comments: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    comment: Option<String>,
    #[serde(rename = "externalRefs", default)]
    external_refs: Vec<ExternalRef>,
    #[serde(rename = "primaryPackagePurpose", default)]
    purpose: Option<String>,
    #[serde(default)]
    annotations: Vec<Annotation>,
}

#[derive(Deserialize)]
struct ExternalRef {
    #[serde(rename = "referenceType", default)]
    kind: String,
    #[serde(rename = "referenceLocator", default)]
    locator: String,
}

#[derive(Deserialize)]
struct Annotation {
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
struct Relationship {
    #[serde(rename = "spdxElementId", default)]
    element: String,
    #[serde(rename = "relationshipType", default)]
    kind: String,
    #[serde(rename = "relatedSpdxElement", default)]
    related: String,
}

/// The prefix the SPDX renderer puts before licences that are not SPDX expressions.
const LICENCE_COMMENT: &str =
    "licences as declared by the package database, not SPDX expressions: ";

fn purpose_is(p: &SpdxPackage, want: &str) -> bool {
    p.purpose
        .as_deref()
        .is_some_and(|s| s.replace('-', "_").eq_ignore_ascii_case(want))
}

pub(super) fn to_inventory(doc: Document, origin: &str) -> Inventory {
    let creators = doc
        .creation_info
        .as_ref()
        .map(|c| c.creators.as_slice())
        .unwrap_or_default();
    let tool = creators
        .iter()
        .find_map(|c| c.strip_prefix("Tool:"))
        .map(|t| {
            let t = t.trim();
            match t.rsplit_once('-') {
                Some((n, v)) if v.starts_with(|c: char| c.is_ascii_digit()) => Tool {
                    name: n.to_string(),
                    version: v.to_string(),
                },
                _ => Tool {
                    name: t.to_string(),
                    version: String::new(),
                },
            }
        })
        .unwrap_or(Tool {
            name: "unknown".into(),
            version: String::new(),
        });
    let ours = tool.name == "patchline";

    let described: Vec<&str> = doc
        .document_describes
        .iter()
        .map(String::as_str)
        .chain(
            doc.relationships
                .iter()
                .filter(|r| r.element == "SPDXRef-DOCUMENT" && r.kind == "DESCRIBES")
                .map(|r| r.related.as_str()),
        )
        .collect();
    let image_pkg = doc
        .packages
        .iter()
        .find(|p| purpose_is(p, "CONTAINER"))
        .or_else(|| {
            doc.packages
                .iter()
                .find(|p| described.contains(&p.spdx_id.as_str()) && !is_os_package(p))
        });

    let mut inv = Inventory::new(image(image_pkg, doc.name.as_deref(), origin));
    inv.tool = tool;
    if let Some(c) = &doc.comment {
        read_comment(c, &mut inv);
    }

    let mut distro = None;
    let mut skipped = Skipped::default();
    let mut distro_hints = Vec::new();
    for p in &doc.packages {
        if image_pkg.is_some_and(|i| std::ptr::eq(i, p)) {
            continue;
        }
        if purpose_is(p, "OPERATING_SYSTEM") {
            if distro.is_none() {
                distro = Some(os(p, ours));
            }
            continue;
        }
        match package(p, ours, &inv.image.layers) {
            Ok(Some((mut pkg, q))) => {
                distro_hints.extend(q);
                // Reports on this SBOM refer to its own packages.
                pkg.sbom_ref = Some(p.spdx_id.clone()).filter(|r| !r.is_empty());
                inv.packages.push(pkg);
            }
            Ok(None) => match p.external_refs.iter().find(|r| r.kind == "purl") {
                Some(r) => skipped.add(&r.locator),
                // A package is software unless its purpose says it is something else.
                None if !p.name.is_empty()
                    && !["FILE", "SOURCE", "ARCHIVE", "CONTAINER", "DEVICE"]
                        .iter()
                        .any(|k| purpose_is(p, k)) =>
                {
                    skipped.add_unnamed(&p.name, p.version_info.as_deref())
                }
                None => {}
            },
            Err(msg) => {
                inv.complete = false;
                warn(&mut inv, origin, msg);
            }
        }
    }
    inv.distro = distro.or_else(|| distro::from_purls(distro_hints.iter(), "sbom:purl"));
    skipped.finish(&mut inv, origin);
    inv
}

fn is_os_package(p: &SpdxPackage) -> bool {
    matches!(os_purl(p), Some(Ok(q)) if ecosystem_of(&q.ty).is_some())
}

/// A language package: its OSV name from the purl, the version as written, the file
/// it was found in (patchline's and Trivy's source info).
fn language_package(
    eco: Ecosystem,
    sp: &SpdxPackage,
    purl: &Purl,
    layers: &[LayerInfo],
) -> Result<Package, String> {
    let name = if purl.name.is_empty() {
        sp.name.trim().to_string()
    } else {
        language_name(eco, purl)
    };
    if name.is_empty() {
        return Err(format!("{eco} package without a name skipped"));
    }
    let version = sp
        .version_info
        .clone()
        .filter(|v| !v.is_empty() && v != "NOASSERTION")
        .or_else(|| purl.version.clone())
        .ok_or_else(|| format!("{}: no version; package skipped", short(&name)))?;
    let mut p = Package::new(eco, name, version);
    p.licenses = sp
        .license_declared
        .iter()
        .filter(|l| !matches!(l.as_str(), "" | "NOASSERTION" | "NONE"))
        .cloned()
        .collect();
    let si = source_info(sp.source_info.as_deref().unwrap_or(""));
    p.db_path = si.db_path.unwrap_or_default();
    p.managed_by = si.managed_by;
    p.introduced = si.introduced.or_else(|| {
        annotations(sp)
            .get("LayerDiffID")
            .and_then(|d| layer_by_diff_id(layers, d))
    });
    p.last_changed = si.last_changed.or(p.introduced.clone());
    p.purl = sp
        .external_refs
        .iter()
        .find(|r| r.kind == "purl")
        .map(|r| r.locator.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| purl::for_package(&p, None));
    Ok(p)
}

fn os_purl(p: &SpdxPackage) -> Option<Result<Purl, PurlError>> {
    p.external_refs
        .iter()
        .find(|r| r.kind == "purl")
        .map(|r| parse_purl(r.locator.trim()))
}

fn image(p: Option<&SpdxPackage>, doc_name: Option<&str>, origin: &str) -> ImageInfo {
    let mut img = ImageInfo {
        reference: p
            .map(|p| p.name.as_str())
            .or(doc_name)
            .filter(|n| !n.is_empty())
            .unwrap_or(origin)
            .to_string(),
        ..Default::default()
    };
    let Some(p) = p else { return img };
    img.manifest_digest = p.version_info.as_deref().and_then(|v| v.parse().ok());
    // Ours: "config D; platform os/arch[/variant]; layers (index diff_id, bottom first): 0 D, 1 D".
    for part in p.comment.as_deref().unwrap_or("").split("; ") {
        if let Some(d) = part.strip_prefix("config ") {
            img.config_digest = d.trim().parse().ok();
        } else if let Some(pl) = part.strip_prefix("platform ") {
            let mut it = pl.trim().split('/').map(str::to_string);
            img.os = it.next();
            img.architecture = it.next();
            img.variant = it.next();
        } else if let Some((_, list)) = part
            .strip_prefix("layers (")
            .and_then(|r| r.split_once("): "))
        {
            img.layers = list
                .split(", ")
                .filter_map(|l| {
                    let (i, d) = l.trim().split_once(' ')?;
                    Some(LayerInfo {
                        index: parse_index(i)?,
                        digest: None,
                        diff_id: d.trim().parse().ok()?,
                        media_type: String::new(),
                        size: None,
                        created_by: None,
                    })
                })
                .collect();
        }
    }
    img
}

fn read_comment(c: &str, inv: &mut Inventory) {
    for line in c.lines() {
        if line.starts_with("Inventory incomplete") {
            inv.complete = false;
        } else if let Some(rest) = line.strip_prefix("Warning from ") {
            let Some((source, rest)) = rest.split_once(" at ") else {
                continue;
            };
            let (location, message) = rest.split_once(": ").unwrap_or((rest, ""));
            inv.warnings.push(Warning {
                source: source.into(),
                location: location.into(),
                message: message.into(),
            });
        }
    }
}

fn os(p: &SpdxPackage, ours: bool) -> Distro {
    let mut d = Distro {
        id: p.name.clone(),
        version_id: p.version_info.clone().filter(|v| !v.is_empty()),
        pretty_name: p.description.clone(),
        source: p
            .source_info
            .as_deref()
            .and_then(|s| s.strip_prefix("read from "))
            .unwrap_or("sbom:operating-system package")
            .to_string(),
        ..Default::default()
    };
    if !ours {
        distro::normalize_foreign(&mut d);
    }
    d
}

/// What our renderer writes in `sourceInfo`, joined by `; `.
#[derive(Default)]
struct SourceInfo {
    db_path: Option<String>,
    managed_by: Option<String>,
    source: Option<(String, Option<String>)>,
    introduced: Option<LayerRef>,
    last_changed: Option<LayerRef>,
}

fn source_info(s: &str) -> SourceInfo {
    let mut si = SourceInfo::default();
    let layer = |r: &str| {
        let (i, d) = r.split_once(" (")?;
        layer_ref(Some(i), Some(d.strip_suffix(')')?))
    };
    for part in s.split("; ") {
        if let Some(r) = part.strip_prefix("acquired package info from ") {
            // Ours: "deb database var/lib/dpkg/status"; Syft: "DPKG DB: /var/lib/dpkg/status, …".
            if let Some((_, path)) = r.split_once(" database ") {
                si.db_path = Some(path.to_string());
            } else if let Some((_, paths)) = r.split_once(" DB: ") {
                let first = paths.split(", ").next().unwrap_or("");
                si.db_path = Some(image_path(first));
            }
        } else if let Some(r) = part.strip_prefix("installed by OS package ") {
            si.managed_by = Some(r.trim().to_string()).filter(|s| !s.is_empty());
        } else if let Some(r) = part.strip_prefix("built from source package ") {
            si.source = Some(match r.split_once(' ') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (r.to_string(), None),
            });
        } else if let Some(r) = part.strip_prefix("introduced in layer ") {
            si.introduced = layer(r);
        } else if let Some(r) = part.strip_prefix("last changed in layer ") {
            si.last_changed = layer(r);
        }
    }
    si
}

/// `Organization: NAME (EMAIL)` back to `NAME <EMAIL>`.
fn maintainer(supplier: &str) -> Option<String> {
    let s = supplier.trim();
    if s.is_empty() || s == "NOASSERTION" {
        return None;
    }
    let s = s
        .strip_prefix("Organization:")
        .or_else(|| s.strip_prefix("Person:"))
        .unwrap_or(s)
        .trim();
    if let Some(open) = s.rfind(" (") {
        if let Some(email) = s[open + 2..].strip_suffix(')') {
            let name = &s[..open];
            return Some(if name == email {
                format!("<{email}>")
            } else {
                format!("{name} <{email}>")
            });
        }
    }
    Some(s.to_string())
}

#[allow(clippy::type_complexity)]
fn package(
    sp: &SpdxPackage,
    ours: bool,
    layers: &[LayerInfo],
) -> Result<Option<(Package, Option<DistroHint>)>, String> {
    let purl = match os_purl(sp) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            return if ours
                || sp
                    .external_refs
                    .iter()
                    .any(|r| looks_like_os_purl(&r.locator))
            {
                Err(format!("package {}: {e}", short(&sp.spdx_id)))
            } else {
                Ok(None)
            }
        }
        None => return Ok(None),
    };
    let Some(eco) = ecosystem_of(&purl.ty) else {
        return Ok(None);
    };
    if !eco.is_os() {
        return language_package(eco, sp, &purl, layers).map(|p| Some((p, None)));
    }
    let locator = sp
        .external_refs
        .iter()
        .find(|r| r.kind == "purl")
        .map(|r| r.locator.trim().to_string())
        .unwrap_or_default();
    let name = if sp.name.is_empty() {
        purl.name.clone()
    } else {
        sp.name.clone()
    };
    let raw_version = sp
        .version_info
        .clone()
        .filter(|v| !v.is_empty() && v != "NOASSERTION")
        .or_else(|| purl.version.clone())
        .ok_or_else(|| format!("{locator}: no version; package skipped"))?;
    let epoch_hint = purl.qualifier("epoch").and_then(|e| e.parse().ok());
    let (version, epoch) = with_epoch(eco, &raw_version, epoch_hint);
    let mut p = Package::new(eco, name, version);
    p.epoch = epoch;
    p.arch = purl.qualifier("arch").map(str::to_string);
    p.purl = locator;
    p.maintainer = sp.supplier.as_deref().and_then(maintainer);
    p.licenses = match &sp.license_comments {
        Some(c) if c.starts_with(LICENCE_COMMENT) => c[LICENCE_COMMENT.len()..]
            .split("; ")
            .map(str::to_string)
            .collect(),
        _ => sp
            .license_declared
            .iter()
            .filter(|l| !matches!(l.as_str(), "" | "NOASSERTION" | "NONE"))
            .cloned()
            .collect(),
    };

    let si = source_info(sp.source_info.as_deref().unwrap_or(""));
    p.db_path = si.db_path.unwrap_or_default();
    if ours {
        if let Some((n, v)) = si.source {
            p.source_name = Some(n);
            p.source_version = v;
        }
        p.introduced = si.introduced;
        p.last_changed = si.last_changed;
    } else {
        let notes = annotations(sp);
        let (sn, sv) = match si.source {
            Some((n, Some(v))) => (n, v),
            Some((n, None)) => (n, p.version.clone()),
            None => match notes.get("SrcName") {
                Some(n) => {
                    let v = match notes.get("SrcVersion") {
                        Some(v) => {
                            let mut v = v.clone();
                            if let Some(r) = notes.get("SrcRelease").filter(|r| !r.is_empty()) {
                                v = format!("{v}-{r}");
                            }
                            let e = notes.get("SrcEpoch").and_then(|e| e.parse().ok());
                            with_epoch(eco, &v, e).0
                        }
                        None => p.version.clone(),
                    };
                    (n.clone(), v)
                }
                None => match purl.qualifier("upstream") {
                    Some(up) => source_from_upstream(eco, up, &p),
                    None => (p.name.clone(), p.version.clone()),
                },
            },
        };
        p.source_name = Some(sn);
        p.source_version = Some(sv);
        let layer = notes
            .get("LayerDiffID")
            .and_then(|d| layer_by_diff_id(layers, d));
        p.introduced = si.introduced.or_else(|| layer.clone());
        p.last_changed = si.last_changed.or(layer);
    }
    Ok(Some((p, DistroHint::of(&purl))))
}

/// Trivy writes its package properties as SPDX annotations `Key: value`.
fn annotations(p: &SpdxPackage) -> BTreeMap<String, String> {
    p.annotations
        .iter()
        .filter_map(|a| {
            let (k, v) = a.comment.split_once(": ")?;
            Some((k.trim().to_string(), v.trim().to_string()))
        })
        .collect()
}
