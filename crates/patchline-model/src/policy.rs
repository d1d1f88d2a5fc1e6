//! The policy stage's outcome as a report carries it (`policy` in the JSON report):
//! which stage's profile judged the scan, the verdict with every reason, and what the
//! exceptions and VEX statements did.

use serde::{Deserialize, Serialize};

/// The outcome of judging one scan against a policy file's stage profile.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyOutcome {
    /// `local`, `build`, `registry` or `runtime`; empty when only command-line flags
    /// judged the scan.
    pub stage: String,
    /// The policy file, as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub verdict: PolicyVerdict,
    /// Why it failed (or could not be judged): one entry per breached rule.
    #[serde(default)]
    pub reasons: Vec<PolicyReason>,
    pub exceptions: ExceptionsOutcome,
    /// Findings left out because a VEX statement says the product is `not_affected` or
    /// `fixed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vex: Vec<Suppression>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyVerdict {
    #[default]
    Pass,
    Fail,
    /// The scan could not be judged (an incomplete inventory, unmatched packages under a
    /// policy that fails closed): exit 2.
    Unjudgeable,
}

impl PolicyVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVerdict::Pass => "pass",
            PolicyVerdict::Fail => "fail",
            PolicyVerdict::Unjudgeable => "unjudgeable",
        }
    }
}

/// One breached rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReason {
    /// The rule's name as the policy file spells it: `fail_on high`, `kev`,
    /// `trusted_bases`, `checks`, `denied_packages`.
    pub rule: String,
    /// One line: `3 finding(s) at or above high`.
    pub message: String,
    /// What breaches it: finding ids with their package (`CVE-2024-2004 curl
    /// 7.88.1-10+deb12u5`), check ids with their location, or the image's base.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
}

/// What the exceptions did in this scan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionsOutcome {
    /// Exceptions that left findings out, each with what it left out.
    #[serde(default)]
    pub applied: Vec<AppliedException>,
    /// Exceptions past their `expires` date: no longer applied.
    #[serde(default)]
    pub expired: Vec<ExceptionRef>,
    /// Live exceptions that matched nothing in this scan.
    #[serde(default)]
    pub unused: Vec<ExceptionRef>,
}

/// An exception as a report names it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExceptionRef {
    /// The vulnerability or check id it covers.
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<String>,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// A VEX justification (`vulnerable_code_not_in_execute_path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    /// Where it was read: `exceptions.yaml:12`, `.trivyignore.yaml:4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// An exception and the findings it left out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedException {
    pub exception: ExceptionRef,
    pub suppressed: Vec<Suppression>,
}

/// A finding left out of the report by a human decision (an exception, a VEX
/// statement).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The vulnerability or check id.
    pub id: String,
    /// `name@version` for vulnerabilities; the location for checks.
    pub subject: String,
    /// The package's purl, for vulnerabilities: what VEX output names the suppressed
    /// package by (`patchline vex`, the CycloneDX scan output).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// `exception`, or the VEX document (`vex:openvex.json`).
    pub by: String,
    /// The VEX status (`not_affected`, `fixed`), for VEX suppressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
}
