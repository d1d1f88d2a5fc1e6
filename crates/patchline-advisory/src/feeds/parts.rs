//! osv.dev's vulnfeeds intermediate "parts" files (`CVE-2016-2176.alpine.json`,
//! `….debian.json`, `….nvd.json`): a JSON array of per-distro affected lists that
//! osv.dev's converters later combine into OSV records. The vulnerability id is not in
//! the content: it is the file name up to the first dot.
//!
//! Entries with a package (`pkg_name` + `ecosystem`) become `affected` entries of one
//! [`Advisory`] with an ECOSYSTEM range built from their `affected_versions` events
//! (`introduced` `0` prepended when missing); a Debian `ecosystem_specific.urgency`
//! becomes a vendor severity. Entries with commit ranges only (the `.nvd` parts) name no
//! package: they are skipped with a warning.

use patchline_model::vuln::{Advisory, Affected, Event, Range, RangeKind, SeverityScore};
use serde::Deserialize;

use patchline_model::distro::Registry;

use super::{Document, Feed, Format, Sink, Yields};
use crate::error::{json_error, Origin, Result};
use crate::util::{check_id, embedded_cve, lenient_str, nullable, shown};

/// osv.dev's intermediate files; no download (they are not published as a feed).
pub struct PartsFeed;

impl Feed for PartsFeed {
    fn format(&self) -> Format {
        Format::OsvParts
    }
    fn title(&self) -> &'static str {
        "osv.dev vulnfeeds parts JSON"
    }
    fn yields(&self) -> Yields {
        Yields::Advisories
    }
    /// A JSON array whose first element has `pkg_name` or `fixed_version`.
    fn detect(&self, doc: &Document<'_>) -> bool {
        doc.json().is_some_and(|s| {
            s.is_array
                && s.first
                    .as_deref()
                    .is_some_and(|f| f.is_object && (f.has("pkg_name") || f.has("fixed_version")))
        })
    }
    fn parse(&self, origin: &Origin, doc: &Document<'_>, sink: &mut dyn Sink) -> Result<usize> {
        parse(origin, doc.bytes(), sink)
    }
}

#[derive(Deserialize)]
struct Part {
    #[serde(default, deserialize_with = "nullable")]
    pkg_name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    ecosystem: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    purl: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    fixed_version: FixedVersion,
    #[serde(default, deserialize_with = "nullable")]
    ecosystem_specific: Specific,
}

#[derive(Deserialize, Default)]
struct FixedVersion {
    #[serde(default, alias = "AffectedVersions", deserialize_with = "nullable")]
    affected_versions: Vec<VersionEvents>,
}

#[derive(Deserialize)]
struct VersionEvents {
    #[serde(default, alias = "Introduced", deserialize_with = "nullable")]
    introduced: Option<String>,
    #[serde(default, alias = "Fixed", deserialize_with = "nullable")]
    fixed: Option<String>,
    #[serde(default, alias = "LastAffected", deserialize_with = "nullable")]
    last_affected: Option<String>,
}

#[derive(Deserialize, Default)]
struct Specific {
    #[serde(default, deserialize_with = "lenient_str")]
    urgency: Option<String>,
}

/// The vulnerability id a parts file is about, from its name.
fn id_from_name(origin: &Origin) -> Result<String> {
    let leaf = origin.leaf_name();
    let id = leaf.split('.').next().unwrap_or("");
    if check_id(id).is_err() || !id.bytes().any(|b| b.is_ascii_digit()) || !id.contains('-') {
        return Err(crate::Error::input(
            origin,
            format!(
                "osv.dev vulnfeeds parts file: the name {} does not start with a vulnerability id (CVE-YYYY-N.<distro>.json)",
                shown(leaf)
            ),
        ));
    }
    Ok(id.to_string())
}

fn parse(origin: &Origin, bytes: &[u8], sink: &mut dyn Sink) -> Result<usize> {
    let id = id_from_name(origin)?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parts: Vec<Part> = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| json_error(origin, "osv.dev vulnfeeds parts JSON", e))?;
    let mut adv = Advisory {
        id: id.clone(),
        source: Format::OsvParts.as_str().into(),
        ..Advisory::default()
    };
    if let Some(cve) = embedded_cve(&id) {
        adv.aliases.push(cve.to_string());
    }
    let mut skipped = 0;
    for (i, p) in parts.into_iter().enumerate() {
        let (Some(name), Some(eco)) = (p.pkg_name, p.ecosystem) else {
            skipped += 1;
            continue;
        };
        if name.trim().is_empty() || eco.trim().is_empty() {
            return Err(crate::Error::input(
                origin,
                format!("field `[{i}]`: empty pkg_name or ecosystem"),
            ));
        }
        let mut events = Vec::new();
        for v in p.fixed_version.affected_versions {
            let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
            if let Some(x) = nonempty(v.introduced) {
                events.push(Event::Introduced(x));
            }
            if let Some(x) = nonempty(v.fixed) {
                events.push(Event::Fixed(x));
            }
            if let Some(x) = nonempty(v.last_affected) {
                events.push(Event::LastAffected(x));
            }
        }
        if !matches!(events.first(), Some(Event::Introduced(_))) {
            events.insert(0, Event::Introduced("0".into()));
        }
        let vendor = eco.split(':').next().unwrap_or("Debian").to_string();
        let severity = p
            .ecosystem_specific
            .urgency
            .as_deref()
            .and_then(super::debian::urgency_score)
            .map(|score| {
                vec![SeverityScore {
                    kind: vendor,
                    score,
                }]
            })
            .unwrap_or_default();
        adv.affected.push(Affected {
            ecosystem: Registry::builtin().normalize_ecosystem(&eco).into_owned(),
            package: name,
            purl: p.purl,
            ranges: vec![Range {
                kind: RangeKind::Ecosystem,
                events,
            }],
            versions: Vec::new(),
            state: None,
            severity,
        });
    }
    if skipped > 0 {
        sink.warning(
            origin,
            format!("{skipped} entries name no package (commit ranges only): skipped"),
        );
    }
    if adv.affected.is_empty() {
        return Ok(0);
    }
    sink.advisory(adv)?;
    Ok(1)
}
