//! Writing purls for OS and language packages.

use crate::distro::Registry;
use crate::{Distro, Ecosystem, Package};

/// Percent-encodes `s`, keeping the purl unreserved characters `A-Z a-z 0-9 . - _ ~`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The purl namespace for a distro's packages: the vendor as the purl spec's examples
/// name it (`debian`, `ubuntu`, `alpine`, `redhat`, `fedora`, ...), from the distro
/// registry. An unknown distro is named by its id; without a distro, the package type's
/// best-known vendor (`debian`, `alpine`) or the bare type (`rpm`) is used.
pub fn namespace(ecosystem: Ecosystem, distro: Option<&Distro>) -> String {
    let id = distro.map(|d| d.id.trim()).unwrap_or("");
    if id.is_empty() {
        return match ecosystem {
            Ecosystem::Deb => "debian".into(),
            Ecosystem::Apk => "alpine".into(),
            Ecosystem::Rpm => "rpm".into(),
            _ => String::new(),
        };
    }
    match Registry::builtin().by_name(id) {
        Some(spec) => spec.purl_namespace.to_string(),
        None => id.to_ascii_lowercase(),
    }
}

/// Builds the purl of a package: an OS package's with its distro, a language package's
/// as the purl spec writes its type.
pub fn for_package(p: &Package, distro: Option<&Distro>) -> String {
    if !p.ecosystem.is_os() {
        return for_language_package(p);
    }
    let mut q: Vec<(&str, String)> = Vec::new();
    if let Some(a) = &p.arch {
        q.push(("arch", a.clone()));
    }
    if let Some(d) = distro {
        q.push(("distro", d.purl_qualifier()));
    }
    if let Some(e) = p.epoch.filter(|e| *e != 0) {
        q.push(("epoch", e.to_string()));
    }
    if let Some(src) = &p.source_name {
        let sv = p.source_version.as_deref().unwrap_or(&p.version);
        let same_version = strip_epoch(sv) == p.version_without_epoch();
        if src != &p.name || !same_version {
            if same_version {
                q.push(("upstream", src.clone()));
            } else {
                q.push(("upstream", format!("{src}@{}", strip_epoch(sv))));
            }
        }
    }
    q.sort_by(|a, b| a.0.cmp(b.0));
    let mut s = format!(
        "pkg:{}/{}/{}@{}",
        p.ecosystem.as_str(),
        encode(&namespace(p.ecosystem, distro)),
        encode(&p.name),
        encode(p.version_without_epoch())
    );
    for (i, (k, v)) in q.iter().enumerate() {
        s.push(if i == 0 { '?' } else { '&' });
        s.push_str(k);
        s.push('=');
        s.push_str(&encode(v));
    }
    s
}

fn strip_epoch(v: &str) -> &str {
    match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn debian12() -> Distro {
        Distro {
            id: "debian".into(),
            version_id: Some("12".into()),
            source: "etc/os-release".into(),
            ..Default::default()
        }
    }

    #[test]
    fn deb_with_epoch_and_upstream() {
        let mut p = Package::new(Ecosystem::Deb, "libgcc-s1", "12.2.0-14+deb12u1");
        p.arch = Some("amd64".into());
        p.source_name = Some("gcc-12".into());
        p.source_version = Some("12.2.0-14+deb12u1".into());
        assert_eq!(
            for_package(&p, Some(&debian12())),
            "pkg:deb/debian/libgcc-s1@12.2.0-14%2Bdeb12u1?arch=amd64&distro=debian-12&upstream=gcc-12"
        );
        let mut p = Package::new(Ecosystem::Deb, "login", "1:4.13+dfsg1-1+b1");
        p.epoch = Some(1);
        p.arch = Some("amd64".into());
        p.source_name = Some("shadow".into());
        p.source_version = Some("1:4.13+dfsg1-1".into());
        assert_eq!(
            for_package(&p, Some(&debian12())),
            "pkg:deb/debian/login@4.13%2Bdfsg1-1%2Bb1?arch=amd64&distro=debian-12&epoch=1&upstream=shadow%404.13%2Bdfsg1-1"
        );
    }

    #[test]
    fn rpm_namespace() {
        let d = Distro {
            id: "rhel".into(),
            version_id: Some("8.9".into()),
            source: "etc/os-release".into(),
            ..Default::default()
        };
        let mut p = Package::new(Ecosystem::Rpm, "openssl-libs", "1:1.1.1k-9.el8_7");
        p.epoch = Some(1);
        p.arch = Some("x86_64".into());
        p.source_name = Some("openssl".into());
        p.source_version = Some("1:1.1.1k-9.el8_7".into());
        assert_eq!(
            for_package(&p, Some(&d)),
            "pkg:rpm/redhat/openssl-libs@1.1.1k-9.el8_7?arch=x86_64&distro=rhel-8.9&epoch=1&upstream=openssl"
        );
    }
}

/// The namespace and name of a language package as its purl type splits them: PyPI's
/// name normalised (lowercase, `_` as `-`), npm's scope, a Go module's path up to its
/// last segment, Maven's `group:artifact`, Composer's `vendor/name`.
pub fn language_parts(ecosystem: Ecosystem, name: &str) -> (Option<String>, String) {
    match ecosystem {
        Ecosystem::Pypi => (None, name.to_ascii_lowercase().replace('_', "-")),
        Ecosystem::Npm => match name.strip_prefix('@').and_then(|s| s.split_once('/')) {
            Some((scope, n)) => (
                Some(format!("@{}", scope.to_ascii_lowercase())),
                n.to_ascii_lowercase(),
            ),
            None => (None, name.to_ascii_lowercase()),
        },
        Ecosystem::Golang => match name.rsplit_once('/') {
            Some((ns, n)) => (Some(ns.to_string()), n.to_string()),
            None => (None, name.to_string()),
        },
        Ecosystem::Maven => match name.split_once(':') {
            Some((g, a)) => (Some(g.to_string()), a.to_string()),
            None => (None, name.to_string()),
        },
        Ecosystem::Composer => match name.split_once('/') {
            Some((v, n)) => (Some(v.to_ascii_lowercase()), n.to_ascii_lowercase()),
            None => (None, name.to_ascii_lowercase()),
        },
        _ => (None, name.to_string()),
    }
}

fn for_language_package(p: &Package) -> String {
    let (ns, name) = language_parts(p.ecosystem, &p.name);
    let mut s = format!("pkg:{}/", p.ecosystem.as_str());
    if let Some(ns) = ns {
        // Each namespace segment is encoded on its own; the slashes between them stay.
        let segs: Vec<String> = ns.split('/').map(encode).collect();
        s.push_str(&segs.join("/"));
        s.push('/');
    }
    s.push_str(&encode(&name));
    if !p.version.is_empty() {
        s.push('@');
        s.push_str(&encode(&p.version));
    }
    s
}

#[cfg(test)]
mod language_tests {
    use super::*;

    fn purl(e: Ecosystem, name: &str, version: &str) -> String {
        for_package(&Package::new(e, name, version), None)
    }

    #[test]
    fn language_purls_follow_the_spec() {
        assert_eq!(
            purl(Ecosystem::Pypi, "Django_Rest", "1.0"),
            "pkg:pypi/django-rest@1.0"
        );
        assert_eq!(
            purl(Ecosystem::Npm, "@Babel/core", "7.0.0"),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            purl(Ecosystem::Npm, "lodash", "4.17.20"),
            "pkg:npm/lodash@4.17.20"
        );
        assert_eq!(
            purl(Ecosystem::Golang, "golang.org/x/net", "v0.1.0"),
            "pkg:golang/golang.org/x/net@v0.1.0"
        );
        assert_eq!(
            purl(Ecosystem::Golang, "stdlib", "go1.21.0"),
            "pkg:golang/stdlib@go1.21.0"
        );
        assert_eq!(
            purl(
                Ecosystem::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.14.1"
            ),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
        assert_eq!(
            purl(Ecosystem::Composer, "Monolog/monolog", "2.0"),
            "pkg:composer/monolog/monolog@2.0"
        );
        assert_eq!(
            purl(Ecosystem::Cargo, "serde", "1.0.0"),
            "pkg:cargo/serde@1.0.0"
        );
        assert_eq!(purl(Ecosystem::Gem, "rack", "2.2.3"), "pkg:gem/rack@2.2.3");
        assert_eq!(
            purl(Ecosystem::Nuget, "Newtonsoft.Json", "13.0.1"),
            "pkg:nuget/Newtonsoft.Json@13.0.1"
        );
    }
}
