//! OSV range semantics: is an installed version inside an `affected` entry, and which
//! fixed version closes the interval it is in.
//!
//! The evaluation is the one the OSV schema specifies (§ Evaluation):
//!
//! * a version is affected by an entry when it is listed in `versions` or falls in one
//!   of its `ranges`;
//! * within a range, the events are sorted by the range's order (the ecosystem's
//!   scheme for `ECOSYSTEM`, SemVer 2.0 for `SEMVER`) and walked: `introduced` ≤ v
//!   makes v affected, `fixed` ≤ v and `last_affected` < v make it unaffected again;
//! * `introduced: "0"` sorts before every version (any event value `"0"` does, so that
//!   `fixed: "0"`, the Debian tracker's "never affected", means nothing is affected);
//! * when a range has `limit` events, only versions below at least one limit can be
//!   affected (`limit: "*"` is unbounded);
//! * `GIT` ranges name commits, which an installed package does not have: they are
//!   ignored.
//!
//! Events at the same version are ordered `introduced` first, so `introduced: X,
//! fixed: X` describes an empty interval and `introduced: X, last_affected: X` the single
//! version X, whatever order the feed listed them in.

use std::cell::OnceCell;
use std::cmp::Ordering;

use patchline_model::vuln::{Affected, Event, Range, RangeKind};
use patchline_version::{InvalidVersion, Scheme, Version};

/// The version scheme of an OSV ecosystem string (`Debian:12`, `Alpine:v3.18`, `PyPI`,
/// `Red Hat:enterprise_linux:8::appstream`, ...), as the distro registry and the
/// ecosystem table of `patchline-model` say. `None` for ecosystems without a scheme here
/// (Hex, Pub, ...).
pub fn scheme_for_ecosystem(ecosystem: &str) -> Option<Scheme> {
    patchline_model::ecosystem::scheme_for(patchline_model::distro::Registry::builtin(), ecosystem)
}

/// An installed version, parsed once in its ecosystem's scheme and, on demand, as
/// SemVer for `SEMVER` ranges.
pub struct Installed {
    version: Version,
    semver: OnceCell<Option<Version>>,
}

impl Installed {
    pub fn parse(scheme: Scheme, v: &str) -> Result<Installed, InvalidVersion> {
        Ok(Installed {
            version: scheme.parse(v)?,
            semver: OnceCell::new(),
        })
    }

    pub fn as_str(&self) -> &str {
        self.version.as_str()
    }

    pub fn scheme(&self) -> Scheme {
        self.version.scheme()
    }

    fn in_scheme(&self, kind: RangeKind) -> Option<&Version> {
        match kind {
            RangeKind::Ecosystem => Some(&self.version),
            RangeKind::Semver if self.version.scheme() == Scheme::Semver => Some(&self.version),
            RangeKind::Semver => self
                .semver
                .get_or_init(|| Scheme::Semver.parse(self.version.as_str()).ok())
                .as_ref(),
            RangeKind::Git => None,
        }
    }
}

/// The outcome of evaluating one `affected` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// The entry carries something to compare with (a non-`GIT` range or a `versions`
    /// list). Without it the entry states nothing about versions.
    pub has_version_info: bool,
    /// The installed version is affected.
    pub affected: bool,
    /// The `fixed` versions closing the affected intervals the version is in (empty when
    /// the interval is open or closed only by `last_affected`).
    pub fixed: Vec<String>,
    /// Ranges that could not be evaluated (an event version the scheme rejects), as
    /// messages naming the range and the version.
    pub problems: Vec<String>,
}

/// Evaluates an entry's `versions` and `ranges` against `installed`.
pub fn evaluate(installed: &Installed, affected: &Affected) -> Evaluation {
    let mut out = Evaluation::default();
    if !affected.versions.is_empty() {
        out.has_version_info = true;
        let scheme = installed.scheme();
        let listed = affected.versions.iter().any(|v| match scheme.parse(v) {
            Ok(p) => p == installed.version,
            Err(_) => v == installed.as_str(),
        });
        if listed {
            out.affected = true;
        }
    }
    for (i, range) in affected.ranges.iter().enumerate() {
        if range.kind == RangeKind::Git {
            continue;
        }
        out.has_version_info = true;
        let Some(v) = installed.in_scheme(range.kind) else {
            out.problems.push(format!(
                "range {}: the installed version {:?} is not valid SemVer",
                i + 1,
                installed.as_str()
            ));
            continue;
        };
        match evaluate_range(v, range) {
            Ok(RangeOutcome::Unaffected) => {}
            Ok(RangeOutcome::Affected { fixed }) => {
                out.affected = true;
                if let Some(f) = fixed {
                    if !out.fixed.contains(&f) {
                        out.fixed.push(f);
                    }
                }
            }
            Err(e) => out.problems.push(format!("range {}: {e}", i + 1)),
        }
    }
    out
}

#[derive(Debug, PartialEq, Eq)]
enum RangeOutcome {
    Unaffected,
    Affected { fixed: Option<String> },
}

/// A range bound: `"0"` is below everything, `"*"` (limits only) above everything.
#[derive(Debug)]
enum Bound {
    Zero,
    At(Version),
    Infinite,
}

impl Bound {
    fn cmp_version(&self, v: &Version) -> Ordering {
        match self {
            Bound::Zero => Ordering::Less,
            Bound::At(b) => b.cmp(v),
            Bound::Infinite => Ordering::Greater,
        }
    }
    fn cmp(&self, other: &Bound) -> Ordering {
        match (self, other) {
            (Bound::Zero, Bound::Zero) | (Bound::Infinite, Bound::Infinite) => Ordering::Equal,
            (Bound::Zero, _) | (_, Bound::Infinite) => Ordering::Less,
            (_, Bound::Zero) | (Bound::Infinite, _) => Ordering::Greater,
            (Bound::At(a), Bound::At(b)) => a.cmp(b),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Introduced,
    Fixed,
    LastAffected,
}

fn evaluate_range(v: &Version, range: &Range) -> Result<RangeOutcome, InvalidVersion> {
    let scheme = v.scheme();
    let bound = |s: &str, allow_star: bool| -> Result<Bound, InvalidVersion> {
        match s.trim() {
            "0" => Ok(Bound::Zero),
            "*" if allow_star => Ok(Bound::Infinite),
            t => scheme.parse(t).map(Bound::At),
        }
    };
    let mut events: Vec<(Bound, Kind, &str)> = Vec::with_capacity(range.events.len());
    let mut limits = Vec::new();
    for e in &range.events {
        match e {
            Event::Introduced(s) => events.push((bound(s, false)?, Kind::Introduced, s)),
            Event::Fixed(s) => events.push((bound(s, false)?, Kind::Fixed, s)),
            Event::LastAffected(s) => events.push((bound(s, false)?, Kind::LastAffected, s)),
            Event::Limit(s) => limits.push(bound(s, true)?),
        }
    }
    if !limits.is_empty() && !limits.iter().any(|l| l.cmp_version(v) == Ordering::Greater) {
        return Ok(RangeOutcome::Unaffected);
    }
    // Stable sort: at equal versions `introduced` comes first (see the module docs).
    events.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| (a.1 != Kind::Introduced).cmp(&(b.1 != Kind::Introduced)))
    });
    let mut affected = false;
    for (b, kind, _) in &events {
        let c = b.cmp_version(v); // bound relative to v
        match kind {
            Kind::Introduced if c != Ordering::Greater => affected = true,
            Kind::Fixed if c != Ordering::Greater => affected = false,
            Kind::LastAffected if c == Ordering::Less => affected = false,
            _ => {}
        }
    }
    if !affected {
        return Ok(RangeOutcome::Unaffected);
    }
    // The interval v is in ends at the first closing event at or above v.
    let fixed = events
        .iter()
        .filter(|(_, k, _)| *k != Kind::Introduced)
        .find(|(b, _, _)| b.cmp_version(v) != Ordering::Less)
        .and_then(|(_, k, s)| (*k == Kind::Fixed).then(|| s.trim().to_string()));
    Ok(RangeOutcome::Affected { fixed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchline_model::vuln::Affected;

    fn range(kind: RangeKind, events: &[(&str, &str)]) -> Range {
        Range {
            kind,
            events: events
                .iter()
                .map(|(k, v)| match *k {
                    "introduced" => Event::Introduced(v.to_string()),
                    "fixed" => Event::Fixed(v.to_string()),
                    "last_affected" => Event::LastAffected(v.to_string()),
                    "limit" => Event::Limit(v.to_string()),
                    _ => unreachable!(),
                })
                .collect(),
        }
    }

    fn eval(scheme: Scheme, v: &str, ranges: Vec<Range>, versions: &[&str]) -> Evaluation {
        let a = Affected {
            ecosystem: "x".into(),
            package: "p".into(),
            ranges,
            versions: versions.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        evaluate(&Installed::parse(scheme, v).unwrap(), &a)
    }

    fn affected(scheme: Scheme, v: &str, events: &[(&str, &str)]) -> (bool, Vec<String>) {
        let e = eval(scheme, v, vec![range(RangeKind::Ecosystem, events)], &[]);
        assert!(e.problems.is_empty(), "{:?}", e.problems);
        (e.affected, e.fixed)
    }

    #[test]
    fn dpkg_introduced_zero_fixed() {
        let ev = [("introduced", "0"), ("fixed", "7.88.1-10+deb12u4")];
        assert_eq!(
            affected(Scheme::Dpkg, "7.88.1-10+deb12u3", &ev),
            (true, vec!["7.88.1-10+deb12u4".into()])
        );
        assert_eq!(
            affected(Scheme::Dpkg, "7.88.1-10+deb12u4", &ev),
            (false, vec![])
        );
        assert_eq!(
            affected(Scheme::Dpkg, "7.88.1-10+deb12u5", &ev),
            (false, vec![])
        );
        // `~` sorts before the end: a backport below the fix is affected.
        assert!(affected(Scheme::Dpkg, "7.88.1-10+deb12u4~bpo1", &ev).0);
        // Epochs dominate.
        assert!(!affected(Scheme::Dpkg, "1:7.0-1", &ev).0);
    }

    #[test]
    fn fixed_zero_means_never_affected() {
        assert_eq!(
            affected(
                Scheme::Dpkg,
                "1.0-1",
                &[("introduced", "0"), ("fixed", "0")]
            ),
            (false, vec![])
        );
    }

    #[test]
    fn unsorted_events_and_several_intervals() {
        // Listed out of order on purpose; sorted by the scheme (rpm: 1.10 > 1.9).
        let ev = [
            ("fixed", "1.10-1"),
            ("introduced", "1.9-1"),
            ("fixed", "1.2-1"),
            ("introduced", "0"),
        ];
        assert_eq!(
            affected(Scheme::Rpm, "1.1-1", &ev),
            (true, vec!["1.2-1".into()])
        );
        assert_eq!(affected(Scheme::Rpm, "1.5-1", &ev), (false, vec![]));
        assert_eq!(
            affected(Scheme::Rpm, "1.9.5-1", &ev),
            (true, vec!["1.10-1".into()])
        );
        assert_eq!(affected(Scheme::Rpm, "1.10-1", &ev), (false, vec![]));
        assert_eq!(affected(Scheme::Rpm, "1:1.0-1", &ev), (false, vec![]));
    }

    #[test]
    fn last_affected_is_inclusive_and_has_no_fix() {
        let ev = [
            ("introduced", "1.1.1a-r0"),
            ("last_affected", "1.1.1c-r0"),
            ("introduced", "1.1.1f-r0"),
            ("fixed", "1.1.1g-r0"),
        ];
        assert_eq!(affected(Scheme::Apk, "1.1.1-r0", &ev), (false, vec![]));
        assert_eq!(affected(Scheme::Apk, "1.1.1a-r0", &ev), (true, vec![]));
        assert_eq!(affected(Scheme::Apk, "1.1.1c-r0", &ev), (true, vec![]));
        assert_eq!(affected(Scheme::Apk, "1.1.1c-r1", &ev), (false, vec![]));
        assert_eq!(
            affected(Scheme::Apk, "1.1.1f-r2", &ev),
            (true, vec!["1.1.1g-r0".into()])
        );
        // apk suffix ladder: _rc sorts before the release.
        assert_eq!(
            affected(Scheme::Apk, "1.1.1g_rc1-r0", &ev),
            (true, vec!["1.1.1g-r0".into()])
        );
    }

    #[test]
    fn ties_order_introduced_first() {
        // An empty interval and a single-version interval, whatever the listed order.
        let empty = [("fixed", "2.0"), ("introduced", "2.0")];
        assert!(!affected(Scheme::Pep440, "2.0", &empty).0);
        let single = [("last_affected", "2.0"), ("introduced", "2.0")];
        assert!(affected(Scheme::Pep440, "2.0", &single).0);
        assert!(!affected(Scheme::Pep440, "2.0.post1", &single).0);
        assert!(!affected(Scheme::Pep440, "2.0rc1", &single).0);
    }

    #[test]
    fn limits() {
        let ev = [("introduced", "0"), ("limit", "2.0.0")];
        assert_eq!(affected(Scheme::Semver, "1.9.9", &ev), (true, vec![]));
        assert_eq!(affected(Scheme::Semver, "2.0.0", &ev), (false, vec![]));
        let star = [("introduced", "1.0.0"), ("limit", "*")];
        assert!(affected(Scheme::Semver, "99.0.0", &star).0);
        let two = [("introduced", "0"), ("limit", "1.0.0"), ("limit", "3.0.0")];
        assert!(affected(Scheme::Semver, "2.0.0", &two).0);
        assert!(!affected(Scheme::Semver, "3.0.0", &two).0);
    }

    #[test]
    fn semver_prerelease_and_semver_ranges_in_other_schemes() {
        let ev = [("introduced", "1.0.0-alpha"), ("fixed", "1.0.0")];
        assert!(affected(Scheme::Semver, "1.0.0-rc.1", &ev).0);
        assert!(!affected(Scheme::Semver, "1.0.0+build", &ev).0);
        // A SEMVER range on a Go module version.
        let e = eval(
            Scheme::Go,
            "1.2.3",
            vec![range(
                RangeKind::Semver,
                &[("introduced", "0"), ("fixed", "1.2.4")],
            )],
            &[],
        );
        assert!(e.affected);
        assert_eq!(e.fixed, vec!["1.2.4".to_string()]);
    }

    #[test]
    fn other_schemes() {
        // Maven: 1.0-alpha < 1.0 ; RubyGems: 1.0.a < 1.0 ; NuGet labels case-insensitive.
        let ev = [("introduced", "0"), ("fixed", "2.17.1")];
        assert!(affected(Scheme::Maven, "2.17.1-rc1", &ev).0);
        assert!(!affected(Scheme::Maven, "2.17.1.0", &ev).0);
        assert!(affected(Scheme::Gem, "2.17.1.a", &ev).0);
        assert!(affected(Scheme::Nuget, "2.17.1-RC", &ev).0);
        assert!(!affected(Scheme::Nuget, "2.17.1", &ev).0);
        assert!(affected(Scheme::Go, "2.17.1-0.20230101000000-abcdefabcdef", &ev).0);
    }

    #[test]
    fn versions_list_and_several_ranges() {
        let e = eval(Scheme::Pep440, "1.0.0", vec![], &["0.9", "1.0"]);
        assert!(e.affected, "1.0.0 equals 1.0 in PEP 440");
        assert!(e.fixed.is_empty());
        let e = eval(
            Scheme::Pep440,
            "3.1",
            vec![
                range(
                    RangeKind::Ecosystem,
                    &[("introduced", "0"), ("fixed", "2.0")],
                ),
                range(
                    RangeKind::Ecosystem,
                    &[("introduced", "3.0"), ("fixed", "3.2")],
                ),
                range(
                    RangeKind::Ecosystem,
                    &[("introduced", "3.1"), ("fixed", "3.1.5")],
                ),
            ],
            &[],
        );
        assert!(e.affected);
        assert_eq!(e.fixed, vec!["3.2".to_string(), "3.1.5".to_string()]);
    }

    #[test]
    fn git_ranges_and_bad_versions() {
        let e = eval(
            Scheme::Dpkg,
            "1.0-1",
            vec![range(
                RangeKind::Git,
                &[("introduced", "0"), ("fixed", "abc")],
            )],
            &[],
        );
        assert!(!e.has_version_info && !e.affected);
        let e = eval(
            Scheme::Dpkg,
            "1.0-1",
            vec![range(
                RangeKind::Ecosystem,
                &[("introduced", "0"), ("fixed", "not a version")],
            )],
            &[],
        );
        assert!(!e.affected);
        assert_eq!(e.problems.len(), 1);
        assert!(e.problems[0].contains("not a version"), "{:?}", e.problems);
    }

    #[test]
    fn ecosystem_schemes() {
        assert_eq!(scheme_for_ecosystem("Debian:12"), Some(Scheme::Dpkg));
        assert_eq!(scheme_for_ecosystem("Ubuntu:22.04:LTS"), Some(Scheme::Dpkg));
        assert_eq!(scheme_for_ecosystem("Alpine:v3.18"), Some(Scheme::Apk));
        assert_eq!(scheme_for_ecosystem("Rocky Linux:8"), Some(Scheme::Rpm));
        assert_eq!(scheme_for_ecosystem("PyPI"), Some(Scheme::Pep440));
        assert_eq!(scheme_for_ecosystem("crates.io"), Some(Scheme::Semver));
        assert_eq!(scheme_for_ecosystem("Packagist"), Some(Scheme::Composer));
        assert_eq!(scheme_for_ecosystem("Hex"), None);
    }
}
