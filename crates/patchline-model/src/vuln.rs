//! Vulnerability data, OSV-shaped whatever the feed, and the findings of a scan.
//!
//! Every importer (OSV, Debian security tracker, Alpine secdb, NVD, CVE 5, KEV, EPSS)
//! turns its format into [`Advisory`] records (affected packages with version ranges and
//! distro states) or [`Enrichment`] (scores and exploitation facts keyed by CVE). The
//! matcher reads them through [`AdvisoryLookup`] and writes [`Finding`]s into a
//! [`ScanReport`], the document `patchline scan --format json` prints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Distro, ImageInfo, LayerRef, Warning};

/// Identifier of the scan JSON document format written by this version.
pub const SCAN_SCHEMA: &str = "patchline.scan/v1";

/// One advisory: OSV's shape (id, aliases, affected ranges, severity), plus the distro
/// states OSV only carries in `database_specific`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    /// `CVE-2023-38545`, `GHSA-…`, `DSA-5587-1`, `PYSEC-…`, `RUSTSEC-…`, `GO-…`.
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    /// Set when the advisory was withdrawn: it must not match any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    /// Advisory-level severities (CVSS vectors, vendor ratings).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    pub affected: Vec<Affected>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// The feed it came from (`osv`, `debian-tracker`, `alpine-secdb`, ...).
    pub source: String,
}

/// A severity statement: OSV's `{type, score}`, where score is a CVSS vector for the CVSS
/// types and a vendor rating (`high`, `unimportant`, `medium`) for vendor types.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityScore {
    /// `CVSS_V2`, `CVSS_V3`, `CVSS_V4`, or a vendor: `Debian`, `Ubuntu`, `Alpine`, `NVD`...
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

/// A package an advisory affects, in one ecosystem (and distro release).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    /// OSV ecosystem string: `Debian:12`, `Ubuntu:22.04`, `Alpine:v3.18`, `Red Hat:8`,
    /// `Rocky Linux:8`, `AlmaLinux:9`, `PyPI`, `npm`, `Go`, `crates.io`, `Maven`, ...
    pub ecosystem: String,
    /// For distro ecosystems the **source** package name.
    pub package: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<Range>,
    /// Explicitly listed affected versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub versions: Vec<String>,
    /// The distro's verdict when it gives one beyond ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<DistroState>,
    /// Per-package severities (OSV `affected[].severity`, Debian urgency, Ubuntu priority).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeKind,
    pub events: Vec<Event>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RangeKind {
    /// Versions compared with the ecosystem's own scheme.
    Ecosystem,
    /// Versions compared as SemVer 2.0.
    Semver,
    /// Commit ranges: not matchable against installed packages; kept for completeness.
    Git,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// What a distro says about a package for a vulnerability, beyond version ranges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DistroState {
    /// Fixed in the release (the fixed version is in the ranges).
    Fixed,
    /// Known to affect, no fix yet (Debian `open`, Ubuntu `needed`, Alpine unfixed).
    Unfixed,
    /// The distro decided not to fix (Debian `no-dsa: ignored`, Red Hat `Will not fix`).
    WillNotFix,
    /// Minor issue the distro does not track for fixing (Debian `unimportant`).
    Unimportant,
    /// The package in this release is not affected.
    NotAffected,
}

/// Facts about a vulnerability, keyed by CVE id, from NVD, CVE 5, KEV and EPSS.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Enrichment {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<SeverityScore>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kev: Option<Kev>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<Epss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// CISA Known Exploited Vulnerabilities entry.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kev {
    pub date_added: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// `Known` or `Unknown`, as KEV states it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_ransomware_campaign_use: Option<String>,
}

/// FIRST EPSS probability of exploitation in the next 30 days.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Epss {
    pub score: f64,
    pub percentile: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// Read access to an advisory database, as the matcher needs it.
pub trait AdvisoryLookup {
    /// Advisories with an `affected` entry for `package` in `ecosystem` (exact OSV
    /// ecosystem string, e.g. `Debian:12`, `PyPI`). Withdrawn advisories may be returned;
    /// the matcher skips them.
    fn advisories(&self, ecosystem: &str, package: &str) -> Result<Vec<Advisory>, String>;
    /// Enrichment for a CVE id (or another id NVD/KEV/EPSS know).
    fn enrichment(&self, id: &str) -> Result<Option<Enrichment>, String>;
    /// Whether the source holds any advisory for `ecosystem`, so a scan can say "no
    /// advisory data for CentOS 7" instead of a clean result. `None`: it cannot tell.
    fn has_ecosystem(&self, _ecosystem: &str) -> Result<Option<bool>, String> {
        Ok(None)
    }
}

/// Qualitative severity, as CVSS v3 bands it, plus the distro words that have no band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Unknown,
    Negligible,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Unknown => "unknown",
            Severity::Negligible => "negligible",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// CVSS base score to band (v3/v4 bands; v2 uses the same cut-offs here).
    pub fn from_score(score: f64) -> Severity {
        match score {
            s if s >= 9.0 => Severity::Critical,
            s if s >= 7.0 => Severity::High,
            s if s >= 4.0 => Severity::Medium,
            s if s > 0.0 => Severity::Low,
            _ => Severity::Negligible,
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "unknown" => Ok(Severity::Unknown),
            "negligible" => Ok(Severity::Negligible),
            "low" => Ok(Severity::Low),
            "medium" | "moderate" => Ok(Severity::Medium),
            "high" | "important" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity {other:?} (expected negligible, low, medium, high or critical)"
            )),
        }
    }
}

/// Fix availability of a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FixState {
    /// A fixed version exists (`fixed_versions` lists it).
    Fixed,
    /// Affected, no fix published.
    Unfixed,
    /// The distro will not fix it.
    WillNotFix,
    /// The distro considers it unimportant.
    Unimportant,
}

/// A CVSS score computed from a vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cvss {
    /// `2.0`, `3.0`, `3.1`, `4.0`.
    pub version: String,
    pub vector: String,
    pub base_score: f64,
    /// Who gave the vector: `nvd`, `osv`, the distro.
    pub source: String,
}

/// The package a finding is about (its binary identity, as installed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingPackage {
    pub ecosystem: crate::Ecosystem,
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    pub purl: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<LayerRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_changed: Option<LayerRef>,
    /// The package's identifier in the input SBOM (`bom-ref`, `SPDXID`), when the scan
    /// read one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sbom_ref: Option<String>,
    /// The file a language package was read from (`.../requests-2.31.0.dist-info/METADATA`,
    /// a Go binary, a jar). Absent for OS packages, whose database is the ecosystem's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// One vulnerability in one package: aliases merged (CVE ↔ GHSA ↔ distro ids).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The primary id: the CVE when there is one.
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// The advisories that were merged into this finding, with their feeds.
    pub advisories: Vec<String>,
    pub package: FindingPackage,
    /// OSV ecosystem the match was made in (`Debian:12`).
    pub ecosystem: String,
    pub state: FixState,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fixed_versions: Vec<String>,
    pub severity: Severity,
    /// Whose rating `severity` is: `debian`, `ubuntu`, `nvd`, `osv`, `cvss`.
    pub severity_source: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cvss: Vec<Cvss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kev: Option<Kev>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epss: Option<Epss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// Where the advisory data came from and how old it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbInfo {
    pub path: String,
    pub schema_version: u32,
    /// RFC 3339 time of the last import or update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// Source name → record count.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, u64>,
}

/// The document `patchline scan --format json` prints.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    /// Always [`SCAN_SCHEMA`].
    pub schema: String,
    pub tool: crate::Tool,
    pub image: ImageInfo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    /// True when the distro release is past its end of life: its data may stop.
    #[serde(default)]
    pub distro_eol: bool,
    pub db: DbInfo,
    /// Packages inventoried (findings name only the vulnerable ones).
    pub packages_scanned: usize,
    /// Of those, packages that were not examined: no advisory data for their distro
    /// release, or a package database foreign to it. A report with no findings is clean
    /// only when this is 0; the warnings say why.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub packages_not_matched: usize,
    /// Each package or component that was not matched, and why: `packages_not_matched`
    /// of them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmatched: Vec<Unmatched>,
    /// Language packages found in files an OS package owns (`managed_by`): not matched
    /// in their language ecosystem, as their OS package's match covers them (the distro
    /// patches them under its own version). Counted in `packages_scanned`, not in
    /// `packages_not_matched`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub packages_managed_by_os: usize,
    /// Sorted by risk: KEV first, then severity, EPSS, fix available.
    pub findings: Vec<Finding>,
    /// False when the inventory was incomplete (a package database could not be read).
    pub inventory_complete: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// Findings of the security checks (config, filesystem, secrets, Containerfile),
    /// after the policy's exceptions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<crate::check::CheckFinding>,
    /// The scanners that ran (`vuln`, `checks`, `secrets`); empty in reports of
    /// versions before checks existed, which ran `vuln` only. Without `vuln` the packages
    /// were inventoried but not matched: no finding list is a clean result then.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scanners: Vec<String>,
    /// How a policy file's stage judged the scan; absent without `--policy`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::policy::PolicyOutcome>,
}

/// A package or SBOM component the scan could not match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unmatched {
    /// `name@version`, or the purl.
    pub package: String,
    pub reason: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
