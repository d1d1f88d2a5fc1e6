//! The policy stage: which of the matcher's findings are reported, and whether the scan
//! passes.
//!
//! A [`Policy`] is an ordered list of [`Rule`]s. Applied to a report it runs in two
//! passes:
//!
//! 1. **filter**: a finding stays in the report only when every rule
//!    [keeps](Rule::keeps) it (`--only-fixed`, `--ignore-unfixed`; later exceptions with
//!    an expiry and VEX `not_affected` statements). What each rule left out is counted in
//!    the verdict.
//! 2. **gate**: every rule names the reported findings that [breach](Rule::breaches) it
//!    (`--fail-on high`; later the rules of policy files). The scan fails when any rule
//!    is breached; the [`Verdict`] says which rule and which findings.
//!
//! Gates judge the findings that survive the filters, so `--fail-on low
//! --ignore-unfixed` does not fail on an unfixed low finding. A gate may also judge the
//! report as a whole ([`Rule::breaches_report`]): [`RequireComplete`] (on with any gate,
//! off with `--allow-incomplete`) makes a scan of an incomplete inventory unjudgeable, and
//! [`RequireMatched`] (on with any gate, off with `--allow-unmatched`) one with packages
//! that could not be matched, since what was not examined cannot be shown to pass; the
//! CLI reports both with exit 2.
//!
//! A policy file's stage, exceptions and VEX statements are applied by
//! [`stage::Governance`] before these rules (see that module): what they take out of
//! the report is recorded in `report.policy`, and their breaches join the verdict.
//!
//! Rules see one finding at a time and are `Send + Sync`: a server shares one policy
//! across its workers. The built-in rules are the CLI's flags: [`OnlyFixed`],
//! [`IgnoreUnfixed`] and [`FailOn`] (which asks [`patchline_match::fails_on`]).

use std::fmt;
use std::sync::Arc;

use patchline_model::vuln::{Finding, FixState, ScanReport, Severity};
use serde::Serialize;

pub mod stage;
pub use stage::Governance;

/// One rule of a policy: a filter, a gate, or both.
pub trait Rule: fmt::Debug + Send + Sync {
    /// How verdicts name the rule (`fail-on high`, `ignore-unfixed`).
    fn name(&self) -> String;

    /// Filter: whether `finding` stays in the report. The default keeps everything.
    fn keeps(&self, _finding: &Finding) -> bool {
        true
    }

    /// Gate: whether a reported finding breaches the rule. The default never fails.
    fn breaches(&self, _finding: &Finding) -> bool {
        false
    }

    /// The sentence a verdict gives for `count` breaching findings.
    fn message(&self, count: usize) -> String {
        format!("{count} finding(s) breach {}", self.name())
    }

    /// Gate on the report as a whole (what was or was not examined); `Some(message)`
    /// fails the scan. The default judges findings only.
    fn breaches_report(&self, _report: &ScanReport) -> Option<String> {
        None
    }

    /// Whether a report-level breach of this rule means the scan could not be judged at
    /// all (an incomplete inventory) rather than that it failed: the CLI exits 2 for it,
    /// not 1.
    fn unjudgeable(&self) -> bool {
        false
    }
}

/// Keeps only findings with a fixed version (Grype's `--only-fixed`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OnlyFixed;

impl Rule for OnlyFixed {
    fn name(&self) -> String {
        "only-fixed".into()
    }
    fn keeps(&self, f: &Finding) -> bool {
        f.state == FixState::Fixed && !f.fixed_versions.is_empty()
    }
}

/// Leaves out findings without a fix: unfixed, will-not-fix and unimportant (Trivy's
/// `--ignore-unfixed`). With today's fix states it selects what [`OnlyFixed`] does; the
/// two differ once a state means "fixed, version unknown".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IgnoreUnfixed;

impl Rule for IgnoreUnfixed {
    fn name(&self) -> String {
        "ignore-unfixed".into()
    }
    fn keeps(&self, f: &Finding) -> bool {
        !matches!(
            f.state,
            FixState::Unfixed | FixState::WillNotFix | FixState::Unimportant
        )
    }
}

/// Fails on a reported finding at least this severe (`--fail-on`). Findings of unknown
/// severity trip it only when the threshold is `unknown`. Check findings (a secret, a
/// setuid file, a root user) are judged by the same threshold, as Trivy's
/// `--exit-code` judges every scanner's findings: a leaked key must not pass a
/// `--fail-on high` gate. `--scanners vuln` gates vulnerabilities alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FailOn(pub Severity);

impl Rule for FailOn {
    fn name(&self) -> String {
        format!("fail-on {}", self.0.as_str())
    }
    fn breaches(&self, f: &Finding) -> bool {
        patchline_match::fails_on(f, self.0)
    }
    fn message(&self, count: usize) -> String {
        format!("{count} finding(s) at or above {}", self.0.as_str())
    }
    fn breaches_report(&self, report: &ScanReport) -> Option<String> {
        let hits: Vec<String> = report
            .checks
            .iter()
            .filter(|c| c.severity >= self.0 && c.severity != Severity::Unknown)
            .map(|c| {
                let at = c.location();
                if at.is_empty() {
                    c.id.clone()
                } else {
                    format!("{} at {at}", c.id)
                }
            })
            .collect();
        if hits.is_empty() {
            return None;
        }
        const SHOWN: usize = 5;
        let more = hits.len().saturating_sub(SHOWN);
        let mut listed = hits[..hits.len().min(SHOWN)].join("; ");
        if more > 0 {
            listed.push_str(&format!("; and {more} more"));
        }
        Some(format!(
            "{} check finding(s) at or above {}: {listed}",
            hits.len(),
            self.0.as_str()
        ))
    }
}

/// Fails a gated scan closed when packages could not be matched (no advisory data for
/// the distro release, an SBOM component without a purl or of a language ecosystem):
/// they may hide findings at any severity, so the scan cannot be judged.
/// `--allow-unmatched` drops it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequireMatched;

impl Rule for RequireMatched {
    fn name(&self) -> String {
        "require-matched-packages".into()
    }
    fn breaches_report(&self, report: &ScanReport) -> Option<String> {
        let n = report.packages_not_matched;
        (n > 0).then(|| {
            let first = report
                .unmatched
                .first()
                .map(|u| format!(" (first: {}: {})", u.package, u.reason))
                .unwrap_or_default();
            format!(
                "{n} package(s) could not be matched{first}, so the scan cannot show what they hide; --allow-unmatched judges the rest"
            )
        })
    }
    fn unjudgeable(&self) -> bool {
        true
    }
}

/// Fails a gated scan whose inventory is incomplete (a package database could not be
/// read whole): a gate cannot pass packages it never saw. `--allow-incomplete` drops it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequireComplete;

impl Rule for RequireComplete {
    fn name(&self) -> String {
        "require-complete-inventory".into()
    }
    fn breaches_report(&self, report: &ScanReport) -> Option<String> {
        (!report.inventory_complete).then(|| {
            "the inventory is incomplete (a package database could not be read whole; see the warnings), so the scan cannot be judged; --allow-incomplete judges what was read".to_string()
        })
    }
    fn unjudgeable(&self) -> bool {
        true
    }
}

/// The rules a scan is judged by, in order. The default policy reports every finding
/// and always passes.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    rules: Vec<Arc<dyn Rule>>,
}

impl Policy {
    /// A policy without rules.
    pub fn new() -> Policy {
        Policy::default()
    }

    /// The policy of the CLI's flags: `--only-fixed`, `--ignore-unfixed` and
    /// `--fail-on SEVERITY`.
    pub fn from_flags(fail_on: Option<Severity>, only_fixed: bool, ignore_unfixed: bool) -> Policy {
        let mut p = Policy::new();
        if only_fixed {
            p.push(OnlyFixed);
        }
        if ignore_unfixed {
            p.push(IgnoreUnfixed);
        }
        if let Some(s) = fail_on {
            p.push(RequireComplete);
            p.push(RequireMatched);
            p.push(FailOn(s));
        }
        p
    }

    /// This policy without the rule that fails a scan for an incomplete inventory
    /// (`--allow-incomplete`).
    pub fn allowing_incomplete(mut self) -> Policy {
        let name = RequireComplete.name();
        self.rules.retain(|r| r.name() != name);
        self
    }

    /// This policy without the rule that fails a scan for packages it could not match
    /// (`--allow-unmatched`).
    pub fn allowing_unmatched(mut self) -> Policy {
        let name = RequireMatched.name();
        self.rules.retain(|r| r.name() != name);
        self
    }

    /// Adds a rule after the others.
    pub fn push(&mut self, rule: impl Rule + 'static) {
        self.rules.push(Arc::new(rule));
    }

    /// This policy with `rule` added.
    pub fn with(mut self, rule: impl Rule + 'static) -> Policy {
        self.push(rule);
        self
    }

    pub fn rules(&self) -> &[Arc<dyn Rule>] {
        &self.rules
    }

    /// Filters `report.findings` (their order is kept) and judges what is left.
    pub fn apply(&self, report: &mut ScanReport) -> Verdict {
        let mut dropped = vec![0usize; self.rules.len()];
        report.findings.retain(|f| {
            // The first rule that leaves a finding out is the one counted.
            match self.rules.iter().position(|r| !r.keeps(f)) {
                Some(i) => {
                    dropped[i] += 1;
                    false
                }
                None => true,
            }
        });
        let mut verdict = Verdict::default();
        for (rule, n) in self.rules.iter().zip(dropped) {
            if n > 0 {
                verdict.filtered.push(Filtered {
                    rule: rule.name(),
                    count: n,
                });
            }
        }
        for rule in &self.rules {
            if let Some(message) = rule.breaches_report(report) {
                verdict.breaches.push(Breach {
                    rule: rule.name(),
                    message,
                    findings: Vec::new(),
                    unjudgeable: rule.unjudgeable(),
                });
            }
            let findings: Vec<Breaching> = report
                .findings
                .iter()
                .filter(|f| rule.breaches(f))
                .map(Breaching::of)
                .collect();
            if !findings.is_empty() {
                verdict.breaches.push(Breach {
                    rule: rule.name(),
                    message: rule.message(findings.len()),
                    findings,
                    unjudgeable: false,
                });
            }
        }
        verdict
    }
}

/// The outcome of the policy stage: pass, or fail with the breached rules.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// Every rule the reported findings breach, in the policy's order; empty: pass.
    pub breaches: Vec<Breach>,
    /// Findings the filters left out of the report, per rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub filtered: Vec<Filtered>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.breaches.is_empty()
    }

    pub fn failed(&self) -> bool {
        !self.passed()
    }

    /// The scan could not be judged (an incomplete inventory under a gate): exit 2.
    pub fn unjudgeable(&self) -> bool {
        self.breaches.iter().any(|b| b.unjudgeable)
    }
}

/// One breached rule and the findings that breach it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Breach {
    /// [`Rule::name`]: `fail-on high`.
    pub rule: String,
    /// [`Rule::message`]: `3 finding(s) at or above high`.
    pub message: String,
    pub findings: Vec<Breaching>,
    /// The breach says the scan could not be judged, not that it failed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unjudgeable: bool,
}

/// A finding that breaches a rule, as a verdict names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Breaching {
    pub id: String,
    pub package: String,
    pub version: String,
    pub severity: Severity,
}

impl Breaching {
    fn of(f: &Finding) -> Breaching {
        Breaching {
            id: f.id.clone(),
            package: f.package.name.clone(),
            version: f.package.version.clone(),
            severity: f.severity,
        }
    }
}

/// How many findings a filter rule left out of the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Filtered {
    pub rule: String,
    pub count: usize,
}

#[cfg(test)]
mod tests;
