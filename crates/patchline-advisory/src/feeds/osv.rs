//! OSV JSON (<https://ossf.github.io/osv-schema/>): single records, arrays of records, and
//! the members of osv.dev's per-ecosystem `all.zip` (the zip itself is opened by
//! [`crate::input`]); downloaded from osv.dev's bucket as `osv-<Ecosystem>` sources.
//!
//! What is kept: id, aliases (plus `upstream`, and the CVE inside a distro id such as
//! `UBUNTU-CVE-2023-38545`, so the matcher can merge and enrich them), summary, details,
//! dates, `withdrawn`, severities (advisory and `affected[]` level, plus the vendor ratings
//! found in `ecosystem_specific`/`database_specific`: Ubuntu priority, Debian urgency,
//! GitHub's severity word, RustSec's CVSS vector), affected packages with their ranges and
//! explicit versions, and reference URLs. `credits`, `related`, GIT ranges' `repo` and the
//! rest of the vendor blocks are dropped: nothing downstream reads them.
//!
//! Validation is structural: `id`, and each `affected[].package`'s `ecosystem` and `name`
//! must be non-empty strings; every range event must hold exactly one of `introduced`,
//! `fixed`, `last_affected`, `limit`. Ecosystems patchline does not know are stored as
//! given (OSV adds ecosystems often); `affected` entries without a `package` (GIT-only
//! entries) are dropped since nothing installed can match them.

use patchline_model::vuln::{Advisory, Affected, Event, Range, RangeKind, SeverityScore};
use serde::Deserialize;

use patchline_model::distro::Registry;

use super::{Document, Download, Feed, Format, Sink, Yields};
use crate::detect::Shape;
use crate::error::{json_error, Error, Origin, Result};
use crate::util::{
    check_id, cvss_kind, embedded_cve, lenient_str, nullable, push_unique, push_unique_severity,
    shown,
};

/// The osv.dev bucket that serves `<Ecosystem>/all.zip`.
pub const OSV_BUCKET: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// The osv.dev ecosystems `db update` can download, each as the source `osv-<Ecosystem>`
/// (whether one is fetched by default is [`crate::update::default_source_names`]'s call).
pub const ECOSYSTEMS: &[&str] = &[
    "Alpine",
    "Ubuntu",
    "AlmaLinux",
    "Rocky Linux",
    "PyPI",
    "npm",
    "Go",
    "crates.io",
    "Maven",
    "RubyGems",
    "NuGet",
    "Packagist",
    "Debian",
    "Red Hat",
    "SUSE",
    "openSUSE",
    "Wolfi",
    "Chainguard",
    "Hex",
    "Pub",
    "Linux",
];

/// OSV records: one, a JSON array of them, or `{"vulns": [...]}` (the osv.dev API).
pub struct OsvFeed;

impl Feed for OsvFeed {
    fn format(&self) -> Format {
        Format::Osv
    }
    fn title(&self) -> &'static str {
        "OSV JSON (or YAML) or all.zip"
    }
    fn extensions(&self) -> &'static [&'static str] {
        &["json", "yaml", "yml"]
    }
    fn yields(&self) -> Yields {
        Yields::Advisories
    }
    fn detect(&self, doc: &Document<'_>) -> bool {
        let Some(s) = doc.json() else {
            return false;
        };
        if s.is_array {
            return s.first.as_deref().is_some_and(looks_osv);
        }
        looks_osv(s) || is_api_answer(s)
    }
    fn parse(&self, origin: &Origin, doc: &Document<'_>, sink: &mut dyn Sink) -> Result<usize> {
        match doc.json() {
            Some(s) if s.is_array => parse_list(origin, doc.bytes(), false, sink),
            Some(s) if !looks_osv(s) && is_api_answer(s) => {
                parse_list(origin, doc.bytes(), true, sink)
            }
            _ => {
                sink.advisory(parse(origin, doc.bytes())?)?;
                Ok(1)
            }
        }
    }
    fn parse_unprobed(
        &self,
        origin: &Origin,
        bytes: &[u8],
        sink: &mut dyn Sink,
    ) -> Option<Result<usize>> {
        let advisory = match parse_if_osv(origin, bytes)? {
            Ok(a) => a,
            Err(e) => return Some(Err(e)),
        };
        Some(sink.advisory(advisory).map(|_| 1))
    }
    fn downloads(&self) -> Vec<Download> {
        ECOSYSTEMS
            .iter()
            .map(|eco| Download {
                name: format!("osv-{eco}"),
                url: format!("{OSV_BUCKET}/{}/all.zip", eco.replace(' ', "%20")),
            })
            .collect()
    }
}

/// An OSV record: an `id` and what only OSV has among the feeds.
fn looks_osv(s: &Shape) -> bool {
    s.is_object
        && s.has("id")
        && (s.has("affected") || s.has("modified") || s.has("schema_version") || s.has("withdrawn"))
}

/// The osv.dev API's answer, `{"vulns": [...]}` (with at most a `next_page_token`).
fn is_api_answer(s: &Shape) -> bool {
    s.is_object && s.has("vulns") && s.keys.len() <= 2
}

#[derive(Deserialize)]
pub(crate) struct RawOsv {
    id: String,
    #[serde(default, deserialize_with = "nullable")]
    modified: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    published: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    withdrawn: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    aliases: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    upstream: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    summary: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    details: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    severity: Vec<RawSeverity>,
    #[serde(default, deserialize_with = "nullable")]
    affected: Vec<RawAffected>,
    #[serde(default, deserialize_with = "nullable")]
    references: Vec<RawReference>,
    #[serde(default, deserialize_with = "nullable")]
    database_specific: Option<RawSpecific>,
}

#[derive(Deserialize)]
struct RawSeverity {
    #[serde(rename = "type")]
    kind: String,
    score: String,
}

#[derive(Deserialize)]
struct RawReference {
    #[serde(default, deserialize_with = "nullable")]
    url: Option<String>,
}

#[derive(Deserialize)]
struct RawAffected {
    #[serde(default, deserialize_with = "nullable")]
    package: Option<RawPackage>,
    #[serde(default, deserialize_with = "nullable")]
    ranges: Vec<RawRange>,
    #[serde(default, deserialize_with = "nullable")]
    versions: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    severity: Vec<RawSeverity>,
    #[serde(default, deserialize_with = "nullable")]
    ecosystem_specific: Option<RawSpecific>,
    #[serde(default, deserialize_with = "nullable")]
    database_specific: Option<RawSpecific>,
}

#[derive(Deserialize)]
struct RawPackage {
    ecosystem: String,
    name: String,
    #[serde(default, deserialize_with = "nullable")]
    purl: Option<String>,
}

#[derive(Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    events: Vec<RawEvent>,
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    introduced: Option<String>,
    #[serde(default)]
    fixed: Option<String>,
    #[serde(default)]
    last_affected: Option<String>,
    #[serde(default)]
    limit: Option<String>,
}

/// The vendor fields patchline reads from `ecosystem_specific` / `database_specific`.
#[derive(Deserialize, Default)]
struct RawSpecific {
    #[serde(default, deserialize_with = "lenient_str")]
    ubuntu_priority: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    urgency: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    severity: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    cvss: Option<String>,
}

/// Parses one OSV record.
pub fn parse(origin: &Origin, bytes: &[u8]) -> Result<Advisory> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let raw: RawOsv = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| json_error(origin, "OSV record", e))?;
    de.end()
        .map_err(|e| Error::input(origin, format!("invalid OSV record: {e}")))?;
    convert(origin, raw, None)
}

/// The OSV record in `bytes` when it parses as one (without tracking field paths, which
/// is faster) and has what only OSV has among the supported formats (`modified` or
/// `affected`); `None` means "probe it": not OSV, or broken in a way the slow path will
/// explain.
fn parse_if_osv(origin: &Origin, bytes: &[u8]) -> Option<Result<Advisory>> {
    let raw: RawOsv = serde_json::from_slice(bytes).ok()?;
    if raw.modified.is_none() && raw.affected.is_empty() {
        return None;
    }
    Some(convert(origin, raw, None))
}

/// Parses a JSON array of OSV records (or `{"vulns": [...]}`, the osv.dev API's answer).
fn parse_list(origin: &Origin, bytes: &[u8], wrapped: bool, sink: &mut dyn Sink) -> Result<usize> {
    #[derive(Deserialize)]
    struct Api {
        vulns: Vec<RawOsv>,
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let err = |e| json_error(origin, "OSV record list", e);
    let records: Vec<RawOsv> = if wrapped {
        let a: Api = serde_path_to_error::deserialize(&mut de).map_err(err)?;
        a.vulns
    } else {
        serde_path_to_error::deserialize(&mut de).map_err(err)?
    };
    let n = records.len();
    for (i, raw) in records.into_iter().enumerate() {
        sink.advisory(convert(origin, raw, Some(i))?)?;
    }
    Ok(n)
}

fn convert(origin: &Origin, raw: RawOsv, index: Option<usize>) -> Result<Advisory> {
    let at = |field: String| match index {
        Some(i) => format!("record [{i}]: field `{field}`"),
        None => format!("field `{field}`"),
    };
    let bad = |field: String, what: String| {
        Error::input(origin, format!("invalid OSV record: {}: {what}", at(field)))
    };
    check_id(&raw.id).map_err(|e| bad("id".into(), e))?;

    let mut aliases = Vec::new();
    for (i, a) in raw.aliases.iter().enumerate() {
        check_id(a).map_err(|e| bad(format!("aliases[{i}]"), e))?;
        if *a != raw.id {
            push_unique(&mut aliases, a);
        }
    }
    for u in &raw.upstream {
        if check_id(u).is_ok() && *u != raw.id {
            push_unique(&mut aliases, u);
        }
    }
    if let Some(cve) = embedded_cve(&raw.id) {
        push_unique(&mut aliases, cve);
    }

    let mut severity = Vec::new();
    for (i, s) in raw.severity.into_iter().enumerate() {
        severity.push(check_severity(s).map_err(|e| bad(format!("severity[{i}]"), e))?);
    }
    if let Some(spec) = &raw.database_specific {
        // GitHub's advisory-level rating word (LOW, MODERATE, HIGH, CRITICAL).
        if raw.id.starts_with("GHSA-") {
            if let Some(s) = &spec.severity {
                push_unique_severity(
                    &mut severity,
                    SeverityScore {
                        kind: "GHSA".into(),
                        score: s.to_ascii_lowercase(),
                    },
                );
            }
        }
    }

    let mut affected = Vec::with_capacity(raw.affected.len());
    for (i, a) in raw.affected.into_iter().enumerate() {
        let Some(pkg) = a.package else {
            continue;
        };
        if pkg.ecosystem.trim().is_empty() {
            return Err(bad(
                format!("affected[{i}].package.ecosystem"),
                "is empty".into(),
            ));
        }
        if pkg.name.trim().is_empty() {
            return Err(bad(
                format!("affected[{i}].package.name"),
                "is empty".into(),
            ));
        }
        let ecosystem = Registry::builtin()
            .normalize_ecosystem(&pkg.ecosystem)
            .into_owned();
        let mut ranges = Vec::with_capacity(a.ranges.len());
        for (j, r) in a.ranges.into_iter().enumerate() {
            let kind = match r.kind.as_str() {
                "ECOSYSTEM" => RangeKind::Ecosystem,
                "SEMVER" => RangeKind::Semver,
                "GIT" => RangeKind::Git,
                other => {
                    return Err(bad(
                        format!("affected[{i}].ranges[{j}].type"),
                        format!(
                            "unknown range type {} (expected ECOSYSTEM, SEMVER or GIT)",
                            shown(other)
                        ),
                    ))
                }
            };
            let mut events = Vec::with_capacity(r.events.len());
            for (k, e) in r.events.into_iter().enumerate() {
                let set = [&e.introduced, &e.fixed, &e.last_affected, &e.limit]
                    .iter()
                    .filter(|x| x.is_some())
                    .count();
                if set != 1 {
                    return Err(bad(
                        format!("affected[{i}].ranges[{j}].events[{k}]"),
                        "must hold exactly one of introduced, fixed, last_affected, limit".into(),
                    ));
                }
                events.push(match e {
                    RawEvent {
                        introduced: Some(v),
                        ..
                    } => Event::Introduced(v),
                    RawEvent { fixed: Some(v), .. } => Event::Fixed(v),
                    RawEvent {
                        last_affected: Some(v),
                        ..
                    } => Event::LastAffected(v),
                    RawEvent { limit: Some(v), .. } => Event::Limit(v),
                    _ => unreachable!("exactly one event field is set"),
                });
            }
            ranges.push(Range { kind, events });
        }
        let mut sev = Vec::new();
        for (j, s) in a.severity.into_iter().enumerate() {
            sev.push(
                check_severity(s).map_err(|e| bad(format!("affected[{i}].severity[{j}]"), e))?,
            );
        }
        let vendor = ecosystem.split(':').next().unwrap_or("").to_string();
        for spec in [&a.ecosystem_specific, &a.database_specific]
            .into_iter()
            .flatten()
        {
            if let Some(p) = &spec.ubuntu_priority {
                push_unique_severity(
                    &mut sev,
                    SeverityScore {
                        kind: "Ubuntu".into(),
                        score: p.clone(),
                    },
                );
            }
            if let Some(u) = &spec.urgency {
                if let Some(score) = super::debian::urgency_score(u) {
                    let kind = if vendor.is_empty() {
                        "Debian".into()
                    } else {
                        vendor.clone()
                    };
                    push_unique_severity(&mut sev, SeverityScore { kind, score });
                }
            }
            // RustSec puts the CVSS vector in `database_specific.cvss`.
            if let Some(v) = &spec.cvss {
                if v.starts_with("CVSS:") || v.starts_with("AV:") {
                    push_unique_severity(
                        &mut sev,
                        SeverityScore {
                            kind: cvss_kind(v).into(),
                            score: v.clone(),
                        },
                    );
                }
            }
        }
        affected.push(Affected {
            ecosystem,
            package: pkg.name,
            purl: pkg.purl,
            ranges,
            versions: a.versions,
            state: None,
            severity: sev,
        });
    }

    let mut references = Vec::new();
    for r in raw.references {
        if let Some(u) = r.url {
            push_unique(&mut references, &u);
        }
    }

    Ok(Advisory {
        id: raw.id,
        aliases,
        summary: raw.summary.filter(|s| !s.is_empty()),
        details: raw.details.filter(|s| !s.is_empty()),
        published: raw.published,
        modified: raw.modified,
        withdrawn: raw.withdrawn,
        severity,
        affected,
        references,
        source: Format::Osv.as_str().into(),
    })
}

fn check_severity(s: RawSeverity) -> std::result::Result<SeverityScore, String> {
    if s.kind.trim().is_empty() {
        return Err("`type` is empty".into());
    }
    if s.score.trim().is_empty() {
        return Err("`score` is empty".into());
    }
    Ok(SeverityScore {
        kind: s.kind,
        score: s.score,
    })
}
