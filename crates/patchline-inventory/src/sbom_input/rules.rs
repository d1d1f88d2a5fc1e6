//! Rules every reader shares to rebuild what the matcher reads from what a purl or a
//! property says: the package type, the epoch, the source package, the layer.

use super::*;

/// The ecosystem of a purl type or of patchline's own `patchline:package:ecosystem`.
pub(super) fn ecosystem_of(s: &str) -> Option<Ecosystem> {
    Ecosystem::from_purl_type(s.trim())
}

/// A language package's name as OSV names it, from its purl: the inverse of
/// [`purl::language_parts`](patchline_model::purl::write::language_parts) (`@scope/name`,
/// `golang.org/x/net`, `group:artifact`, `vendor/name`).
pub(super) fn language_name(eco: Ecosystem, purl: &Purl) -> String {
    match (eco, purl.namespace.as_deref().filter(|n| !n.is_empty())) {
        (Ecosystem::Maven, Some(ns)) => format!("{ns}:{}", purl.name),
        (Ecosystem::Npm | Ecosystem::Golang | Ecosystem::Composer, Some(ns)) => {
            format!("{ns}/{}", purl.name)
        }
        _ => purl.name.clone(),
    }
}

/// `N:` at the start of a dpkg/rpm version.
pub(super) fn leading_epoch(v: &str) -> Option<(u32, &str)> {
    let (e, rest) = v.split_once(':')?;
    if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((e.parse().ok()?, rest))
}

/// The full version and epoch: a version that carries its epoch keeps it; otherwise a
/// non-zero epoch from elsewhere (the purl qualifier, a property) is put in front, as
/// the inventory's versions always carry it. apk has no epochs.
pub(super) fn with_epoch(
    eco: Ecosystem,
    version: &str,
    epoch: Option<u32>,
) -> (String, Option<u32>) {
    // apk has no epochs; language versions are compared as written.
    if eco == Ecosystem::Apk || !eco.is_os() {
        return (version.to_string(), None);
    }
    if let Some((e, _)) = leading_epoch(version) {
        return (version.to_string(), Some(e));
    }
    match epoch {
        Some(e) if e != 0 => (format!("{e}:{version}"), Some(e)),
        _ => (version.to_string(), None),
    }
}

/// Source name and version from a purl `upstream=NAME[@VERSION]` qualifier.
pub(super) fn source_from_upstream(eco: Ecosystem, up: &str, p: &Package) -> (String, String) {
    // Syft puts the source rpm's file name there: `openssl-1.1.1k-12.el8_9.src.rpm`.
    if eco == Ecosystem::Rpm {
        if let Some((n, v, r)) = patchline_rpmdb::split_source_rpm(up) {
            return (n, with_epoch(eco, &format!("{v}-{r}"), p.epoch).0);
        }
    }
    match up.rsplit_once('@') {
        Some((n, v)) if !n.is_empty() && !v.is_empty() => {
            (n.to_string(), with_epoch(eco, v, p.epoch).0)
        }
        _ => (up.to_string(), p.version.clone()),
    }
}

/// A purl that names an OS package type even if it does not parse: losing such a
/// package changes findings, so it is reported rather than counted as a language one.
pub(super) fn looks_like_os_purl(s: &str) -> bool {
    let s = s.trim().to_ascii_lowercase();
    ["pkg:deb/", "pkg:apk/", "pkg:rpm/"]
        .iter()
        .any(|p| s.starts_with(p))
}

pub(super) fn parse_index(s: &str) -> Option<usize> {
    s.trim().parse().ok()
}

pub(super) fn layer_ref(index: Option<&str>, diff_id: Option<&str>) -> Option<LayerRef> {
    Some(LayerRef {
        index: parse_index(index?)?,
        diff_id: diff_id?.trim().parse().ok()?,
    })
}

/// The layer with this diff_id, for formats that name a package's layer only by digest.
pub(super) fn layer_by_diff_id(layers: &[LayerInfo], diff_id: &str) -> Option<LayerRef> {
    let d: Digest = diff_id.trim().parse().ok()?;
    layers.iter().find(|l| l.diff_id == d).map(|l| LayerRef {
        index: l.index,
        diff_id: d,
    })
}

/// `var/lib/dpkg/status` from Syft's `/var/lib/dpkg/status`: paths in the inventory
/// are relative to the image root.
pub(super) fn image_path(p: &str) -> String {
    p.trim().trim_start_matches('/').to_string()
}

/// What was listed but not read as an OS package: each is recorded in the inventory's
/// `unidentified` list (so a scan counts it as not matched, never as clean), plus one
/// warning at the end.
#[derive(Default)]
pub(super) struct Skipped {
    items: Vec<Unidentified>,
}

impl Skipped {
    /// A component with a purl of an ecosystem patchline does not match (yet).
    pub(super) fn add(&mut self, purl: &str) {
        let ty = purl
            .strip_prefix("pkg:")
            .and_then(|r| r.split('/').next())
            .unwrap_or("");
        self.items.push(Unidentified {
            component: purl.chars().take(300).collect(),
            reason: format!(
                "pkg:{} packages are not matched: patchline has no advisory rules for that package type",
                ty.chars().take(40).collect::<String>()
            ),
        });
    }

    /// A component without a purl: nothing says which ecosystem's versions it has.
    pub(super) fn add_unnamed(&mut self, name: &str, version: Option<&str>) {
        let component = match version {
            Some(v) if !v.is_empty() => format!("{name}@{v}"),
            _ => name.to_string(),
        };
        self.items.push(Unidentified {
            component: component.chars().take(300).collect(),
            reason: "no package URL (purl): its ecosystem, and so its advisories, cannot be told"
                .into(),
        });
    }

    /// Records the components in `inv` and warns once.
    pub(super) fn finish(self, inv: &mut Inventory, origin: &str) {
        let count = self.items.len();
        if count == 0 {
            return;
        }
        let examples: Vec<&str> = self
            .items
            .iter()
            .take(3)
            .map(|u| u.component.as_str())
            .collect();
        inv.warnings.push(Warning {
            source: "sbom".into(),
            location: origin.into(),
            message: format!(
                "{count} component{} not matched: of a package type patchline does not match, or without a purl (e.g. {}); the scan lists them as unmatched",
                if count == 1 { "" } else { "s" },
                examples.join(", ")
            ),
        });
        inv.unidentified.extend(self.items);
    }
}

pub(super) fn warn(inv: &mut Inventory, origin: &str, message: String) {
    inv.warnings.push(Warning {
        source: "sbom".into(),
        location: origin.into(),
        message,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs() {
        assert_eq!(
            with_epoch(Ecosystem::Deb, "4.13+dfsg1-1", Some(1)),
            ("1:4.13+dfsg1-1".into(), Some(1))
        );
        assert_eq!(
            with_epoch(Ecosystem::Rpm, "1:1.1.1k-9.el8", Some(1)),
            ("1:1.1.1k-9.el8".into(), Some(1))
        );
        assert_eq!(
            with_epoch(Ecosystem::Rpm, "2.2.53-1.el8", Some(0)),
            ("2.2.53-1.el8".into(), None)
        );
        assert_eq!(
            with_epoch(Ecosystem::Apk, "1.2-r0", Some(3)),
            ("1.2-r0".into(), None)
        );
    }
}
