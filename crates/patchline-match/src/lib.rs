//! Inventory × advisories → findings: which installed packages are vulnerable, by the
//! distro's own verdicts, one finding per vulnerability and package, in risk order.
//!
//! ```no_run
//! # fn demo(inv: &patchline_model::Inventory, db: &dyn patchline_model::vuln::AdvisoryLookup)
//! # -> Result<(), patchline_match::MatchError> {
//! use patchline_match::{scan, MatchOptions};
//! let mut report = scan(inv, db, &MatchOptions::default())?;
//! // The caller says where the advisories came from: report.db = ...;
//! for f in &report.findings {
//!     println!("{} {} {} {:?}", f.id, f.package.name, f.package.version, f.state);
//! }
//! # Ok(()) }
//! ```
//!
//! The matcher reads advisories only through [`AdvisoryLookup`], so it runs the same on
//! the SQLite DB of `patchline-advisory`, on an in-memory test double, or on the server's
//! store. A [`Matcher`] keeps what it looked up (advisories per ecosystem and package,
//! enrichment per CVE with its vectors scored) and what each source package at a version
//! matched: the eight binaries of `util-linux` are evaluated once, and rematching many
//! stored inventories against one DB snapshot asks the DB once per distinct source
//! package and evaluates each (source, version) once.
//!
//! # Which packages are matched, and against what
//!
//! OS packages match the **distro release's own data only**: no NVD/CPE guessing. The
//! release, the OSV ecosystems it is looked up in, its version scheme, whose severity
//! ratings count and its end of life all come from the distro registry
//! ([`patchline_model::distro`]): `Debian:12`, `Ubuntu:22.04`, `Alpine:v3.18`,
//! `Red Hat:8` (CentOS too: it publishes no feed; Trivy does the same), `Rocky Linux:8`,
//! `AlmaLinux:8`, `Wolfi`, `Chainguard`, ...
//!
//! A distro the registry does not know, a known distro whose release cannot be named
//! (Debian sid, Alpine edge), one for which patchline reads no advisories (Oracle Linux,
//! Amazon Linux, ...) or whose ecosystems the DB holds nothing for, and a package
//! database that does not belong to the release's distro (a dpkg database in an Alpine
//! image) are not matched, and the report says so in a warning ("no advisory data for
//! Oracle Linux 8"). NVD and CVE 5 data only **enrich** findings (CVSS vectors, description).
//!
//! Language packages match their OSV ecosystem (`PyPI`, `npm`, `Go`, ...), except those
//! read from a file an OS package owns ([`Package::managed_by`]: Debian's
//! `python3-requests` ships `requests-2.28.1.egg-info`): the distro backports fixes and
//! reports them under its own version, so the language ecosystem's ranges would give
//! wrong findings, and the OS package's match covers them. They are neither matched nor
//! unmatched; [`ScanReport::packages_managed_by_os`] counts them.
//!
//! A package is looked up by its **source** package name (dpkg `Source:`, apk `origin`,
//! rpm source rpm name), because distro feeds are keyed by source package, and reported
//! on its **binary** package, with the layer that introduced it and the layer that last
//! changed it. rpm packages are looked up by their binary name too: Red Hat-family data
//! derived from OVAL or errata names binary packages (`openssl-libs`), OSV names source
//! packages; the same advisory reached both ways is merged.
//!
//! # Which version is compared
//!
//! Debian tracker and DSA fixed versions are **source** versions. For dpkg packages the
//! matcher therefore compares the source version (`Source: util-linux (2.38.1-5+deb12u3)`
//! or the binary version when `Source:` carries none), like Trivy's Debian and Ubuntu
//! detectors. It matters for real packages: `bsdutils 1:2.38.1-5+deb12u3` comes from
//! source `util-linux 2.38.1-5+deb12u3` without the epoch, so comparing the binary version
//! with a fix at `2.38.1-5+deb12u4` would miss it; binNMUs (`bash 5.2.15-2+b13` from
//! source `5.2.15-2`) and binaries with versions of their own (`cpp 4:12.2.0-3` from
//! `gcc-defaults 1.203`) likewise. apk subpackages share their origin's version, and rpm
//! subpackages share the source rpm's version while the source rpm file name drops the
//! epoch, so apk and rpm compare the binary package's full version (epoch included).
//! The compared version is parsed once per package, with the scheme of the ecosystem
//! (`patchline-version`: dpkg, apk, rpm).
//!
//! # Ranges and distro states
//!
//! Ranges follow OSV's evaluation exactly ([`range`]): `introduced` / `fixed` /
//! `last_affected` / `limit`, several ranges, the `versions` list, `introduced: "0"`,
//! events sorted by the scheme whatever their order in the feed. The finding's fixed
//! versions are the `fixed` events closing the intervals the version is in.
//!
//! An `affected` entry's distro state ([`DistroState`]) then decides:
//!
//! * `not-affected`: no finding, and the vulnerability is not reported for the package
//!   from another advisory of the same ecosystem either (the distro's explicit verdict
//!   beats a range);
//! * `unfixed`, `will-not-fix`, `unimportant`: affected when the entry has no ranges or
//!   versions, else when the version is in them; the finding's state is
//!   [`FixState::Fixed`] when a fixed version closes the interval, else the distro's
//!   word ([`FixState::Unfixed`], [`FixState::WillNotFix`], [`FixState::Unimportant`]);
//! * `fixed` or none: the ranges decide (`fixed` without any range states no version and
//!   matches nothing; neither does an entry whose only ranges are `GIT` commit ranges).
//!
//! A release past its end of life (the registry's tables: Debian LTS ends, Ubuntu
//! standard support, Alpine branches, Red Hat-family maintenance ends) sets
//! [`ScanReport::distro_eol`] and adds a warning: its feeds stop,
//! so later vulnerabilities will be missing.
//!
//! # One finding per vulnerability and package
//!
//! Advisories about the same vulnerability (a Debian tracker CVE, osv.dev's
//! `DEBIAN-CVE-…`, a `DSA-…`, a `GHSA-…`) are merged through their aliases. Merging is
//! keyed by CVE: an advisory naming one CVE (as its id or alias) joins that CVE's
//! finding; a vendor advisory naming several CVEs (an RHSA, a DSA fixing three CVEs)
//! joins each of them instead of gluing them into one; advisories naming no CVE join a
//! CVE's finding through a shared alias, or else form their own finding keyed by their
//! connected ids (a `GHSA-…` id preferred). The primary id is the CVE when there is one;
//! `aliases` lists the other ids, `advisories` the merged records as `source:id`.
//!
//! # Severity
//!
//! 1. For distro packages, the distro's own rating carried by the advisories (Debian
//!    urgency: `unimportant` → negligible, `low`, `medium`, `high`; Ubuntu priority; Red
//!    Hat impact), highest of the merged advisories. Words that rate nothing
//!    (`not yet assigned`, `end-of-life`, `untriaged`) fall through.
//! 2. Else the CVSS base score computed (the `cvss` crate: v2, v3.0, v3.1, v4.0) from
//!    NVD's vectors (the enrichment of the finding's CVE), then from the advisories' own
//!    vectors; among several, CVSS v3.x first, then v4.0, then v2.0 (v2 scores have no
//!    critical band). `severity_source` names whose rating was used (`debian`, `nvd`,
//!    `osv`, …; `none` when nothing rated it).
//!
//! Every vector that scores is listed in [`Finding::cvss`]. KEV and EPSS come from the
//! enrichment of the finding's CVE ids.
//!
//! # Risk order
//!
//! Findings are sorted by [`risk_order`]: **known exploited (KEV) first, then severity
//! (critical, high, medium, unknown, low, negligible), then EPSS probability (highest
//! first, none last), then fix available (fixed before unfixed / will-not-fix /
//! unimportant), then id**, then package name and version so the order is total. An
//! unknown severity ranks just below medium: nobody has rated it low, and a fixable CVE
//! nobody has rated yet must not hide below the ones a distro called negligible.
//!
//! # What to upgrade to
//!
//! [`recommended_fix`] is the fixed version to recommend for a finding: the lowest of
//! its fixed versions above the compared version (several release branches may have
//! fixed it), else the lowest; [`upgrade_target`] the version of a package that fixes
//! all its findings. Both compare in the package's scheme; the renderers of
//! `patchline-report` print what they answer.
//!
//! # What is reported
//!
//! Every finding, whatever its fix state. Which of them a user sees (`--only-fixed`,
//! `--ignore-unfixed`) and whether the scan fails (`--fail-on`, through [`fails_on`])
//! is decided after matching, by the policy stage of `patchline-scan`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::rc::Rc;

use patchline_model::vuln::{
    Advisory, AdvisoryLookup, Affected, DbInfo, DistroState, Enrichment, Epss, Finding,
    FindingPackage, FixState, Kev, ScanReport, Severity, SeverityScore, Unmatched, SCAN_SCHEMA,
};
use patchline_model::{Ecosystem, Inventory, Package, Tool, Warning};
use patchline_version::Scheme;

pub mod fix;
pub mod memory;
pub mod range;
pub mod severity;

pub use fix::{compared_version, recommended_fix, upgrade_target};
pub use memory::MemoryDb;
use patchline_model::distro::{Recognition, Registry, Release};
pub use range::{evaluate, scheme_for_ecosystem, Evaluation, Installed};
pub use severity::{score_vector, vendor_rating};

/// The clock of a scan.
#[derive(Clone, Debug, Default)]
pub struct MatchOptions {
    /// The day end of life is judged on; `None`: today (UTC).
    pub today: Option<time::Date>,
}

/// A scan that could not complete: the advisory source failed. Problems with single
/// packages or advisories (an invalid version) are warnings in the report instead.
#[derive(Debug, thiserror::Error)]
pub enum MatchError {
    #[error("looking up {package:?} in {ecosystem:?} in the advisory database: {message}")]
    Lookup {
        ecosystem: String,
        package: String,
        message: String,
    },
    #[error("looking up the enrichment of {id} in the advisory database: {message}")]
    Enrichment { id: String, message: String },
}

/// Scans one inventory with fresh caches. `report.db` is left empty for the caller to
/// fill with the DB's description.
pub fn scan(
    inv: &Inventory,
    db: &dyn AdvisoryLookup,
    opts: &MatchOptions,
) -> Result<ScanReport, MatchError> {
    Matcher::new(db).scan(inv, opts)
}

/// True when a finding is at least as severe as `threshold`: the `--fail-on` gate of
/// the policy stage (`patchline-scan`). Findings of unknown severity never trip it
/// unless the threshold is `unknown`.
pub fn fails_on(finding: &Finding, threshold: Severity) -> bool {
    finding.severity >= threshold
}

/// The risk order of findings (see the crate documentation): KEV, severity, EPSS, fix
/// available, id, then package name and version.
pub fn risk_order(a: &Finding, b: &Finding) -> Ordering {
    let epss = |f: &Finding| f.epss.as_ref().map(|e| e.score).unwrap_or(-1.0);
    b.kev
        .is_some()
        .cmp(&a.kev.is_some())
        .then_with(|| risk_rank(b.severity).cmp(&risk_rank(a.severity)))
        .then_with(|| epss(b).total_cmp(&epss(a)))
        .then_with(|| (b.state == FixState::Fixed).cmp(&(a.state == FixState::Fixed)))
        .then_with(|| a.id.cmp(&b.id))
        .then_with(|| a.package.name.cmp(&b.package.name))
        .then_with(|| a.package.version.cmp(&b.package.version))
        .then_with(|| a.package.arch.cmp(&b.package.arch))
}

/// `name@version` of a package, for the unmatched list.
fn label(p: &Package) -> String {
    if p.purl.is_empty() {
        format!("{}@{}", p.name, p.version)
    } else {
        p.purl.clone()
    }
}

/// Where a severity ranks in the risk order: unknown just below medium.
fn risk_rank(s: Severity) -> u8 {
    match s {
        Severity::Critical => 5,
        Severity::High => 4,
        Severity::Medium => 3,
        Severity::Unknown => 2,
        Severity::Low => 1,
        Severity::Negligible => 0,
    }
}

/// A matcher over one advisory source, caching its lookups across scans. Build one per
/// DB snapshot: the caches do not notice changes to the DB.
pub struct Matcher<'db> {
    db: &'db dyn AdvisoryLookup,
    registry: &'db Registry,
    advisories: HashMap<(String, String), Rc<Vec<Advisory>>>,
    enrichment: HashMap<String, Option<Rc<Enriched>>>,
    /// Findings per (ecosystems, looked-up names, compared version): the binaries of one
    /// source package (8 for util-linux) are evaluated once.
    sources: HashMap<SourceKey, Rc<SourceResult>>,
}

/// (ecosystems, looked-up names, compared version).
type SourceKey = (Vec<String>, Vec<String>, String);

/// What a source package at a version matched: findings (with the first binary as their
/// package) and the range problems met on the way.
struct SourceResult {
    findings: Vec<Finding>,
    problems: Vec<(String, String)>,
}

/// Enrichment with its CVSS vectors already scored.
struct Enriched {
    nvd: Vec<patchline_model::vuln::Cvss>,
    kev: Option<Kev>,
    epss: Option<Epss>,
    description: Option<String>,
}

/// One advisory that matched one package.
struct Hit {
    id: String,
    source: String,
    /// The advisory's id and aliases.
    ids: Vec<String>,
    ecosystem: String,
    fixed: Vec<String>,
    open_state: FixState,
    vendor: Vec<Severity>,
    cvss: Vec<patchline_model::vuln::Cvss>,
    summary: Option<String>,
    references: Vec<String>,
}

enum Verdict {
    Affected {
        fixed: Vec<String>,
        open_state: FixState,
    },
    NotAffected,
}

/// What a package is matched against: the OSV ecosystems to look it up in, the version
/// scheme, and whose ratings count as the vendor's. A distro release gives one for its
/// OS packages; each language ecosystem gives its own.
#[derive(Clone, Debug)]
struct Target {
    ecosystems: Vec<String>,
    scheme: Scheme,
    vendor_ratings: &'static [&'static str],
    vendor: &'static str,
}

impl Target {
    fn of_release(rel: &Release) -> Target {
        Target {
            ecosystems: rel.ecosystems.clone(),
            scheme: rel.spec.scheme(),
            vendor_ratings: rel.spec.vendor_ratings,
            vendor: rel.spec.vendor,
        }
    }

    fn of_language(osv: &str, scheme: Scheme) -> Target {
        Target {
            ecosystems: vec![osv.to_string()],
            scheme,
            vendor_ratings: &[],
            vendor: "",
        }
    }
}

impl<'db> Matcher<'db> {
    pub fn new(db: &'db dyn AdvisoryLookup) -> Self {
        Matcher::with_registry(db, Registry::builtin())
    }

    /// A matcher that asks `registry` about distros (tests adding a distro).
    pub fn with_registry(db: &'db dyn AdvisoryLookup, registry: &'db Registry) -> Self {
        Matcher {
            db,
            registry,
            advisories: HashMap::new(),
            enrichment: HashMap::new(),
            sources: HashMap::new(),
        }
    }

    /// Matches `inv`; see the crate documentation for the rules.
    pub fn scan(&mut self, inv: &Inventory, opts: &MatchOptions) -> Result<ScanReport, MatchError> {
        let today = opts
            .today
            .unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
        let mut warnings = inv.warnings.clone();
        let before = warnings.len();
        let (rel, distro_eol) = self.release(inv, today, &mut warnings)?;

        let mut findings = Vec::new();
        let mut foreign: BTreeMap<Ecosystem, usize> = BTreeMap::new();
        // What an SBOM listed but no ecosystem could be told for: never examined.
        let mut unmatched: Vec<Unmatched> = inv
            .unidentified
            .iter()
            .map(|u| Unmatched {
                package: u.component.clone(),
                reason: u.reason.clone(),
            })
            .collect();
        let mut problems: BTreeMap<String, String> = BTreeMap::new();
        match &rel {
            // Without a release nothing was looked up: the release warnings say why.
            None => {
                let reason = warnings[before..]
                    .last()
                    .map(|w| w.message.clone())
                    .unwrap_or_else(|| "the distro release is not known".to_string());
                unmatched.extend(
                    inv.packages
                        .iter()
                        .filter(|p| p.ecosystem.is_os())
                        .map(|p| Unmatched {
                            package: label(p),
                            reason: reason.clone(),
                        }),
                );
            }
            Some(rel) => {
                let target = Target::of_release(rel);
                for pkg in inv.packages.iter().filter(|p| p.ecosystem.is_os()) {
                    if pkg.ecosystem != rel.spec.packages {
                        *foreign.entry(pkg.ecosystem).or_default() += 1;
                        unmatched.push(Unmatched {
                            package: label(pkg),
                            reason: format!(
                                "a {} package does not belong to the image's distro release",
                                pkg.ecosystem
                            ),
                        });
                        continue;
                    }
                    self.match_package(
                        pkg,
                        &target,
                        &mut findings,
                        &mut unmatched,
                        &mut warnings,
                        &mut problems,
                    )?;
                }
            }
        }
        let managed = self.match_languages(
            inv,
            &mut findings,
            &mut unmatched,
            &mut warnings,
            &mut problems,
        )?;
        let not_matched = unmatched.len();
        for (eco, n) in foreign {
            warnings.push(warning(
                "packages",
                format!(
                    "{n} {eco} packages do not belong to the image's distro release and were not matched"
                ),
            ));
        }
        for (location, message) in problems {
            warnings.push(Warning {
                source: "matcher".into(),
                location,
                message,
            });
        }

        findings.sort_by(risk_order);
        Ok(ScanReport {
            scanners: Default::default(),
            checks: Vec::new(),
            policy: None,
            schema: SCAN_SCHEMA.to_string(),
            tool: Tool::default(),
            image: inv.image.clone(),
            distro: inv.distro.clone(),
            distro_eol,
            db: DbInfo::default(),
            packages_scanned: inv.packages.len(),
            packages_not_matched: not_matched,
            unmatched,
            packages_managed_by_os: managed,
            findings,
            inventory_complete: inv.complete,
            warnings,
        })
    }

    /// Matches the language packages, each against its OSV ecosystem. An ecosystem
    /// without version rules here, or which the DB holds nothing for, leaves its packages
    /// unmatched, each with the reason, and one warning per ecosystem.
    ///
    /// A package read from a file an OS package owns (`managed_by`) is left out: the
    /// distro patches it under its own version, so its language ecosystem's ranges would
    /// give wrong findings, and its OS package's match covers it. Returns how many were.
    fn match_languages(
        &mut self,
        inv: &Inventory,
        findings: &mut Vec<Finding>,
        unmatched: &mut Vec<Unmatched>,
        warnings: &mut Vec<Warning>,
        problems: &mut BTreeMap<String, String>,
    ) -> Result<usize, MatchError> {
        let mut by_eco: BTreeMap<Ecosystem, Vec<&Package>> = BTreeMap::new();
        let mut managed = 0;
        for p in inv.packages.iter().filter(|p| !p.ecosystem.is_os()) {
            if p.managed_by.is_some() {
                managed += 1;
                continue;
            }
            // A Go program's own main module, built from a work tree: it has no version
            // to look up, and it is the program being scanned, not one of its
            // dependencies (those are matched). Said, not counted as unmatched, so that
            // every Go program does not fail a gate.
            if p.ecosystem == Ecosystem::Golang && p.version == "(devel)" {
                warnings.push(warning(
                    &format!("package {} ({})", p.name, p.db_path),
                    "the program's own main module has no version ((devel)): not matched; its dependencies are".to_string(),
                ));
                continue;
            }
            by_eco.entry(p.ecosystem).or_default().push(p);
        }
        for (eco, pkgs) in by_eco {
            let Some(lang) = eco.language() else { continue };
            let reason = match lang.scheme {
                None => Some(format!(
                    "no version rules for {} packages in patchline yet",
                    lang.osv
                )),
                Some(_) => match self.db.has_ecosystem(lang.osv).map_err(|message| {
                    MatchError::Lookup {
                        ecosystem: lang.osv.to_string(),
                        package: String::new(),
                        message,
                    }
                })? {
                    Some(false) => Some(format!(
                        "no advisory data for {} in the advisory database (run `patchline db update`, or import osv.dev's {} records)",
                        lang.osv, lang.osv
                    )),
                    _ => None,
                },
            };
            if let Some(reason) = reason {
                warnings.push(warning(
                    "packages",
                    format!(
                        "{} {} packages were not matched: {reason}",
                        pkgs.len(),
                        lang.osv
                    ),
                ));
                unmatched.extend(pkgs.iter().map(|p| Unmatched {
                    package: label(p),
                    reason: reason.clone(),
                }));
                continue;
            }
            let target = Target::of_language(lang.osv, lang.scheme.expect("checked above"));
            for pkg in pkgs {
                self.match_package(pkg, &target, findings, unmatched, warnings, problems)?;
            }
        }
        Ok(managed)
    }

    /// The inventory's distro release when its packages can be matched, and whether it
    /// is past its end of life; every reason they cannot is a warning.
    fn release(
        &mut self,
        inv: &Inventory,
        today: time::Date,
        warnings: &mut Vec<Warning>,
    ) -> Result<(Option<Release>, bool), MatchError> {
        let n = inv.packages.iter().filter(|p| p.ecosystem.is_os()).count();
        let Some(d) = &inv.distro else {
            if n > 0 {
                warnings.push(warning(
                    "os-release",
                    format!(
                        "the image names no distro release (no os-release): its {n} OS packages were not matched"
                    ),
                ));
            }
            return Ok((None, false));
        };
        let rel = match self.registry.recognize(d) {
            Recognition::Release(r) => r,
            Recognition::UnknownRelease { spec } => {
                if n > 0 {
                    warnings.push(warning(
                        "os-release",
                        format!(
                            "no advisory data for {} with VERSION_ID {:?} and code name {:?} (not a release patchline can name): its {n} OS packages were not matched",
                            spec.name,
                            d.version_id.as_deref().unwrap_or(""),
                            d.version_codename.as_deref().unwrap_or("")
                        ),
                    ));
                }
                return Ok((None, false));
            }
            Recognition::Unknown => {
                if n > 0 {
                    warnings.push(warning(
                        "os-release",
                        format!(
                            "no advisory data for the distro {:?} (VERSION_ID {:?}): patchline does not know it; its {n} OS packages were not matched",
                            d.id,
                            d.version_id.as_deref().unwrap_or("")
                        ),
                    ));
                }
                return Ok((None, false));
            }
        };
        let mut eol = false;
        if let Some(day) = rel.eol.and_then(to_date) {
            if today > day {
                eol = true;
                let name = d.pretty_name.clone().unwrap_or_else(|| rel.display());
                warnings.push(warning(
                    "os-release",
                    format!(
                        "{name} reached its end of life on {day}: its advisories have stopped, so vulnerabilities found since are missing"
                    ),
                ));
            }
        }
        if n == 0 {
            return Ok((Some(rel), eol));
        }
        if rel.ecosystems.is_empty() {
            warnings.push(warning(
                "os-release",
                format!(
                    "no advisory data for {}: patchline reads no advisories for it yet; its {n} OS packages were not matched",
                    rel.display()
                ),
            ));
            return Ok((None, eol));
        }
        let mut known = None;
        for eco in &rel.ecosystems {
            let held = self
                .db
                .has_ecosystem(eco)
                .map_err(|message| MatchError::Lookup {
                    ecosystem: eco.clone(),
                    package: String::new(),
                    message,
                })?;
            match held {
                Some(true) => {
                    known = Some(true);
                    break;
                }
                Some(false) => known = Some(false),
                None => {}
            }
        }
        if known == Some(false) {
            warnings.push(warning(
                "os-release",
                format!(
                    "no advisory data for {} in the advisory database (nothing in {}): its {n} OS packages were not matched; add a feed that carries it",
                    rel.display(),
                    rel.ecosystems.join(", ")
                ),
            ));
            return Ok((None, eol));
        }
        Ok((Some(rel), eol))
    }

    /// Ecosystem strings as lookups compare them: in the spelling the DB stores
    /// (Ubuntu's `:LTS` marker is optional).
    fn same_ecosystem(&self, a: &str, b: &str) -> bool {
        a == b || self.registry.normalize_ecosystem(a) == self.registry.normalize_ecosystem(b)
    }

    fn lookup(&mut self, ecosystem: &str, package: &str) -> Result<Rc<Vec<Advisory>>, MatchError> {
        let key = (ecosystem.to_string(), package.to_string());
        if let Some(v) = self.advisories.get(&key) {
            return Ok(v.clone());
        }
        let found =
            self.db
                .advisories(ecosystem, package)
                .map_err(|message| MatchError::Lookup {
                    ecosystem: ecosystem.to_string(),
                    package: package.to_string(),
                    message,
                })?;
        let found = Rc::new(found);
        self.advisories.insert(key, found.clone());
        Ok(found)
    }

    fn enrich(&mut self, id: &str) -> Result<Option<Rc<Enriched>>, MatchError> {
        if let Some(e) = self.enrichment.get(id) {
            return Ok(e.clone());
        }
        let e = self
            .db
            .enrichment(id)
            .map_err(|message| MatchError::Enrichment {
                id: id.to_string(),
                message,
            })?
            .map(|e: Enrichment| {
                Rc::new(Enriched {
                    nvd: e
                        .cvss
                        .iter()
                        .filter(|s| severity::is_cvss(s))
                        .filter_map(|s| score_vector(&s.score, "nvd"))
                        .collect(),
                    kev: e.kev,
                    epss: e.epss,
                    description: e.description,
                })
            });
        self.enrichment.insert(id.to_string(), e.clone());
        Ok(e)
    }

    fn match_package(
        &mut self,
        pkg: &Package,
        rel: &Target,
        findings: &mut Vec<Finding>,
        unmatched: &mut Vec<Unmatched>,
        warnings: &mut Vec<Warning>,
        problems: &mut BTreeMap<String, String>,
    ) -> Result<(), MatchError> {
        let compared = compared_version(pkg);
        let key: SourceKey = (
            rel.ecosystems.clone(),
            lookup_names(pkg).into_iter().map(String::from).collect(),
            compared.to_string(),
        );
        let result = match self.sources.get(&key) {
            Some(r) => r.clone(),
            None => {
                let Some(r) = self.match_source(pkg, rel, warnings)? else {
                    // Its version does not parse: never examined, so never clean.
                    unmatched.push(Unmatched {
                        package: label(pkg),
                        reason: format!(
                            "version {} is not a valid {} version",
                            patchline_model::quote_capped(compared, 100),
                            rel.scheme
                        ),
                    });
                    return Ok(());
                };
                let r = Rc::new(r);
                self.sources.insert(key, r.clone());
                r
            }
        };
        for (location, message) in &result.problems {
            problems
                .entry(location.clone())
                .or_insert_with(|| message.clone());
        }
        let package = finding_package(pkg);
        for f in &result.findings {
            let mut f = f.clone();
            f.package = package.clone();
            findings.push(f);
        }
        Ok(())
    }

    /// Evaluates the advisories of `pkg`'s source package; `None` when its version does
    /// not parse (a warning says so).
    fn match_source(
        &mut self,
        pkg: &Package,
        rel: &Target,
        warnings: &mut Vec<Warning>,
    ) -> Result<Option<SourceResult>, MatchError> {
        let mut problems = BTreeMap::new();
        let problems = &mut problems;
        let mut findings = Vec::new();
        let scheme = rel.scheme;
        let compared = compared_version(pkg);
        let installed = match Installed::parse(scheme, compared) {
            Ok(i) => i,
            Err(e) => {
                warnings.push(Warning {
                    source: "matcher".into(),
                    location: format!("package {} ({})", pkg.name, pkg.db_path),
                    message: format!("not matched: {e}"),
                });
                return Ok(None);
            }
        };
        let vendor_kinds = rel.vendor_ratings;
        let mut hits: Vec<Hit> = Vec::new();
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        let mut negatives: HashSet<String> = HashSet::new();
        for eco in &rel.ecosystems {
            for name in lookup_names(pkg) {
                let advisories = self.lookup(eco, name)?;
                for adv in advisories.iter() {
                    if adv.withdrawn.is_some() {
                        continue;
                    }
                    let mut verdict: Option<Verdict> = None;
                    let mut entry_severities: Vec<&SeverityScore> = Vec::new();
                    for aff in adv.affected.iter().filter(|a| {
                        self.same_ecosystem(&a.ecosystem, eco)
                            && same_package(eco, &a.package, name)
                    }) {
                        let v = judge(&installed, aff, adv, problems);
                        if matches!(v, Some(Verdict::Affected { .. })) {
                            entry_severities.extend(aff.severity.iter());
                        }
                        verdict = combine(verdict, v);
                    }
                    match verdict {
                        None => {}
                        Some(Verdict::NotAffected) => {
                            negatives.insert(adv.id.clone());
                            negatives.extend(adv.aliases.iter().cloned());
                        }
                        Some(Verdict::Affected { fixed, open_state }) => {
                            let key = (adv.source.clone(), adv.id.clone());
                            if let Some(&i) = seen.get(&key) {
                                let h: &mut Hit = &mut hits[i];
                                for f in fixed {
                                    if !h.fixed.contains(&f) {
                                        h.fixed.push(f);
                                    }
                                }
                                h.open_state = stronger(h.open_state, open_state);
                                for a in &adv.aliases {
                                    if !h.ids.contains(a) {
                                        h.ids.push(a.clone());
                                    }
                                }
                                continue;
                            }
                            seen.insert(key, hits.len());
                            hits.push(make_hit(
                                adv,
                                eco,
                                fixed,
                                open_state,
                                &entry_severities,
                                vendor_kinds,
                            ));
                        }
                    }
                }
            }
        }
        for (primary, members) in group(&hits) {
            if negatives.contains(&primary) {
                continue;
            }
            let members: Vec<&Hit> = members.iter().map(|&i| &hits[i]).collect();
            findings.push(self.finding(pkg, scheme, rel, primary, &members)?);
        }
        Ok(Some(SourceResult {
            findings,
            problems: std::mem::take(problems).into_iter().collect(),
        }))
    }

    fn finding(
        &mut self,
        pkg: &Package,
        scheme: Scheme,
        rel: &Target,
        primary: String,
        members: &[&Hit],
    ) -> Result<Finding, MatchError> {
        let primary_is_cve = is_cve(&primary);
        let mut aliases = BTreeSet::new();
        let mut advisories = BTreeSet::new();
        for h in members {
            advisories.insert(if h.source.is_empty() {
                h.id.clone()
            } else {
                format!("{}:{}", h.source, h.id)
            });
            for id in &h.ids {
                if *id != primary && !(primary_is_cve && is_cve(id)) {
                    aliases.insert(id.clone());
                }
            }
        }

        let mut fixed: Vec<String> = Vec::new();
        for h in members {
            for f in &h.fixed {
                if !fixed.contains(f) {
                    fixed.push(f.clone());
                }
            }
        }
        fixed.sort_by(|a, b| match (scheme.parse(a), scheme.parse(b)) {
            (Ok(x), Ok(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
            _ => a.cmp(b),
        });
        fixed.dedup_by(|a, b| match (scheme.parse(a), scheme.parse(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => a == b,
        });
        let state = if !fixed.is_empty() {
            FixState::Fixed
        } else {
            members
                .iter()
                .map(|h| h.open_state)
                .fold(FixState::Unfixed, stronger)
        };

        // Enrichment of every CVE the finding is about (its primary id first).
        let mut cves: Vec<String> = Vec::new();
        if primary_is_cve {
            cves.push(primary.clone());
        }
        for a in &aliases {
            if is_cve(a) && !cves.contains(a) {
                cves.push(a.clone());
            }
        }
        let mut nvd = Vec::new();
        let mut kev: Option<Kev> = None;
        let mut epss: Option<Epss> = None;
        let mut description = None;
        for id in &cves {
            let Some(e) = self.enrich(id)? else { continue };
            nvd.extend(e.nvd.iter().cloned());
            if kev.is_none() {
                kev = e.kev.clone();
            }
            if let Some(p) = &e.epss {
                if epss.as_ref().is_none_or(|q| p.score > q.score) {
                    epss = Some(p.clone());
                }
            }
            if description.is_none() {
                description = e.description.clone();
            }
        }
        let osv: Vec<_> = members
            .iter()
            .flat_map(|h| h.cvss.iter().cloned())
            .collect();

        let vendor = members.iter().flat_map(|h| h.vendor.iter().copied()).max();
        let (sev, sev_source) = if let Some(v) = vendor {
            (v, rel.vendor.to_string())
        } else if let Some(c) = severity::preferred(&nvd) {
            (severity::band(c), c.source.clone())
        } else if let Some(c) = severity::preferred(&osv) {
            (severity::band(c), c.source.clone())
        } else {
            (Severity::Unknown, "none".to_string())
        };
        let mut cvss = Vec::new();
        for c in nvd.into_iter().chain(osv) {
            if !cvss
                .iter()
                .any(|d: &patchline_model::vuln::Cvss| d.vector == c.vector && d.source == c.source)
            {
                cvss.push(c);
            }
        }

        let summary = members
            .iter()
            .filter(|h| h.id == primary)
            .chain(members.iter())
            .find_map(|h| h.summary.clone())
            .or(description.map(|d| first_line(&d)));
        let mut references: Vec<String> = Vec::new();
        for h in members {
            for r in &h.references {
                if !references.contains(r) {
                    references.push(r.clone());
                }
            }
        }
        let ecosystem = members
            .iter()
            .map(|h| h.ecosystem.clone())
            .min()
            .unwrap_or_default();

        Ok(Finding {
            id: primary,
            aliases: aliases.into_iter().collect(),
            advisories: advisories.into_iter().collect(),
            package: finding_package(pkg),
            ecosystem,
            state,
            fixed_versions: fixed,
            severity: sev,
            severity_source: sev_source,
            cvss,
            kev,
            epss,
            summary,
            references,
        })
    }
}

fn finding_package(pkg: &Package) -> FindingPackage {
    FindingPackage {
        ecosystem: pkg.ecosystem,
        name: pkg.name.clone(),
        version: pkg.version.clone(),
        arch: pkg.arch.clone(),
        source_name: pkg.source_name.clone(),
        source_version: pkg.source_version.clone(),
        purl: pkg.purl.clone(),
        introduced: pkg.introduced.clone(),
        last_changed: pkg.last_changed.clone(),
        sbom_ref: pkg.sbom_ref.clone(),
        path: (!pkg.ecosystem.is_os() && !pkg.db_path.is_empty()).then(|| pkg.db_path.clone()),
    }
}

fn warning(location: &str, message: String) -> Warning {
    Warning {
        source: "matcher".into(),
        location: location.into(),
        message,
    }
}

fn to_date((y, m, d): patchline_model::distro::Day) -> Option<time::Date> {
    time::Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

/// The package names looked up: the source package, and for rpm the binary package too.
pub fn lookup_names(p: &Package) -> Vec<&str> {
    let source = p
        .source_name
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(&p.name);
    let mut names = vec![source];
    if p.ecosystem == Ecosystem::Rpm && p.name != source {
        names.push(&p.name);
    }
    names
}

/// Package names as lookups compare them: exactly, except PyPI's (PEP 503).
fn same_package(ecosystem: &str, a: &str, b: &str) -> bool {
    a == b
        || patchline_model::ecosystem::normalize_package(ecosystem, a)
            == patchline_model::ecosystem::normalize_package(ecosystem, b)
}

fn is_cve(id: &str) -> bool {
    id.starts_with("CVE-")
}

fn first_line(s: &str) -> String {
    let line = s
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    const MAX: usize = 300;
    if line.len() <= MAX {
        return line.to_string();
    }
    let mut end = MAX;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &line[..end])
}

/// Of two non-fixed states, the more specific distro decision.
fn stronger(a: FixState, b: FixState) -> FixState {
    let rank = |s: FixState| match s {
        FixState::WillNotFix => 3,
        FixState::Unimportant => 2,
        FixState::Unfixed => 1,
        FixState::Fixed => 0,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

fn judge(
    installed: &Installed,
    aff: &Affected,
    adv: &Advisory,
    problems: &mut BTreeMap<String, String>,
) -> Option<Verdict> {
    if aff.state == Some(DistroState::NotAffected) {
        return Some(Verdict::NotAffected);
    }
    let ev = evaluate(installed, aff);
    if !ev.problems.is_empty() {
        problems
            .entry(format!(
                "advisory {} ({} {})",
                adv.id, aff.ecosystem, aff.package
            ))
            .or_insert_with(|| format!("ranges not evaluated: {}", ev.problems.join("; ")));
    }
    // Only an entry that states no versions at all is the distro's word on every version;
    // one with only `GIT` ranges names commits an installed package cannot be placed in.
    let in_scope = if aff.ranges.is_empty() && aff.versions.is_empty() {
        aff.state != Some(DistroState::Fixed)
    } else {
        ev.affected
    };
    if !in_scope {
        return None;
    }
    let open_state = match aff.state {
        Some(DistroState::WillNotFix) => FixState::WillNotFix,
        Some(DistroState::Unimportant) => FixState::Unimportant,
        _ => FixState::Unfixed,
    };
    Some(Verdict::Affected {
        fixed: ev.fixed,
        open_state,
    })
}

fn combine(a: Option<Verdict>, b: Option<Verdict>) -> Option<Verdict> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (
            Some(Verdict::Affected {
                mut fixed,
                open_state,
            }),
            Some(Verdict::Affected {
                fixed: f2,
                open_state: s2,
            }),
        ) => {
            for f in f2 {
                if !fixed.contains(&f) {
                    fixed.push(f);
                }
            }
            Some(Verdict::Affected {
                fixed,
                open_state: stronger(open_state, s2),
            })
        }
        (Some(v @ Verdict::Affected { .. }), _) | (_, Some(v @ Verdict::Affected { .. })) => {
            Some(v)
        }
        _ => Some(Verdict::NotAffected),
    }
}

fn make_hit(
    adv: &Advisory,
    ecosystem: &str,
    fixed: Vec<String>,
    open_state: FixState,
    entry_severities: &[&SeverityScore],
    vendor_kinds: &[&str],
) -> Hit {
    let mut ids = vec![adv.id.clone()];
    for a in &adv.aliases {
        if !ids.contains(a) {
            ids.push(a.clone());
        }
    }
    let source = if adv.source.is_empty() {
        "osv".to_string()
    } else {
        adv.source.clone()
    };
    let mut vendor = Vec::new();
    let mut cvss = Vec::new();
    // Per-package statements first: they are the distro's word on this package.
    for s in entry_severities.iter().copied().chain(adv.severity.iter()) {
        if severity::is_cvss(s) {
            if let Some(c) = score_vector(&s.score, &source) {
                if !cvss
                    .iter()
                    .any(|d: &patchline_model::vuln::Cvss| d.vector == c.vector)
                {
                    cvss.push(c);
                }
            }
        } else {
            let kind = severity::normalize_kind(&s.kind);
            if vendor_kinds.iter().any(|v| kind.starts_with(v)) {
                if let Some(r) = vendor_rating(&s.score) {
                    vendor.push(r);
                }
            }
        }
    }
    let summary = adv
        .summary
        .as_deref()
        .map(first_line)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            adv.details
                .as_deref()
                .map(first_line)
                .filter(|s| !s.is_empty())
        });
    Hit {
        id: adv.id.clone(),
        source,
        ids,
        ecosystem: ecosystem.to_string(),
        fixed,
        open_state,
        vendor,
        cvss,
        summary,
        references: adv.references.clone(),
    }
}

/// Groups a package's hits into findings: (primary id, hit indexes). See "One finding
/// per vulnerability and package" in the crate documentation.
fn group(hits: &[Hit]) -> Vec<(String, Vec<usize>)> {
    let mut by_cve: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut rest: Vec<usize> = Vec::new();
    for (i, h) in hits.iter().enumerate() {
        let mut any = false;
        for id in h.ids.iter().filter(|id| is_cve(id)) {
            let m = by_cve.entry(id.clone()).or_default();
            if !m.contains(&i) {
                m.push(i);
            }
            any = true;
        }
        if !any {
            rest.push(i);
        }
    }
    // Non-CVE ids known to belong to a CVE's finding (a CVE record listing a GHSA alias).
    let mut id_to_cves: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for (cve, members) in &by_cve {
        for &m in members {
            for id in hits[m].ids.iter().filter(|id| !is_cve(id)) {
                id_to_cves.entry(id).or_default().insert(cve.clone());
            }
        }
    }
    // Connected components of the CVE-less hits, through shared ids.
    let mut parent: Vec<usize> = (0..rest.len()).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (k, &i) in rest.iter().enumerate() {
        for id in &hits[i].ids {
            match owner.get(id.as_str()) {
                Some(&o) => {
                    let (a, b) = (find(&mut parent, o), find(&mut parent, k));
                    parent[a] = b;
                }
                None => {
                    owner.insert(id, k);
                }
            }
        }
    }
    let mut components: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (k, &hit) in rest.iter().enumerate() {
        let r = find(&mut parent, k);
        components.entry(r).or_default().push(hit);
    }
    let mut out: BTreeMap<String, Vec<usize>> = by_cve;
    for members in components.into_values() {
        let ids: BTreeSet<&str> = members
            .iter()
            .flat_map(|&i| hits[i].ids.iter().map(String::as_str))
            .collect();
        let cves: BTreeSet<&String> = ids
            .iter()
            .filter_map(|id| id_to_cves.get(id))
            .flatten()
            .collect();
        if cves.is_empty() {
            let primary = ids
                .iter()
                .find(|id| id.starts_with("GHSA-"))
                .or_else(|| ids.iter().next())
                .map(|s| s.to_string())
                .unwrap_or_default();
            out.entry(primary).or_default().extend(members);
        } else {
            for c in cves {
                let m = out.entry(c.clone()).or_default();
                for &i in &members {
                    if !m.contains(&i) {
                        m.push(i);
                    }
                }
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests;
