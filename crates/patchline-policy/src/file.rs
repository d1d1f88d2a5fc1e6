//! The policy file: stage profiles, trusted images and exceptions, in YAML.
//!
//! ```yaml
//! version: 1                # optional; 1 is the only version
//! stages:
//!   build:
//!     fail_on: high          # critical | high | medium | low | negligible | unknown
//!     kev: fail              # fail | warn | ignore (default: fail)
//!     fixable_only: false
//!     trusted_bases: ["registry.example.com/base/*"]
//! trusted_images:
//!   - pattern: docker.io/library/debian:12*
//!     digest: sha256:…
//!     approved_by: sec-governance
//!     approved_on: 2026-01-15
//!     expires: 2027-01-31
//! exceptions:
//!   - id: CVE-2024-2004
//!     packages: [curl, libcurl4]
//!     reason: not reachable in this service
//!     owner: team-web
//!     expires: 2027-06-30
//! ```
//!
//! Every mapping refuses unknown keys, so a misspelt rule (`fail-on`, `trusted_base`)
//! is an error, not a rule silently off. Severities, actions, dates (`YYYY-MM-DD`) and
//! patterns are checked while parsing, and the error names the file and line. After
//! parsing, [`parse_policy`] checks what the grammar cannot: stage names (`local`,
//! `build`, `registry`, `runtime`), required exception fields, VEX justifications and
//! digests; all problems are reported at once. docs/policy.md describes every key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use patchline_model::vuln::{FixState, Severity};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;
use serde_saphyr::Spanned;
use time::Date;

use crate::error::{yaml_problem, PolicyError, Problem};
use crate::exceptions::{Exception, JUSTIFICATIONS};
use crate::pattern::{parse_date, pattern_problem};
use crate::trusted::TrustedImage;

/// The stages a policy file may give profiles for, in pipeline order.
pub const STAGES: &[&str] = &["local", "build", "registry", "runtime"];
/// Larger policy and exceptions files are refused before parsing.
pub const MAX_POLICY_FILE: u64 = 8 << 20;
/// The only policy file version.
pub const POLICY_FILE_VERSION: u32 = 1;

/// What a rule does when breached.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Fail the scan (for `unmatched` and `incomplete`: the scan cannot be judged).
    #[default]
    Fail,
    /// Report it beside the verdict; the scan passes.
    Warn,
    Ignore,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Fail => "fail",
            Action::Warn => "warn",
            Action::Ignore => "ignore",
        }
    }
}

/// Which check findings fail a stage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckGate {
    /// Any check finding at least this severe.
    pub fail_on: Option<Severity>,
    /// Check id patterns that fail whatever their severity (`secret.*`).
    pub deny: Vec<String>,
    /// Check id patterns never failing the stage (still reported).
    pub allow: Vec<String>,
}

/// A denied package: `name`, `name@version` (globs) or a purl.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeniedPackage {
    pub pattern: String,
    pub reason: Option<String>,
}

/// A required image label: present, and when `value` is given, matching it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequiredLabel {
    pub key: String,
    /// Value pattern.
    pub value: Option<String>,
}

/// One stage's rules.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageProfile {
    pub name: String,
    /// Where the profile is in the file.
    pub line: u32,
    /// Fail on a finding at least this severe.
    pub fail_on: Option<Severity>,
    /// A finding in CISA's Known Exploited Vulnerabilities catalog, whatever its
    /// severity.
    pub kev: Action,
    /// The severity and KEV gates judge only findings with a fix.
    pub fixable_only: bool,
    /// Fail when the base image was built more than this many days ago.
    pub max_base_age_days: Option<u32>,
    /// `Some`: the image must descend from a base matching one of these patterns or a
    /// live entry of `trusted_images`; `None`: the base is not judged.
    pub trusted_bases: Option<Vec<String>>,
    pub denied_packages: Vec<DeniedPackage>,
    /// SPDX license ids (patterns) no package may carry.
    pub denied_licenses: Vec<String>,
    pub required_labels: Vec<RequiredLabel>,
    pub checks: CheckGate,
    /// Packages that could not be matched (no advisory data).
    pub unmatched: Action,
    /// An inventory that could not be read whole.
    pub incomplete: Action,
}

/// A parsed and validated policy file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyFile {
    /// The file as given.
    pub source: String,
    pub stages: BTreeMap<String, StageProfile>,
    pub trusted_images: Vec<TrustedImage>,
    pub exceptions: Vec<Exception>,
}

impl PolicyFile {
    pub fn stage(&self, name: &str) -> Option<&StageProfile> {
        self.stages.get(name)
    }

    /// The profile a scan uses: `name` when given; else the file's only stage. A file
    /// with several stages needs the stage named, since guessing the wrong one would
    /// judge a release by a laptop's rules.
    pub fn select_stage(&self, name: Option<&str>) -> Result<&StageProfile, String> {
        let known = || self.stages.keys().cloned().collect::<Vec<_>>().join(", ");
        match name {
            Some(n) => self.stages.get(n).ok_or_else(|| {
                format!(
                    "{}: no stage {n:?} (the file has: {})",
                    self.source,
                    if self.stages.is_empty() {
                        "none".into()
                    } else {
                        known()
                    }
                )
            }),
            None if self.stages.len() == 1 => Ok(self.stages.values().next().unwrap()),
            None if self.stages.is_empty() => {
                Err(format!("{}: the policy file has no stages", self.source))
            }
            None => Err(format!(
                "{}: the policy file has several stages ({}); name one with --stage",
                self.source,
                known()
            )),
        }
    }
}

// ---- the file's grammar -------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default)]
    version: Option<Spanned<u32>>,
    #[serde(default)]
    stages: BTreeMap<String, Spanned<RawStage>>,
    #[serde(default)]
    trusted_images: Vec<Spanned<RawTrusted>>,
    #[serde(default)]
    exceptions: Vec<Spanned<RawException>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStage {
    #[serde(default)]
    fail_on: Option<Sev>,
    #[serde(default)]
    kev: Option<Action>,
    #[serde(default)]
    fixable_only: bool,
    #[serde(default)]
    max_base_age_days: Option<u32>,
    #[serde(default)]
    trusted_bases: Option<Vec<Pat>>,
    #[serde(default)]
    denied_packages: Vec<RawDenied>,
    #[serde(default)]
    denied_licenses: Vec<Pat>,
    #[serde(default)]
    required_labels: Vec<String>,
    #[serde(default)]
    checks: Option<RawChecks>,
    #[serde(default)]
    unmatched: Option<Action>,
    #[serde(default)]
    incomplete: Option<Action>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChecks {
    #[serde(default)]
    fail_on: Option<Sev>,
    #[serde(default)]
    deny: Vec<Pat>,
    #[serde(default)]
    allow: Vec<Pat>,
}

/// `curl` or `{package: curl, reason: …}`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawDenied {
    Plain(Pat),
    Full(RawDeniedFull),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDeniedFull {
    package: Pat,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrusted {
    #[serde(alias = "repository")]
    pattern: Pat,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    approved_by: Option<String>,
    #[serde(default)]
    approved_on: Option<YDate>,
    #[serde(default)]
    expires: Option<YDate>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawException {
    id: Pat,
    #[serde(default)]
    packages: Vec<Pat>,
    #[serde(default)]
    images: Vec<Pat>,
    #[serde(default)]
    paths: Vec<Pat>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    expires: Option<YDate>,
    #[serde(default)]
    justification: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExceptionsFile {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    exceptions: Vec<Spanned<RawException>>,
}

/// A severity, checked while parsing so that the error has its line.
struct Sev(Severity);

impl<'de> Deserialize<'de> for Sev {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Sev;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a severity: critical, high, medium, low, negligible or unknown")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Sev, E> {
                s.parse::<Severity>().map(Sev).map_err(|_| {
                    E::custom(format!(
                        "unknown severity {s:?} (expected critical, high, medium, low, negligible or unknown)"
                    ))
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// A `YYYY-MM-DD` date.
pub(crate) struct YDate(pub(crate) Date);

impl<'de> Deserialize<'de> for YDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = YDate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a date YYYY-MM-DD")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<YDate, E> {
                parse_date(s).map(YDate).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// A glob pattern, checked while parsing.
pub(crate) struct Pat(pub(crate) String);

impl<'de> Deserialize<'de> for Pat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Pat;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a pattern (text, `*` and `?` as wildcards)")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Pat, E> {
                match pattern_problem(s) {
                    Some(p) => Err(E::custom(p)),
                    None => Ok(Pat(s.to_string())),
                }
            }
            // Unquoted numbers and booleans are text here (`packages: [7zip]` is fine
            // but a bare `2004` would otherwise be refused).
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Pat, E> {
                Ok(Pat(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Pat, E> {
                Ok(Pat(v.to_string()))
            }
        }
        d.deserialize_str(V)
    }
}

fn yaml_options(len: usize) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 1_000_000usize.max(len),
            max_nodes: 1_000_000usize.max(len),
        },
        with_snippet: false,
    }
}

/// Reads a file whole, refusing one larger than [`MAX_POLICY_FILE`].
pub(crate) fn read_text(path: &Path) -> Result<String, PolicyError> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| PolicyError::new(&name, None, e.to_string()))?;
    if meta.len() > MAX_POLICY_FILE {
        return Err(PolicyError::new(
            &name,
            None,
            format!(
                "{} bytes, larger than the {MAX_POLICY_FILE}-byte limit",
                meta.len()
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| PolicyError::new(&name, None, e.to_string()))?;
    String::from_utf8(bytes).map_err(|_| PolicyError::new(&name, None, "not UTF-8 text"))
}

/// Reads and validates a policy file.
pub fn read_policy(path: &Path) -> Result<PolicyFile, PolicyError> {
    let text = read_text(path)?;
    parse_policy(&text, &path.display().to_string())
}

/// Parses and validates the text of a policy file; `name` is how errors name it.
pub fn parse_policy(text: &str, name: &str) -> Result<PolicyFile, PolicyError> {
    let raw: RawPolicy = serde_saphyr::from_str_with_options(text, yaml_options(text.len()))
        .map_err(|e| PolicyError {
            file: name.into(),
            problems: vec![yaml_problem(&e)],
        })?;
    let mut problems = Vec::new();
    if let Some(v) = &raw.version {
        if v.value != POLICY_FILE_VERSION {
            problems.push(Problem::at(
                v.referenced.line() as u32,
                format!(
                    "version {} is not supported (this patchline reads version {POLICY_FILE_VERSION})",
                    v.value
                ),
            ));
        }
    }
    let mut file = PolicyFile {
        source: name.into(),
        ..Default::default()
    };
    for (stage, spanned) in raw.stages {
        let line = spanned.referenced.line() as u32;
        if !STAGES.contains(&stage.as_str()) {
            problems.push(Problem::at(
                line,
                format!(
                    "unknown stage {stage:?} (expected one of {})",
                    STAGES.join(", ")
                ),
            ));
            continue;
        }
        let s = spanned.value;
        let checks = s.checks.map(|c| CheckGate {
            fail_on: c.fail_on.map(|s| s.0),
            deny: c.deny.into_iter().map(|p| p.0).collect(),
            allow: c.allow.into_iter().map(|p| p.0).collect(),
        });
        let mut required_labels = Vec::new();
        for l in s.required_labels {
            let (key, value) = match l.split_once('=') {
                Some((k, v)) => (k.trim().to_string(), Some(v.trim().to_string())),
                None => (l.trim().to_string(), None),
            };
            if key.is_empty() {
                problems.push(Problem::at(
                    line,
                    format!("stage {stage}: empty label in required_labels ({l:?})"),
                ));
                continue;
            }
            if let Some(p) = value.as_deref().and_then(pattern_problem) {
                problems.push(Problem::at(
                    line,
                    format!("stage {stage}: required label {key}: {p}"),
                ));
                continue;
            }
            required_labels.push(RequiredLabel { key, value });
        }
        file.stages.insert(
            stage.clone(),
            StageProfile {
                name: stage,
                line,
                fail_on: s.fail_on.map(|s| s.0),
                kev: s.kev.unwrap_or_default(),
                fixable_only: s.fixable_only,
                max_base_age_days: s.max_base_age_days,
                trusted_bases: s
                    .trusted_bases
                    .map(|v| v.into_iter().map(|p| p.0).collect()),
                denied_packages: s
                    .denied_packages
                    .into_iter()
                    .map(|d| match d {
                        RawDenied::Plain(p) => DeniedPackage {
                            pattern: p.0,
                            reason: None,
                        },
                        RawDenied::Full(f) => DeniedPackage {
                            pattern: f.package.0,
                            reason: f.reason,
                        },
                    })
                    .collect(),
                denied_licenses: s.denied_licenses.into_iter().map(|p| p.0).collect(),
                required_labels,
                checks: checks.unwrap_or_default(),
                unmatched: s.unmatched.unwrap_or_default(),
                incomplete: s.incomplete.unwrap_or_default(),
            },
        );
    }
    for t in raw.trusted_images {
        let line = t.referenced.line() as u32;
        let t = t.value;
        if let Some(d) = &t.digest {
            if let Some(p) = digest_problem(d) {
                problems.push(Problem::at(
                    line,
                    format!("trusted image {}: {p}", t.pattern.0),
                ));
            }
        }
        file.trusted_images.push(TrustedImage {
            pattern: t.pattern.0,
            digest: t.digest,
            approved_by: t.approved_by,
            approved_on: t.approved_on.map(|d| d.0),
            expires: t.expires.map(|d| d.0),
            reason: t.reason,
            source: Some(format!("{name}:{line}")),
        });
    }
    file.exceptions = exceptions_of(raw.exceptions, name, &mut problems);
    if problems.is_empty() {
        Ok(file)
    } else {
        Err(PolicyError {
            file: name.into(),
            problems,
        })
    }
}

/// Parses a patchline exceptions file (`exceptions: [...]`, the policy file's shape).
pub fn parse_exceptions(text: &str, name: &str) -> Result<Vec<Exception>, PolicyError> {
    let raw: RawExceptionsFile =
        serde_saphyr::from_str_with_options(text, yaml_options(text.len())).map_err(|e| {
            PolicyError {
                file: name.into(),
                problems: vec![yaml_problem(&e)],
            }
        })?;
    let mut problems = Vec::new();
    if let Some(v) = raw.version.filter(|v| *v != POLICY_FILE_VERSION) {
        problems.push(Problem {
            line: None,
            message: format!("version {v} is not supported"),
        });
    }
    let out = exceptions_of(raw.exceptions, name, &mut problems);
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(PolicyError {
            file: name.into(),
            problems,
        })
    }
}

fn exceptions_of(
    raw: Vec<Spanned<RawException>>,
    name: &str,
    problems: &mut Vec<Problem>,
) -> Vec<Exception> {
    let mut out = Vec::with_capacity(raw.len());
    for e in raw {
        let line = e.referenced.line() as u32;
        let e = e.value;
        let id = e.id.0;
        let reason = e.reason.unwrap_or_default();
        if reason.trim().is_empty() {
            problems.push(Problem::at(
                line,
                format!("exception {id}: no reason (say why it is accepted)"),
            ));
        }
        if e.expires.is_none() {
            problems.push(Problem::at(
                line,
                format!("exception {id}: no expires date (YYYY-MM-DD): exceptions must end"),
            ));
        }
        if let Some(j) = &e.justification {
            if !JUSTIFICATIONS.contains(&j.as_str()) {
                problems.push(Problem::at(
                    line,
                    format!(
                        "exception {id}: unknown justification {j:?} (expected one of {})",
                        JUSTIFICATIONS.join(", ")
                    ),
                ));
            }
        }
        out.push(Exception {
            id,
            packages: e.packages.into_iter().map(|p| p.0).collect(),
            images: e.images.into_iter().map(|p| p.0).collect(),
            paths: e.paths.into_iter().map(|p| p.0).collect(),
            fix_state: None::<FixState>,
            reason,
            owner: e.owner,
            expires: e.expires.map(|d| d.0),
            justification: e.justification,
            source: Some(format!("{name}:{line}")),
        });
    }
    out
}

fn digest_problem(d: &str) -> Option<String> {
    let ok = d.split_once(':').is_some_and(|(alg, hex)| {
        matches!(alg, "sha256" | "sha512")
            && hex.len() == if alg == "sha256" { 64 } else { 128 }
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    });
    (!ok).then(|| format!("digest {d:?} is not sha256:<64 hex> or sha512:<128 hex>"))
}

#[cfg(test)]
mod tests;
