//! The distro an SBOM names, brought to the os-release identity the matcher keys on.
//! Every spelling is the distro registry's business
//! ([`patchline_model::distro::Registry`]): this module only gathers what the document
//! says (the operating-system entry, or the purls' `distro=` qualifiers and namespaces).

use patchline_model::distro::Registry;

use super::*;

/// What one package's purl says about the distro: `pkg:deb/debian/x?distro=bookworm`
/// gives namespace `debian`, qualifier `bookworm`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct DistroHint {
    qualifier: Option<String>,
    namespace: Option<String>,
}

impl DistroHint {
    pub(super) fn of(purl: &Purl) -> Option<DistroHint> {
        let qualifier = purl.qualifier("distro").map(|q| q.trim().to_string());
        let namespace = purl.namespace.clone();
        (qualifier.is_some() || namespace.is_some()).then_some(DistroHint {
            qualifier,
            namespace,
        })
    }
}

/// Brings a distro named by another tool (`redhat`, `alma`, `3.16.0`, `bookworm`,
/// Trivy's `12.5`) to the os-release identity images carry.
pub(super) fn normalize_foreign(d: &mut Distro) {
    Registry::builtin().normalize(d);
}

/// The distro most packages' purls name, for SBOMs without an operating-system entry.
/// Purls with a `distro=` qualifier outvote those that only have a namespace (which can
/// name the distro but not its release).
pub(super) fn from_purls<'a>(
    hints: impl Iterator<Item = &'a DistroHint>,
    source: &str,
) -> Option<Distro> {
    let mut counts: BTreeMap<&DistroHint, usize> = BTreeMap::new();
    for h in hints {
        *counts.entry(h).or_default() += 1;
    }
    let (hint, _) = counts.into_iter().max_by(|a, b| {
        (a.0.qualifier.is_some(), a.1)
            .cmp(&(b.0.qualifier.is_some(), b.1))
            .then(b.0.cmp(a.0))
    })?;
    let registry = Registry::builtin();
    let mut d = match &hint.qualifier {
        Some(q) => registry.distro_from_qualifier(q, hint.namespace.as_deref()),
        None => {
            let ns = hint.namespace.as_deref()?;
            // A namespace names a distro only when the registry knows it (`npm`'s
            // scopes and `rpm`'s bare type do not).
            let spec = registry.by_name(ns)?;
            Distro {
                id: spec.id.to_string(),
                ..Default::default()
            }
        }
    };
    d.source = source.into();
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(ns: &str, q: &str) -> DistroHint {
        DistroHint {
            qualifier: (!q.is_empty()).then(|| q.to_string()),
            namespace: (!ns.is_empty()).then(|| ns.to_string()),
        }
    }

    fn from(hints: &[DistroHint]) -> (String, Option<String>) {
        let d = from_purls(hints.iter(), "test").unwrap();
        (d.id, d.version_id)
    }

    #[test]
    fn qualifier_spellings() {
        let want = ("debian".to_string(), Some("12".to_string()));
        for q in ["debian-12", "12", "bookworm", "debian-bookworm"] {
            assert_eq!(from(&[hint("debian", q)]), want, "{q}");
        }
        for q in ["alpine-3.16.0", "3.16.0", "v3.16", "3.16"] {
            let (id, v) = from(&[hint("alpine", q)]);
            assert_eq!(id, "alpine", "{q}");
            assert!(v.as_deref().unwrap().starts_with("3.16"), "{q}: {v:?}");
        }
        for q in ["jammy", "22.04", "ubuntu-22.04"] {
            assert_eq!(
                from(&[hint("ubuntu", q)]),
                ("ubuntu".to_string(), Some("22.04".to_string())),
                "{q}"
            );
        }
        assert_eq!(
            from(&[hint("opensuse", "opensuse-leap-15.5")]),
            ("opensuse-leap".to_string(), Some("15.5".to_string()))
        );
    }

    #[test]
    fn qualifiers_outvote_namespaces() {
        let hints = [
            hint("debian", ""),
            hint("debian", ""),
            hint("debian", "bookworm"),
        ];
        assert_eq!(from(&hints).1.as_deref(), Some("12"));
        assert_eq!(from(&[hint("debian", "")]), ("debian".to_string(), None));
        assert!(from_purls([hint("npm", "")].iter(), "t").is_none());
    }

    #[test]
    fn foreign_names() {
        let mut d = Distro {
            id: "redhat".into(),
            version_id: Some("8.9".into()),
            ..Default::default()
        };
        normalize_foreign(&mut d);
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("rhel", Some("8.9"))
        );
        let mut d = Distro {
            id: "debian".into(),
            version_id: Some("12.5".into()),
            ..Default::default()
        };
        normalize_foreign(&mut d);
        assert_eq!(d.version_id.as_deref(), Some("12"));
    }
}
