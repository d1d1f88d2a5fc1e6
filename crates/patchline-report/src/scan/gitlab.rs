//! GitLab's container-scanning report (`gl-container-scanning-report.json`), security
//! report schema 15.0.7, which GitLab reads from a job's `artifacts:reports:container_scanning`
//! to show findings in merge requests and the vulnerability report.
//!
//! GitLab refuses a whole report that breaks its schema, so everything taken from
//! advisory data is fitted to it here rather than trusted: names are cut to 255
//! characters, descriptions to 1 MiB, solutions to 7,000; links and identifier URLs are
//! kept only when they are `http(s)://` or `ftp://`; a CVSS vector is passed on only
//! when it is one GitLab's patterns accept (2.0, 3.0, 3.1; 4.0 vectors are left out), at
//! most ten; times are UTC `yyyy-mm-ddThh:mm:ss`.
//!
//! * `scan`: patchline as analyzer and scanner, `type: container_scanning`, start and end
//!   time ([`RenderOptions::started`], [`RenderOptions::timestamp`]), `status: success`
//!   (the report was produced; a gate's verdict is the exit status), and `messages`: a
//!   `warn` for each scan warning, for an incomplete inventory and for the packages that
//!   could not be matched (so the report is never read as a clean image when part of it
//!   was not examined).
//! * one `vulnerabilities[]` entry per finding: `id` a UUID v5 of the image, the
//!   vulnerability and the package (stable between runs, unique in the report); `name`
//!   the id and the summary's first line; `severity` (negligible → `Info`); `solution`;
//!   `identifiers` (the id first, the primary identifier GitLab deduplicates on, then the
//!   aliases); `links`; `cvss_vectors`; `details` (fix state, fixed version, known
//!   exploited, EPSS, the layer that introduced the package); `location` with the image
//!   as given, the operating system (`debian 12`) and the package and installed version.

use std::io;

use patchline_model::vuln::{Cvss, Finding, FixState, ScanReport, Severity};
use serde::Serialize;
use time::{OffsetDateTime, UtcOffset};

use super::{fix_for, state_word, vuln_url};
use crate::RenderOptions;

/// The schema version the report declares (GitLab validates against it).
pub const GITLAB_SCHEMA_VERSION: &str = "15.0.7";
const SCHEMA_URL: &str = "https://gitlab.com/gitlab-org/security-products/security-report-schemas/-/raw/v15.0.7/dist/container-scanning-report-format.json";
/// Namespace of the vulnerability ids (UUID v5 of `patchline:gitlab`).
const ID_NAMESPACE: uuid::Uuid = uuid::Uuid::from_u128(0x6f2a_5c1e_8d4b_4e0a_9b3f_2c7d_1e5a_0b9c);
const NAME_MAX: usize = 255;
const DESCRIPTION_MAX: usize = 1_048_576;
const SOLUTION_MAX: usize = 7_000;
const CVSS_MAX: usize = 10;
/// Unmatched packages named in the scan message; the JSON report lists them all.
const UNMATCHED_NAMED: usize = 20;

#[derive(Serialize)]
struct Report {
    version: &'static str,
    schema: &'static str,
    scan: Scan,
    vulnerabilities: Vec<Vulnerability>,
}

#[derive(Serialize)]
struct Scan {
    analyzer: Tool,
    scanner: Tool,
    #[serde(rename = "type")]
    kind: &'static str,
    start_time: String,
    end_time: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    messages: Vec<Message>,
}

#[derive(Serialize)]
struct Tool {
    id: &'static str,
    name: String,
    url: &'static str,
    vendor: Vendor,
    version: String,
}

#[derive(Serialize)]
struct Vendor {
    name: &'static str,
}

#[derive(Serialize)]
struct Message {
    level: &'static str,
    value: String,
}

#[derive(Serialize)]
struct Vulnerability {
    id: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    severity: &'static str,
    solution: String,
    identifiers: Vec<Identifier>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    cvss_vectors: Vec<CvssVector>,
    details: serde_json::Map<String, serde_json::Value>,
    location: Location,
}

#[derive(Serialize)]
struct Identifier {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Link {
    url: String,
}

#[derive(Serialize)]
struct CvssVector {
    vendor: String,
    vector: String,
}

#[derive(Serialize)]
struct Location {
    dependency: Dependency,
    operating_system: String,
    image: String,
}

#[derive(Serialize)]
struct Dependency {
    package: PackageName,
    version: String,
}

#[derive(Serialize)]
struct PackageName {
    name: String,
}

pub(crate) fn render(
    report: &ScanReport,
    opts: &RenderOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    crate::write_json(&build(report, opts)?, out)
}

fn build(report: &ScanReport, opts: &RenderOptions) -> io::Result<Report> {
    let end = opts.timestamp.unwrap_or_else(OffsetDateTime::now_utc);
    let start = opts.started.unwrap_or(end).min(end);
    let image = if report.image.reference.trim().is_empty() {
        "image".to_string()
    } else {
        report.image.reference.clone()
    };
    let os = match &report.distro {
        Some(d) => match &d.version_id {
            Some(v) => format!("{} {v}", d.id),
            None => d.id.clone(),
        },
        None => "unknown".to_string(),
    };
    let tool = || Tool {
        id: "patchline",
        name: report.tool.name.clone(),
        url: env!("CARGO_PKG_HOMEPAGE"),
        vendor: Vendor { name: "patchline" },
        version: non_empty(&report.tool.version, "unknown"),
    };
    Ok(Report {
        version: GITLAB_SCHEMA_VERSION,
        schema: SCHEMA_URL,
        scan: Scan {
            analyzer: tool(),
            scanner: tool(),
            kind: "container_scanning",
            start_time: gitlab_time(start)?,
            end_time: gitlab_time(end)?,
            status: "success",
            messages: messages(report),
        },
        vulnerabilities: report
            .findings
            .iter()
            .map(|f| vulnerability(f, &image, &os))
            .collect(),
    })
}

/// What a reader must know before trusting the absence of a finding.
fn messages(report: &ScanReport) -> Vec<Message> {
    let mut m = Vec::new();
    if !report.inventory_complete {
        m.push(Message {
            level: "warn",
            value: "The inventory is incomplete: a package database could not be read whole, \
                    so packages may be missing from this report."
                .into(),
        });
    }
    if report.packages_not_matched > 0 {
        let named: Vec<String> = report
            .unmatched
            .iter()
            .take(UNMATCHED_NAMED)
            .map(|u| format!("{} ({})", u.package, u.reason))
            .collect();
        let more = report.unmatched.len().saturating_sub(named.len());
        let mut value = format!(
            "{} of {} packages could not be matched, so they were not examined: {}",
            report.packages_not_matched,
            report.packages_scanned,
            named.join("; ")
        );
        if more > 0 {
            value.push_str(&format!("; and {more} more"));
        }
        m.push(Message {
            level: "warn",
            value,
        });
    }
    for w in &report.warnings {
        m.push(Message {
            level: "warn",
            value: format!("[{}] {}: {}", w.source, w.location, w.message),
        });
    }
    m
}

fn vulnerability(f: &Finding, image: &str, os: &str) -> Vulnerability {
    let p = &f.package;
    let key = format!(
        "{image}\n{}\n{}\n{}\n{}\n{}",
        f.id,
        p.purl,
        p.name,
        p.arch.as_deref().unwrap_or(""),
        p.version
    );
    let summary = f
        .summary
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let name = match summary.and_then(|s| s.lines().map(str::trim).find(|l| !l.is_empty())) {
        Some(line) => cut(&format!("{}: {line}", f.id), NAME_MAX),
        None => cut(&f.id, NAME_MAX),
    };

    let mut identifiers = vec![identifier(&f.id)];
    for a in &f.aliases {
        if !a.trim().is_empty() && !a.eq_ignore_ascii_case(&f.id) {
            identifiers.push(identifier(a));
        }
    }

    let mut links: Vec<Link> = Vec::new();
    for r in f.references.iter().chain(vuln_url(&f.id).iter()) {
        if is_link(r) && !links.iter().any(|l| &l.url == r) {
            links.push(Link { url: r.clone() });
        }
    }

    Vulnerability {
        id: uuid::Uuid::new_v5(&ID_NAMESPACE, key.as_bytes()).to_string(),
        name,
        description: summary.map(|s| cut(s, DESCRIPTION_MAX)),
        severity: severity(f.severity),
        solution: cut(&solution(f), SOLUTION_MAX),
        identifiers,
        links,
        cvss_vectors: f
            .cvss
            .iter()
            .filter(|c| cvss_accepted(c))
            .take(CVSS_MAX)
            .map(|c| CvssVector {
                vendor: non_empty(&c.source, "unknown"),
                vector: c.vector.clone(),
            })
            .collect(),
        details: details(f),
        location: Location {
            dependency: Dependency {
                package: PackageName {
                    name: p.name.clone(),
                },
                version: p.version.clone(),
            },
            operating_system: os.to_string(),
            image: image.to_string(),
        },
    }
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
        Severity::Negligible => "Info",
        Severity::Unknown => "Unknown",
    }
}

fn solution(f: &Finding) -> String {
    let p = &f.package;
    match f.state {
        FixState::Fixed => match fix_for(f) {
            Some(v) => format!("Upgrade {} from {} to {v} or later.", p.name, p.version),
            None => format!("Upgrade {}: a fixed version exists.", p.name),
        },
        FixState::Unfixed => "No fixed version is available yet.".into(),
        FixState::WillNotFix => "The distribution will not fix it.".into(),
        FixState::Unimportant => {
            "The distribution rates it unimportant and does not plan a fix.".into()
        }
    }
}

/// GitLab's identifier `type`: lower-case scheme of the id (`cve`, `ghsa`, `dsa`, ...).
fn identifier(id: &str) -> Identifier {
    let scheme = id
        .split(['-', ':'])
        .next()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| "advisory".into());
    Identifier {
        kind: scheme,
        name: id.to_string(),
        value: id.to_string(),
        url: vuln_url(id).filter(|u| is_link(u)),
    }
}

/// Facts GitLab shows beside the finding, as a named list of text fields.
fn details(f: &Finding) -> serde_json::Map<String, serde_json::Value> {
    let mut d = serde_json::Map::new();
    let mut text = |key: &str, name: &str, value: String| {
        d.insert(
            key.to_string(),
            serde_json::json!({"name": name, "type": "text", "value": value}),
        );
    };
    text("fix_state", "Fix state", state_word(f.state).to_string());
    if let Some(v) = fix_for(f) {
        text("fixed_version", "Fixed version", v.to_string());
    }
    if let Some(k) = &f.kev {
        text(
            "known_exploited",
            "Known exploited (CISA KEV)",
            format!("yes, added {}", k.date_added),
        );
    }
    if let Some(e) = &f.epss {
        text(
            "epss",
            "EPSS",
            format!("{:.5} (percentile {:.5})", e.score, e.percentile),
        );
    }
    if let Some(l) = &f.package.introduced {
        text(
            "introduced_layer",
            "Introduced in layer",
            format!("{} ({})", l.index, l.diff_id),
        );
    }
    text("ecosystem", "Matched in", f.ecosystem.clone());
    d
}

fn is_link(u: &str) -> bool {
    let lower = u.get(..8).unwrap_or(u).to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("ftp://"))
        && u.len() > lower.find("//").map_or(0, |i| i + 2)
        && !u.chars().any(char::is_control)
}

/// Whether GitLab's `cvss_vectors` patterns accept the vector: CVSS 2.0 (no prefix) or
/// 3.0/3.1 (`CVSS:3.x/` prefix), each metric one GitLab lists, 16 or 32 to 128 characters.
fn cvss_accepted(c: &Cvss) -> bool {
    let v = c.vector.as_str();
    if v.len() > 128 {
        return false;
    }
    let (metrics, min, allowed): (&str, usize, &[(&str, &[&str])]) =
        if let Some(rest) = v.strip_prefix("CVSS:3.0/").or(v.strip_prefix("CVSS:3.1/")) {
            (rest, 32, V3)
        } else if v.starts_with("AV:") {
            (v, 16, V2)
        } else {
            return false;
        };
    v.len() >= min
        && !metrics.is_empty()
        && metrics.split('/').all(|m| {
            m.split_once(':').is_some_and(|(k, val)| {
                allowed
                    .iter()
                    .any(|(name, values)| *name == k && values.contains(&val))
            })
        })
}

/// GitLab's CVSS 3.x pattern, metric by metric.
const V3: &[(&str, &[&str])] = &[
    ("AV", &["N", "A", "L", "P"]),
    ("AC", &["L", "H"]),
    ("PR", &["N", "L", "H"]),
    ("UI", &["N", "R"]),
    ("S", &["U", "C"]),
    ("C", &["N", "L", "H"]),
    ("I", &["N", "L", "H"]),
    ("A", &["N", "L", "H"]),
    ("E", &["X", "U", "P", "F", "H"]),
    ("RL", &["X", "O", "T", "W", "U"]),
    ("RC", &["X", "U", "R", "C"]),
    ("CR", &["X", "L", "M", "H"]),
    ("IR", &["X", "L", "M", "H"]),
    ("AR", &["X", "L", "M", "H"]),
    ("MAV", &["X", "N", "A", "L", "P"]),
    ("MAC", &["X", "L", "H"]),
    ("MPR", &["X", "N", "L", "H"]),
    ("MUI", &["X", "N", "R"]),
    ("MS", &["X", "U", "C"]),
    ("MC", &["X", "N", "L", "H"]),
    ("MI", &["X", "N", "L", "H"]),
    ("MA", &["X", "N", "L", "H"]),
];

/// GitLab's CVSS 2.0 pattern, metric by metric.
const V2: &[(&str, &[&str])] = &[
    ("AV", &["N", "A", "L"]),
    ("AC", &["L", "M", "H"]),
    ("Au", &["M", "S", "N"]),
    ("C", &["N", "P", "C"]),
    ("I", &["N", "P", "C"]),
    ("A", &["N", "P", "C"]),
    ("E", &["U", "POC", "F", "H", "ND"]),
    ("RL", &["OF", "TF", "W", "U", "ND"]),
    ("RC", &["UC", "UR", "C", "ND"]),
    ("CDP", &["N", "L", "LM", "MH", "H", "ND"]),
    ("TD", &["N", "L", "M", "H", "ND"]),
    ("CR", &["L", "M", "H", "ND"]),
    ("IR", &["L", "M", "H", "ND"]),
    ("AR", &["L", "M", "H", "ND"]),
];

/// `yyyy-mm-ddThh:mm:ss` in UTC, the only form the schema accepts.
fn gitlab_time(t: OffsetDateTime) -> io::Result<String> {
    let Some(t) = t
        .checked_to_offset(UtcOffset::UTC)
        .filter(|t| (0..=9999).contains(&t.year()))
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("timestamp {t} cannot be written as yyyy-mm-ddThh:mm:ss in UTC"),
        ));
    };
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

fn non_empty(s: &str, default: &str) -> String {
    if s.trim().is_empty() {
        default.to_string()
    } else {
        s.to_string()
    }
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cvss(vector: &str) -> Cvss {
        Cvss {
            version: String::new(),
            vector: vector.into(),
            base_score: 5.0,
            source: "nvd".into(),
        }
    }

    #[test]
    fn cvss_vectors_follow_gitlabs_patterns() {
        for ok in [
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.0/AV:L/AC:H/PR:L/UI:R/S:C/C:L/I:N/A:N/E:P/RL:O",
            "AV:N/AC:M/Au:N/C:P/I:P/A:P",
        ] {
            assert!(cvss_accepted(&cvss(ok)), "{ok}");
        }
        for bad in [
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/",
            "AV:N",
            "av:n/ac:m/au:n/c:p/i:p/a:p",
            "",
        ] {
            assert!(!cvss_accepted(&cvss(bad)), "{bad}");
        }
    }

    #[test]
    fn times_are_utc_without_zone() {
        let t = time::macros::datetime!(2024-05-01 14:30:15.9 +02:00);
        assert_eq!(gitlab_time(t).unwrap(), "2024-05-01T12:30:15");
        let far = time::macros::datetime!(9999-12-31 23:00 -05:00);
        assert!(gitlab_time(far).is_err());
    }

    #[test]
    fn links_and_identifiers() {
        assert!(is_link("https://security-tracker.debian.org/tracker/CVE-1"));
        assert!(is_link("ftp://ftp.example/x"));
        assert!(!is_link("https://"));
        assert!(!is_link("javascript:alert(1)"));
        assert!(!is_link("www.example.com"));
        assert_eq!(identifier("CVE-2024-2004").kind, "cve");
        assert_eq!(identifier("GHSA-xxxx-yyyy-zzzz").kind, "ghsa");
        assert_eq!(identifier("DEBIAN-CVE-2024-1").kind, "debian");
        assert_eq!(identifier("???").kind, "advisory");
        assert_eq!(cut("abcdef", 4), "abc…");
    }
}
