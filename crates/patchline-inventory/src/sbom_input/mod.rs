//! An SBOM read back into an [`Inventory`]: what `patchline scan sbom:FILE` scans.
//!
//! Accepted: patchline's own inventory JSON ([`INVENTORY_SCHEMA`]), CycloneDX JSON 1.4 to
//! 1.7 and SPDX 2.2 / 2.3 JSON, whether patchline, Trivy or Syft wrote them; CycloneDX XML
//! 1.4 to 1.7 ([`xml`]); Syft's own JSON ([`syft`]); and a CycloneDX or SPDX SBOM as the
//! predicate of an in-toto attestation, a plain statement, a DSSE envelope or a file of
//! envelopes one a line, as cosign and `docker buildx --sbom` write them ([`intoto`];
//! signatures are not verified, and the inventory says so in a warning).
//!
//! How each is told apart, in this order:
//!
//! | form | recognised by |
//! |---|---|
//! | CycloneDX XML | first character `<`, root element `bom` in namespace `http://cyclonedx.org/schema/bom/1.x` |
//! | patchline inventory | `schema: patchline.inventory/v1` |
//! | Syft JSON | `descriptor.name: "syft"` beside `artifacts` |
//! | in-toto statement | `_type: https://in-toto.io/Statement/…` |
//! | DSSE envelope | `payloadType` (must be `application/vnd.in-toto+json`) |
//! | attestations one a line | the first line is a whole JSON object, and more follows |
//! | CycloneDX JSON | `bomFormat: CycloneDX` |
//! | SPDX JSON | `spdxVersion` |
//!
//! CycloneDX XML and Syft JSON are converted into the CycloneDX JSON shape and read by
//! the CycloneDX reader, so that they give what their CycloneDX JSON twin gives; an
//! attestation's predicate is read as a document of its own.
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
//! | source | `patchline:package:source_name` / `source_version`; SPDX `sourceInfo` | Trivy `aquasecurity:trivy:Src*` (SPDX: annotations), Syft `syft:metadata:source*` / `originPackage` / `sourceRpm` (Syft JSON: the artifact's `metadata`), purl `upstream=` (a name, `NAME@VERSION`, or a source rpm file name), else the package itself |
//! | layers | `patchline:layer:*`; SPDX `sourceInfo` | Trivy `aquasecurity:trivy:LayerDiffID`, Syft `syft:location:0:layerID` (Syft JSON: `locations[0].layerID`, found among `source.metadata.layers`), each as both introduced and last changed |
//! | distro | the `operating-system` component / `OPERATING_SYSTEM` package | the same (Syft JSON: top-level `distro`), else the purls' `distro=` qualifier |
//!
//! Two conventions fill what the purl convention leaves out, both as the extractors do:
//! a source given without a version has the binary's version, and a source version
//! given without an epoch (purl `upstream=NAME@VERSION`) has the binary's epoch.
//!
//! The distro is whatever spelling the document uses (`debian-12`, `12`, `bookworm`,
//! Trivy's `12.5` or `3.16.0`, `v3.16`, `jammy`, `22.04`, Trivy's `redhat` for `rhel`):
//! [`distro`] hands it to the distro registry
//! ([`patchline_model::distro::Registry::normalize`]), which brings it to the os-release
//! identity the image itself carries, so that the matcher picks the same release. A purl
//! qualifier without the distro's name (`distro=bookworm`) is read with the purl's
//! namespace.
//!
//! Layout: this module probes the format; [`cyclonedx`] and [`spdx`] read one format
//! each; [`xml`] and [`syft`] turn CycloneDX XML and Syft JSON into what [`cyclonedx`]
//! reads; [`intoto`] unwraps attestations; [`rules`] holds what the readers need to
//! rebuild a package; [`distro`] gathers the distro. The purl parser lives beside its
//! writer in [`patchline_model::purl`].
//!
//! Language packages are not inventoried yet: components that are not OS packages, and
//! packages without a purl to tell their ecosystem, are listed in the inventory's
//! `unidentified` (with the reason) and summed up in one warning; a scan counts them as
//! not matched, so such an SBOM never scans as clean.
//!
//! Input is untrusted: its size is bounded ([`MAX_SBOM_BYTES`]), JSON nesting is bounded
//! by serde_json, XML refuses DTDs (so no entity can be declared) and bounds component
//! nesting, an attestation's predicate cannot be another attestation, and every error
//! names the file and, for a value of the wrong type, its JSON path.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use patchline_model::purl::{self, Purl, PurlError};
use patchline_model::{
    Digest, Distro, Ecosystem, ImageInfo, Inventory, LayerInfo, LayerRef, Package, Tool,
    Unidentified, Warning, INVENTORY_SCHEMA,
};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::Deserialize;
use serde_json::Value;

mod cyclonedx;
mod distro;
mod intoto;
mod rules;
mod spdx;
mod syft;
mod xml;

use distro::DistroHint;
use rules::*;

/// The purl parser moved beside its writer in `patchline-model`; re-exported for the
/// readers' callers.
pub use patchline_model::purl::parse_purl;

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
    parse_inner(bytes, origin, Nesting::Top)
}

/// Where a document is read: an attestation's predicate may not be another attestation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Nesting {
    Top,
    Predicate,
}

fn parse_inner(bytes: &[u8], origin: &str, nesting: Nesting) -> Result<Inventory, SbomInputError> {
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
            let bom = xml::to_cyclonedx_json(bytes, origin)?;
            let bom: cyclonedx::Bom = from_value(bom, origin, "CycloneDX XML")?;
            return Ok(cyclonedx::to_inventory(bom, origin));
        }
        _ if bytes.starts_with(b"SPDXVersion:") => {
            return Err(SbomInputError::Unsupported {
                origin: origin.into(),
                what: "SPDX tag-value document: use SPDX JSON".into(),
            })
        }
        _ => {}
    }

    let probe: Probe = match serde_json::from_slice(bytes) {
        Ok(p) => p,
        // One attestation a line, as `cosign download attestation` writes them.
        Err(e)
            if nesting == Nesting::Top
                && e.classify() == serde_json::error::Category::Syntax
                && e.to_string().starts_with("trailing characters")
                && first_line_is_json(bytes) =>
        {
            return intoto::read_lines(bytes, origin)
        }
        Err(e) => {
            return Err(match e.classify() {
                serde_json::error::Category::Data => SbomInputError::UnknownFormat {
                    origin: origin.into(),
                    reason: "the top-level JSON value is not an object".into(),
                },
                _ => SbomInputError::NotJson {
                    origin: origin.into(),
                    message: e.to_string(),
                },
            })
        }
    };
    match probe.kind(origin)? {
        Kind::Patchline => {
            let inv: Inventory = typed(bytes, origin, "patchline inventory")?;
            Ok(inv)
        }
        Kind::CycloneDx(version) => {
            let bom: cyclonedx::Bom = typed(bytes, origin, &format!("CycloneDX {version}"))?;
            Ok(cyclonedx::to_inventory(bom, origin))
        }
        Kind::Spdx(version) => {
            let doc: spdx::Document = typed(bytes, origin, &version)?;
            Ok(spdx::to_inventory(doc, origin))
        }
        Kind::Syft(version) => {
            let doc: syft::Document = typed(bytes, origin, &format!("Syft JSON {version}"))?;
            syft::to_inventory(doc, origin)
        }
        Kind::Attestation if nesting == Nesting::Predicate => Err(SbomInputError::Unsupported {
            origin: origin.into(),
            what: "attestation inside an attestation's predicate".into(),
        }),
        Kind::Attestation => intoto::read(bytes, origin),
    }
}

/// Whether the first line holds a whole JSON object: a file of JSON lines, not one
/// document with something after it.
fn first_line_is_json(bytes: &[u8]) -> bool {
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or(bytes);
    line.trim_ascii_start().starts_with(b"{") && serde_json::from_slice::<IgnoredAny>(line).is_ok()
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
    /// Syft JSON: `descriptor.name` is `syft`, beside `artifacts`.
    descriptor: Option<Value>,
    artifacts: Option<IgnoredAny>,
    /// An in-toto statement.
    #[serde(rename = "_type")]
    statement_type: Option<Value>,
    /// A DSSE envelope.
    #[serde(rename = "payloadType")]
    payload_type: Option<Value>,
}

enum Kind {
    Patchline,
    CycloneDx(String),
    Spdx(String),
    Syft(String),
    Attestation,
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
        let syft = self
            .descriptor
            .as_ref()
            .and_then(|d| d.get("name"))
            .and_then(Value::as_str)
            == Some("syft");
        if syft && self.artifacts.is_some() {
            let version = self
                .schema
                .as_ref()
                .and_then(|s| s.get("version"))
                .and_then(Value::as_str)
                .map(|v| format!("schema {}", short(v)))
                .unwrap_or_else(|| "(no schema version)".into());
            return Ok(Kind::Syft(version));
        }
        if self.payload_type.is_some()
            || self
                .statement_type
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|t| t.starts_with("https://in-toto.io/Statement/"))
        {
            return Ok(Kind::Attestation);
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
                 (expected a patchline inventory, CycloneDX JSON or XML, SPDX JSON, Syft JSON or \
                 an in-toto attestation)"
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

/// Deserialises a document converted from another format (CycloneDX XML, Syft JSON)
/// as `T`, naming the JSON path of a wrong value.
fn from_value<T: DeserializeOwned>(
    value: Value,
    origin: &str,
    format: &str,
) -> Result<T, SbomInputError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        SbomInputError::Invalid {
            origin: origin.into(),
            format: format.into(),
            message: format!("at {path}: {}", e.into_inner()),
        }
    })
}

/// At most 100 characters of an untrusted string, quoted, for messages.
fn short(s: &str) -> String {
    patchline_model::quote_capped(s, 100)
}

fn short_json(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 100 {
        format!("{}…", s.chars().take(100).collect::<String>())
    } else {
        s
    }
}
