//! The policy stage of a policy file: one stage's profile, the exceptions and the VEX
//! statements, applied to a report.
//!
//! [`Governance::apply`] runs in this order:
//!
//! 1. **exceptions**: a live exception (not past `expires`) takes every finding and check
//!    finding it covers out of the report; each is recorded under the exception in
//!    `policy.exceptions.applied`. Expired exceptions apply to nothing and are listed in
//!    `expired`; live ones that covered nothing in `unused`.
//! 2. **VEX**: a statement whose status is `not_affected` or `fixed` and which is about a
//!    remaining finding takes it out, recorded in `policy.vex` as
//!    `vex:<document>` with the status, justification and statement.
//! 3. **gates**, on what is left (with `fixable_only`, the severity and KEV gates judge
//!    only findings with a fix; the report keeps the others): `fail_on`, `kev`,
//!    `max_base_age_days`, `trusted_bases`, `denied_packages`, `denied_licenses`,
//!    `required_labels`, `checks`, then `unmatched` and `incomplete`, whose `fail` makes
//!    the scan unjudgeable (exit 2) rather than failed: what was not examined cannot be
//!    shown to pass. A rule set to `warn` adds a report warning (source `policy`).
//!
//! Every breached rule is one [`PolicyReason`] naming what breaches it; the verdict is
//! `unjudgeable` when any breach is, else `fail` when there is a breach, else `pass`.
//! The base-image gates fail closed: `trusted_bases` with no known base fails ("base
//! image unknown"); `max_base_age_days` with no known build date of the base is not
//! judged and says so in a warning (an age cannot be guessed, and failing every image
//! whose base carries no date would fail most of them).

use std::sync::Arc;

use patchline_model::check::CheckFinding;
use patchline_model::policy::{
    AppliedException, ExceptionsOutcome, PolicyOutcome, PolicyReason, PolicyVerdict, Suppression,
};
use patchline_model::vuln::{Finding, FixState, ScanReport};
use patchline_model::{Inventory, Warning};
use patchline_policy::exceptions::package_matches;
use patchline_policy::file::{Action, PolicyFile, StageProfile};
use patchline_policy::pattern::{glob_match, glob_match_ci, reference_matches};
use patchline_policy::trusted::{bases_from_annotations, TrustMatch};
use patchline_policy::vex::VexStatement;
use patchline_policy::{BaseImage, Exception, TrustedImage};
use time::Date;

use super::{Breach, Verdict};

/// Most subjects a reason lists in the report; the message gives the full count.
pub const MAX_SUBJECTS: usize = 200;

/// What judges a scan beyond the command-line flags: a policy file's stage, exceptions
/// and VEX statements. The default judges nothing ([`Governance::is_active`] is false).
#[derive(Clone, Debug, Default)]
pub struct Governance {
    /// The policy file as given (`policy.file` in the report).
    pub file: Option<String>,
    /// The stage's profile; `None`: exceptions and VEX only, no gates.
    pub profile: Option<Arc<StageProfile>>,
    pub trusted_images: Vec<TrustedImage>,
    /// The policy file's exceptions, then those of exceptions files.
    pub exceptions: Vec<Exception>,
    pub vex: Vec<VexStatement>,
    /// The bases of the scanned image as known (catalog, Containerfile); empty: read
    /// from the image's `org.opencontainers.image.base.*` annotations or labels.
    pub bases: Vec<BaseImage>,
}

impl Governance {
    /// The governance of `file`'s stage `stage` (see [`PolicyFile::select_stage`]).
    pub fn from_policy(file: &PolicyFile, stage: Option<&str>) -> Result<Governance, String> {
        let profile = file.select_stage(stage)?;
        Ok(Governance {
            file: Some(file.source.clone()),
            profile: Some(Arc::new(profile.clone())),
            trusted_images: file.trusted_images.clone(),
            exceptions: file.exceptions.clone(),
            ..Default::default()
        })
    }

    pub fn is_active(&self) -> bool {
        self.profile.is_some() || !self.exceptions.is_empty() || !self.vex.is_empty()
    }

    /// Applies exceptions and VEX to `report` (taking out what they cover) and judges
    /// the rest by the profile; `inventory` is the scanned inventory (packages for
    /// denied packages and licenses). Sets `report.policy` and returns the verdict in
    /// the form the CLI's exit code reads.
    pub fn apply(&self, report: &mut ScanReport, inventory: &Inventory, today: Date) -> Verdict {
        let mut outcome = PolicyOutcome {
            stage: self
                .profile
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_default(),
            file: self.file.clone(),
            ..Default::default()
        };
        outcome.exceptions = self.apply_exceptions(report, today);
        outcome.vex = self.apply_vex(report);
        let mut gates = Gates::default();
        if let Some(p) = &self.profile {
            self.judge(p, report, inventory, today, &mut gates);
        }
        for w in gates.warnings {
            report.warnings.push(Warning {
                source: "policy".into(),
                location: self.file.clone().unwrap_or_default(),
                message: w,
            });
        }
        let mut verdict = Verdict::default();
        for (reason, unjudgeable) in gates.reasons {
            verdict.breaches.push(Breach {
                rule: reason.rule.clone(),
                message: reason.message.clone(),
                findings: Vec::new(),
                unjudgeable,
            });
            outcome.reasons.push(reason);
        }
        outcome.verdict = verdict_of(&verdict);
        report.policy = Some(outcome);
        verdict
    }

    fn apply_exceptions(&self, report: &mut ScanReport, today: Date) -> ExceptionsOutcome {
        let image = report.image.reference.clone();
        let (live, expired): (Vec<&Exception>, Vec<&Exception>) =
            self.exceptions.iter().partition(|e| !e.is_expired(today));
        let mut applied: Vec<Vec<Suppression>> = vec![Vec::new(); live.len()];
        report.findings.retain(
            |f| match live.iter().position(|e| e.matches_finding(f, &image)) {
                Some(i) => {
                    applied[i].push(Suppression {
                        id: f.id.clone(),
                        subject: format!("{}@{}", f.package.name, f.package.version),
                        by: "exception".into(),
                        ..Default::default()
                    });
                    false
                }
                None => true,
            },
        );
        report.checks.retain(
            |c| match live.iter().position(|e| e.matches_check(c, &image)) {
                Some(i) => {
                    applied[i].push(Suppression {
                        id: c.id.clone(),
                        subject: check_location(c),
                        by: "exception".into(),
                        ..Default::default()
                    });
                    false
                }
                None => true,
            },
        );
        let mut out = ExceptionsOutcome {
            expired: expired.iter().map(|e| e.to_ref()).collect(),
            ..Default::default()
        };
        for (e, suppressed) in live.iter().zip(applied) {
            if suppressed.is_empty() {
                out.unused.push(e.to_ref());
            } else {
                out.applied.push(AppliedException {
                    exception: e.to_ref(),
                    suppressed,
                });
            }
        }
        out
    }

    fn apply_vex(&self, report: &mut ScanReport) -> Vec<Suppression> {
        patchline_policy::vex::take_suppressed(report, &self.vex)
    }

    fn judge(
        &self,
        p: &StageProfile,
        report: &ScanReport,
        inventory: &Inventory,
        today: Date,
        g: &mut Gates,
    ) {
        let judged: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| !p.fixable_only || has_fix(f))
            .collect();
        let scope = if p.fixable_only { " with a fix" } else { "" };
        if let Some(t) = p.fail_on {
            let hits: Vec<String> = judged
                .iter()
                .filter(|f| patchline_match::fails_on(f, t))
                .map(|f| finding_subject(f))
                .collect();
            if !hits.is_empty() {
                g.fail(
                    format!("fail_on {}", t.as_str()),
                    format!(
                        "{} finding(s){scope} at or above {}",
                        hits.len(),
                        t.as_str()
                    ),
                    hits,
                );
            }
        }
        if p.kev != Action::Ignore {
            let hits: Vec<String> = judged
                .iter()
                .filter(|f| f.kev.is_some())
                .map(|f| finding_subject(f))
                .collect();
            if !hits.is_empty() {
                let message = format!(
                    "{} finding(s){scope} in CISA's Known Exploited Vulnerabilities catalog",
                    hits.len()
                );
                g.act(p.kev, "kev", message, hits);
            }
        }
        let bases = if self.bases.is_empty() {
            bases_from_annotations(&report.image)
        } else {
            self.bases.clone()
        };
        if let Some(max) = p.max_base_age_days {
            let dated: Vec<(&BaseImage, Date)> = bases
                .iter()
                .filter_map(|b| b.created.map(|c| (b, c)))
                .collect();
            // The nearest base with a date is the one the image was built on.
            match dated.first() {
                None => g.warnings.push(format!(
                    "max_base_age_days {max}: the base image's build date is not known, so its age was not judged"
                )),
                Some((b, created)) => {
                    let age = (today - *created).whole_days();
                    if age > i64::from(max) {
                        g.fail(
                            "max_base_age_days".into(),
                            format!("the base image is {age} days old (at most {max})"),
                            vec![b.describe()],
                        );
                    }
                }
            }
        }
        if let Some(patterns) = &p.trusted_bases {
            self.judge_bases(patterns, &bases, today, g);
        }
        if !p.denied_packages.is_empty() {
            let mut hits = Vec::new();
            for pkg in &inventory.packages {
                if let Some(d) = p
                    .denied_packages
                    .iter()
                    .find(|d| package_matches(&d.pattern, &pkg.name, &pkg.version, &pkg.purl))
                {
                    let why = d
                        .reason
                        .as_deref()
                        .map(|r| format!(": {r}"))
                        .unwrap_or_default();
                    hits.push(format!(
                        "{} {} ({}, denied by {}{why})",
                        pkg.name, pkg.version, pkg.db_path, d.pattern
                    ));
                }
            }
            if !hits.is_empty() {
                g.fail(
                    "denied_packages".into(),
                    format!("{} denied package(s) installed", hits.len()),
                    hits,
                );
            }
        }
        if !p.denied_licenses.is_empty() {
            let mut hits = Vec::new();
            for pkg in &inventory.packages {
                let denied: Vec<&str> = pkg
                    .licenses
                    .iter()
                    .flat_map(|l| license_ids(l))
                    .filter(|id| p.denied_licenses.iter().any(|d| glob_match_ci(d, id)))
                    .collect();
                if !denied.is_empty() {
                    hits.push(format!(
                        "{} {} ({})",
                        pkg.name,
                        pkg.version,
                        denied.join(", ")
                    ));
                }
            }
            if !hits.is_empty() {
                g.fail(
                    "denied_licenses".into(),
                    format!("{} package(s) under a denied license", hits.len()),
                    hits,
                );
            }
        }
        let labels = &report.image.labels;
        let missing: Vec<String> = p
            .required_labels
            .iter()
            .filter(|r| match (labels.get(&r.key), &r.value) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(v), Some(pat)) => !glob_match(pat, v),
            })
            .map(|r| match (&r.value, labels.get(&r.key)) {
                (Some(pat), Some(v)) => format!("{}={v:?} (must match {pat})", r.key),
                (Some(pat), None) => format!("{} (missing; must match {pat})", r.key),
                _ => format!("{} (missing)", r.key),
            })
            .collect();
        if !missing.is_empty() {
            g.fail(
                "required_labels".into(),
                format!("{} required label(s) missing or wrong", missing.len()),
                missing,
            );
        }
        let c = &p.checks;
        if c.fail_on.is_some() || !c.deny.is_empty() {
            let hits: Vec<String> = report
                .checks
                .iter()
                .filter(|f| !c.allow.iter().any(|a| glob_match_ci(a, &f.id)))
                .filter(|f| {
                    c.fail_on.is_some_and(|t| f.severity >= t)
                        || c.deny.iter().any(|d| glob_match_ci(d, &f.id))
                })
                .map(|f| format!("{} {} ({})", f.id, check_location(f), f.severity.as_str()))
                .collect();
            if !hits.is_empty() {
                let mut why = Vec::new();
                if let Some(t) = c.fail_on {
                    why.push(format!("at or above {}", t.as_str()));
                }
                if !c.deny.is_empty() {
                    why.push("denied".to_string());
                }
                g.fail(
                    "checks".into(),
                    format!("{} check finding(s) {}", hits.len(), why.join(" or ")),
                    hits,
                );
            }
        }
        if report.packages_not_matched > 0 && p.unmatched != Action::Ignore {
            let n = report.packages_not_matched;
            let subjects = report
                .unmatched
                .iter()
                .map(|u| format!("{}: {}", u.package, u.reason))
                .collect();
            let message = match p.unmatched {
                Action::Fail => format!(
                    "{n} package(s) could not be matched, so the scan cannot show what they hide (unmatched: warn judges the rest)"
                ),
                _ => format!("{n} package(s) could not be matched"),
            };
            g.act_unjudgeable(p.unmatched, "unmatched", message, subjects);
        }
        if !report.inventory_complete && p.incomplete != Action::Ignore {
            g.act_unjudgeable(
                p.incomplete,
                "incomplete",
                "the inventory is incomplete (a package database could not be read whole; see the warnings)".into(),
                Vec::new(),
            );
        }
    }

    fn judge_bases(&self, patterns: &[String], bases: &[BaseImage], today: Date, g: &mut Gates) {
        if bases.is_empty() {
            g.fail(
                "trusted_bases".into(),
                "base image unknown: the catalog, the Containerfile and the image's org.opencontainers.image.base.name annotation do not name it, so it cannot be shown to be trusted".into(),
                Vec::new(),
            );
            return;
        }
        // The image descends from every base of its lineage: one trusted is enough.
        let mut notes = Vec::new();
        for b in bases {
            if patterns.iter().any(|p| reference_matches(p, &b.reference)) {
                return;
            }
            for t in &self.trusted_images {
                match t.judge(&b.reference, b.digest.as_deref(), today) {
                    TrustMatch::Trusted => return,
                    TrustMatch::Expired(_) => notes.push(format!(
                        "{}: approval expired: {}",
                        b.describe(),
                        t.describe()
                    )),
                    TrustMatch::DigestMismatch { approved } => notes.push(format!(
                        "{}: only {approved} is approved ({})",
                        b.describe(),
                        t.describe()
                    )),
                    TrustMatch::NoMatch => {}
                }
            }
        }
        let mut subjects: Vec<String> = bases.iter().map(BaseImage::describe).collect();
        subjects.extend(notes);
        g.fail(
            "trusted_bases".into(),
            "the image is not built on a trusted base".into(),
            subjects,
        );
    }
}

/// The verdict a report's `policy` block gives for a [`Verdict`].
pub fn verdict_of(v: &Verdict) -> PolicyVerdict {
    if v.unjudgeable() {
        PolicyVerdict::Unjudgeable
    } else if v.failed() {
        PolicyVerdict::Fail
    } else {
        PolicyVerdict::Pass
    }
}

/// Adds the breaches of the command-line flags' policy (`--fail-on`) to a report's
/// `policy` block, so that the block gives every reason the exit code has.
pub fn merge_flag_verdict(report: &mut ScanReport, flags: &Verdict, merged: &Verdict) {
    let Some(outcome) = report.policy.as_mut() else {
        return;
    };
    for b in &flags.breaches {
        outcome.reasons.push(PolicyReason {
            rule: b.rule.clone(),
            message: b.message.clone(),
            subjects: b
                .findings
                .iter()
                .take(MAX_SUBJECTS)
                .map(|f| {
                    format!(
                        "{} {} {} ({})",
                        f.id,
                        f.package,
                        f.version,
                        f.severity.as_str()
                    )
                })
                .collect(),
        });
    }
    outcome.verdict = verdict_of(merged);
}

#[derive(Default)]
struct Gates {
    reasons: Vec<(PolicyReason, bool)>,
    warnings: Vec<String>,
}

impl Gates {
    fn fail(&mut self, rule: String, message: String, mut subjects: Vec<String>) {
        subjects.truncate(MAX_SUBJECTS);
        self.reasons.push((
            PolicyReason {
                rule,
                message,
                subjects,
            },
            false,
        ));
    }

    fn act(&mut self, a: Action, rule: &str, message: String, subjects: Vec<String>) {
        match a {
            Action::Fail => self.fail(rule.into(), message, subjects),
            Action::Warn => self.warnings.push(format!("{rule}: {message}")),
            Action::Ignore => {}
        }
    }

    fn act_unjudgeable(
        &mut self,
        a: Action,
        rule: &str,
        message: String,
        mut subjects: Vec<String>,
    ) {
        match a {
            Action::Fail => {
                subjects.truncate(MAX_SUBJECTS);
                self.reasons.push((
                    PolicyReason {
                        rule: rule.into(),
                        message,
                        subjects,
                    },
                    true,
                ));
            }
            other => self.act(other, rule, message, subjects),
        }
    }
}

fn has_fix(f: &Finding) -> bool {
    f.state == FixState::Fixed && !f.fixed_versions.is_empty()
}

fn finding_subject(f: &Finding) -> String {
    let mut s = format!(
        "{} {} {} ({}",
        f.id,
        f.package.name,
        f.package.version,
        f.severity.as_str()
    );
    if let Some(v) = f.fixed_versions.first() {
        s.push_str(&format!(", fixed in {v}"));
    }
    s.push(')');
    s
}

/// Where a check finding is: `app/.env:3 (layer 4)`, or the image config.
fn check_location(c: &CheckFinding) -> String {
    let mut s = match (&c.path, c.line) {
        (Some(p), Some(l)) => format!("{p}:{l}"),
        (Some(p), None) => p.clone(),
        (None, _) => "image config".into(),
    };
    if let Some(l) = &c.layer {
        s.push_str(&format!(" (layer {})", l.index));
    }
    s
}

/// The license ids of an SPDX expression (`MIT OR (Apache-2.0 WITH LLVM-exception)`),
/// or the text whole when it is a free-form name.
fn license_ids(expr: &str) -> Vec<&str> {
    expr.split(|c: char| c.is_whitespace() || c == '(' || c == ')')
        .filter(|w| !w.is_empty() && !matches!(*w, "AND" | "OR" | "WITH" | "and" | "or"))
        .collect()
}

#[cfg(test)]
#[path = "stage_tests.rs"]
mod tests;
