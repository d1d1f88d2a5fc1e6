//! SARIF 2.1.0, shaped for GitHub code scanning.
//!
//! One run. `tool.driver.rules` has one rule per vulnerability id (first-seen order, i.e.
//! risk order) with a short description, a help text naming the affected packages of this
//! image, `helpUri` (NVD for CVEs, GitHub for GHSAs, osv.dev for the other OSV ids) and
//! `properties.security-severity`, the number GitHub bands alerts by: the CVSS base score
//! when one of the finding's vectors scores in the band of the finding's severity, else a
//! score in the middle of that band, so that GitHub shows the severity patchline decided
//! (the distro's own rating for distro packages) rather than a different one.
//!
//! `tool.driver.informationUri` is the project's home page (the workspace `homepage`).
//!
//! `results` has one result per finding: `level` error for critical and high, warning
//! for medium and unknown, note below; a message naming package, installed and fixed versions; a
//! physical location whose `artifactLocation.uri` is the package database's path in the
//! image (GitHub refuses results without a URI), and a logical location naming the image
//! and the package's purl (plus one naming the input SBOM's own `bom-ref` or `SPDXID` of
//! the package, when the scan read an SBOM); `partialFingerprints["patchline/v1"]` = id, ecosystem, package
//! name and architecture, which stays the same when the package is upgraded but still
//! vulnerable or the image is retagged, so the alert is not duplicated. Scan warnings
//! become tool execution notifications.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::io;

use patchline_model::check::CheckFinding;
use patchline_model::vuln::{Cvss, Finding, FixState, ScanReport, Severity};
use serde::Serialize;

use super::{db_path, fix_for, state_word, vuln_url};

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const FINGERPRINT: &str = "patchline/v1";

#[derive(Serialize)]
struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run>,
}

#[derive(Serialize)]
struct Run {
    tool: Tool,
    invocations: Vec<Invocation>,
    results: Vec<SarifResult>,
    properties: RunProperties,
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
struct Driver {
    name: String,
    version: String,
    #[serde(rename = "informationUri")]
    information_uri: &'static str,
    rules: Vec<Rule>,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Rule {
    id: String,
    #[serde(rename = "shortDescription")]
    short_description: Text,
    #[serde(rename = "fullDescription")]
    full_description: Text,
    #[serde(rename = "helpUri", skip_serializing_if = "Option::is_none")]
    help_uri: Option<String>,
    help: Help,
    #[serde(rename = "defaultConfiguration")]
    default_configuration: Configuration,
    properties: RuleProperties,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
struct RuleProperties {
    #[serde(rename = "security-severity", skip_serializing_if = "Option::is_none")]
    security_severity: Option<String>,
    tags: Vec<String>,
    precision: &'static str,
}

#[derive(Serialize)]
struct SarifResult {
    #[serde(rename = "ruleId")]
    rule_id: String,
    #[serde(rename = "ruleIndex")]
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    #[serde(rename = "partialFingerprints")]
    partial_fingerprints: BTreeMap<&'static str, String>,
    properties: Properties,
}

/// A result's properties: a vulnerability's or a check's.
#[derive(Serialize)]
#[serde(untagged)]
enum Properties {
    Vuln(Box<ResultProperties>),
    Check(CheckProperties),
}

#[derive(Serialize)]
struct CheckProperties {
    kind: &'static str,
    severity: &'static str,
    #[serde(rename = "layer", skip_serializing_if = "Option::is_none")]
    layer: Option<usize>,
    #[serde(rename = "layerDiffId", skip_serializing_if = "Option::is_none")]
    layer_diff_id: Option<String>,
    /// The layer that deleted the file, which the image still ships.
    #[serde(rename = "deletedInLayer", skip_serializing_if = "Option::is_none")]
    removed_in: Option<usize>,
    /// Redacted: never the secret itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    evidence: Option<String>,
}

#[derive(Serialize)]
struct Location {
    #[serde(rename = "physicalLocation")]
    physical_location: PhysicalLocation,
    #[serde(rename = "logicalLocations")]
    logical_locations: Vec<LogicalLocation>,
}

#[derive(Serialize)]
struct PhysicalLocation {
    #[serde(rename = "artifactLocation")]
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
struct ArtifactLocation {
    uri: String,
}

#[derive(Serialize)]
struct Region {
    #[serde(rename = "startLine")]
    start_line: u32,
}

#[derive(Serialize)]
struct LogicalLocation {
    name: String,
    #[serde(rename = "fullyQualifiedName")]
    fully_qualified_name: String,
    kind: &'static str,
}

#[derive(Serialize)]
struct ResultProperties {
    purl: String,
    #[serde(rename = "installedVersion")]
    installed_version: String,
    #[serde(rename = "sourcePackage", skip_serializing_if = "Option::is_none")]
    source_package: Option<String>,
    #[serde(rename = "sourceVersion", skip_serializing_if = "Option::is_none")]
    source_version: Option<String>,
    #[serde(rename = "fixedVersions", skip_serializing_if = "Vec::is_empty")]
    fixed_versions: Vec<String>,
    state: &'static str,
    severity: &'static str,
    #[serde(rename = "severitySource")]
    severity_source: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
    #[serde(rename = "knownExploited")]
    known_exploited: bool,
    #[serde(rename = "epssScore", skip_serializing_if = "Option::is_none")]
    epss_score: Option<f64>,
    #[serde(rename = "epssPercentile", skip_serializing_if = "Option::is_none")]
    epss_percentile: Option<f64>,
    #[serde(rename = "introducedLayer", skip_serializing_if = "Option::is_none")]
    introduced_layer: Option<usize>,
    #[serde(
        rename = "introducedLayerDiffId",
        skip_serializing_if = "Option::is_none"
    )]
    introduced_layer_diff_id: Option<String>,
}

#[derive(Serialize)]
struct Invocation {
    #[serde(rename = "executionSuccessful")]
    execution_successful: bool,
    #[serde(
        rename = "toolExecutionNotifications",
        skip_serializing_if = "Vec::is_empty"
    )]
    notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Text,
}

#[derive(Serialize)]
struct RunProperties {
    image: String,
    #[serde(rename = "manifestDigest", skip_serializing_if = "Option::is_none")]
    manifest_digest: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    distro: Option<String>,
    #[serde(rename = "distroEndOfLife")]
    distro_eol: bool,
    #[serde(rename = "packagesScanned")]
    packages_scanned: usize,
    #[serde(rename = "packagesNotMatched", skip_serializing_if = "is_zero")]
    packages_not_matched: usize,
    /// Each package that was not matched, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unmatched: Vec<patchline_model::vuln::Unmatched>,
    #[serde(rename = "inventoryComplete")]
    inventory_complete: bool,
    #[serde(
        rename = "advisoryDbUpdatedAt",
        skip_serializing_if = "Option::is_none"
    )]
    db_updated_at: Option<String>,
}

pub(crate) fn render(report: &ScanReport, out: &mut dyn io::Write) -> io::Result<()> {
    crate::write_json(&build(report), out)
}

/// The result level of a severity; unknown is a warning, as it ranks with medium in the
/// risk order (nobody has rated it low).
fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium | Severity::Unknown => "warning",
        Severity::Low | Severity::Negligible => "note",
    }
}

/// GitHub's `security-severity`: a CVSS score of the finding's own band when there is
/// one, else the middle of the band.
fn security_severity(sev: Severity, cvss: &[Cvss]) -> Option<String> {
    let in_band = cvss
        .iter()
        .map(|c| c.base_score)
        .filter(|s| s.is_finite() && Severity::from_score(*s) == sev)
        .fold(None, |best: Option<f64>, s| {
            Some(best.map_or(s, |b| b.max(s)))
        });
    if let Some(s) = in_band {
        return Some(format!("{s:.1}"));
    }
    // No rating patchline could band, but a score exists: GitHub sorts on it.
    if sev == Severity::Unknown {
        return cvss
            .iter()
            .map(|c| c.base_score)
            .filter(|s| s.is_finite() && *s > 0.0)
            .fold(None, |best: Option<f64>, s| {
                Some(best.map_or(s, |b| b.max(s)))
            })
            .map(|s| format!("{s:.1}"));
    }
    match sev {
        Severity::Critical => Some("9.5".into()),
        Severity::High => Some("8.0".into()),
        Severity::Medium => Some("5.5".into()),
        Severity::Low => Some("2.0".into()),
        Severity::Negligible => Some("0.1".into()),
        Severity::Unknown => None,
    }
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.chars().count() > 200 {
        format!("{}…", line.chars().take(199).collect::<String>())
    } else {
        line.to_string()
    }
}

fn fix_sentence(f: &Finding) -> String {
    match f.state {
        FixState::Fixed => match fix_for(f) {
            Some(v) => format!("Fixed in {v}."),
            None => "A fixed version exists.".into(),
        },
        FixState::Unfixed => "No fixed version is available yet.".into(),
        FixState::WillNotFix => "The distribution will not fix it.".into(),
        FixState::Unimportant => {
            "The distribution rates it unimportant and does not plan a fix.".into()
        }
    }
}

fn build(report: &ScanReport) -> Log {
    let image = if report.image.reference.is_empty() {
        "image".to_string()
    } else {
        report.image.reference.clone()
    };

    // One rule per id, in first-seen order, with every finding of that id.
    let mut rule_of: HashMap<&str, usize> = HashMap::new();
    let mut by_rule: Vec<Vec<&Finding>> = Vec::new();
    for f in &report.findings {
        let i = *rule_of.entry(f.id.as_str()).or_insert_with(|| {
            by_rule.push(Vec::new());
            by_rule.len() - 1
        });
        by_rule[i].push(f);
    }
    let mut rules: Vec<Rule> = by_rule.iter().map(|fs| rule(fs)).collect();

    let mut results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|f| result(f, rule_of[f.id.as_str()], &image))
        .collect();

    // Check findings: their rules after the vulnerabilities', keyed by check id.
    let mut check_rule_of: HashMap<&str, usize> = HashMap::new();
    let mut by_check: Vec<Vec<&CheckFinding>> = Vec::new();
    for f in &report.checks {
        let i = *check_rule_of.entry(f.id.as_str()).or_insert_with(|| {
            by_check.push(Vec::new());
            by_check.len() - 1
        });
        by_check[i].push(f);
    }
    let base = rules.len();
    rules.extend(by_check.iter().map(|fs| check_rule(fs)));
    results.extend(
        report
            .checks
            .iter()
            .map(|f| check_result(f, base + check_rule_of[f.id.as_str()], &image)),
    );

    let notifications = report
        .warnings
        .iter()
        .map(|w| Notification {
            level: "warning",
            message: Text {
                text: format!("[{}] {}: {}", w.source, w.location, w.message),
            },
        })
        .collect();

    Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: report.tool.name.clone(),
                    version: report.tool.version.clone(),
                    information_uri: env!("CARGO_PKG_HOMEPAGE"),
                    rules,
                },
            },
            invocations: vec![Invocation {
                execution_successful: true,
                notifications,
            }],
            results,
            properties: RunProperties {
                image,
                manifest_digest: report.image.manifest_digest.as_ref().map(|d| d.to_string()),
                distro: report.distro.as_ref().map(|d| d.purl_qualifier()),
                distro_eol: report.distro_eol,
                packages_scanned: report.packages_scanned,
                packages_not_matched: report.packages_not_matched,
                unmatched: report.unmatched.clone(),
                inventory_complete: report.inventory_complete,
                db_updated_at: report.db.updated_at.clone(),
            },
        }],
    }
}

fn rule(fs: &[&Finding]) -> Rule {
    let f = fs[0];
    let sev = fs
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Unknown);
    let summary = f
        .summary
        .as_deref()
        .map(first_line)
        .filter(|s| !s.is_empty());
    let short = match &summary {
        Some(s) => format!("{}: {s}", f.id),
        None => format!("{} ({})", f.id, sev.as_str()),
    };
    let full = f
        .summary
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| short.clone());

    let mut tags = vec![
        "security".to_string(),
        "vulnerability".to_string(),
        sev.as_str().to_string(),
    ];
    if fs.iter().any(|f| f.kev.is_some()) {
        tags.push("known-exploited".into());
    }

    // Plain text one fact a line; Markdown in blocks separated by blank lines (single
    // newlines would run the facts together into one paragraph).
    let mut text = vec![short.clone()];
    let mut md: Vec<String> = vec![format!("**{}**", md_escape(&short))];
    text.push(format!(
        "Severity: {} ({}).",
        sev.as_str(),
        f.severity_source
    ));
    md.push(format!(
        "Severity: **{}** ({}).",
        sev.as_str(),
        md_escape(&f.severity_source)
    ));
    let mut scores = Vec::new();
    for c in &f.cvss {
        let line = format!(
            "CVSS {} {:.1} {} ({})",
            c.version, c.base_score, c.vector, c.source
        );
        scores.push(format!("- {}", md_escape(&line)));
        text.push(line);
    }
    if !scores.is_empty() {
        md.push(scores.join("\n"));
    }
    if let Some(k) = fs.iter().find_map(|f| f.kev.as_ref()) {
        let line = format!(
            "Known exploited: in CISA's KEV catalog since {}.",
            k.date_added
        );
        md.push(md_escape(&line));
        text.push(line);
    }
    let mut table = vec![
        "| package | installed | fix |".to_string(),
        "|---|---|---|".to_string(),
    ];
    text.push("Affected packages in this image:".into());
    for f in fs {
        let fix = match (f.state, fix_for(f)) {
            (FixState::Fixed, Some(v)) => v.to_string(),
            (s, _) => state_word(s).to_string(),
        };
        text.push(format!(
            "- {} {}: {}",
            f.package.name, f.package.version, fix
        ));
        table.push(format!(
            "| {} | {} | {} |",
            md_escape(&f.package.name),
            md_escape(&f.package.version),
            md_escape(&fix)
        ));
    }
    md.push(table.join("\n"));
    let refs: Vec<&String> = f
        .references
        .iter()
        .filter(|r| r.starts_with("https://") || r.starts_with("http://"))
        .take(10)
        .collect();
    if !refs.is_empty() {
        text.push("References:".into());
        let mut list = Vec::new();
        for r in refs {
            text.push(format!("- {r}"));
            list.push(format!("- <{}>", r.replace(['<', '>'], "")));
        }
        md.push(list.join("\n"));
    }

    Rule {
        id: f.id.clone(),
        short_description: Text { text: short },
        full_description: Text { text: full },
        help_uri: vuln_url(&f.id),
        help: Help {
            text: text.join("\n"),
            markdown: md.join("\n\n"),
        },
        default_configuration: Configuration { level: level(sev) },
        properties: RuleProperties {
            security_severity: security_severity(sev, &f.cvss),
            tags,
            precision: "very-high",
        },
    }
}

/// Backslash-escapes what Markdown would interpret in advisory text.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(
            c,
            '\\' | '`'
                | '*'
                | '_'
                | '{'
                | '}'
                | '['
                | ']'
                | '('
                | ')'
                | '#'
                | '+'
                | '!'
                | '|'
                | '<'
                | '>'
        ) {
            out.push('\\');
        }
        if c.is_control() {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

fn result(f: &Finding, rule_index: usize, image: &str) -> SarifResult {
    let p = &f.package;
    let mut what = format!("{} {}", p.name, p.version);
    if let Some(src) = p.source_name.as_deref().filter(|s| *s != p.name) {
        what.push_str(&format!(" (source {src})"));
    }
    let mut sev = f.severity.as_str().to_string();
    if f.kev.is_some() {
        sev.push_str(", known exploited");
    }
    let mut message = format!(
        "{what} is affected by {} ({sev}). {}",
        f.id,
        fix_sentence(f)
    );
    if let Some(l) = &p.introduced {
        message.push_str(&format!(
            " Installed by layer {} ({}) of {image}.",
            l.index,
            l.diff_id.short()
        ));
    } else {
        message.push_str(&format!(" Installed in {image}."));
    }

    let arch = p.arch.as_deref().unwrap_or("");
    let fingerprint = format!("{}|{}|{}|{arch}", f.id, p.ecosystem, p.name);
    SarifResult {
        rule_id: f.id.clone(),
        rule_index,
        level: level(f.severity),
        message: Text { text: message },
        locations: vec![Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: db_path(p).to_string(),
                },
                region: Region { start_line: 1 },
            },
            logical_locations: std::iter::once(LogicalLocation {
                name: p.name.clone(),
                fully_qualified_name: format!("{image}::{}", p.purl),
                kind: "module",
            })
            // The input SBOM's own identifier of the package, for joining the two.
            .chain(p.sbom_ref.iter().map(|r| LogicalLocation {
                name: r.clone(),
                fully_qualified_name: format!("{image}::{r}"),
                kind: "sbomComponent",
            }))
            .collect(),
        }],
        partial_fingerprints: [(FINGERPRINT, fingerprint)].into_iter().collect(),
        properties: Properties::Vuln(Box::new(ResultProperties {
            purl: p.purl.clone(),
            installed_version: p.version.clone(),
            source_package: p.source_name.clone(),
            source_version: p.source_version.clone(),
            fixed_versions: f.fixed_versions.clone(),
            state: state_word(f.state),
            severity: f.severity.as_str(),
            severity_source: f.severity_source.clone(),
            aliases: f.aliases.clone(),
            known_exploited: f.kev.is_some(),
            epss_score: f.epss.as_ref().map(|e| e.score).filter(|s| s.is_finite()),
            epss_percentile: f
                .epss
                .as_ref()
                .map(|e| e.percentile)
                .filter(|s| s.is_finite()),
            introduced_layer: p.introduced.as_ref().map(|l| l.index),
            introduced_layer_diff_id: p.introduced.as_ref().map(|l| l.diff_id.to_string()),
        })),
    }
}

/// One rule per check id, after the vulnerabilities' rules.
fn check_rule(fs: &[&CheckFinding]) -> Rule {
    let f = fs[0];
    let title = if f.title.is_empty() {
        f.id.clone()
    } else {
        f.title.clone()
    };
    let kind = f.kind().map(|k| k.as_str()).unwrap_or("check");
    let places: Vec<String> = fs.iter().take(20).map(|f| f.location()).collect();
    let more = fs.len().saturating_sub(places.len());
    let mut text = format!("{title}. Fix: {}", f.fix);
    let mut markdown = format!("**{}**\n\nFix: {}\n", md_escape(&title), md_escape(&f.fix));
    if !places.is_empty() {
        text.push_str(&format!(" Found at: {}", places.join("; ")));
        markdown.push_str("\nFound at:\n");
        for p in &places {
            markdown.push_str(&format!("- {}\n", md_escape(p)));
        }
        if more > 0 {
            text.push_str(&format!(" and {more} more."));
            markdown.push_str(&format!("- and {more} more\n"));
        }
    }
    Rule {
        id: f.id.clone(),
        short_description: Text {
            text: title.clone(),
        },
        full_description: Text {
            text: format!("{title} ({kind} check {})", f.id),
        },
        help_uri: None,
        help: Help { text, markdown },
        default_configuration: Configuration {
            level: level(f.severity),
        },
        properties: RuleProperties {
            security_severity: security_severity(f.severity, &[]),
            tags: vec!["security".into(), kind.to_string()],
            precision: "high",
        },
    }
}

fn check_result(f: &CheckFinding, rule_index: usize, image: &str) -> SarifResult {
    let location = f.location();
    let mut message = format!("{} ({})", f.message, f.severity.as_str());
    if f.removed_in.is_some() {
        message.push_str(". A later layer deletes it, but the image still ships it");
    }
    message.push_str(&format!(". Fix: {}", f.fix));
    let uri = f.path.clone().unwrap_or_else(|| "image-config".into());
    SarifResult {
        rule_id: f.id.clone(),
        rule_index,
        level: level(f.severity),
        message: Text { text: message },
        locations: vec![Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation { uri: uri.clone() },
                region: Region {
                    start_line: f.line.unwrap_or(1),
                },
            },
            logical_locations: vec![LogicalLocation {
                name: uri.clone(),
                fully_qualified_name: format!("{image}::{location}"),
                kind: "resource",
            }],
        }],
        partial_fingerprints: [(
            FINGERPRINT,
            format!(
                "{}|{}|{}",
                f.id,
                uri,
                f.layer.as_ref().map(|l| l.index).unwrap_or(0)
            ),
        )]
        .into_iter()
        .collect(),
        properties: Properties::Check(CheckProperties {
            kind: f.kind().map(|k| k.as_str()).unwrap_or("check"),
            severity: f.severity.as_str(),
            layer: f.layer.as_ref().map(|l| l.index),
            layer_diff_id: f.layer.as_ref().map(|l| l.diff_id.to_string()),
            removed_in: f.removed_in.as_ref().map(|l| l.index),
            evidence: f.evidence.clone(),
        }),
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cvss(score: f64) -> Cvss {
        Cvss {
            version: "3.1".into(),
            vector: String::new(),
            base_score: score,
            source: "nvd".into(),
        }
    }

    #[test]
    fn security_severity_follows_the_findings_band() {
        assert_eq!(
            security_severity(Severity::Critical, &[cvss(9.8)]).as_deref(),
            Some("9.8")
        );
        // The distro says low while NVD says critical: GitHub must show low.
        assert_eq!(
            security_severity(Severity::Low, &[cvss(9.8)]).as_deref(),
            Some("2.0")
        );
        assert_eq!(
            security_severity(Severity::High, &[cvss(7.5), cvss(8.1)]).as_deref(),
            Some("8.1")
        );
        assert_eq!(security_severity(Severity::Unknown, &[]), None);
        assert_eq!(
            security_severity(Severity::Medium, &[cvss(f64::NAN)]).as_deref(),
            Some("5.5")
        );
    }

    #[test]
    fn markdown_is_escaped() {
        assert_eq!(md_escape("a|b <script>"), "a\\|b \\<script\\>");
    }
}
