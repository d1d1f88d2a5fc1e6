//! Security checks of an image beside its vulnerabilities, each a stable id with a
//! severity and a one-line fix ([`CheckDef`]; `docs/checks.md` lists them all), each
//! finding a [`CheckFinding`] rendered like vulnerability findings everywhere.
//!
//! - [`fs`]: file modes and leftovers, seen during the inventory's single layer walk
//!   as an [`Inspector`] (setuid/setgid executables, world-writable files and
//!   directories without the sticky bit, package manager caches).
//! - [`secrets`]: credentials in files (also in files a later layer deleted: they still
//!   ship), in the config's environment and labels; redacted in every output.
//! - [`config`]: the image configuration (root user, exposed ports, healthcheck,
//!   `latest` base, age, required labels).
//! - [`containerfile`]: lint of the Containerfile the image is built from.
//!
//! The scan library (`patchline-scan`) puts [`inspectors`] into the inventory's options
//! and runs the config and Containerfile checks after the inventory; the policy stage
//! decides which findings fail a scan.

use std::sync::Arc;

use patchline_inventory::Inspector;
pub use patchline_model::check::{CheckFinding, CheckKind};
use patchline_model::vuln::Severity;

pub mod config;
pub mod containerfile;
pub mod fs;
pub mod secrets;

/// A check: its stable id, default severity, what it looks for, and the one-line fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckDef {
    /// `<kind>.<name>`: `secret.aws-access-key`.
    pub id: &'static str,
    pub severity: Severity,
    /// One line: what the check finds.
    pub title: &'static str,
    /// One line: how to fix a finding.
    pub fix: &'static str,
}

impl CheckDef {
    /// A finding of this check with its severity and fix.
    pub fn finding(&self, message: impl Into<String>) -> CheckFinding {
        CheckFinding::new(self.id, self.severity, message, self.fix).titled(self.title)
    }
}

/// Every check, in `docs/checks.md`'s order.
pub fn all_checks() -> Vec<&'static CheckDef> {
    config::CHECKS
        .iter()
        .chain(fs::CHECKS)
        .chain(secrets::CHECKS)
        .chain(containerfile::CHECKS)
        .collect()
}

/// The check of an id.
pub fn check_def(id: &str) -> Option<&'static CheckDef> {
    all_checks().into_iter().find(|c| c.id == id)
}

/// Which scanners a scan runs (`--scanners vuln,checks,secrets`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scanners {
    pub vuln: bool,
    /// Config, filesystem and Containerfile checks.
    pub checks: bool,
    pub secrets: bool,
}

impl Default for Scanners {
    fn default() -> Self {
        Scanners {
            vuln: true,
            checks: true,
            secrets: true,
        }
    }
}

/// The inspectors that ride the inventory's layer walk for `scanners`. Once the
/// inventory is done, [`fs::merge_package_caches`] folds the per-file cache findings
/// into one per cache directory, and [`secrets::check_config`] checks (and redacts) the
/// config's environment and labels.
pub fn inspectors(scanners: Scanners) -> Vec<Arc<dyn Inspector>> {
    let mut v: Vec<Arc<dyn Inspector>> = Vec::new();
    if scanners.checks {
        v.push(Arc::new(fs::FsInspector));
    }
    if scanners.secrets {
        v.push(Arc::new(secrets::SecretInspector::default()));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_are_unique_and_name_their_kind() {
        let all = all_checks();
        let mut ids: Vec<&str> = all.iter().map(|c| c.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all.len(), "duplicate check ids");
        for c in all {
            assert!(CheckKind::of_id(c.id).is_some(), "{}", c.id);
            assert!(!c.fix.contains('\n') && !c.title.contains('\n'), "{}", c.id);
        }
    }
}
