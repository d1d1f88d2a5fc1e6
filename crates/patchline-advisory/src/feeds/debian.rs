//! The Debian security tracker's JSON
//! (<https://security-tracker.debian.org/tracker/data/json>):
//! `{source package: {CVE or TEMP id: {description, releases: {codename: {status,
//! fixed_version, urgency, nodsa, nodsa_reason}}}}}`.
//!
//! One [`Advisory`] per tracker id, named like osv.dev names its Debian records
//! (`DEBIAN-CVE-2023-38545`, alias `CVE-2023-38545`), with one `affected` entry per
//! (source package, release). The ecosystem is `Debian:<number>`, the release the
//! distro registry gives the tracker's code name
//! ([`tracker_release`]); a code name
//! it does not know is kept as is (`Debian:<codename>`) with a warning.
//!
//! | tracker | patchline |
//! |---|---|
//! | `resolved`, `fixed_version` `0` | `NotAffected`, no range |
//! | `resolved`, `fixed_version` V | range introduced 0, fixed V; `Fixed` |
//! | `open` or `undetermined`, urgency `unimportant` | range introduced 0; `Unimportant` |
//! | `open`, `nodsa_reason` `ignored` | range introduced 0; `WillNotFix` |
//! | `open` (also `nodsa_reason` `postponed`), `undetermined` | range introduced 0; `Unfixed` |
//!
//! The urgency becomes a vendor severity `{type: "Debian", score}` with the tracker's
//! `*` markers stripped (`low**` → `low`); `not yet assigned` is no rating and is left out.

use std::collections::BTreeMap;

use patchline_model::vuln::{
    Advisory, Affected, DistroState, Event, Range, RangeKind, SeverityScore,
};
use serde::Deserialize;

use patchline_model::distro::debian::tracker_release;

use super::{Document, Download, Feed, Format, Sink, Yields};
use crate::error::{json_error, Origin, Result};
use crate::util::{check_id, lenient_str, nullable, shown};

/// The tracker's JSON export, the default source `debian-tracker`.
pub const TRACKER_URL: &str = "https://security-tracker.debian.org/tracker/data/json";

/// The Debian security tracker: the only Debian feed with the no-DSA / unimportant
/// verdicts (osv.dev's Debian records lack them).
pub struct TrackerFeed;

impl Feed for TrackerFeed {
    fn format(&self) -> Format {
        Format::DebianTracker
    }
    fn title(&self) -> &'static str {
        "Debian security tracker JSON"
    }
    fn yields(&self) -> Yields {
        Yields::Advisories
    }
    /// `{package: {id: {releases: …, description: …}}}`: told by the first entry.
    fn detect(&self, doc: &Document<'_>) -> bool {
        let Some(s) = doc.json() else {
            return false;
        };
        let Some(pkg) = s.first.as_deref().filter(|_| s.is_object) else {
            return false;
        };
        pkg.is_object
            && pkg
                .first
                .as_deref()
                .is_some_and(|e| e.is_object && (e.has("releases") || e.has("description")))
    }
    fn parse(&self, origin: &Origin, doc: &Document<'_>, sink: &mut dyn Sink) -> Result<usize> {
        parse(origin, doc.bytes(), sink)
    }
    fn downloads(&self) -> Vec<Download> {
        vec![Download {
            name: Format::DebianTracker.as_str().into(),
            url: TRACKER_URL.into(),
        }]
    }
}

type Tracker = BTreeMap<String, BTreeMap<String, TrackerEntry>>;

#[derive(Deserialize)]
struct TrackerEntry {
    #[serde(default, deserialize_with = "lenient_str")]
    description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    releases: BTreeMap<String, TrackerRelease>,
}

#[derive(Deserialize)]
struct TrackerRelease {
    status: String,
    #[serde(default, deserialize_with = "nullable")]
    fixed_version: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    urgency: Option<String>,
    #[serde(default, deserialize_with = "lenient_str")]
    nodsa_reason: Option<String>,
}

/// The tracker urgency as a vendor severity score, or `None` when it is no rating.
pub(crate) fn urgency_score(urgency: &str) -> Option<String> {
    let u = urgency.trim().trim_end_matches('*').trim();
    if u.is_empty() || u == "not yet assigned" {
        None
    } else {
        Some(u.to_string())
    }
}

fn parse(origin: &Origin, bytes: &[u8], sink: &mut dyn Sink) -> Result<usize> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let tracker: Tracker = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| json_error(origin, "Debian security tracker JSON", e))?;
    let mut out: BTreeMap<String, Advisory> = BTreeMap::new();
    let mut unknown_codenames: BTreeMap<String, usize> = BTreeMap::new();
    for (package, entries) in tracker {
        if package.trim().is_empty() {
            return Err(crate::Error::input(
                origin,
                "a source package name is empty",
            ));
        }
        for (vuln, entry) in entries {
            check_id(&vuln).map_err(|e| {
                crate::Error::input(
                    origin,
                    format!("package {}: vulnerability id {e}", shown(&package)),
                )
            })?;
            let adv = out.entry(vuln.clone()).or_insert_with(|| Advisory {
                id: format!("DEBIAN-{vuln}"),
                aliases: if vuln.starts_with("CVE-") {
                    vec![vuln.clone()]
                } else {
                    Vec::new()
                },
                details: entry.description.clone().filter(|d| !d.is_empty()),
                source: Format::DebianTracker.as_str().into(),
                ..Advisory::default()
            });
            for (codename, rel) in entry.releases {
                let release = match tracker_release(&codename) {
                    Some(n) => n.to_string(),
                    None => {
                        *unknown_codenames.entry(codename.clone()).or_default() += 1;
                        codename.clone()
                    }
                };
                let urgency = rel.urgency.as_deref().and_then(urgency_score);
                let unimportant = urgency.as_deref() == Some("unimportant");
                let fixed = rel
                    .fixed_version
                    .as_deref()
                    .map(str::trim)
                    .filter(|v| !v.is_empty());
                let (ranges, state) = match (rel.status.as_str(), fixed) {
                    ("resolved", Some("0")) => (Vec::new(), DistroState::NotAffected),
                    ("resolved", Some(v)) => (
                        vec![Range {
                            kind: RangeKind::Ecosystem,
                            events: vec![Event::Introduced("0".into()), Event::Fixed(v.into())],
                        }],
                        DistroState::Fixed,
                    ),
                    ("resolved", None) => {
                        sink.warning(
                            origin,
                            format!(
                                "{package}/{vuln}/{codename}: status resolved without fixed_version; recorded as not affected"
                            ),
                        );
                        (Vec::new(), DistroState::NotAffected)
                    }
                    ("open" | "undetermined", _) => {
                        let state = if unimportant {
                            DistroState::Unimportant
                        } else if rel.nodsa_reason.as_deref() == Some("ignored") {
                            DistroState::WillNotFix
                        } else {
                            DistroState::Unfixed
                        };
                        (
                            vec![Range {
                                kind: RangeKind::Ecosystem,
                                events: vec![Event::Introduced("0".into())],
                            }],
                            state,
                        )
                    }
                    (other, _) => {
                        return Err(crate::Error::input(
                            origin,
                            format!(
                                "field `{package}.{vuln}.releases.{codename}.status`: unknown status {} (expected resolved, open or undetermined)",
                                shown(other)
                            ),
                        ))
                    }
                };
                adv.affected.push(Affected {
                    ecosystem: format!("Debian:{release}"),
                    package: package.clone(),
                    purl: None,
                    ranges,
                    versions: Vec::new(),
                    state: Some(state),
                    severity: urgency
                        .map(|score| {
                            vec![SeverityScore {
                                kind: "Debian".into(),
                                score,
                            }]
                        })
                        .unwrap_or_default(),
                });
            }
        }
    }
    for (codename, n) in unknown_codenames {
        sink.warning(
            origin,
            format!("unknown Debian codename {codename:?} ({n} entries): stored as ecosystem Debian:{codename}"),
        );
    }
    let n = out.len();
    for (_, adv) in out {
        sink.advisory(adv)?;
    }
    Ok(n)
}
