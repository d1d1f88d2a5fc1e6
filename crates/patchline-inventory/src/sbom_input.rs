//! An SBOM read back into an [`Inventory`]: what `patchline scan sbom:FILE` scans.
//!
//! Accepted: patchline's own inventory JSON ([`INVENTORY_SCHEMA`]), CycloneDX JSON 1.4 to
//! 1.7 and SPDX 2.2 / 2.3 JSON, whether patchline, Trivy or Syft wrote them.
//!
//! The promise is that rescanning an SBOM gives the findings scanning the image gave, so
//! every field the matcher reads must come back: ecosystem, name, the version with its
//! epoch, architecture, source package name and version, the distro id and version, the
//! purl and the layer attribution. Where each comes from, first found wins:
//!
//! | field | patchline CycloneDX / SPDX | other tools |
//! |---|---|---|
//! | ecosystem | `patchline:package:ecosystem` | purl type `deb`/`apk`/`rpm`, Syft `syft:package:type` |
//! | version, epoch | component `version` (epoch included), `patchline:package:epoch` | `version` or the purl version, the epoch re-added from the purl `epoch=` qualifier |
//! | arch | `patchline:package:arch` | purl `arch=` |
//! | source | `patchline:package:source_name` / `source_version`; SPDX `sourceInfo` | Trivy `aquasecurity:trivy:Src*` (SPDX: annotations), Syft `syft:metadata:source*` / `originPackage` / `sourceRpm`, purl `upstream=` (a name, `NAME@VERSION`, or a source rpm file name), else the package itself |
//! | layers | `patchline:layer:*`; SPDX `sourceInfo` | Trivy `aquasecurity:trivy:LayerDiffID` (as both introduced and last changed) |
//! | distro | the `operating-system` component / `OPERATING_SYSTEM` package | the same, else the purls' `distro=` qualifier |
//!
//! Two conventions fill what the purl convention leaves out, both as the extractors do:
//! a source given without a version has the binary's version, and a source version
//! given without an epoch (purl `upstream=NAME@VERSION`) has the binary's epoch.
//!
//! Distro names other tools use that no os-release `ID` has are mapped to the os-release
//! one (Trivy's `redhat` is `rhel`, `alma` is `almalinux`, ...), and Debian and CentOS
//! versions are cut to the major release os-release states (Trivy reads `12.5` from
//! `/etc/debian_version`; os-release says `12`), so that the matcher picks the same
//! release as for the image.
//!
//! Language packages are not inventoried yet: components that are not OS packages are
//! skipped and counted in a warning.
//!
//! Input is untrusted: its size is bounded ([`MAX_SBOM_BYTES`]), JSON nesting is bounded
//! by serde_json, and every error names the file and, for a value of the wrong type, its
//! JSON path.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

use patchline_model::{
    purl as model_purl, Digest, Distro, Ecosystem, ImageInfo, Inventory, LayerInfo, LayerRef,
    Package, Tool, Warning, INVENTORY_SCHEMA,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

/// The largest SBOM read. The biggest real image SBOMs are tens of MiB; beyond this the
/// input is refused before it is read, so that a hostile or mistaken path cannot exhaust
/// memory.
pub const MAX_SBOM_BYTES: u64 = 512 * 1024 * 1024;

/// Why an SBOM could not be read. Each variant names the file (`origin`).
#[derive(Debug, thiserror::Error)]
pub enum SbomInputError {
    #[error("{origin}: cannot read: {source}")]
    Io {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}: {size} bytes is more than the {limit} bytes an SBOM may have")]
    TooLarge {
        origin: String,
        size: u64,
        limit: u64,
    },
    #[error("{origin}: not JSON: {message}")]
    NotJson { origin: String, message: String },
    #[error("{origin}: not a known SBOM format: {reason}")]
    UnknownFormat { origin: String, reason: String },
    #[error("{origin}: unsupported {what}")]
    Unsupported { origin: String, what: String },
    #[error("{origin}: invalid {format} document: {message}")]
    Invalid {
        origin: String,
        format: String,
        message: String,
    },
}

/// Reads the SBOM at `path` (see [`parse_sbom`]); refuses files larger than
/// [`MAX_SBOM_BYTES`] before reading them.
pub fn read_sbom(path: &Path) -> Result<Inventory, SbomInputError> {
    let origin = path.display().to_string();
    let io = |source| SbomInputError::Io {
        origin: origin.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let claimed = file.metadata().map_err(io)?.len();
    if claimed > MAX_SBOM_BYTES {
        return Err(SbomInputError::TooLarge {
            origin,
            size: claimed,
            limit: MAX_SBOM_BYTES,
        });
    }
    // The length can change under us (a growing file, a pipe reporting 0): the read
    // itself is bounded too.
    let mut bytes = Vec::with_capacity(usize::try_from(claimed).unwrap_or(0));
    file.take(MAX_SBOM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_SBOM_BYTES {
        return Err(SbomInputError::TooLarge {
            origin,
            size: bytes.len() as u64,
            limit: MAX_SBOM_BYTES,
        });
    }
    parse_sbom(&bytes, &origin)
}

/// Parses an SBOM document. `origin` names it in errors and warnings (a path, `stdin`),
/// and becomes the image reference when the document names no image.
pub fn parse_sbom(bytes: &[u8], origin: &str) -> Result<Inventory, SbomInputError> {
    if bytes.len() as u64 > MAX_SBOM_BYTES {
        return Err(SbomInputError::TooLarge {
            origin: origin.into(),
            size: bytes.len() as u64,
            limit: MAX_SBOM_BYTES,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace()).copied();
    match first {
        None => {
            return Err(SbomInputError::NotJson {
                origin: origin.into(),
                message: "the file is empty".into(),
            })
        }
        Some(b'<') => {
            return Err(SbomInputError::Unsupported {
                origin: origin.into(),
                what: "XML document (CycloneDX XML or SPDX RDF/XML): use the JSON form".into(),
            })
        }
        _ if bytes.starts_with(b"SPDXVersion:") => {
            return Err(SbomInputError::Unsupported {
                origin: origin.into(),
                what: "SPDX tag-value document: use SPDX JSON".into(),
            })
        }
        _ => {}
    }

    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => SbomInputError::UnknownFormat {
            origin: origin.into(),
            reason: "the top-level JSON value is not an object".into(),
        },
        _ => SbomInputError::NotJson {
            origin: origin.into(),
            message: e.to_string(),
        },
    })?;
    match probe.kind(origin)? {
        Kind::Patchline => {
            let inv: Inventory = typed(bytes, origin, "patchline inventory")?;
            Ok(inv)
        }
        Kind::CycloneDx(version) => {
            let bom: cdx::Bom = typed(bytes, origin, &format!("CycloneDX {version}"))?;
            Ok(cdx::to_inventory(bom, origin))
        }
        Kind::Spdx(version) => {
            let doc: spdx::Document = typed(bytes, origin, &version)?;
            Ok(spdx::to_inventory(doc, origin))
        }
    }
}

/// The few top-level fields that tell the formats apart. Values are kept untyped so that
/// a wrong type is reported by the format's own parse, with its path.
#[derive(Deserialize)]
struct Probe {
    schema: Option<Value>,
    #[serde(rename = "bomFormat")]
    bom_format: Option<Value>,
    #[serde(rename = "specVersion")]
    spec_version: Option<Value>,
    #[serde(rename = "spdxVersion")]
    spdx_version: Option<Value>,
    #[serde(rename = "@context")]
    context: Option<Value>,
}

enum Kind {
    Patchline,
    CycloneDx(String),
    Spdx(String),
}

const CYCLONEDX_VERSIONS: [&str; 4] = ["1.4", "1.5", "1.6", "1.7"];

impl Probe {
    fn kind(&self, origin: &str) -> Result<Kind, SbomInputError> {
        let unsupported = |what: String| SbomInputError::Unsupported {
            origin: origin.into(),
            what,
        };
        if let Some(schema) = &self.schema {
            let s = schema.as_str().unwrap_or("");
            if s == INVENTORY_SCHEMA {
                return Ok(Kind::Patchline);
            }
            if s.starts_with("patchline.inventory/") {
                return Err(unsupported(format!(
                    "patchline inventory schema {} (this version reads {INVENTORY_SCHEMA})",
                    short(s)
                )));
            }
            if s.starts_with("patchline.scan/") {
                return Err(unsupported(
                    "document: a patchline scan report, not an SBOM (use `patchline sbom` output)"
                        .into(),
                ));
            }
        }
        if let Some(f) = &self.bom_format {
            if f.as_str() != Some("CycloneDX") {
                return Err(SbomInputError::UnknownFormat {
                    origin: origin.into(),
                    reason: format!("bomFormat is {}, expected \"CycloneDX\"", short_json(f)),
                });
            }
            let v = match &self.spec_version {
                Some(Value::String(v)) => v.as_str(),
                Some(other) => {
                    return Err(SbomInputError::Invalid {
                        origin: origin.into(),
                        format: "CycloneDX".into(),
                        message: format!("specVersion is {}, not a string", short_json(other)),
                    })
                }
                None => {
                    return Err(SbomInputError::Invalid {
                        origin: origin.into(),
                        format: "CycloneDX".into(),
                        message: "specVersion is missing".into(),
                    })
                }
            };
            if !CYCLONEDX_VERSIONS.contains(&v) {
                return Err(unsupported(format!(
                    "CycloneDX specVersion {} (1.4 to 1.7 are read)",
                    short(v)
                )));
            }
            return Ok(Kind::CycloneDx(v.to_string()));
        }
        if let Some(v) = &self.spdx_version {
            return match v.as_str() {
                Some(s @ ("SPDX-2.2" | "SPDX-2.3")) => Ok(Kind::Spdx(s.to_string())),
                Some(s) => Err(unsupported(format!(
                    "spdxVersion {} (SPDX-2.2 and SPDX-2.3 JSON are read)",
                    short(s)
                ))),
                None => Err(SbomInputError::Invalid {
                    origin: origin.into(),
                    format: "SPDX".into(),
                    message: format!("spdxVersion is {}, not a string", short_json(v)),
                }),
            };
        }
        if let Some(c) = &self.context {
            if c.to_string().contains("spdx") {
                return Err(unsupported(
                    "SPDX 3 JSON-LD document (SPDX-2.2 and SPDX-2.3 JSON are read)".into(),
                ));
            }
        }
        Err(SbomInputError::UnknownFormat {
            origin: origin.into(),
            reason: format!(
                "no `schema: {INVENTORY_SCHEMA}`, `bomFormat: CycloneDX` or `spdxVersion` field \
                 (expected a patchline inventory, CycloneDX JSON or SPDX JSON)"
            ),
        })
    }
}

/// Deserialises the whole document as `T`, naming the JSON path of a wrong value.
fn typed<T: DeserializeOwned>(
    bytes: &[u8],
    origin: &str,
    format: &str,
) -> Result<T, SbomInputError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        SbomInputError::Invalid {
            origin: origin.into(),
            format: format.into(),
            message: if path.is_empty() || path == "." {
                inner.to_string()
            } else {
                format!("at {path}: {inner}")
            },
        }
    })?;
    de.end().map_err(|e| SbomInputError::NotJson {
        origin: origin.into(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// At most 100 characters of an untrusted string, quoted, for messages.
fn short(s: &str) -> String {
    let cut: String = s.chars().take(100).collect();
    if cut.len() < s.len() {
        format!("{cut:?}…")
    } else {
        format!("{cut:?}")
    }
}

fn short_json(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 100 {
        format!("{}…", s.chars().take(100).collect::<String>())
    } else {
        s
    }
}

// ---------------------------------------------------------------------------------------
// package-url
// ---------------------------------------------------------------------------------------

/// A parsed package-url: `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS#SUBPATH`, every
/// component percent-decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purl {
    /// Lowercased (`deb`, `apk`, `rpm`, `npm`, ...).
    pub ty: String,
    /// Segments joined by `/`; `None` when absent.
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    /// Keys lowercased; qualifiers with an empty value are dropped, as the spec says.
    pub qualifiers: BTreeMap<String, String>,
    pub subpath: Option<String>,
}

impl Purl {
    pub fn qualifier(&self, key: &str) -> Option<&str> {
        self.qualifiers.get(key).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid purl {input}: {reason}")]
pub struct PurlError {
    /// The purl as given, quoted and shortened.
    pub input: String,
    pub reason: String,
}

/// Parses a package-url following the spec's parsing rules: split from the right on
/// `#`, `?` and `@`, from the left on the type's `/`, percent-decode each component.
/// A `+` is a literal plus (purls are not form-encoded).
pub fn parse_purl(s: &str) -> Result<Purl, PurlError> {
    let err = |reason: &str| PurlError {
        input: short(s),
        reason: reason.to_string(),
    };
    let rest = match s.get(..4) {
        Some(scheme) if scheme.eq_ignore_ascii_case("pkg:") => &s[4..],
        _ => return Err(err("does not start with `pkg:`")),
    };
    let rest = rest.trim_start_matches('/');

    let (rest, subpath) = match rest.split_once('#') {
        Some((r, sp)) => {
            let segs: Vec<String> = sp
                .split('/')
                .filter(|seg| !seg.is_empty() && *seg != "." && *seg != "..")
                .map(|seg| decode(seg).map_err(|e| err(&format!("subpath: {e}"))))
                .collect::<Result<_, _>>()?;
            (r, (!segs.is_empty()).then(|| segs.join("/")))
        }
        None => (rest, None),
    };

    let (rest, qualifiers) = match rest.rsplit_once('?') {
        Some((r, q)) => {
            let mut map = BTreeMap::new();
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| err(&format!("qualifier {} has no `=`", short(pair))))?;
                let k = k.to_ascii_lowercase();
                let valid_key = !k.is_empty()
                    && !k.starts_with(|c: char| c.is_ascii_digit())
                    && k.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
                if !valid_key {
                    return Err(err(&format!("invalid qualifier key {}", short(&k))));
                }
                let v = decode(v).map_err(|e| err(&format!("qualifier {k}: {e}")))?;
                if v.is_empty() {
                    continue;
                }
                if map.insert(k.clone(), v).is_some() {
                    return Err(err(&format!("qualifier {k} repeated")));
                }
            }
            (r, map)
        }
        None => (rest, BTreeMap::new()),
    };

    let (ty, rest) = rest
        .split_once('/')
        .ok_or_else(|| err("no `/` after the type"))?;
    let valid_type = !ty.is_empty()
        && !ty.starts_with(|c: char| c.is_ascii_digit())
        && ty
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
    if !valid_type {
        return Err(err("invalid type"));
    }
    let rest = rest.trim_end_matches('/');

    let (rest, version) = match rest.rsplit_once('@') {
        Some((r, v)) => {
            let v = decode(v).map_err(|e| err(&format!("version: {e}")))?;
            (r, (!v.is_empty()).then_some(v))
        }
        None => (rest, None),
    };

    let (namespace, name) = match rest.rsplit_once('/') {
        Some((ns, n)) => (Some(ns), n),
        None => (None, rest),
    };
    let name = decode(name).map_err(|e| err(&format!("name: {e}")))?;
    if name.is_empty() {
        return Err(err("empty name"));
    }
    let namespace = match namespace {
        Some(ns) => {
            let segs: Vec<String> = ns
                .split('/')
                .filter(|seg| !seg.is_empty())
                .map(|seg| decode(seg).map_err(|e| err(&format!("namespace: {e}"))))
                .collect::<Result<_, _>>()?;
            (!segs.is_empty()).then(|| segs.join("/"))
        }
        None => None,
    };

    Ok(Purl {
        ty: ty.to_ascii_lowercase(),
        namespace,
        name,
        version,
        qualifiers,
        subpath,
    })
}

/// Percent-decodes one purl component; the result must be UTF-8.
fn decode(s: &str) -> Result<String, String> {
    if !s.contains('%') {
        return Ok(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-escape at byte {i}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-escapes decode to invalid UTF-8".to_string())
}

// ---------------------------------------------------------------------------------------
// Shared reconstruction rules
// ---------------------------------------------------------------------------------------

fn ecosystem_of(s: &str) -> Option<Ecosystem> {
    match s {
        "deb" => Some(Ecosystem::Deb),
        "apk" => Some(Ecosystem::Apk),
        "rpm" => Some(Ecosystem::Rpm),
        _ => None,
    }
}

/// `N:` at the start of a dpkg/rpm version.
fn leading_epoch(v: &str) -> Option<(u32, &str)> {
    let (e, rest) = v.split_once(':')?;
    if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((e.parse().ok()?, rest))
}

/// The full version and epoch: a version that carries its epoch keeps it; otherwise a
/// non-zero epoch from elsewhere (the purl qualifier, a property) is put in front, as
/// the inventory's versions always carry it. apk has no epochs.
fn with_epoch(eco: Ecosystem, version: &str, epoch: Option<u32>) -> (String, Option<u32>) {
    if eco == Ecosystem::Apk {
        return (version.to_string(), None);
    }
    if let Some((e, _)) = leading_epoch(version) {
        return (version.to_string(), Some(e));
    }
    match epoch {
        Some(e) if e != 0 => (format!("{e}:{version}"), Some(e)),
        _ => (version.to_string(), None),
    }
}

/// `debian-12` → (`debian`, `12`); the version starts after the last `-` followed by a
/// digit, so ids with dashes (`opensuse-leap-15.5`) survive.
fn split_distro_qualifier(q: &str) -> (String, Option<String>) {
    let bytes = q.as_bytes();
    for (i, b) in bytes.iter().enumerate().rev() {
        if *b == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            return (q[..i].to_string(), Some(q[i + 1..].to_string()));
        }
    }
    (q.to_string(), None)
}

/// Brings a distro named by another tool to the os-release identity the matcher keys on.
fn normalize_foreign_distro(d: &mut Distro) {
    let id = d.id.to_ascii_lowercase();
    d.id = match id.as_str() {
        "redhat" | "red hat" => "rhel".into(),
        "alma" => "almalinux".into(),
        "oracle" => "ol".into(),
        "amazon" => "amzn".into(),
        "cbl-mariner" => "mariner".into(),
        "suse linux enterprise server" => "sles".into(),
        "suse linux enterprise micro" => "sle-micro".into(),
        "opensuse.leap" => "opensuse-leap".into(),
        "opensuse.tumbleweed" => "opensuse-tumbleweed".into(),
        _ => id,
    };
    if matches!(d.id.as_str(), "debian" | "centos") {
        if let Some(v) = &d.version_id {
            if let Some((major, _)) = v.split_once('.') {
                if !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) {
                    d.version_id = Some(major.to_string());
                }
            }
        }
    }
}

/// The distro most packages' purls name, for SBOMs without an operating-system entry.
fn distro_from_purls<'a>(purls: impl Iterator<Item = &'a str>, source: &str) -> Option<Distro> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for q in purls {
        *counts.entry(q).or_default() += 1;
    }
    let (q, _) = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))?;
    let (id, version_id) = split_distro_qualifier(q);
    let mut d = Distro {
        id,
        version_id,
        source: source.into(),
        ..Default::default()
    };
    normalize_foreign_distro(&mut d);
    Some(d)
}

/// Source name and version from a purl `upstream=NAME[@VERSION]` qualifier.
fn source_from_upstream(eco: Ecosystem, up: &str, p: &Package) -> (String, String) {
    // Syft puts the source rpm's file name there: `openssl-1.1.1k-12.el8_9.src.rpm`.
    if eco == Ecosystem::Rpm {
        if let Some((n, v, r)) = patchline_rpmdb::split_source_rpm(up) {
            return (n, with_epoch(eco, &format!("{v}-{r}"), p.epoch).0);
        }
    }
    match up.rsplit_once('@') {
        Some((n, v)) if !n.is_empty() && !v.is_empty() => {
            (n.to_string(), with_epoch(eco, v, p.epoch).0)
        }
        _ => (up.to_string(), p.version.clone()),
    }
}

/// A purl that names an OS package type even if it does not parse: losing such a
/// package changes findings, so it is reported rather than counted as a language one.
fn looks_like_os_purl(s: &str) -> bool {
    let s = s.trim().to_ascii_lowercase();
    ["pkg:deb/", "pkg:apk/", "pkg:rpm/"]
        .iter()
        .any(|p| s.starts_with(p))
}

fn parse_index(s: &str) -> Option<usize> {
    s.trim().parse().ok()
}

fn layer_ref(index: Option<&str>, diff_id: Option<&str>) -> Option<LayerRef> {
    Some(LayerRef {
        index: parse_index(index?)?,
        diff_id: diff_id?.trim().parse().ok()?,
    })
}

/// The layer with this diff_id, for formats that name a package's layer only by digest.
fn layer_by_diff_id(layers: &[LayerInfo], diff_id: &str) -> Option<LayerRef> {
    let d: Digest = diff_id.trim().parse().ok()?;
    layers.iter().find(|l| l.diff_id == d).map(|l| LayerRef {
        index: l.index,
        diff_id: d,
    })
}

/// `var/lib/dpkg/status` from Syft's `/var/lib/dpkg/status`: paths in the inventory
/// are relative to the image root.
fn image_path(p: &str) -> String {
    p.trim().trim_start_matches('/').to_string()
}

/// Counts what was not read as an OS package, for one warning at the end.
#[derive(Default)]
struct Skipped {
    count: usize,
    examples: Vec<String>,
}

impl Skipped {
    fn add(&mut self, what: &str) {
        self.count += 1;
        if self.examples.len() < 3 {
            self.examples.push(what.chars().take(120).collect());
        }
    }

    fn warning(&self, origin: &str) -> Option<Warning> {
        (self.count > 0).then(|| Warning {
            source: "sbom".into(),
            location: origin.into(),
            message: format!(
                "{} component{} that {} not OS packages (deb, apk, rpm) skipped: language \
                 packages are not scanned yet (e.g. {})",
                self.count,
                if self.count == 1 { "" } else { "s" },
                if self.count == 1 { "is" } else { "are" },
                self.examples.join(", ")
            ),
        })
    }
}

fn warn(inv: &mut Inventory, origin: &str, message: String) {
    inv.warnings.push(Warning {
        source: "sbom".into(),
        location: origin.into(),
        message,
    });
}

impl fmt::Display for Purl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pkg:{}/", self.ty)?;
        if let Some(ns) = &self.namespace {
            for seg in ns.split('/') {
                write!(f, "{}/", model_purl::encode(seg))?;
            }
        }
        f.write_str(&model_purl::encode(&self.name))?;
        if let Some(v) = &self.version {
            write!(f, "@{}", model_purl::encode(v))?;
        }
        for (i, (k, v)) in self.qualifiers.iter().enumerate() {
            write!(
                f,
                "{}{k}={}",
                if i == 0 { '?' } else { '&' },
                model_purl::encode(v)
            )?;
        }
        if let Some(sp) = &self.subpath {
            write!(f, "#{sp}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// CycloneDX
// ---------------------------------------------------------------------------------------

mod cdx {
    use super::*;

    #[derive(Deserialize)]
    pub(super) struct Bom {
        #[serde(default)]
        metadata: Option<Metadata>,
        #[serde(default)]
        components: Vec<Component>,
    }

    #[derive(Deserialize, Default)]
    struct Metadata {
        #[serde(default)]
        tools: Option<Value>,
        #[serde(default)]
        component: Option<Component>,
        #[serde(default)]
        properties: Vec<Property>,
    }

    #[derive(Deserialize, Default)]
    pub(super) struct Component {
        #[serde(rename = "type", default)]
        kind: String,
        #[serde(default)]
        name: String,
        #[serde(default)]
        version: Option<String>,
        #[serde(default)]
        description: Option<String>,
        #[serde(default)]
        publisher: Option<String>,
        #[serde(default)]
        supplier: Option<Supplier>,
        #[serde(default)]
        purl: Option<String>,
        #[serde(default)]
        cpe: Option<String>,
        #[serde(default)]
        hashes: Vec<Hash>,
        #[serde(default)]
        licenses: Vec<LicenseChoice>,
        #[serde(default)]
        properties: Vec<Property>,
        #[serde(default)]
        components: Vec<Component>,
    }

    #[derive(Deserialize)]
    struct Supplier {
        #[serde(default)]
        name: Option<String>,
    }

    #[derive(Deserialize)]
    struct Hash {
        alg: String,
        content: String,
    }

    #[derive(Deserialize)]
    struct LicenseChoice {
        #[serde(default)]
        license: Option<License>,
        #[serde(default)]
        expression: Option<String>,
    }

    #[derive(Deserialize)]
    struct License {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        name: Option<String>,
    }

    #[derive(Deserialize)]
    pub(super) struct Property {
        name: String,
        #[serde(default)]
        value: Option<String>,
    }

    struct Props<'a>(&'a [Property]);

    impl<'a> Props<'a> {
        fn get(&self, name: &str) -> Option<&'a str> {
            self.0
                .iter()
                .find(|p| p.name == name)
                .and_then(|p| p.value.as_deref())
        }
        fn get_nonempty(&self, name: &str) -> Option<&'a str> {
            self.get(name).map(str::trim).filter(|v| !v.is_empty())
        }
        fn all(&self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
            self.0
                .iter()
                .filter(move |p| p.name == name)
                .filter_map(|p| p.value.as_deref())
        }
        fn with_prefix(&self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
            self.0.iter().filter_map(move |p| {
                Some((
                    p.name.strip_prefix(prefix)?,
                    p.value.as_deref().unwrap_or(""),
                ))
            })
        }
    }

    fn flatten<'a>(cs: &'a [Component], out: &mut Vec<&'a Component>) {
        for c in cs {
            out.push(c);
            flatten(&c.components, out);
        }
    }

    pub(super) fn to_inventory(bom: Bom, origin: &str) -> Inventory {
        let meta = bom.metadata.unwrap_or_default();
        let doc_props = Props(&meta.properties);
        let mut inv = Inventory::new(image(meta.component.as_ref(), origin));
        inv.tool = tool(meta.tools.as_ref());
        if let Some(c) = doc_props.get("patchline:inventory:complete") {
            inv.complete = c.trim() != "false";
        }
        read_warnings(&doc_props, &mut inv);

        let mut all = Vec::new();
        flatten(&bom.components, &mut all);

        let mut distro = None;
        let mut skipped = Skipped::default();
        let mut distro_qualifiers = Vec::new();
        for c in &all {
            match c.kind.as_str() {
                "operating-system" => {
                    if distro.is_none() {
                        distro = Some(os(c));
                    }
                    continue;
                }
                "container" => continue,
                _ => {}
            }
            match package(c, &inv.image.layers) {
                Ok(Some((p, q))) => {
                    if let Some(q) = q {
                        distro_qualifiers.push(q);
                    }
                    inv.packages.push(p);
                }
                Ok(None) => {
                    // Packages only: files, services and Trivy's per-target
                    // `application` entries are not something a scan would miss.
                    match c.purl.as_deref().filter(|p| !p.trim().is_empty()) {
                        Some(p) => skipped.add(p),
                        None if matches!(c.kind.as_str(), "library" | "framework") => {
                            skipped.add(&c.name)
                        }
                        None => {}
                    }
                }
                Err(msg) => {
                    inv.complete = false;
                    warn(&mut inv, origin, msg);
                }
            }
        }
        inv.distro = distro.or_else(|| {
            distro_from_purls(distro_qualifiers.iter().map(String::as_str), "sbom:purl")
        });
        if let Some(w) = skipped.warning(origin) {
            inv.warnings.push(w);
        }
        if doc_props.get("patchline:scan:schema").is_some() {
            inv.complete = false;
            warn(
                &mut inv,
                origin,
                "this CycloneDX document is a patchline scan result: it lists only the packages \
                 that had findings, not the whole image"
                    .into(),
            );
        }
        inv
    }

    fn tool(tools: Option<&Value>) -> Tool {
        let first = match tools {
            Some(Value::Array(a)) => a.first(),
            Some(Value::Object(o)) => o
                .get("components")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .or_else(|| {
                    o.get("services")
                        .and_then(Value::as_array)
                        .and_then(|a| a.first())
                }),
            _ => None,
        };
        let field = |k: &str| {
            first
                .and_then(|t| t.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let name = field("name");
        Tool {
            name: if name.is_empty() {
                "unknown".into()
            } else {
                name
            },
            version: field("version"),
        }
    }

    fn image(c: Option<&Component>, origin: &str) -> ImageInfo {
        let Some(c) = c else {
            return ImageInfo {
                reference: origin.into(),
                ..Default::default()
            };
        };
        let props = Props(&c.properties);
        let mut img = ImageInfo {
            reference: if c.name.is_empty() {
                origin.into()
            } else {
                c.name.clone()
            },
            ..Default::default()
        };
        // Ours and Syft's: the version is the manifest digest.
        img.manifest_digest = c.version.as_deref().and_then(|v| v.parse().ok());
        if img.manifest_digest.is_none() {
            // Trivy: `aquasecurity:trivy:RepoDigest` is `repo@sha256:…`.
            img.manifest_digest = props
                .all("aquasecurity:trivy:RepoDigest")
                .find_map(|d| d.rsplit_once('@').and_then(|(_, d)| d.parse().ok()));
        }
        if img.manifest_digest.is_none() {
            img.manifest_digest = c.hashes.iter().find_map(|h| match h.alg.as_str() {
                "SHA-256" => format!("sha256:{}", h.content).parse().ok(),
                "SHA-512" => format!("sha512:{}", h.content).parse().ok(),
                _ => None,
            });
        }
        let get = |k: &str| {
            props
                .get_nonempty(&format!("patchline:image:{k}"))
                .map(str::to_string)
        };
        img.os = get("os");
        img.architecture = get("architecture");
        img.variant = get("variant");
        img.created = get("created");
        img.config_digest = get("config_digest")
            .and_then(|d| d.parse().ok())
            .or_else(|| {
                props
                    .get_nonempty("aquasecurity:trivy:ImageID")
                    .and_then(|d| d.parse().ok())
            });

        let mut layers: BTreeMap<usize, PartialLayer> = BTreeMap::new();
        for (rest, value) in props.with_prefix("patchline:image:layer:") {
            let Some((i, field)) = rest.split_once(':') else {
                continue;
            };
            let Some(i) = parse_index(i) else { continue };
            let l = layers.entry(i).or_default();
            match field {
                "diff_id" => l.diff_id = value.parse().ok(),
                "digest" => l.digest = value.parse().ok(),
                "media_type" => l.media_type = Some(value.to_string()),
                "size" => l.size = value.parse().ok(),
                "created_by" => l.created_by = Some(value.to_string()),
                _ => {}
            }
        }
        img.layers = layers
            .into_iter()
            .filter_map(|(index, l)| {
                Some(LayerInfo {
                    index,
                    digest: l.digest,
                    diff_id: l.diff_id?,
                    media_type: l.media_type.unwrap_or_default(),
                    size: l.size,
                    created_by: l.created_by,
                })
            })
            .collect();
        if img.layers.is_empty() {
            // Trivy lists the image's diff_ids in order, one property each.
            img.layers = props
                .all("aquasecurity:trivy:DiffID")
                .filter_map(|d| d.trim().parse().ok())
                .enumerate()
                .map(|(index, diff_id)| LayerInfo {
                    index,
                    digest: None,
                    diff_id,
                    media_type: String::new(),
                    size: None,
                    created_by: None,
                })
                .collect();
        }
        for (k, v) in props.with_prefix("patchline:image:label:") {
            img.labels.insert(k.to_string(), v.to_string());
        }
        for (k, v) in props.with_prefix("patchline:image:annotation:") {
            img.annotations.insert(k.to_string(), v.to_string());
        }
        img
    }

    #[derive(Default)]
    struct PartialLayer {
        diff_id: Option<Digest>,
        digest: Option<Digest>,
        media_type: Option<String>,
        size: Option<u64>,
        created_by: Option<String>,
    }

    fn read_warnings(props: &Props, inv: &mut Inventory) {
        let mut ws: BTreeMap<usize, (String, String, String)> = BTreeMap::new();
        for (rest, value) in props.with_prefix("patchline:warning:") {
            let Some((i, field)) = rest.split_once(':') else {
                continue;
            };
            let Some(i) = parse_index(i) else { continue };
            let w = ws.entry(i).or_default();
            match field {
                "source" => w.0 = value.to_string(),
                "location" => w.1 = value.to_string(),
                "message" => w.2 = value.to_string(),
                _ => {}
            }
        }
        inv.warnings
            .extend(ws.into_values().map(|(source, location, message)| Warning {
                source,
                location,
                message,
            }));
    }

    fn os(c: &Component) -> Distro {
        let props = Props(&c.properties);
        let ours = props.get("patchline:distro:source").is_some();
        let s = |v: Option<&str>| v.map(str::to_string);
        let mut d = Distro {
            id: props
                .get_nonempty("syft:distro:id")
                .unwrap_or(&c.name)
                .to_string(),
            version_id: c
                .version
                .clone()
                .filter(|v| !v.is_empty())
                .or_else(|| s(props.get_nonempty("syft:distro:versionID"))),
            version_codename: s(props.get_nonempty("patchline:distro:version_codename"))
                .or_else(|| s(props.get_nonempty("syft:distro:versionCodename"))),
            name: None,
            pretty_name: c
                .description
                .clone()
                .or_else(|| s(props.get_nonempty("syft:distro:prettyName"))),
            id_like: match props.get_nonempty("patchline:distro:id_like") {
                Some(l) => l.split_whitespace().map(str::to_string).collect(),
                None => props
                    .with_prefix("syft:distro:idLike:")
                    .map(|(_, v)| v.to_string())
                    .collect(),
            },
            cpe_name: c.cpe.clone(),
            source: props
                .get("patchline:distro:source")
                .unwrap_or("sbom:operating-system component")
                .to_string(),
        };
        if !ours {
            normalize_foreign_distro(&mut d);
        }
        d
    }

    /// The package a component describes, with its purl's `distro=` qualifier; `None` for
    /// a component that is not an OS package; `Err` for an OS package that cannot be read.
    #[allow(clippy::type_complexity)]
    fn package(
        c: &Component,
        layers: &[LayerInfo],
    ) -> Result<Option<(Package, Option<String>)>, String> {
        let props = Props(&c.properties);
        let ours = props.get("patchline:package:ecosystem");
        let purl = match c.purl.as_deref().filter(|p| !p.trim().is_empty()) {
            Some(p) => match parse_purl(p.trim()) {
                Ok(p) => Some(p),
                Err(e) if ours.is_some() || looks_like_os_purl(p) => {
                    return Err(format!(
                        "component {}: {e}; package skipped",
                        short(&c.name)
                    ))
                }
                Err(_) => return Ok(None),
            },
            None => None,
        };
        let eco = ours
            .and_then(ecosystem_of)
            .or_else(|| purl.as_ref().and_then(|p| ecosystem_of(&p.ty)))
            .or_else(|| props.get("syft:package:type").and_then(ecosystem_of));
        let Some(eco) = eco else {
            return Ok(None);
        };
        let what = || c.purl.clone().unwrap_or_else(|| short(&c.name));

        let name = if c.name.is_empty() {
            match &purl {
                Some(p) => p.name.clone(),
                None => return Err(format!("{} component without a name skipped", eco)),
            }
        } else {
            c.name.clone()
        };
        let raw_version = c
            .version
            .clone()
            .filter(|v| !v.is_empty())
            .or_else(|| purl.as_ref().and_then(|p| p.version.clone()))
            .ok_or_else(|| format!("{}: no version; package skipped", what()))?;
        let epoch_hint = props
            .get_nonempty("patchline:package:epoch")
            .and_then(|e| e.parse().ok())
            .or_else(|| {
                purl.as_ref()
                    .and_then(|p| p.qualifier("epoch"))
                    .and_then(|e| e.parse().ok())
            });
        let (version, epoch) = with_epoch(eco, &raw_version, epoch_hint);
        let mut p = Package::new(eco, name, version);
        p.epoch = epoch;
        // An explicit epoch 0 (rpm headers can say so) is kept when we wrote it.
        if ours.is_some() && p.epoch.is_none() {
            p.epoch = epoch_hint.filter(|_| eco != Ecosystem::Apk);
        }
        p.arch = props
            .get_nonempty("patchline:package:arch")
            .or_else(|| purl.as_ref().and_then(|q| q.qualifier("arch")))
            .map(str::to_string);
        p.purl = c.purl.clone().unwrap_or_default();
        p.maintainer = c
            .publisher
            .clone()
            .filter(|m| !m.trim().is_empty())
            .or_else(|| c.supplier.as_ref().and_then(|s| s.name.clone()));
        p.licenses = licenses(&c.licenses);

        if ours.is_some() {
            p.source_name = props
                .get("patchline:package:source_name")
                .map(str::to_string);
            p.source_version = props
                .get("patchline:package:source_version")
                .map(str::to_string);
            p.db_path = props
                .get("patchline:package:db_path")
                .unwrap_or("")
                .to_string();
            let l = |which: &str| {
                layer_ref(
                    props.get(&format!("patchline:layer:{which}:index")),
                    props.get(&format!("patchline:layer:{which}:diff_id")),
                )
            };
            p.introduced = l("introduced");
            p.last_changed = l("last_changed");
        } else {
            let (sn, sv) = foreign_source(eco, &props, purl.as_ref(), &p);
            p.source_name = Some(sn);
            p.source_version = Some(sv);
            p.db_path = props
                .get_nonempty("syft:location:0:path")
                .map(image_path)
                .unwrap_or_default();
            let layer = props
                .get_nonempty("aquasecurity:trivy:LayerDiffID")
                .and_then(|d| layer_by_diff_id(layers, d));
            p.introduced = layer.clone();
            p.last_changed = layer;
        }
        if p.purl.is_empty() {
            p.purl = model_purl::for_package(&p, None);
        }
        let distro_q = purl
            .as_ref()
            .and_then(|q| q.qualifier("distro"))
            .map(str::to_string);
        Ok(Some((p, distro_q)))
    }

    fn foreign_source(
        eco: Ecosystem,
        props: &Props,
        purl: Option<&Purl>,
        p: &Package,
    ) -> (String, String) {
        if let Some(name) = props.get_nonempty("aquasecurity:trivy:SrcName") {
            let version = match props.get_nonempty("aquasecurity:trivy:SrcVersion") {
                Some(v) => {
                    let mut v = v.to_string();
                    if let Some(r) = props.get_nonempty("aquasecurity:trivy:SrcRelease") {
                        v = format!("{v}-{r}");
                    }
                    let e = props
                        .get_nonempty("aquasecurity:trivy:SrcEpoch")
                        .and_then(|e| e.parse().ok());
                    with_epoch(eco, &v, e).0
                }
                None => p.version.clone(),
            };
            return (name.to_string(), version);
        }
        match eco {
            Ecosystem::Deb => {
                if let Some(name) = props.get_nonempty("syft:metadata:source") {
                    let v = props
                        .get_nonempty("syft:metadata:sourceVersion")
                        .map(str::to_string)
                        .unwrap_or_else(|| p.version.clone());
                    return (name.to_string(), v);
                }
            }
            Ecosystem::Apk => {
                if let Some(name) = props.get_nonempty("syft:metadata:originPackage") {
                    return (name.to_string(), p.version.clone());
                }
            }
            Ecosystem::Rpm => {
                if let Some((n, v, r)) = props
                    .get_nonempty("syft:metadata:sourceRpm")
                    .and_then(patchline_rpmdb::split_source_rpm)
                {
                    return (n, with_epoch(eco, &format!("{v}-{r}"), p.epoch).0);
                }
            }
        }
        if let Some(up) = purl.and_then(|q| q.qualifier("upstream")) {
            return source_from_upstream(eco, up, p);
        }
        (p.name.clone(), p.version.clone())
    }

    fn licenses(ls: &[LicenseChoice]) -> Vec<String> {
        ls.iter()
            .filter_map(|l| {
                l.expression.clone().or_else(|| {
                    l.license
                        .as_ref()
                        .and_then(|l| l.id.clone().or_else(|| l.name.clone()))
                })
            })
            .filter(|l| !l.is_empty())
            .collect()
    }
}

// ---------------------------------------------------------------------------------------
// SPDX 2.2 / 2.3
// ---------------------------------------------------------------------------------------

mod spdx {
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
        let mut distro_qualifiers = Vec::new();
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
                Ok(Some((pkg, q))) => {
                    distro_qualifiers.extend(q);
                    inv.packages.push(pkg);
                }
                Ok(None) => {
                    if let Some(r) = p.external_refs.iter().find(|r| r.kind == "purl") {
                        skipped.add(&r.locator);
                    }
                }
                Err(msg) => {
                    inv.complete = false;
                    warn(&mut inv, origin, msg);
                }
            }
        }
        inv.distro = distro.or_else(|| {
            distro_from_purls(distro_qualifiers.iter().map(String::as_str), "sbom:purl")
        });
        if let Some(w) = skipped.warning(origin) {
            inv.warnings.push(w);
        }
        inv
    }

    fn is_os_package(p: &SpdxPackage) -> bool {
        matches!(os_purl(p), Some(Ok(q)) if ecosystem_of(&q.ty).is_some())
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
            normalize_foreign_distro(&mut d);
        }
        d
    }

    /// What our renderer writes in `sourceInfo`, joined by `; `.
    #[derive(Default)]
    struct SourceInfo {
        db_path: Option<String>,
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
    ) -> Result<Option<(Package, Option<String>)>, String> {
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
        Ok(Some((p, purl.qualifier("distro").map(str::to_string))))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purl_parsing() {
        let p = parse_purl(
            "pkg:deb/debian/login@4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&epoch=1&upstream=shadow%404.13%2Bdfsg1-1",
        )
        .unwrap();
        assert_eq!(p.ty, "deb");
        assert_eq!(p.namespace.as_deref(), Some("debian"));
        assert_eq!(p.name, "login");
        assert_eq!(p.version.as_deref(), Some("4.13+dfsg1-1+b1"));
        assert_eq!(p.qualifier("upstream"), Some("shadow@4.13+dfsg1-1"));
        assert_eq!(p.qualifier("epoch"), Some("1"));

        // Syft leaves `+` unencoded; it is a literal plus, not a space.
        let p =
            parse_purl("pkg:deb/debian/tzdata@2021a-0+deb10u1?arch=all&distro=debian-10").unwrap();
        assert_eq!(p.version.as_deref(), Some("2021a-0+deb10u1"));

        let p = parse_purl("pkg:npm/%40angular/core@1.0.0#lib/x/../y").unwrap();
        assert_eq!(p.namespace.as_deref(), Some("@angular"));
        assert_eq!(p.subpath.as_deref(), Some("lib/x/y"));
        let p = parse_purl("PKG://RPM/fedora/curl@7.50.3-1.fc25?Arch=i386&distro=").unwrap();
        assert_eq!(p.ty, "rpm");
        assert_eq!(p.qualifier("arch"), Some("i386"));
        assert_eq!(p.qualifier("distro"), None);

        for bad in [
            "deb/debian/x@1",
            "pkg:deb",
            "pkg:/x",
            "pkg:deb/debian/@1",
            "pkg:deb/debian/x@1%zz",
            "pkg:deb/debian/x@1%ff",
            "pkg:deb/debian/x@1?arch",
            "pkg:deb/debian/x@1?a=1&a=2",
            "pkg:1deb/x@1",
        ] {
            assert!(parse_purl(bad).is_err(), "{bad}");
        }
        let e = parse_purl("pkg:deb/debian/x@1%zz").unwrap_err();
        assert!(e.to_string().contains("version"), "{e}");
    }

    #[test]
    fn purl_display_round_trips() {
        let s = "pkg:deb/debian/login@4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&epoch=1";
        assert_eq!(parse_purl(s).unwrap().to_string(), s);
    }

    #[test]
    fn epochs() {
        assert_eq!(
            with_epoch(Ecosystem::Deb, "4.13+dfsg1-1", Some(1)),
            ("1:4.13+dfsg1-1".into(), Some(1))
        );
        assert_eq!(
            with_epoch(Ecosystem::Rpm, "1:1.1.1k-9.el8", Some(1)),
            ("1:1.1.1k-9.el8".into(), Some(1))
        );
        assert_eq!(
            with_epoch(Ecosystem::Rpm, "2.2.53-1.el8", Some(0)),
            ("2.2.53-1.el8".into(), None)
        );
        assert_eq!(
            with_epoch(Ecosystem::Apk, "1.2-r0", Some(3)),
            ("1.2-r0".into(), None)
        );
    }

    #[test]
    fn distro_qualifiers() {
        let s = |q: &str| split_distro_qualifier(q);
        assert_eq!(s("debian-12"), ("debian".into(), Some("12".into())));
        assert_eq!(
            s("opensuse-leap-15.5"),
            ("opensuse-leap".into(), Some("15.5".into()))
        );
        assert_eq!(s("alpine-3.19.1"), ("alpine".into(), Some("3.19.1".into())));
        assert_eq!(s("wolfi"), ("wolfi".into(), None));
        let mut d = Distro {
            id: "debian".into(),
            version_id: Some("12.5".into()),
            ..Default::default()
        };
        normalize_foreign_distro(&mut d);
        assert_eq!(d.version_id.as_deref(), Some("12"));
        let mut d = Distro {
            id: "redhat".into(),
            version_id: Some("8.9".into()),
            ..Default::default()
        };
        normalize_foreign_distro(&mut d);
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("rhel", Some("8.9"))
        );
    }
}
