//! Exceptions: a human decision that a vulnerability or a check finding is accepted,
//! for a while.
//!
//! An exception names a vulnerability id (matched against a finding's id and every
//! alias, so `CVE-2024-2004` also covers the `DSA-…` or `GHSA-…` finding that aliases
//! it) or a check id (`secret.aws-access-key`, or a pattern such as `secret.*`), and may
//! narrow it to packages (name patterns, `name@version`, or purls such as
//! `pkg:deb/debian/libssl3`, which cover every version when they carry none), images
//! (reference patterns; a pattern without tag covers every tag) and paths (the file a
//! package was read from, or a check finding's file). It carries who accepted it
//! (`owner`), why (`reason`), until when (`expires`, inclusive: an exception expiring
//! 2027-06-30 still applies that day) and optionally a VEX justification.
//!
//! The files they come from: a patchline policy file's `exceptions:`, a separate
//! exceptions file of the same shape (`exceptions: [...]`), and the ignore files of
//! Trivy and Grype ([`crate::import`]). In patchline's own files `reason` and `expires`
//! are required: an exception that never ends is a policy change, not an exception.

use patchline_model::check::CheckFinding;
use patchline_model::policy::ExceptionRef;
use patchline_model::vuln::{Finding, FixState};
use time::Date;

use crate::pattern::{format_date, glob_match, glob_match_ci, reference_matches};

/// The VEX justifications an exception may give (OpenVEX's words).
pub const JUSTIFICATIONS: &[&str] = &[
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
];

/// One accepted vulnerability or check finding.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exception {
    /// A vulnerability id, a check id, or a pattern of them (`*`: any).
    pub id: String,
    /// Package patterns: `name`, `name@version` (both globs) or a purl (prefix).
    pub packages: Vec<String>,
    /// Image reference patterns.
    pub images: Vec<String>,
    /// File path patterns (image-root-relative; a leading `/` is ignored).
    pub paths: Vec<String>,
    /// Only findings in this fix state (Grype's `fix-state`).
    pub fix_state: Option<FixState>,
    pub reason: String,
    pub owner: Option<String>,
    /// Last day it applies.
    pub expires: Option<Date>,
    pub justification: Option<String>,
    /// `file:line` it was read from.
    pub source: Option<String>,
}

impl Exception {
    /// Past its `expires` date (the expiry day itself is still covered).
    pub fn is_expired(&self, today: Date) -> bool {
        self.expires.is_some_and(|e| e < today)
    }

    /// Whether it covers the vulnerability finding `f` in the image `image`.
    pub fn matches_finding(&self, f: &Finding, image: &str) -> bool {
        let id_ok =
            glob_match_ci(&self.id, &f.id) || f.aliases.iter().any(|a| glob_match_ci(&self.id, a));
        id_ok
            && self.images_match(image)
            && (self.packages.is_empty()
                || self.packages.iter().any(|p| {
                    package_matches(p, &f.package.name, &f.package.version, &f.package.purl)
                }))
            && (self.paths.is_empty()
                || f.package
                    .path
                    .as_deref()
                    .is_some_and(|path| self.path_matches(path)))
            && self.fix_state.is_none_or(|s| s == f.state)
    }

    /// Whether it covers the check finding `c` in the image `image`. Packages and fix
    /// states narrow vulnerabilities only: an exception giving either never covers a
    /// check finding.
    pub fn matches_check(&self, c: &CheckFinding, image: &str) -> bool {
        glob_match_ci(&self.id, &c.id)
            && self.packages.is_empty()
            && self.fix_state.is_none()
            && self.images_match(image)
            && (self.paths.is_empty()
                || c.path
                    .as_deref()
                    .is_some_and(|path| self.path_matches(path)))
    }

    fn images_match(&self, image: &str) -> bool {
        self.images.is_empty() || self.images.iter().any(|p| reference_matches(p, image))
    }

    fn path_matches(&self, path: &str) -> bool {
        let path = path.trim_start_matches('/');
        self.paths
            .iter()
            .any(|p| glob_match(p.trim_start_matches('/'), path))
    }

    /// How a report names it.
    pub fn to_ref(&self) -> ExceptionRef {
        ExceptionRef {
            id: self.id.clone(),
            packages: self.packages.clone(),
            images: self.images.clone(),
            reason: self.reason.clone(),
            owner: self.owner.clone(),
            expires: self.expires.map(format_date),
            justification: self.justification.clone(),
            source: self.source.clone(),
        }
    }
}

/// Whether the package pattern `p` covers a package.
pub fn package_matches(p: &str, name: &str, version: &str, purl: &str) -> bool {
    if p.starts_with("pkg:") {
        if p.contains(['*', '?']) {
            return glob_match(p, purl);
        }
        // A purl without version covers every version (and qualifiers) of the package.
        return purl == p
            || purl
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with(['@', '?', '#']));
    }
    match split_name_version(p) {
        (n, Some(v)) => glob_match(n, name) && glob_match(v, version),
        (n, None) => glob_match(n, name),
    }
}

/// `name@version` → (name, version); a leading `@` belongs to the name (npm scopes).
pub fn split_name_version(p: &str) -> (&str, Option<&str>) {
    match p.rfind('@') {
        Some(i) if i > 0 => (&p[..i], Some(&p[i + 1..])),
        _ => (p, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchline_model::vuln::{FindingPackage, Severity};
    use patchline_model::Ecosystem;
    use time::macros::date;

    pub(crate) fn finding(id: &str, aliases: &[&str], name: &str, version: &str) -> Finding {
        Finding {
            id: id.into(),
            aliases: aliases.iter().map(|s| s.to_string()).collect(),
            advisories: vec![],
            package: FindingPackage {
                ecosystem: Ecosystem::Deb,
                name: name.into(),
                version: version.into(),
                arch: None,
                source_name: None,
                source_version: None,
                purl: format!("pkg:deb/debian/{name}@{version}?arch=amd64"),
                introduced: None,
                last_changed: None,
                sbom_ref: None,
                path: Some("var/lib/dpkg/status".into()),
            },
            ecosystem: "Debian:12".into(),
            state: FixState::Fixed,
            fixed_versions: vec!["9".into()],
            severity: Severity::High,
            severity_source: "debian".into(),
            cvss: vec![],
            kev: None,
            epss: None,
            summary: None,
            references: vec![],
        }
    }

    fn exc(id: &str) -> Exception {
        Exception {
            id: id.into(),
            reason: "r".into(),
            expires: Some(date!(2027 - 06 - 30)),
            ..Default::default()
        }
    }

    #[test]
    fn expiry_is_inclusive() {
        let e = exc("CVE-1");
        assert!(!e.is_expired(date!(2027 - 06 - 30)));
        assert!(e.is_expired(date!(2027 - 07 - 01)));
        assert!(!Exception { expires: None, ..e }.is_expired(date!(2999 - 01 - 01)));
    }

    #[test]
    fn matches_by_id_alias_package_image_path() {
        let f = finding("DSA-5661-1", &["CVE-2024-2004"], "curl", "7.88.1-10");
        let img = "registry.example.com/team/web:1.4";
        assert!(exc("CVE-2024-2004").matches_finding(&f, img));
        assert!(exc("cve-2024-2004").matches_finding(&f, img));
        assert!(!exc("CVE-2024-2005").matches_finding(&f, img));
        let with = |packages: &[&str]| Exception {
            packages: packages.iter().map(|s| s.to_string()).collect(),
            ..exc("CVE-2024-2004")
        };
        assert!(with(&["libcurl4", "curl"]).matches_finding(&f, img));
        assert!(!with(&["libcurl4"]).matches_finding(&f, img));
        assert!(with(&["curl@7.88.*"]).matches_finding(&f, img));
        assert!(!with(&["curl@8.*"]).matches_finding(&f, img));
        assert!(with(&["pkg:deb/debian/curl"]).matches_finding(&f, img));
        assert!(!with(&["pkg:deb/debian/cur"]).matches_finding(&f, img));
        let images = |p: &str| Exception {
            images: vec![p.into()],
            ..exc("CVE-2024-2004")
        };
        assert!(images("registry.example.com/team/web").matches_finding(&f, img));
        assert!(images("registry.example.com/team/*").matches_finding(&f, img));
        assert!(!images("registry.example.com/other/*").matches_finding(&f, img));
        let paths = Exception {
            paths: vec!["/var/lib/dpkg/*".into()],
            ..exc("CVE-2024-2004")
        };
        assert!(paths.matches_finding(&f, img));
        let state = Exception {
            fix_state: Some(FixState::Unfixed),
            ..exc("CVE-2024-2004")
        };
        assert!(!state.matches_finding(&f, img));
    }

    #[test]
    fn matches_checks() {
        let mut c = CheckFinding::new(
            "secret.aws-access-key",
            Severity::Critical,
            "AWS key",
            "remove it",
        );
        c.path = Some("app/.env".into());
        assert!(exc("secret.*").matches_check(&c, "img"));
        assert!(exc("secret.aws-access-key").matches_check(&c, "img"));
        assert!(!exc("config.*").matches_check(&c, "img"));
        let p = Exception {
            paths: vec!["app/*".into()],
            ..exc("secret.*")
        };
        assert!(p.matches_check(&c, "img"));
        let pkg = Exception {
            packages: vec!["curl".into()],
            ..exc("secret.*")
        };
        assert!(!pkg.matches_check(&c, "img"));
    }

    #[test]
    fn npm_scopes() {
        assert_eq!(split_name_version("@babel/core"), ("@babel/core", None));
        assert_eq!(
            split_name_version("@babel/core@7.*"),
            ("@babel/core", Some("7.*"))
        );
    }
}
