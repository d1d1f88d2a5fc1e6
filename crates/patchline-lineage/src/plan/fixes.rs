//! What a CVE's impact asks of each root image, in the shape a plan takes: the OS
//! packages to upgrade with the version each moves to, and the language packages to move.
//! `patchline plan --cve` and the server's plans both read an [`ImpactReport`] this way.

use std::collections::{BTreeMap, BTreeSet};

use patchline_model::Ecosystem;

use super::{LanguageFix, PlanImage};
use crate::impact::{Action, ImpactReport};

/// The fixes of every root of an impact report, by image reference.
#[derive(Debug, Default)]
pub struct RootFixes {
    packages: BTreeMap<String, BTreeSet<String>>,
    versions: BTreeMap<String, BTreeMap<String, String>>,
    language: BTreeMap<String, Vec<LanguageFix>>,
}

impl RootFixes {
    /// The roots whose action is to fix (a COTS root's vendor fixes, not the plan).
    pub fn from_impact(report: &ImpactReport) -> RootFixes {
        let mut out = RootFixes::default();
        for r in &report.roots {
            if r.action != Action::Fix {
                continue;
            }
            let to = highest_fixed(r.package.ecosystem, &r.fixed_versions);
            if r.package.ecosystem.is_os() {
                out.packages
                    .entry(r.image.clone())
                    .or_default()
                    .insert(r.package.name.clone());
                if let Some(v) = to {
                    out.versions
                        .entry(r.image.clone())
                        .or_default()
                        .insert(r.package.name.clone(), v);
                }
            } else {
                let fixes = out.language.entry(r.image.clone()).or_default();
                if !fixes.iter().any(|f| f.name == r.package.name) {
                    fixes.push(LanguageFix {
                        ecosystem: r.package.ecosystem,
                        name: r.package.name.clone(),
                        installed: r.package.version.clone(),
                        fixed: to,
                        path: None,
                    });
                }
            }
        }
        out
    }

    /// The OS packages `image` upgrades (what its plan entry is made with).
    pub fn packages_of(&self, image: &str) -> Vec<String> {
        self.packages
            .get(image)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Gives `image`'s plan entry the versions to move to and its language fixes (taken
    /// out: an image listed twice gets them once).
    pub fn apply(&mut self, image: &str, p: &mut PlanImage) {
        p.fixed_versions = self.versions.remove(image).unwrap_or_default();
        p.language_fixes = self.language.remove(image).unwrap_or_default();
    }
}

/// The highest of the fixed versions by the ecosystem's own order (text order when it
/// has none or a version does not parse).
pub fn highest_fixed(ecosystem: Ecosystem, fixed: &[String]) -> Option<String> {
    let scheme = patchline_model::distro::package_scheme(ecosystem);
    fixed
        .iter()
        .max_by(|a, b| match scheme {
            Some(s) => s.compare(a, b).unwrap_or_else(|_| a.cmp(b)),
            None => a.cmp(b),
        })
        .cloned()
}
