//! Renderers of a [`ScanReport`]: what `patchline scan --format ...` prints.
//!
//! | format | what it is for |
//! |---|---|
//! | [`ScanFormat::Table`] | a person at a terminal: findings grouped by package, `installed → fixed` |
//! | [`ScanFormat::Json`] | patchline's own versioned document ([`SCAN_SCHEMA`], `docs/scan-json.md`), unchanged |
//! | [`ScanFormat::Sarif`] | SARIF 2.1.0, for GitHub code scanning and other SARIF viewers |
//! | [`ScanFormat::CycloneDx`] | CycloneDX 1.6 with `vulnerabilities` (VEX), for Dependency-Track and VEX consumers |
//! | [`ScanFormat::Gitlab`] | GitLab's container-scanning report (schema 15.0.7), for merge requests and the vulnerability report |
//!
//! Findings are rendered in the report's order, which the matcher makes the risk order
//! (known exploited first, then severity, EPSS, fix available). Output is deterministic
//! for fixed [`RenderOptions`]; the table's database age is measured against
//! [`RenderOptions::timestamp`] when it is set.
//!
//! The advisory data is untrusted text (summaries, references, versions): the table
//! escapes terminal controls, and the JSON formats only carry it as JSON strings.

use std::fmt;
use std::io;
use std::str::FromStr;

use patchline_model::vuln::{Finding, FindingPackage, FixState, ScanReport};
use patchline_model::Ecosystem;

use crate::RenderOptions;

mod cyclonedx_vex;
mod gitlab;
mod json;
mod sarif;
mod table;

pub use gitlab::GITLAB_SCHEMA_VERSION;
pub use patchline_model::vuln::SCAN_SCHEMA;

/// The output formats of `patchline scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScanFormat {
    Table,
    Json,
    Sarif,
    CycloneDx,
    Gitlab,
}

impl ScanFormat {
    /// Every format, in the order help texts list them.
    pub const ALL: [ScanFormat; 5] = [
        ScanFormat::Table,
        ScanFormat::Json,
        ScanFormat::Sarif,
        ScanFormat::CycloneDx,
        ScanFormat::Gitlab,
    ];

    /// The name accepted by [`FromStr`] and printed by [`Display`](fmt::Display).
    pub fn as_str(self) -> &'static str {
        match self {
            ScanFormat::Table => "table",
            ScanFormat::Json => "json",
            ScanFormat::Sarif => "sarif",
            ScanFormat::CycloneDx => "cyclonedx",
            ScanFormat::Gitlab => "gitlab",
        }
    }
}

impl fmt::Display for ScanFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is not one of [`ScanFormat::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scan format {0:?} (expected one of: table, json, sarif, cyclonedx, gitlab)")]
pub struct UnknownScanFormat(pub String);

impl FromStr for ScanFormat {
    type Err = UnknownScanFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ScanFormat::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownScanFormat(s.chars().take(100).collect()))
    }
}

/// Writes `report` to `out` in `format`. Errors are those of `out`, or `InvalidInput`
/// when a timestamp cannot be written as RFC 3339.
pub fn render_scan(
    report: &ScanReport,
    format: ScanFormat,
    opts: &RenderOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    match format {
        ScanFormat::Table => table::render(report, opts, out),
        ScanFormat::Json => json::render(report, out),
        ScanFormat::Sarif => sarif::render(report, out),
        ScanFormat::CycloneDx => cyclonedx_vex::render(report, opts, out),
        ScanFormat::Gitlab => gitlab::render(report, opts, out),
    }
}

/// The word the formats use for a fix state (the JSON's own spelling).
fn state_word(s: FixState) -> &'static str {
    match s {
        FixState::Fixed => "fixed",
        FixState::Unfixed => "unfixed",
        FixState::WillNotFix => "will-not-fix",
        FixState::Unimportant => "unimportant",
    }
}

/// A page about a vulnerability id, for the ids whose home is known.
fn vuln_url(id: &str) -> Option<String> {
    let upper = id.to_ascii_uppercase();
    if upper.starts_with("CVE-") {
        Some(format!("https://nvd.nist.gov/vuln/detail/{id}"))
    } else if upper.starts_with("GHSA-") {
        Some(format!("https://github.com/advisories/{id}"))
    } else if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        None
    } else {
        // osv.dev resolves the other OSV ids: DSA-, DLA-, DEBIAN-CVE-, ALPINE-, PYSEC-, GO-, RUSTSEC-...
        Some(format!("https://osv.dev/vulnerability/{id}"))
    }
}

/// Who publishes an id, for CycloneDX `source.name`.
fn vuln_source_name(id: &str) -> &'static str {
    let upper = id.to_ascii_uppercase();
    if upper.starts_with("CVE-") {
        "NVD"
    } else if upper.starts_with("GHSA-") {
        "GitHub Advisory Database"
    } else {
        "OSV"
    }
}

/// The fixed version the matcher recommends for a finding (see
/// [`patchline_match::recommended_fix`]).
pub(crate) fn fix_for(f: &Finding) -> Option<&str> {
    patchline_match::recommended_fix(f)
}

/// The version the matcher compared with the advisories.
fn compared_version(p: &FindingPackage) -> &str {
    patchline_match::fix::finding_compared_version(p)
}

/// The version that fixes every fixable finding of one package.
fn upgrade_target<'a>(findings: &[&'a Finding]) -> Option<&'a str> {
    patchline_match::upgrade_target(findings.iter().copied())
}

/// Findings grouped by the package they are about, in the order of each package's first
/// (highest-risk) finding.
fn by_package(report: &ScanReport) -> Vec<(&FindingPackage, Vec<&Finding>)> {
    let mut groups: Vec<(&FindingPackage, Vec<&Finding>)> = Vec::new();
    let mut index: std::collections::HashMap<PackageKey, usize> = Default::default();
    for f in &report.findings {
        let key = package_key(&f.package);
        match index.get(&key) {
            Some(&i) => groups[i].1.push(f),
            None => {
                index.insert(key, groups.len());
                groups.push((&f.package, vec![f]));
            }
        }
    }
    groups
}

type PackageKey = (Ecosystem, String, Option<String>, String, String);

fn package_key(p: &FindingPackage) -> PackageKey {
    (
        p.ecosystem,
        p.name.clone(),
        p.arch.clone(),
        p.version.clone(),
        p.purl.clone(),
    )
}

/// The file a finding's package was read from: a language package's own file, an OS
/// package's database where it usually is (the report does not carry each OS package's
/// database path), since SARIF consumers need a file to point at.
fn db_path(p: &FindingPackage) -> &str {
    if let Some(path) = p.path.as_deref().filter(|s| !s.is_empty()) {
        return path;
    }
    match p.ecosystem {
        Ecosystem::Deb => "var/lib/dpkg/status",
        Ecosystem::Apk => "lib/apk/db/installed",
        Ecosystem::Rpm => "var/lib/rpm",
        other => other.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for f in ScanFormat::ALL {
            assert_eq!(f.to_string().parse::<ScanFormat>().unwrap(), f);
        }
        assert_eq!("SARIF".parse::<ScanFormat>().unwrap(), ScanFormat::Sarif);
        let e = "spdx".parse::<ScanFormat>().unwrap_err().to_string();
        assert!(e.contains("\"spdx\"") && e.contains("sarif"), "{e}");
    }

    #[test]
    fn urls() {
        assert_eq!(
            vuln_url("CVE-2023-38545").as_deref(),
            Some("https://nvd.nist.gov/vuln/detail/CVE-2023-38545")
        );
        assert_eq!(
            vuln_url("DSA-5587-1").as_deref(),
            Some("https://osv.dev/vulnerability/DSA-5587-1")
        );
        assert_eq!(vuln_url("a b/../c"), None);
    }
}
