//! OpenVEX v0.2.0 out (`patchline vex IMAGE`): what a scan knows about each
//! vulnerability in the image, as VEX statements.
//!
//! The product of every statement is the image, `pkg:oci/NAME@DIGEST?repository_url=REPO`
//! (the manifest digest; the config digest for inputs without a manifest; the reference
//! as scanned when there is neither), and the packages are its `subcomponents` (their
//! purls). Statements, in this order:
//!
//! | what the report holds | status | justification / statements |
//! |---|---|---|
//! | an applied exception with a `justification` | `not_affected` | the justification; `impact_statement` = the reason, who owns it and until when |
//! | an applied exception without one (an accepted risk) | `affected` | `action_statement` = "Risk accepted …: reason" |
//! | a VEX suppression (`not_affected` / `fixed`) | that status | the source statement's justification and impact statement, `status_notes` naming the document |
//! | a finding | `affected` | `action_statement`: "Upgrade NAME to VERSION or later", else why there is no fix |
//!
//! Why these states: only a human decision (an exception that states why the image is
//! not affected) or a vendor's VEX statement makes `not_affected` or `fixed`. An
//! exception without a justification records that someone accepted the risk, not that
//! the image is unaffected: it stays `affected`, with the acceptance as its action
//! statement. A finding means the advisory data lists the installed version as affected:
//! that is OpenVEX's `affected` (the vulnerable version is present), not
//! `under_investigation` (which says affectedness is unknown). Nobody has analysed
//! reachability; the status notes say so. (The CycloneDX scan output says `in_triage`
//! for the same finding because CycloneDX's alternative, `exploitable`, claims a
//! confirmed exploitable path; OpenVEX's `affected` does not.)
//!
//! The document is deterministic for fixed [`RenderOptions`]: its `@id` is a UUID v5
//! (`urn:uuid:…`) over the image digest and the statements, so the same scan gives the
//! same id and any change in what is stated gives a new one.

use std::io;

use patchline_model::policy::{ExceptionRef, Suppression};
use patchline_model::purl::encode;
use patchline_model::vuln::{Finding, FixState, ScanReport};
use serde::Serialize;

use crate::RenderOptions;

/// The `@context` of OpenVEX v0.2.0 documents.
pub const OPENVEX_CONTEXT: &str = "https://openvex.dev/ns/v0.2.0";

/// Who the document says wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VexAuthor {
    /// `author`: a person or organisation; `patchline` by default.
    pub author: String,
    /// `role`, when given (`Document Creator`).
    pub role: Option<String>,
}

impl Default for VexAuthor {
    fn default() -> Self {
        VexAuthor {
            author: "patchline".into(),
            role: None,
        }
    }
}

#[derive(Serialize)]
struct Document {
    #[serde(rename = "@context")]
    context: &'static str,
    #[serde(rename = "@id")]
    id: String,
    author: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    timestamp: String,
    version: u32,
    tooling: String,
    statements: Vec<Statement>,
}

#[derive(Serialize, Clone, PartialEq)]
struct Statement {
    vulnerability: Vulnerability,
    products: Vec<Product>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    justification: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    impact_statement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    action_statement: Option<String>,
}

#[derive(Serialize, Clone, PartialEq)]
struct Vulnerability {
    name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
}

#[derive(Serialize, Clone, PartialEq)]
struct Product {
    #[serde(rename = "@id")]
    id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    subcomponents: Vec<Subcomponent>,
}

#[derive(Serialize, Clone, PartialEq)]
struct Subcomponent {
    #[serde(rename = "@id")]
    id: String,
}

/// OpenVEX's justification for an exception's or a statement's word: OpenVEX's own
/// words pass, CycloneDX's are mapped (as the VEX reader maps them), others are `None`.
pub fn openvex_justification(j: &str) -> Option<&'static str> {
    Some(match j.trim() {
        "component_not_present" | "requires_dependency" => "component_not_present",
        "vulnerable_code_not_present" | "code_not_present" => "vulnerable_code_not_present",
        "vulnerable_code_not_in_execute_path" | "code_not_reachable" => {
            "vulnerable_code_not_in_execute_path"
        }
        "vulnerable_code_cannot_be_controlled_by_adversary"
        | "requires_configuration"
        | "requires_environment"
        | "protected_at_perimeter" => "vulnerable_code_cannot_be_controlled_by_adversary",
        "inline_mitigations_already_exist"
        | "protected_by_compiler"
        | "protected_at_runtime"
        | "protected_by_mitigating_control" => "inline_mitigations_already_exist",
        _ => return None,
    })
}

/// The image as an OpenVEX product id: `pkg:oci/NAME@DIGEST?repository_url=REPO`.
pub fn image_purl(report: &ScanReport) -> String {
    let image = &report.image;
    let reference = image
        .reference
        .strip_prefix("docker://")
        .unwrap_or(&image.reference);
    let local = ["oci:", "oci-archive:", "docker-archive:", "dir:", "sbom:"]
        .iter()
        .any(|t| reference.starts_with(t));
    let repository = (!local).then(|| {
        let r = reference.split('@').next().unwrap_or(reference);
        match r.rsplit_once(':') {
            Some((repo, tag)) if !tag.contains('/') => repo.to_string(),
            _ => r.to_string(),
        }
    });
    let digest = image
        .manifest_digest
        .as_ref()
        .or(image.config_digest.as_ref());
    let Some(digest) = digest else {
        return image.reference.clone();
    };
    let name = match &repository {
        Some(r) => r.rsplit('/').next().unwrap_or(r).to_ascii_lowercase(),
        None => {
            // A layout path's last component (`oci:build/app:1` → `app`).
            let path = reference.split_once(':').map_or(reference, |(_, p)| p);
            let path = path.split(':').next().unwrap_or(path);
            let last = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            let clean: String = last
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .collect::<String>()
                .to_ascii_lowercase();
            if clean.is_empty() {
                "image".into()
            } else {
                clean
            }
        }
    };
    let mut purl = format!("pkg:oci/{}@{}", encode(&name), encode(&digest.to_string()));
    if let Some(r) = repository {
        purl.push_str("?repository_url=");
        purl.push_str(&encode(&r));
    }
    purl
}

/// Writes the OpenVEX document of `report`.
pub fn render_openvex(
    report: &ScanReport,
    author: &VexAuthor,
    opts: &RenderOptions,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let image = image_purl(report);
    let statements = statements(report, &image);
    let hashed = serde_json::to_vec(&(&image, &statements)).map_err(io::Error::from)?;
    let id = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, &hashed);
    crate::write_json(
        &Document {
            context: OPENVEX_CONTEXT,
            id: format!("urn:uuid:{id}"),
            author: author.author.clone(),
            role: author.role.clone(),
            timestamp: crate::timestamp(opts)?,
            version: 1,
            tooling: format!("{} {}", report.tool.name, report.tool.version),
            statements,
        },
        out,
    )
}

fn statements(report: &ScanReport, image: &str) -> Vec<Statement> {
    let mut out: Vec<Statement> = Vec::new();
    if let Some(policy) = &report.policy {
        for applied in &policy.exceptions.applied {
            let e = &applied.exception;
            let vulns: Vec<&Suppression> = applied
                .suppressed
                .iter()
                .filter(|s| s.purl.is_some() || !is_check(&s.id))
                .collect();
            for s in vulns {
                add(&mut out, exception_statement(e, s, image));
            }
        }
        for s in &policy.vex {
            let status = match s.status.as_deref() {
                Some("fixed") => "fixed",
                Some("not_affected") => "not_affected",
                _ => continue,
            };
            let justification = s.justification.as_deref().and_then(openvex_justification);
            let mut impact = s.statement.clone();
            if status == "not_affected" && justification.is_none() && impact.is_none() {
                impact = Some(format!("Stated not affected by {}", s.by));
            }
            add(
                &mut out,
                Statement {
                    vulnerability: vuln(&s.id, &[]),
                    products: product(image, s.purl.as_deref()),
                    status,
                    status_notes: Some(format!("From the VEX statement in {}", s.by)),
                    justification: justification.filter(|_| status == "not_affected"),
                    impact_statement: impact.filter(|_| status == "not_affected"),
                    action_statement: None,
                },
            );
        }
    }
    for f in &report.findings {
        add(
            &mut out,
            Statement {
                vulnerability: vuln(&f.id, &f.aliases),
                products: product(image, Some(&f.package.purl)),
                status: "affected",
                status_notes: Some(format!(
                    "The {} advisory data lists {} {} as affected; no reachability analysis was performed.",
                    if f.ecosystem.is_empty() { "matched" } else { &f.ecosystem },
                    f.package.name,
                    f.package.version
                )),
                justification: None,
                impact_statement: None,
                action_statement: Some(action(f)),
            },
        );
    }
    out
}

/// Check findings (`PL-CFG-001`) have no purl and no place in a VEX document.
fn is_check(id: &str) -> bool {
    id.starts_with("PL-")
}

fn exception_statement(e: &ExceptionRef, s: &Suppression, image: &str) -> Statement {
    let mut who = String::new();
    if let Some(o) = &e.owner {
        who.push_str(&format!(" (owner: {o}"));
        if let Some(x) = &e.expires {
            who.push_str(&format!(", expires {x}"));
        }
        who.push(')');
    } else if let Some(x) = &e.expires {
        who.push_str(&format!(" (expires {x})"));
    }
    let notes = Some(match &e.source {
        Some(src) => format!("Exception in {src}"),
        None => "Exception".to_string(),
    });
    match e.justification.as_deref().and_then(openvex_justification) {
        Some(j) => Statement {
            vulnerability: vuln(&s.id, &[]),
            products: product(image, s.purl.as_deref()),
            status: "not_affected",
            status_notes: notes,
            justification: Some(j),
            impact_statement: Some(format!("{}{who}", e.reason)),
            action_statement: None,
        },
        None => Statement {
            vulnerability: vuln(&s.id, &[]),
            products: product(image, s.purl.as_deref()),
            status: "affected",
            status_notes: notes,
            justification: None,
            impact_statement: None,
            action_statement: Some(format!("Risk accepted{who}: {}", e.reason)),
        },
    }
}

fn vuln(id: &str, aliases: &[String]) -> Vulnerability {
    Vulnerability {
        name: id.to_string(),
        aliases: aliases.iter().filter(|a| *a != id).cloned().collect(),
    }
}

fn product(image: &str, purl: Option<&str>) -> Vec<Product> {
    vec![Product {
        id: image.to_string(),
        subcomponents: purl
            .filter(|p| !p.is_empty())
            .map(|p| Subcomponent { id: p.to_string() })
            .into_iter()
            .collect(),
    }]
}

fn action(f: &Finding) -> String {
    match (f.state, crate::scan::fix_for(f)) {
        (FixState::Fixed, Some(v)) => format!("Upgrade {} to {v} or later", f.package.name),
        (FixState::Fixed, None) => format!("Upgrade {} to a fixed version", f.package.name),
        (FixState::Unfixed, _) => {
            "No fixed version is published yet: mitigate, or remove the package if unused".into()
        }
        (FixState::WillNotFix, _) => {
            "The distribution will not fix this: mitigate, or remove the package if unused".into()
        }
        (FixState::Unimportant, _) => {
            "The distribution rates this unimportant and plans no fix: accept or mitigate".into()
        }
    }
}

/// Merges a statement into an equal one for another package (same vulnerability, status
/// and words), so a vulnerability in several packages is one statement with several
/// subcomponents.
fn add(out: &mut Vec<Statement>, s: Statement) {
    let same = |t: &Statement| {
        t.vulnerability == s.vulnerability
            && t.status == s.status
            && t.justification == s.justification
            && t.impact_statement == s.impact_statement
            && t.action_statement == s.action_statement
            && t.status_notes == s.status_notes
            && t.products.len() == 1
            && s.products.len() == 1
            && t.products[0].id == s.products[0].id
    };
    if let Some(t) = out.iter_mut().find(|t| same(t)) {
        for sub in &s.products[0].subcomponents {
            if !t.products[0].subcomponents.contains(sub) {
                t.products[0].subcomponents.push(sub.clone());
            }
        }
        return;
    }
    out.push(s);
}
