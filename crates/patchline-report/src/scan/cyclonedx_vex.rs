//! CycloneDX 1.6 with `vulnerabilities`: a BOM with embedded VEX.
//!
//! The BOM part is the SBOM renderer's (`cyclonedx.rs`): the image as
//! `metadata.component`, the distro as an `operating-system` component, and a `library`
//! component per package **that has findings** (a scan report carries only those; the
//! full inventory is `patchline sbom`), with the same bom-refs (the purl) and `patchline:`
//! properties. `metadata.properties` say it is a scan (`patchline:scan:schema`), which
//! scanners ran (`patchline:scan:scanners`), each check finding
//! (`patchline:check:N:id|severity|message|location|layer_diff_id|evidence|fix`), how many
//! packages were scanned, whether the inventory was complete, the distro's end of life,
//! the advisory DB's update time, and the warnings.
//!
//! One `vulnerabilities[]` entry per vulnerability id and verdict (findings with the same
//! id, fix state, fixed versions and severity share one entry whose `affects` lists each
//! package; a verdict that differs between packages gives separate entries):
//!
//! * `id`, `source` (the feed the advisory came from: the Debian security tracker, the
//!   Alpine secdb, else OSV, with the advisory's page there), `references` (the aliases,
//!   each with its source), `description` (the summary), `advisories` (the reference
//!   URLs);
//! * `ratings`: one per scored CVSS vector (method `CVSSv2` / `CVSSv3` / `CVSSv31` /
//!   `CVSSv4`, score, vector, severity of the score, source), and the distro's own rating
//!   (method `other`) when the finding's severity came from the distro and not from a
//!   vector; the severity patchline uses is also `patchline:severity`;
//! * `affects`: `[{ref: the package's bom-ref, versions: [{version: installed, status:
//!   affected}]}]`. Fixed versions are not written as `unaffected` versions of the
//!   component: Debian's are source versions, which a binary package's version need not
//!   equal; they are in `recommendation` and `patchline:fixed_version` properties;
//! * `analysis`, the VEX statement. A finding says the distro's data lists this installed
//!   version as affected; nobody has triaged it (no reachability analysis, no human
//!   decision), so its state is `in_triage`, never `exploitable`, which VEX consumers read
//!   as a confirmed exploitable path. `detail` says what the finding rests on; `response`
//!   follows the fix state:
//!
//!   | fix state | `state` | `response` | `recommendation` |
//!   |---|---|---|---|
//!   | fixed | `in_triage` | `update` | `Upgrade NAME to VERSION or later` |
//!   | unfixed | `in_triage` | — (no fix exists yet; `can_not_fix` would claim more) | — |
//!   | will-not-fix | `in_triage` | `will_not_fix` | — |
//!   | unimportant | `in_triage` | `will_not_fix` | — |
//!
//!   `resolved` / `not_affected` would make VEX consumers (Trivy, Dependency-Track)
//!   suppress findings that are real. (`in_triage` rather than no `analysis` at all:
//!   the entry still carries its `response` and `detail`, which need an `analysis`, and
//!   a consumer that reads a missing analysis as "not triaged" reads `in_triage` alike.)
//!
//!   Findings the policy stage left out are listed too, after the findings, since a
//!   consumer must see the decision and who made it, not a vanished vulnerability:
//!
//!   | left out by | `state` | `justification` | `detail` |
//!   |---|---|---|---|
//!   | an exception with a justification | `not_affected` | the exception's, as CycloneDX's word | the reason, owner, expiry, source |
//!   | an exception without one (an accepted risk) | `in_triage` | — (`response: will_not_fix`) | `Risk accepted …: reason` |
//!   | a VEX statement `not_affected` | `not_affected` | the statement's, as CycloneDX's word | its impact statement and document |
//!   | a VEX statement `fixed` | `resolved` | — | its document |
//!
//!   OpenVEX's justifications map to CycloneDX's as `vulnerable_code_not_present` and
//!   `component_not_present` → `code_not_present`, `vulnerable_code_not_in_execute_path`
//!   → `code_not_reachable`, `vulnerable_code_cannot_be_controlled_by_adversary` →
//!   `requires_environment`, `inline_mitigations_already_exist` →
//!   `protected_by_mitigating_control`; CycloneDX's own words pass through. Their
//!   packages are components of the BOM like the findings' packages;
//! * `properties`: `patchline:fix_state`, `patchline:fixed_version` (each),
//!   `patchline:severity`, `patchline:severity_source`, `patchline:ecosystem`,
//!   `patchline:advisory` (each merged advisory, `source:id`), `patchline:kev` with
//!   `patchline:kev:date_added` / `due_date` / `known_ransomware_campaign_use`,
//!   `patchline:epss:score` / `percentile` / `date`.

use std::collections::HashMap;
use std::io;

use patchline_model::vuln::{Cvss, Finding, FindingPackage, FixState, ScanReport, Severity};
use patchline_model::{Ecosystem, Inventory, Package, INVENTORY_SCHEMA};
use serde::Serialize;

use super::{fix_for, package_key, state_word, vuln_source_name, vuln_url, PackageKey};
use crate::cyclonedx::{build_with, prop, Bom, Property};
use crate::RenderOptions;

#[derive(Serialize)]
struct VexBom {
    #[serde(flatten)]
    bom: Bom,
    vulnerabilities: Vec<Vulnerability>,
}

#[derive(Serialize)]
struct Vulnerability {
    #[serde(rename = "bom-ref")]
    bom_ref: String,
    id: String,
    source: Source,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    references: Vec<Reference>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ratings: Vec<Rating>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recommendation: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    advisories: Vec<Advisory>,
    analysis: Analysis,
    affects: Vec<Affects>,
    properties: Vec<Property>,
}

#[derive(Serialize)]
struct Source {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

#[derive(Serialize)]
struct Reference {
    id: String,
    source: Source,
}

#[derive(Serialize)]
struct Rating {
    source: Source,
    #[serde(skip_serializing_if = "Option::is_none")]
    score: Option<f64>,
    severity: &'static str,
    method: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    vector: Option<String>,
}

#[derive(Serialize)]
struct Advisory {
    url: String,
}

#[derive(Serialize)]
struct Analysis {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    response: Vec<&'static str>,
    detail: String,
}

#[derive(Serialize)]
struct Affects {
    #[serde(rename = "ref")]
    bom_ref: String,
    versions: Vec<AffectedVersion>,
}

#[derive(Serialize)]
struct AffectedVersion {
    version: String,
    status: &'static str,
}

pub(crate) fn render(
    report: &ScanReport,
    opts: &RenderOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let decisions = decisions(report);
    let (inv, keys) = inventory_of(report, &decisions);
    let (bom, refs) = build_with(&inv, opts, document_properties(report))?;
    let ref_of: HashMap<&PackageKey, &String> = keys.iter().zip(&refs).collect();
    let mut vulnerabilities = vulnerabilities(report, &ref_of);
    let ref_of_purl: HashMap<&str, &String> = keys
        .iter()
        .zip(&refs)
        .map(|(k, r)| (k.4.as_str(), r))
        .collect();
    suppressed_vulnerabilities(&decisions, &ref_of_purl, &mut vulnerabilities);
    crate::write_json(
        &VexBom {
            bom,
            vulnerabilities,
        },
        out,
    )
}

/// The inventory the BOM part describes: the report's image and distro, and each
/// distinct package with findings, in the SBOM renderer's order (so that the bom-refs it
/// returns line up with `keys`).
fn inventory_of(report: &ScanReport, decisions: &[Decision]) -> (Inventory, Vec<PackageKey>) {
    let mut inv = Inventory::new(report.image.clone());
    inv.schema = INVENTORY_SCHEMA.into();
    inv.tool = report.tool.clone();
    inv.distro = report.distro.clone();
    inv.complete = report.inventory_complete;
    let mut seen = std::collections::HashSet::new();
    let mut pkgs = Vec::new();
    for f in &report.findings {
        if seen.insert(package_key(&f.package)) {
            pkgs.push(package(&f.package));
        }
    }
    let mut purls: std::collections::HashSet<&str> = pkgs.iter().map(|p| p.purl.as_str()).collect();
    let mut extra = Vec::new();
    for d in decisions {
        if let Some(p) = &d.package {
            if purls.insert(p.purl.as_str()) {
                extra.push(p.clone());
            }
        }
    }
    pkgs.extend(extra);
    inv.packages = pkgs;
    let sorted: Vec<Package> = crate::sorted_packages(&inv).into_iter().cloned().collect();
    inv.packages = sorted;
    let keys = inv.packages.iter().map(key_of_package).collect();
    (inv, keys)
}

fn package(p: &FindingPackage) -> Package {
    let mut pkg = Package::new(p.ecosystem, p.name.clone(), p.version.clone());
    pkg.epoch = match p.ecosystem {
        Ecosystem::Apk => None,
        _ => p.version.split_once(':').and_then(|(e, _)| e.parse().ok()),
    };
    pkg.arch = p.arch.clone();
    pkg.source_name = p.source_name.clone();
    pkg.source_version = p.source_version.clone();
    pkg.purl = p.purl.clone();
    pkg.introduced = p.introduced.clone();
    pkg.last_changed = p.last_changed.clone();
    pkg.sbom_ref = p.sbom_ref.clone();
    pkg
}

fn key_of_package(p: &Package) -> PackageKey {
    (
        p.ecosystem,
        p.name.clone(),
        p.arch.clone(),
        p.version.clone(),
        p.purl.clone(),
    )
}

fn document_properties(report: &ScanReport) -> Vec<Property> {
    let mut props = vec![
        prop("patchline:scan:schema", report.schema.clone()),
        prop(
            "patchline:scan:packages_scanned",
            report.packages_scanned.to_string(),
        ),
        prop(
            "patchline:inventory:complete",
            report.inventory_complete.to_string(),
        ),
        prop("patchline:scan:distro_eol", report.distro_eol.to_string()),
    ];

    if report.packages_not_matched > 0 {
        props.push(prop(
            "patchline:scan:packages_not_matched",
            report.packages_not_matched.to_string(),
        ));
    }
    if let Some(t) = &report.db.updated_at {
        props.push(prop("patchline:db:updated_at", t.clone()));
    }
    if !report.scanners.is_empty() {
        props.push(prop("patchline:scan:scanners", report.scanners.join(",")));
    }
    // Check findings have no CycloneDX element of their own (vulnerabilities are about
    // components): one property group per finding, redacted as everywhere.
    for (i, c) in report.checks.iter().enumerate() {
        let key = |k: &str| format!("patchline:check:{i}:{k}");
        props.push(prop(key("id"), c.id.clone()));
        props.push(prop(key("severity"), c.severity.as_str().to_string()));
        props.push(prop(key("message"), c.message.clone()));
        let location = c.location();
        if !location.is_empty() {
            props.push(prop(key("location"), location));
        }
        if let Some(l) = &c.layer {
            props.push(prop(key("layer_diff_id"), l.diff_id.to_string()));
        }
        if let Some(e) = &c.evidence {
            props.push(prop(key("evidence"), e.clone()));
        }
        props.push(prop(key("fix"), c.fix.clone()));
    }
    for (i, w) in report.warnings.iter().enumerate() {
        let key = |k: &str| format!("patchline:warning:{i}:{k}");
        props.push(prop(key("source"), w.source.clone()));
        props.push(prop(key("location"), w.location.clone()));
        props.push(prop(key("message"), w.message.clone()));
    }
    props
}

fn severity_word(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Negligible => "info",
        Severity::Unknown => "unknown",
    }
}

fn method(c: &Cvss) -> &'static str {
    match c.version.as_str() {
        "2.0" | "2" => "CVSSv2",
        "3.0" => "CVSSv3",
        "3.1" => "CVSSv31",
        "4.0" | "4" => "CVSSv4",
        _ => "other",
    }
}

fn ratings(f: &Finding) -> Vec<Rating> {
    let mut out: Vec<Rating> = f
        .cvss
        .iter()
        .filter(|c| c.base_score.is_finite())
        .map(|c| Rating {
            source: Source {
                name: c.source.clone(),
                url: None,
            },
            score: Some(c.base_score),
            severity: if c.base_score == 0.0 {
                "none"
            } else {
                severity_word(Severity::from_score(c.base_score))
            },
            method: method(c),
            vector: (!c.vector.is_empty()).then(|| c.vector.clone()),
        })
        .collect();
    let from_vector = f
        .cvss
        .iter()
        .any(|c| c.source.eq_ignore_ascii_case(&f.severity_source));
    let rated = !matches!(f.severity_source.as_str(), "" | "none" | "cvss");
    if rated && !from_vector {
        out.insert(
            0,
            Rating {
                source: Source {
                    name: f.severity_source.clone(),
                    url: None,
                },
                score: None,
                severity: severity_word(f.severity),
                method: "other",
                vector: None,
            },
        );
    }
    out
}

fn analysis(f: &Finding) -> Analysis {
    let basis = format!(
        "Affected according to the {} data for {}: installed version {}",
        if f.ecosystem.is_empty() {
            "advisory"
        } else {
            f.ecosystem.as_str()
        },
        f.package
            .source_name
            .as_deref()
            .unwrap_or(f.package.name.as_str()),
        super::compared_version(&f.package)
    );
    let (response, tail) = match f.state {
        FixState::Fixed => (
            vec!["update"],
            match fix_for(f) {
                Some(v) => format!("is before the fix in {v}."),
                None => "has a fixed version.".to_string(),
            },
        ),
        FixState::Unfixed => (vec![], "has no fixed version yet.".to_string()),
        FixState::WillNotFix => (
            vec!["will_not_fix"],
            "will not be fixed by the distribution.".to_string(),
        ),
        FixState::Unimportant => (
            vec!["will_not_fix"],
            "is rated unimportant by the distribution, which does not plan a fix.".to_string(),
        ),
    };
    Analysis {
        state: "in_triage",
        justification: None,
        response,
        detail: format!("{basis} {tail} No reachability analysis was performed."),
    }
}

fn properties(f: &Finding) -> Vec<Property> {
    let mut p = vec![prop("patchline:fix_state", state_word(f.state))];
    for v in &f.fixed_versions {
        p.push(prop("patchline:fixed_version", v.clone()));
    }
    p.push(prop("patchline:severity", f.severity.as_str()));
    p.push(prop("patchline:severity_source", f.severity_source.clone()));
    if !f.ecosystem.is_empty() {
        p.push(prop("patchline:ecosystem", f.ecosystem.clone()));
    }
    for a in &f.advisories {
        p.push(prop("patchline:advisory", a.clone()));
    }
    if let Some(k) = &f.kev {
        p.push(prop("patchline:kev", "true"));
        p.push(prop("patchline:kev:date_added", k.date_added.clone()));
        if let Some(d) = &k.due_date {
            p.push(prop("patchline:kev:due_date", d.clone()));
        }
        if let Some(r) = &k.known_ransomware_campaign_use {
            p.push(prop(
                "patchline:kev:known_ransomware_campaign_use",
                r.clone(),
            ));
        }
    }
    if let Some(e) = &f.epss {
        p.push(prop("patchline:epss:score", e.score.to_string()));
        p.push(prop("patchline:epss:percentile", e.percentile.to_string()));
        if let Some(d) = &e.date {
            p.push(prop("patchline:epss:date", d.clone()));
        }
    }
    p
}

/// What findings must share to be one `vulnerabilities[]` entry: the statement
/// (analysis, ratings, recommendation) is per entry, not per affected component.
type VerdictKey<'a> = (&'a str, FixState, &'a [String], Severity, &'a str);

/// The feed a finding's first advisory came from, by the id its importer gave it
/// (`debian-tracker:DEBIAN-CVE-…`, `alpine-secdb:ALPINE-CVE-…`; the rest are OSV records).
fn feed_source(f: &Finding) -> Source {
    let Some(advisory) = f.advisories.first() else {
        return Source {
            name: vuln_source_name(&f.id).into(),
            url: vuln_url(&f.id),
        };
    };
    // `SOURCE:ID`; the DB source name may itself hold colons (`file:/path`).
    let id = advisory
        .rsplit_once(':')
        .map_or(advisory.as_str(), |(_, id)| id);
    if let Some(cve) = id.strip_prefix("DEBIAN-") {
        Source {
            name: "Debian Security Tracker".into(),
            url: Some(format!("https://security-tracker.debian.org/tracker/{cve}")),
        }
    } else if let Some(cve) = id.strip_prefix("ALPINE-") {
        Source {
            name: "Alpine secdb".into(),
            url: Some(format!("https://security.alpinelinux.org/vuln/{cve}")),
        }
    } else {
        Source {
            name: "OSV".into(),
            url: Some(format!("https://osv.dev/vulnerability/{id}")),
        }
    }
}

fn vulnerabilities(
    report: &ScanReport,
    ref_of: &HashMap<&PackageKey, &String>,
) -> Vec<Vulnerability> {
    let mut groups: Vec<Vec<&Finding>> = Vec::new();
    let mut index: HashMap<VerdictKey, usize> = HashMap::new();
    for f in &report.findings {
        let key = (
            f.id.as_str(),
            f.state,
            f.fixed_versions.as_slice(),
            f.severity,
            f.severity_source.as_str(),
        );
        match index.get(&key) {
            Some(&i) => groups[i].push(f),
            None => {
                index.insert(key, groups.len());
                groups.push(vec![f]);
            }
        }
    }

    let mut used_refs: HashMap<String, usize> = HashMap::new();
    groups
        .into_iter()
        .map(|fs| {
            let f = fs[0];
            let n = used_refs.entry(f.id.clone()).or_insert(0);
            *n += 1;
            let bom_ref = if *n == 1 {
                format!("vulnerability:{}", f.id)
            } else {
                format!("vulnerability:{}|{n}", f.id)
            };
            let mut affects: Vec<Affects> = Vec::new();
            for g in &fs {
                let Some(r) = ref_of.get(&package_key(&g.package)) else {
                    continue;
                };
                if affects.iter().any(|a| &a.bom_ref == *r) {
                    continue;
                }
                affects.push(Affects {
                    bom_ref: (*r).clone(),
                    versions: vec![AffectedVersion {
                        version: g.package.version.clone(),
                        status: "affected",
                    }],
                });
            }
            let mut names: Vec<&str> = Vec::new();
            for g in &fs {
                if !names.contains(&g.package.name.as_str()) {
                    names.push(g.package.name.as_str());
                }
            }
            let recommendation = match (f.state, fix_for(f)) {
                (FixState::Fixed, Some(v)) => {
                    Some(format!("Upgrade {} to {v} or later", names.join(", ")))
                }
                _ => None,
            };
            Vulnerability {
                bom_ref,
                id: f.id.clone(),
                source: feed_source(f),
                references: f
                    .aliases
                    .iter()
                    .map(|a| Reference {
                        id: a.clone(),
                        source: Source {
                            name: vuln_source_name(a).into(),
                            url: vuln_url(a),
                        },
                    })
                    .collect(),
                ratings: ratings(f),
                description: f.summary.clone().filter(|s| !s.trim().is_empty()),
                recommendation,
                advisories: f
                    .references
                    .iter()
                    .filter(|r| is_url(r))
                    .map(|r| Advisory { url: r.clone() })
                    .collect(),
                analysis: analysis(f),
                affects,
                properties: properties(f),
            }
        })
        .collect()
}

/// A finding the policy stage left out, and the decision that did.
struct Decision {
    id: String,
    /// The package, rebuilt from the suppression's purl and `name@version` subject.
    package: Option<Package>,
    analysis: Analysis,
}

/// The suppressions of the report's policy outcome, as CycloneDX analyses (the table
/// in the module doc). Check findings (no purl, a location for subject) are not
/// vulnerabilities and are left to the checks' own rendering.
fn decisions(report: &ScanReport) -> Vec<Decision> {
    let Some(policy) = &report.policy else {
        return vec![];
    };
    let mut out = Vec::new();
    for applied in &policy.exceptions.applied {
        let e = &applied.exception;
        let mut who = String::new();
        if let Some(o) = &e.owner {
            who.push_str(&format!(" by {o}"));
        }
        if let Some(x) = &e.expires {
            who.push_str(&format!(" until {x}"));
        }
        let src = e
            .source
            .as_deref()
            .map(|s| format!(" (exception in {s})"))
            .unwrap_or_else(|| " (exception)".into());
        for s in &applied.suppressed {
            let Some(package) = suppressed_package(s) else {
                continue;
            };
            let analysis = match e.justification.as_deref().and_then(cdx_justification) {
                Some(j) => Analysis {
                    state: "not_affected",
                    justification: Some(j),
                    response: vec![],
                    detail: format!("Not affected{who}: {}{src}", e.reason),
                },
                None => Analysis {
                    state: "in_triage",
                    justification: None,
                    response: vec!["will_not_fix"],
                    detail: format!("Risk accepted{who}: {}{src}", e.reason),
                },
            };
            out.push(Decision {
                id: s.id.clone(),
                package: Some(package),
                analysis,
            });
        }
    }
    for s in &policy.vex {
        let Some(package) = suppressed_package(s) else {
            continue;
        };
        let statement = s
            .statement
            .as_deref()
            .map(|t| format!("{t} "))
            .unwrap_or_default();
        let analysis = match s.status.as_deref() {
            Some("fixed") => Analysis {
                state: "resolved",
                justification: None,
                response: vec![],
                detail: format!("{statement}(VEX: fixed, {})", s.by),
            },
            Some("not_affected") => Analysis {
                state: "not_affected",
                justification: s.justification.as_deref().and_then(cdx_justification),
                response: vec![],
                detail: format!("{statement}(VEX: not_affected, {})", s.by),
            },
            _ => continue,
        };
        out.push(Decision {
            id: s.id.clone(),
            package: Some(package),
            analysis,
        });
    }
    out
}

/// The package of a vulnerability suppression; `None` for check findings and
/// suppressions recorded without a purl.
fn suppressed_package(s: &patchline_model::policy::Suppression) -> Option<Package> {
    let purl = s.purl.as_deref().filter(|p| !p.is_empty())?;
    let parsed = patchline_model::purl::parse_purl(purl).ok()?;
    let ecosystem = Ecosystem::from_purl_type(&parsed.ty)?;
    let (name, version) = match s.subject.rsplit_once('@') {
        Some((n, v)) if !n.is_empty() => (n.to_string(), v.to_string()),
        _ => (
            parsed.name.clone(),
            parsed.version.clone().unwrap_or_default(),
        ),
    };
    let mut p = Package::new(ecosystem, name, version);
    p.arch = parsed.qualifier("arch").map(str::to_string);
    p.purl = purl.to_string();
    Some(p)
}

/// CycloneDX's `analysis.justification` for an OpenVEX (or CycloneDX) word.
fn cdx_justification(j: &str) -> Option<&'static str> {
    Some(match j.trim() {
        "vulnerable_code_not_present" | "component_not_present" | "code_not_present" => {
            "code_not_present"
        }
        "vulnerable_code_not_in_execute_path" | "code_not_reachable" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" | "requires_environment" => {
            "requires_environment"
        }
        "inline_mitigations_already_exist" | "protected_by_mitigating_control" => {
            "protected_by_mitigating_control"
        }
        "requires_configuration" => "requires_configuration",
        "requires_dependency" => "requires_dependency",
        "protected_by_compiler" => "protected_by_compiler",
        "protected_at_runtime" => "protected_at_runtime",
        "protected_at_perimeter" => "protected_at_perimeter",
        _ => return None,
    })
}

fn suppressed_vulnerabilities(
    decisions: &[Decision],
    ref_of_purl: &HashMap<&str, &String>,
    out: &mut Vec<Vulnerability>,
) {
    let mut used: HashMap<String, usize> = HashMap::new();
    for v in out.iter() {
        let id = v.id.clone();
        *used.entry(id).or_insert(0) += 1;
    }
    for d in decisions {
        let n = used.entry(d.id.clone()).or_insert(0);
        *n += 1;
        let bom_ref = if *n == 1 {
            format!("vulnerability:{}", d.id)
        } else {
            format!("vulnerability:{}|{n}", d.id)
        };
        let affects = d
            .package
            .as_ref()
            .and_then(|p| ref_of_purl.get(p.purl.as_str()).map(|r| (p, r)))
            .map(|(p, r)| Affects {
                bom_ref: (*r).clone(),
                versions: vec![AffectedVersion {
                    version: p.version.clone(),
                    status: if d.analysis.state == "in_triage" {
                        "affected"
                    } else {
                        "unaffected"
                    },
                }],
            })
            .into_iter()
            .collect();
        let state = d.analysis.state;
        out.push(Vulnerability {
            bom_ref,
            id: d.id.clone(),
            source: Source {
                name: vuln_source_name(&d.id).into(),
                url: vuln_url(&d.id),
            },
            references: vec![],
            ratings: vec![],
            description: None,
            recommendation: None,
            advisories: vec![],
            analysis: Analysis {
                state,
                justification: d.analysis.justification,
                response: d.analysis.response.clone(),
                detail: d.analysis.detail.clone(),
            },
            affects,
            properties: vec![prop("patchline:suppressed", "true")],
        });
    }
}

/// An absolute http(s) URL without characters an IRI reference may not hold, so that
/// the schema's `iri-reference` format accepts it.
fn is_url(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && !s.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(c, '"' | '<' | '>' | '\\' | '^' | '`' | '{' | '|' | '}')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_is_the_feed_the_advisory_came_from() {
        let f = |advisory: &str| {
            let mut f: Finding = serde_json::from_value(serde_json::json!({
                "id": "CVE-2024-1", "advisories": [advisory],
                "package": {"ecosystem": "deb", "name": "curl", "version": "1", "purl": "pkg:deb/debian/curl@1"},
                "ecosystem": "Debian:12", "state": "fixed", "fixed_versions": [],
                "severity": "unknown", "severity_source": "none", "cvss": []
            }))
            .unwrap();
            f.aliases.clear();
            let s = feed_source(&f);
            (s.name, s.url.unwrap_or_default())
        };
        assert_eq!(
            f("debian-tracker:DEBIAN-CVE-2024-1"),
            (
                "Debian Security Tracker".to_string(),
                "https://security-tracker.debian.org/tracker/CVE-2024-1".to_string()
            )
        );
        assert_eq!(
            f("file:/feeds/secdb.json:ALPINE-CVE-2024-1").0,
            "Alpine secdb"
        );
        assert_eq!(
            f("osv-Debian:DSA-5514-1"),
            (
                "OSV".to_string(),
                "https://osv.dev/vulnerability/DSA-5514-1".to_string()
            )
        );
    }
}
