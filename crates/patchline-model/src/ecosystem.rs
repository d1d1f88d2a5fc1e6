//! OSV ecosystems: which version scheme each one's versions follow, and how its package
//! names compare. Distro ecosystems (`Debian:12`, `Alpine:v3.18`) are answered by the
//! [distro registry](crate::distro); language ecosystems and the OS ecosystems of
//! distros patchline does not scan are listed here, once.

use patchline_version::Scheme;

use crate::distro::Registry;

/// A language package ecosystem as OSV names it.
#[derive(Clone, Copy, Debug)]
pub struct Language {
    /// The OSV ecosystem name (`PyPI`).
    pub osv: &'static str,
    /// The purl type of its packages (`pypi`).
    pub purl_type: &'static str,
    /// The scheme its versions compare in; `None` where patchline has none yet.
    pub scheme: Option<Scheme>,
    /// Names compare after PEP 503 normalisation (`Jinja2` = `jinja2`).
    pub pep503_names: bool,
}

pub const LANGUAGES: &[Language] = &[
    lang("PyPI", "pypi", Some(Scheme::Pep440), true),
    lang("npm", "npm", Some(Scheme::Semver), false),
    lang("crates.io", "cargo", Some(Scheme::Semver), false),
    lang("Go", "golang", Some(Scheme::Go), false),
    lang("Maven", "maven", Some(Scheme::Maven), false),
    lang("RubyGems", "gem", Some(Scheme::Gem), false),
    lang("NuGet", "nuget", Some(Scheme::Nuget), false),
    lang("Packagist", "composer", Some(Scheme::Composer), false),
    lang("Hex", "hex", None, false),
    lang("Pub", "pub", None, false),
];

const fn lang(
    osv: &'static str,
    purl_type: &'static str,
    scheme: Option<Scheme>,
    pep503_names: bool,
) -> Language {
    Language {
        osv,
        purl_type,
        scheme,
        pep503_names,
    }
}

/// OS ecosystems osv.dev carries for distros patchline does not scan, so that ranges in
/// records about them still evaluate in the right scheme.
const OTHER_OS: &[(&str, Scheme)] = &[
    ("Alpaquita", Scheme::Apk),
    ("BellSoft Hardened Containers", Scheme::Apk),
    ("Mageia", Scheme::Rpm),
    ("openEuler", Scheme::Rpm),
];

/// The name part of an ecosystem string (`Debian` of `Debian:12`, `PyPI` of `PyPI`).
pub fn base_name(ecosystem: &str) -> &str {
    ecosystem.split(':').next().unwrap_or(ecosystem).trim()
}

/// The language ecosystem an OSV ecosystem string names.
pub fn language(ecosystem: &str) -> Option<&'static Language> {
    let base = base_name(ecosystem);
    LANGUAGES.iter().find(|l| l.osv == base)
}

/// The version scheme of an OSV ecosystem string (`Debian:12`, `Alpine:v3.18`, `PyPI`,
/// `Red Hat:enterprise_linux:8::appstream`). `None` for ecosystems without a scheme here
/// (Hex, Pub, ...).
pub fn scheme_for(registry: &Registry, ecosystem: &str) -> Option<Scheme> {
    if let Some(spec) = registry.by_ecosystem(ecosystem) {
        return Some(spec.scheme());
    }
    let base = base_name(ecosystem);
    if let Some(l) = language(base) {
        return l.scheme;
    }
    OTHER_OS.iter().find(|(n, _)| *n == base).map(|(_, s)| *s)
}

/// Package names as the ecosystem compares them: PyPI's after PEP 503 normalisation
/// (lowercase, runs of `-_.` as one `-`), every other ecosystem's as written.
pub fn normalize_package<'a>(ecosystem: &str, name: &'a str) -> std::borrow::Cow<'a, str> {
    use std::borrow::Cow;
    if !language(ecosystem).is_some_and(|l| l.pep503_names) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    let mut in_sep = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            if !in_sep {
                out.push('-');
            }
            in_sep = true;
        } else {
            out.extend(c.to_lowercase());
            in_sep = false;
        }
    }
    if out == name {
        Cow::Borrowed(name)
    } else {
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        let r = Registry::builtin();
        assert_eq!(scheme_for(r, "Debian:12"), Some(Scheme::Dpkg));
        assert_eq!(scheme_for(r, "Ubuntu:22.04:LTS"), Some(Scheme::Dpkg));
        assert_eq!(scheme_for(r, "Alpine:v3.18"), Some(Scheme::Apk));
        assert_eq!(scheme_for(r, "Wolfi"), Some(Scheme::Apk));
        assert_eq!(scheme_for(r, "Rocky Linux:8"), Some(Scheme::Rpm));
        assert_eq!(
            scheme_for(r, "Red Hat:enterprise_linux:8::appstream"),
            Some(Scheme::Rpm)
        );
        assert_eq!(
            scheme_for(r, "SUSE:Linux Enterprise Server 15 SP5"),
            Some(Scheme::Rpm)
        );
        assert_eq!(scheme_for(r, "Mageia:9"), Some(Scheme::Rpm));
        assert_eq!(scheme_for(r, "PyPI"), Some(Scheme::Pep440));
        assert_eq!(scheme_for(r, "crates.io"), Some(Scheme::Semver));
        assert_eq!(scheme_for(r, "Packagist"), Some(Scheme::Composer));
        assert_eq!(scheme_for(r, "Hex"), None);
        assert_eq!(scheme_for(r, "Nonesuch"), None);
    }

    #[test]
    fn pep503() {
        assert_eq!(
            normalize_package("PyPI", "Zope.Interface"),
            "zope-interface"
        );
        assert_eq!(normalize_package("PyPI", "a__b"), "a-b");
        assert_eq!(normalize_package("npm", "Left_Pad"), "Left_Pad");
    }
}
