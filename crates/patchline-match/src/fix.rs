//! What to upgrade to: the version compared with the advisories, the fixed version
//! recommended for one finding, and the version that fixes every finding of a package.
//!
//! These compare versions in the package's scheme (the distro registry's
//! [`package_scheme`]), so they live with the matcher; the renderers of
//! `patchline-report` print what they answer and compare no versions themselves.

use patchline_model::distro::package_scheme;
use patchline_model::vuln::{Finding, FindingPackage, FixState};
use patchline_model::{Ecosystem, Package};

/// The version compared with the advisories (see the crate documentation): for dpkg the
/// source version when the package names one (Debian's fixed versions are source
/// versions), else the binary package's full version.
pub fn compared_version(p: &Package) -> &str {
    compared(p.ecosystem, &p.version, p.source_version.as_deref())
}

/// [`compared_version`] of the package a finding is about.
pub fn finding_compared_version(p: &FindingPackage) -> &str {
    compared(p.ecosystem, &p.version, p.source_version.as_deref())
}

fn compared<'a>(
    ecosystem: Ecosystem,
    version: &'a str,
    source_version: Option<&'a str>,
) -> &'a str {
    match ecosystem {
        Ecosystem::Deb => source_version
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(version),
        _ => version,
    }
}

/// The fixed version to recommend for a finding: the lowest of its fixed versions above
/// the compared version (several are listed when several release branches fixed it),
/// else the lowest of them. `None` unless the finding is [`FixState::Fixed`] with a
/// fixed version.
pub fn recommended_fix(f: &Finding) -> Option<&str> {
    if f.state != FixState::Fixed || f.fixed_versions.is_empty() {
        return None;
    }
    let Some(s) = package_scheme(f.package.ecosystem) else {
        // No version rules: the lowest as written.
        return f.fixed_versions.iter().map(String::as_str).min();
    };
    let installed = finding_compared_version(&f.package);
    let above: Vec<&str> = f
        .fixed_versions
        .iter()
        .map(String::as_str)
        .filter(|v| s.compare(v, installed).is_ok_and(|o| o.is_gt()))
        .collect();
    let pool = if above.is_empty() {
        f.fixed_versions.iter().map(String::as_str).collect()
    } else {
        above
    };
    pool.into_iter()
        .min_by(|a, b| s.compare(a, b).unwrap_or_else(|_| a.cmp(b)))
}

/// The version that fixes every fixable finding of one package: the highest of their
/// [`recommended_fix`]es. `None` when none of them has a fix. The findings are expected
/// to be about the same package (the scheme is the first one's).
pub fn upgrade_target<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Option<&'a str> {
    let mut findings = findings.into_iter().peekable();
    let scheme = package_scheme(findings.peek()?.package.ecosystem);
    findings
        .filter_map(recommended_fix)
        .max_by(|a, b| match scheme {
            Some(s) => s.compare(a, b).unwrap_or_else(|_| a.cmp(b)),
            None => a.cmp(b),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchline_model::vuln::Severity;

    fn finding(
        eco: Ecosystem,
        version: &str,
        source_version: Option<&str>,
        fixed: &[&str],
    ) -> Finding {
        Finding {
            id: "CVE-2024-0001".into(),
            aliases: vec![],
            advisories: vec![],
            package: FindingPackage {
                ecosystem: eco,
                name: "p".into(),
                version: version.into(),
                arch: None,
                source_name: None,
                source_version: source_version.map(str::to_string),
                purl: String::new(),
                introduced: None,
                last_changed: None,
                sbom_ref: None,
                path: None,
            },
            ecosystem: String::new(),
            state: if fixed.is_empty() {
                FixState::Unfixed
            } else {
                FixState::Fixed
            },
            fixed_versions: fixed.iter().map(|s| s.to_string()).collect(),
            severity: Severity::High,
            severity_source: "x".into(),
            cvss: vec![],
            kev: None,
            epss: None,
            summary: None,
            references: vec![],
        }
    }

    #[test]
    fn dpkg_compares_the_source_version() {
        let f = finding(
            Ecosystem::Deb,
            "1:2.38.1-5+deb12u3",
            Some("2.38.1-5+deb12u3"),
            &[],
        );
        assert_eq!(finding_compared_version(&f.package), "2.38.1-5+deb12u3");
        let f = finding(Ecosystem::Deb, "1.0-1", Some(" "), &[]);
        assert_eq!(finding_compared_version(&f.package), "1.0-1");
        let f = finding(Ecosystem::Rpm, "1:1.1-1.el9", Some("1.1-1.el9"), &[]);
        assert_eq!(finding_compared_version(&f.package), "1:1.1-1.el9");
    }

    #[test]
    fn the_lowest_fix_above_the_installed_version_wins() {
        // Two release branches fixed it: 1.2 for the 1.x line, 2.3 for 2.x.
        let f = finding(
            Ecosystem::Apk,
            "2.0-r0",
            None,
            &["2.3-r0", "1.2-r0", "2.10-r0"],
        );
        assert_eq!(recommended_fix(&f), Some("2.3-r0"));
        // Nothing above the installed version: the lowest.
        let f = finding(Ecosystem::Apk, "9.0-r0", None, &["2.3-r0", "1.2-r0"]);
        assert_eq!(recommended_fix(&f), Some("1.2-r0"));
        // Unfixed: no recommendation.
        let f = finding(Ecosystem::Apk, "1.0-r0", None, &[]);
        assert_eq!(recommended_fix(&f), None);
        // dpkg: above the source version, not the binary's epoch-bearing one.
        let f = finding(
            Ecosystem::Deb,
            "1:2.38.1-5+deb12u3",
            Some("2.38.1-5+deb12u3"),
            &["2.38.1-5+deb12u4"],
        );
        assert_eq!(recommended_fix(&f), Some("2.38.1-5+deb12u4"));
    }

    #[test]
    fn upgrade_target_is_the_highest_fix() {
        let a = finding(Ecosystem::Deb, "7.88.1-10", None, &["7.88.1-10+deb12u6"]);
        let b = finding(Ecosystem::Deb, "7.88.1-10", None, &["7.88.1-10+deb12u10"]);
        let c = finding(Ecosystem::Deb, "7.88.1-10", None, &[]);
        assert_eq!(upgrade_target([&a, &b, &c]), Some("7.88.1-10+deb12u10"));
        assert_eq!(upgrade_target([&c]), None);
        assert_eq!(upgrade_target(std::iter::empty::<&Finding>()), None);
    }
}
