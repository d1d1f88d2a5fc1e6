//! Exceptions files, patchline's own and the ignore files of Trivy and Grype, so that a
//! team moves over without rewriting its accepted risks.
//!
//! Formats, recognised by file name, else by content ([`detect`]):
//!
//! - **patchline** (`exceptions: [...]`, the policy file's shape; see
//!   [`crate::file::parse_exceptions`]).
//! - **Trivy `.trivyignore.yaml`**: `vulnerabilities:`, `misconfigurations:` and
//!   `secrets:` lists of `{id, paths, purls, expired_at, statement}`. Trivy stops
//!   ignoring on the `expired_at` day itself (it compares the date's midnight with now),
//!   so `expires` (patchline's last covered day) is the day before. `licenses:` entries
//!   name licenses, which patchline's exceptions do not cover: they are left out with a
//!   warning. Trivy's misconfiguration and secret ids (`AVD-DS-0002`) are not
//!   patchline's check ids; they are imported as they are and will show as unused.
//! - **Trivy `.trivyignore`**: one id per line, `#` comments, an optional
//!   `exp:YYYY-MM-DD` after the id (same exclusive expiry).
//! - **Grype `.grype.yaml`** (`ignore:` rules; the file's other settings are not read):
//!   `vulnerability` (any when absent), `fix-state` (`fixed`, `not-fixed`, `wont-fix`;
//!   `unknown` has no patchline counterpart and the rule is left out with a warning),
//!   `package: {name, version, location}` and `reason`. `package.type`,
//!   `package.upstream-name`, `match-type` and `include-aliases` are not judged (a
//!   warning says so; the rule is imported without them, so it may cover more);
//!   rules on `vex-status` concern VEX input and are left out with a warning. Grype rules
//!   never expire.
//!
//! Imported exceptions need no owner, reason or expiry: the tools' formats do not
//! require them, and refusing them would refuse the migration.

use std::path::Path;

use patchline_model::vuln::FixState;
use serde::Deserialize;
use serde_saphyr::Spanned;
use time::Duration;

use crate::error::{yaml_problem, PolicyError, Problem};
use crate::exceptions::Exception;
use crate::file::{parse_exceptions, read_text, Pat, YDate};
use crate::pattern::parse_date;

/// Exceptions read from one file, and what in it could not be imported.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    pub format: Format,
    pub exceptions: Vec<Exception>,
    /// `FILE:LINE: message` of what was left out or narrowed.
    pub warnings: Vec<String>,
}

/// An exceptions file's format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Patchline,
    TrivyYaml,
    TrivyIgnore,
    Grype,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Patchline => "patchline exceptions",
            Format::TrivyYaml => "Trivy .trivyignore.yaml",
            Format::TrivyIgnore => "Trivy .trivyignore",
            Format::Grype => "Grype ignore rules",
        }
    }
}

/// The format of a file named `name` holding `text`.
pub fn detect(name: &str, text: &str) -> Format {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    if base.ends_with(".trivyignore") || base == "trivyignore" {
        return Format::TrivyIgnore;
    }
    if base.contains("trivyignore") {
        return Format::TrivyYaml;
    }
    if base.contains("grype") {
        return Format::Grype;
    }
    // By the first top-level key.
    for line in text.lines() {
        let t = line.trim_end();
        if t.is_empty() || t.starts_with('#') || t.starts_with("---") {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            continue;
        }
        let key = t.split(':').next().unwrap_or("");
        match key {
            "ignore" => return Format::Grype,
            "vulnerabilities" | "misconfigurations" | "secrets" | "licenses" => {
                return Format::TrivyYaml
            }
            "exceptions" | "version" => return Format::Patchline,
            // A bare id per line.
            _ if !t.contains(':') || t.contains(" exp:") => return Format::TrivyIgnore,
            _ => {}
        }
    }
    Format::Patchline
}

/// Reads an exceptions file of any supported format.
pub fn read_exceptions_file(path: &Path) -> Result<Imported, PolicyError> {
    let text = read_text(path)?;
    parse_exceptions_file(&text, &path.display().to_string())
}

/// Parses an exceptions file of any supported format; `name` names it in errors and
/// decides the format when it says.
pub fn parse_exceptions_file(text: &str, name: &str) -> Result<Imported, PolicyError> {
    match detect(name, text) {
        Format::Patchline => Ok(Imported {
            format: Format::Patchline,
            exceptions: parse_exceptions(text, name)?,
            warnings: vec![],
        }),
        Format::TrivyYaml => trivy_yaml(text, name),
        Format::TrivyIgnore => trivy_ignore(text, name),
        Format::Grype => grype(text, name),
    }
}

fn yaml_error(name: &str, e: &serde_saphyr::Error) -> PolicyError {
    PolicyError {
        file: name.into(),
        problems: vec![yaml_problem(e)],
    }
}

fn options(len: usize) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 1_000_000usize.max(len),
            max_nodes: 1_000_000usize.max(len),
        },
        with_snippet: false,
    }
}

#[derive(Deserialize)]
struct TrivyDoc {
    #[serde(default)]
    vulnerabilities: Option<Vec<Spanned<TrivyEntry>>>,
    #[serde(default)]
    misconfigurations: Option<Vec<Spanned<TrivyEntry>>>,
    #[serde(default)]
    secrets: Option<Vec<Spanned<TrivyEntry>>>,
    #[serde(default)]
    licenses: Option<Vec<Spanned<TrivyEntry>>>,
}

#[derive(Deserialize)]
struct TrivyEntry {
    id: Pat,
    #[serde(default)]
    paths: Vec<Pat>,
    #[serde(default)]
    purls: Vec<Pat>,
    #[serde(default)]
    expired_at: Option<YDate>,
    #[serde(default)]
    statement: Option<String>,
}

fn trivy_yaml(text: &str, name: &str) -> Result<Imported, PolicyError> {
    let doc: TrivyDoc = serde_saphyr::from_str_with_options(text, options(text.len()))
        .map_err(|e| yaml_error(name, &e))?;
    let mut out = Imported {
        format: Format::TrivyYaml,
        ..Default::default()
    };
    let sections = [
        ("vulnerabilities", doc.vulnerabilities),
        ("misconfigurations", doc.misconfigurations),
        ("secrets", doc.secrets),
    ];
    for (section, entries) in sections {
        for e in entries.unwrap_or_default() {
            let line = e.referenced.line();
            let e = e.value;
            out.exceptions.push(Exception {
                id: e.id.0,
                // Trivy's purls narrow to packages; its paths to the file a package or
                // finding was read from.
                packages: e.purls.into_iter().map(|p| p.0).collect(),
                paths: e.paths.into_iter().map(|p| p.0).collect(),
                reason: e
                    .statement
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| format!("imported from Trivy ({section})")),
                expires: e.expired_at.map(|d| d.0 - Duration::days(1)),
                source: Some(format!("{name}:{line}")),
                ..Default::default()
            });
        }
    }
    for e in doc.licenses.unwrap_or_default() {
        out.warnings.push(format!(
            "{name}:{}: licenses entry {} not imported: patchline exceptions cover vulnerabilities and checks (remove the license from denied_licenses instead)",
            e.referenced.line(),
            e.value.id.0
        ));
    }
    Ok(out)
}

fn trivy_ignore(text: &str, name: &str) -> Result<Imported, PolicyError> {
    let mut out = Imported {
        format: Format::TrivyIgnore,
        ..Default::default()
    };
    let mut problems = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i as u32 + 1;
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let mut words = content.split_whitespace();
        let id = words.next().unwrap_or_default();
        let mut expires = None;
        for w in words {
            match w.strip_prefix("exp:") {
                Some(d) => match parse_date(d) {
                    Ok(d) => expires = Some(d - Duration::days(1)),
                    Err(e) => problems.push(Problem::at(n, format!("{id}: bad exp: {e}"))),
                },
                None => problems.push(Problem::at(
                    n,
                    format!(
                        "{id}: unexpected {w:?} (a line is an id and an optional exp:YYYY-MM-DD)"
                    ),
                )),
            }
        }
        if let Some(p) = crate::pattern::pattern_problem(id) {
            problems.push(Problem::at(n, p));
            continue;
        }
        out.exceptions.push(Exception {
            id: id.to_string(),
            reason: "imported from .trivyignore".into(),
            expires,
            source: Some(format!("{name}:{n}")),
            ..Default::default()
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(PolicyError {
            file: name.into(),
            problems,
        })
    }
}

#[derive(Deserialize)]
struct GrypeDoc {
    #[serde(default)]
    ignore: Option<Vec<Spanned<GrypeRule>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct GrypeRule {
    #[serde(default)]
    vulnerability: Option<Pat>,
    #[serde(default)]
    fix_state: Option<String>,
    #[serde(default)]
    package: Option<GrypePackage>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    vex_status: Option<String>,
    #[serde(default)]
    match_type: Option<String>,
    #[serde(default)]
    include_aliases: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct GrypePackage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    location: Option<String>,
    #[serde(default)]
    upstream_name: Option<String>,
}

fn grype(text: &str, name: &str) -> Result<Imported, PolicyError> {
    let doc: GrypeDoc = serde_saphyr::from_str_with_options(text, options(text.len()))
        .map_err(|e| yaml_error(name, &e))?;
    let mut out = Imported {
        format: Format::Grype,
        ..Default::default()
    };
    let mut problems = Vec::new();
    for rule in doc.ignore.unwrap_or_default() {
        let line = rule.referenced.line();
        let r = rule.value;
        let at = format!("{name}:{line}");
        let id = r.vulnerability.map(|p| p.0).unwrap_or_else(|| "*".into());
        if r.vex_status.is_some() {
            out.warnings.push(format!(
                "{at}: rule on vex-status not imported (give the VEX document with --vex instead)"
            ));
            continue;
        }
        let fix_state = match r.fix_state.as_deref() {
            None => None,
            Some("fixed") => Some(FixState::Fixed),
            Some("not-fixed") => Some(FixState::Unfixed),
            Some("wont-fix") => Some(FixState::WillNotFix),
            Some("unknown") => {
                out.warnings.push(format!(
                    "{at}: rule on fix-state unknown not imported (patchline has no such fix state)"
                ));
                continue;
            }
            Some(other) => {
                problems.push(Problem::at(
                    line as u32,
                    format!("unknown fix-state {other:?} (expected fixed, not-fixed, wont-fix or unknown)"),
                ));
                continue;
            }
        };
        let mut packages = Vec::new();
        let mut paths = Vec::new();
        let mut unjudged = Vec::new();
        if let Some(p) = r.package {
            match (p.name, p.version) {
                (Some(n), Some(v)) => packages.push(format!("{n}@{v}")),
                (Some(n), None) => packages.push(n),
                (None, Some(v)) => packages.push(format!("*@{v}")),
                (None, None) => {}
            }
            if let Some(l) = p.location {
                // Grype's `**` is a run of directories; a patchline `*` already spans `/`.
                paths.push(l.replace("**", "*"));
            }
            if p.kind.is_some() {
                unjudged.push("package.type");
            }
            if p.upstream_name.is_some() {
                unjudged.push("package.upstream-name");
            }
        }
        if r.match_type.is_some() {
            unjudged.push("match-type");
        }
        if r.include_aliases.is_some() {
            // Patchline's exceptions always match aliases.
            unjudged.push("include-aliases");
        }
        if !unjudged.is_empty() {
            out.warnings.push(format!(
                "{at}: {} not judged by patchline; the rule is imported without them",
                unjudged.join(", ")
            ));
        }
        for p in packages.iter().chain(&paths) {
            if let Some(problem) = crate::pattern::pattern_problem(p) {
                problems.push(Problem::at(line as u32, problem));
            }
        }
        out.exceptions.push(Exception {
            id,
            packages,
            paths,
            fix_state,
            reason: r
                .reason
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "imported from Grype ignore rules".into()),
            source: Some(at),
            ..Default::default()
        });
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(PolicyError {
            file: name.into(),
            problems,
        })
    }
}

#[cfg(test)]
mod tests;
