//! Renderers of an image [`Inventory`]: what `patchline sbom --format ...` prints.
//!
//! | format | what it is for |
//! |---|---|
//! | [`SbomFormat::Table`] | a person at a terminal: one line per package, then layers and warnings |
//! | [`SbomFormat::Json`] | patchline's own versioned document ([`patchline_model::INVENTORY_SCHEMA`]), unchanged |
//! | [`SbomFormat::CycloneDx`] | CycloneDX 1.6 JSON, for Dependency-Track and other SBOM consumers |
//! | [`SbomFormat::Spdx`] | SPDX 2.3 JSON, for licence and compliance tooling |
//!
//! Everything patchline knows about a package survives in each standard format: what the
//! standard has a field for goes there (purl, licence, supplier), the rest goes to
//! `patchline:`-prefixed CycloneDX properties or to SPDX `sourceInfo` / comments. That
//! includes the layer that introduced each package and the one that last changed it, the
//! image's layer list, and whether the inventory is complete: a consumer must be able to
//! tell an SBOM with missing packages from a full one.
//!
//! Output is deterministic for fixed [`RenderOptions`]: packages are sorted by ecosystem,
//! name, architecture, version and purl, identifiers derived from them are disambiguated
//! in that order, and the only inputs that vary between runs are the timestamp and the
//! document serial, which the options can pin (tests do).
//!
//! Licences are written as SPDX identifiers or expressions only when every identifier is
//! on the list the CycloneDX 1.6 schema enumerates (see `spdx_ids.rs`); anything else
//! (`GPLv2+ and LGPLv2+`, as rpm headers say) is kept verbatim as a licence *name* in
//! CycloneDX and as `NOASSERTION` plus a licence comment in SPDX, rather than guessed.
//!
//! ```
//! use patchline_model::{ImageInfo, Inventory};
//! use patchline_report::{render_sbom, RenderOptions, SbomFormat};
//!
//! let inv = Inventory::new(ImageInfo { reference: "oci:layout:base".into(), ..Default::default() });
//! let mut out = Vec::new();
//! let format: SbomFormat = "cyclonedx".parse().unwrap();
//! render_sbom(&inv, format, &RenderOptions::default(), &mut out).unwrap();
//! assert!(String::from_utf8(out).unwrap().contains("\"specVersion\": \"1.6\""));
//! ```

use std::fmt;
use std::io;
use std::str::FromStr;

use patchline_model::{Inventory, Package};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

mod cyclonedx;
mod json;
mod license;
pub mod openvex;
pub mod scan;
mod spdx;
mod spdx_ids;
mod table;

pub use openvex::{render_openvex, VexAuthor};
pub use scan::{render_scan, ScanFormat, UnknownScanFormat};

/// The output formats of `patchline sbom`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SbomFormat {
    Table,
    Json,
    CycloneDx,
    Spdx,
}

impl SbomFormat {
    /// Every format, in the order help texts list them.
    pub const ALL: [SbomFormat; 4] = [
        SbomFormat::Table,
        SbomFormat::Json,
        SbomFormat::CycloneDx,
        SbomFormat::Spdx,
    ];

    /// The name accepted by [`FromStr`] and printed by [`Display`](fmt::Display).
    pub fn as_str(self) -> &'static str {
        match self {
            SbomFormat::Table => "table",
            SbomFormat::Json => "json",
            SbomFormat::CycloneDx => "cyclonedx",
            SbomFormat::Spdx => "spdx",
        }
    }
}

impl fmt::Display for SbomFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`SbomFormat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SBOM format {0:?} (expected one of: table, json, cyclonedx, spdx)")]
pub struct UnknownFormat(pub String);

impl FromStr for SbomFormat {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SbomFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFormat(s.chars().take(100).collect()))
    }
}

/// What varies between two renderings of the same inventory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colours in the table. Ignored by the JSON formats.
    pub color: bool,
    /// Creation time written in CycloneDX and SPDX documents, and the end of the scan in
    /// GitLab's report; `None` means now.
    pub timestamp: Option<OffsetDateTime>,
    /// When the work began (GitLab's `scan.start_time`); `None` means `timestamp`.
    pub started: Option<OffsetDateTime>,
    /// CycloneDX serial number and SPDX namespace suffix; `None` means a random v4 UUID.
    pub serial: Option<uuid::Uuid>,
}

/// Writes `inv` to `out` in `format`. Errors are those of `out`, or `InvalidInput` when a
/// timestamp cannot be written as RFC 3339 (a year outside 0..=9999).
pub fn render_sbom(
    inv: &Inventory,
    format: SbomFormat,
    opts: &RenderOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        SbomFormat::Table => table::render(inv, opts, out),
        SbomFormat::Json => json::render(inv, out),
        SbomFormat::CycloneDx => cyclonedx::render(inv, opts, out),
        SbomFormat::Spdx => spdx::render(inv, opts, out),
    }
}

/// The packages in the order every renderer but `json` lists them.
fn sorted_packages(inv: &Inventory) -> Vec<&Package> {
    let mut pkgs: Vec<&Package> = inv.packages.iter().collect();
    pkgs.sort_by(|a, b| {
        (
            a.ecosystem,
            &a.name,
            &a.arch,
            &a.version,
            &a.purl,
            &a.db_path,
            a.introduced.as_ref().map(|l| l.index),
        )
            .cmp(&(
                b.ecosystem,
                &b.name,
                &b.arch,
                &b.version,
                &b.purl,
                &b.db_path,
                b.introduced.as_ref().map(|l| l.index),
            ))
    });
    pkgs
}

/// `2024-05-01T12:00:00Z`: UTC, whole seconds, as SPDX requires and CycloneDX accepts.
fn timestamp(opts: &RenderOptions) -> io::Result<String> {
    let t = opts.timestamp.unwrap_or_else(OffsetDateTime::now_utc);
    let Some(t) = t.checked_to_offset(UtcOffset::UTC) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("timestamp {t} is out of range in UTC"),
        ));
    };
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("timestamp {t} cannot be written as RFC 3339: {e}"),
        )
    })
}

fn serial(opts: &RenderOptions) -> uuid::Uuid {
    opts.serial.unwrap_or_else(uuid::Uuid::new_v4)
}

/// Serialises a document as pretty JSON with a final newline.
fn write_json<T: serde::Serialize>(doc: &T, out: &mut dyn io::Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, doc).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// Who supplies an OS's packages, for SBOM `supplier` fields (an NTIA minimum element):
/// the distro, by its os-release `NAME` (`Debian GNU/Linux`), else its id.
fn distro_supplier(d: &patchline_model::Distro) -> String {
    d.name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| d.id.clone())
}

/// Who supplies the image: its `org.opencontainers.image.vendor` annotation or label.
/// `None` when the image does not say (SPDX then writes `NOASSERTION`).
fn image_vendor(img: &patchline_model::ImageInfo) -> Option<String> {
    const VENDOR: &str = "org.opencontainers.image.vendor";
    img.annotations
        .get(VENDOR)
        .or_else(|| img.labels.get(VENDOR))
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Splits a dpkg/rpm style maintainer `Name <email>` into its parts. Either part may be
/// missing; angle brackets that do not close leave everything in the name.
fn split_maintainer(m: &str) -> (Option<&str>, Option<&str>) {
    let m = m.trim();
    if let Some(open) = m.rfind('<') {
        if let Some(close) = m[open..].find('>') {
            let email = m[open + 1..open + close].trim();
            let name = m[..open].trim();
            return (
                (!name.is_empty()).then_some(name),
                (!email.is_empty()).then_some(email),
            );
        }
    }
    ((!m.is_empty()).then_some(m), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in SbomFormat::ALL {
            assert_eq!(f.to_string().parse::<SbomFormat>().unwrap(), f);
        }
        assert_eq!(
            "CycloneDX".parse::<SbomFormat>().unwrap(),
            SbomFormat::CycloneDx
        );
        let err = "xml".parse::<SbomFormat>().unwrap_err();
        assert!(err.to_string().contains("\"xml\""), "{err}");
    }

    #[test]
    fn timestamp_is_utc_whole_seconds() {
        let t = time::macros::datetime!(2024-05-01 14:30:15.123456 +02:00);
        let opts = RenderOptions {
            timestamp: Some(t),
            ..Default::default()
        };
        assert_eq!(timestamp(&opts).unwrap(), "2024-05-01T12:30:15Z");
        let now = timestamp(&RenderOptions::default()).unwrap();
        assert!(now.ends_with('Z') && !now.contains('.'), "{now}");
    }

    #[test]
    fn maintainer_parts() {
        assert_eq!(
            split_maintainer("GNU Libc Maintainers <debian-glibc@lists.debian.org>"),
            (
                Some("GNU Libc Maintainers"),
                Some("debian-glibc@lists.debian.org")
            )
        );
        assert_eq!(
            split_maintainer("Red Hat, Inc."),
            (Some("Red Hat, Inc."), None)
        );
        assert_eq!(split_maintainer("<a@b>"), (None, Some("a@b")));
        assert_eq!(split_maintainer("broken <a@b"), (Some("broken <a@b"), None));
        assert_eq!(split_maintainer("  "), (None, None));
    }
}
