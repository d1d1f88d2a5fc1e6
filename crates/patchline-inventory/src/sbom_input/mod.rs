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
//! The distro is whatever spelling the document uses (`debian-12`, `12`, `bookworm`,
//! Trivy's `12.5` or `3.16.0`, `v3.16`, `jammy`, `22.04`, Trivy's `redhat` for `rhel`):
//! [`distro`] hands it to the distro registry
//! ([`patchline_model::distro::Registry::normalize`]), which brings it to the os-release
//! identity the image itself carries, so that the matcher picks the same release. A purl
//! qualifier without the distro's name (`distro=bookworm`) is read with the purl's
//! namespace.
//!
//! Layout: this module probes the format; [`cyclonedx`] and [`spdx`] read one format
//! each; [`rules`] holds what both need to rebuild a package; [`distro`] gathers the
//! distro. The purl parser lives beside its writer in [`patchline_model::purl`].
//!
//! Language packages are not inventoried yet: components that are not OS packages are
//! skipped and counted in a warning.
//!
//! Input is untrusted: its size is bounded ([`MAX_SBOM_BYTES`]), JSON nesting is bounded
//! by serde_json, and every error names the file and, for a value of the wrong type, its
//! JSON path.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use patchline_model::purl::{self, Purl, PurlError};
use patchline_model::{
    Digest, Distro, Ecosystem, ImageInfo, Inventory, LayerInfo, LayerRef, Package, Tool, Warning,
    INVENTORY_SCHEMA,
};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

mod cyclonedx;
mod distro;
mod rules;
mod spdx;

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
            let bom: cyclonedx::Bom = typed(bytes, origin, &format!("CycloneDX {version}"))?;
            Ok(cyclonedx::to_inventory(bom, origin))
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
