//! Vulnerability feeds and the local advisory database of patchline.
//!
//! # What it does
//! Feeds turn each real format into the OSV-shaped records of [`patchline_model::vuln`]:
//! [`Advisory`](patchline_model::vuln::Advisory) (affected packages with version ranges
//! and distro verdicts) or [`Enrichment`](patchline_model::vuln::Enrichment) (CVSS
//! vectors, KEV, EPSS, description, keyed by CVE), handed to a [`Sink`]. [`DbWriter`]
//! is the sink that stores them in one SQLite file; [`AdvisoryDb`] reads it back for the
//! matcher through [`AdvisoryLookup`](patchline_model::vuln::AdvisoryLookup).
//!
//! # Feeds
//! Each feed is one module of [`feeds`] implementing the [`Feed`] trait: its name
//! ([`Format`]), what it yields, the file extensions a directory walk reads for it, how
//! it recognises its documents by content, how it parses them, and the official
//! download(s) `db update` fetches for it. [`FEEDS`] lists them once; [`input`] (files,
//! directories, gzip, `all.zip`, size bounds) and [`update`] (downloads, the default
//! set) only iterate that table.
//!
//! | format | module | yields | `db update` source |
//! |---|---|---|---|
//! | OSV JSON: a record, an array, a directory tree, osv.dev `all.zip` | [`feeds::osv`] | advisories | `osv-<Ecosystem>` |
//! | Debian security tracker JSON | [`feeds::debian`] | advisories (`Debian:<n>`, states) | `debian-tracker` |
//! | Alpine secdb JSON | [`feeds::alpine`] | advisories (`Alpine:v<release>`) | - |
//! | osv.dev vulnfeeds "parts" JSON | [`feeds::parts`] | advisories | - |
//! | NVD CVE API 2.0 JSON (pages or records) | [`feeds::nvd`] | enrichment: CVSS, description | - |
//! | CVE JSON 5.x | [`feeds::cve5`] | enrichment: CVSS, description | - |
//! | CISA KEV JSON | [`feeds::kev`] | enrichment: KEV | `kev` |
//! | EPSS CSV, plain or gzip | [`feeds::epss`] | enrichment: EPSS | `epss` |
//!
//! **Adding a feed**: a module in `src/feeds/` with a unit struct implementing [`Feed`],
//! one line in [`FEEDS`], and a [`Format`] variant naming it. Its `detect` must claim its
//! own documents and no other feed's: exactly one feed may claim a document (two claims
//! are reported as ambiguous, never settled by table order), and the unit tests beside
//! the table check it for a sample of every format. If a distro's advisories come from
//! it, name its download in that distro's `feeds` in the distro registry
//! ([`patchline_model::distro`]); a test checks that every name there is a download here.
//!
//! The format is told by content (zip and gzip magic, the JSON's keys, the CSV header),
//! never by file name alone ([`input`] lists the rules and the size bounds on untrusted
//! input: 512 MiB per document or zip member, a ratio bound against zip bombs).
//!
//! # Choices worth knowing
//! - Ids: distro feeds converted here are named as osv.dev names them
//!   (`DEBIAN-CVE-2023-38545`, `ALPINE-CVE-…`) with the CVE as an alias; OSV records
//!   whose id embeds a CVE (`UBUNTU-CVE-…`) get it as an alias, and OSV `upstream` ids
//!   count as aliases, so the matcher can merge and enrich them.
//! - Distro facts come from the distro registry ([`patchline_model::distro`]), not from
//!   tables here: Debian code names, Alpine's ecosystem spelling, and the ecosystems
//!   stored as OSV spells them except Ubuntu's `:LTS` suffix
//!   ([`Registry::normalize_ecosystem`](patchline_model::distro::Registry::normalize_ecosystem)).
//!   Unknown ecosystems are stored, not rejected (OSV adds new ones); only structurally
//!   broken records are errors.
//! - Package lookups compare PyPI names after PEP 503 normalisation, every other
//!   ecosystem exactly ([`normalize_package`](patchline_model::ecosystem::normalize_package)).
//! - The database records each source's URL, fetch time, ETag/Last-Modified and counts;
//!   re-importing a source replaces its records ([`db`] documents the schema and the
//!   merge rules). Writes update the file in place in one transaction (WAL: readers keep
//!   their snapshot) and log which (ecosystem, package) keys changed, per generation, for
//!   delta rescans ([`AdvisoryDb::changed_since`]).
//! - `db update` ([`update`]) downloads with conditional and resumable requests from the
//!   official URLs or a mirror; by default the sources the distro registry names for the
//!   distros patchline scans, plus KEV and EPSS ([`update::default_source_names`]); the
//!   default database path is [`default_path`].
//! - A scan warns when the database is older than [`DEFAULT_MAX_AGE`] (7 days: a weekly
//!   mirror sync, the usual air-gapped cadence, stays quiet; anything older is stale
//!   enough to miss a whole week of advisories); see [`staleness_warning`].

pub mod db;
mod detect;
pub mod error;
pub mod feeds;
pub mod input;
pub mod update;
mod util;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use db::{
    default_path, staleness_warning, AdvisoryDb, DbWriter, SourceInfo, SourceMeta, SourceWriter,
    SCHEMA_VERSION,
};
pub use error::{Error, Origin, Result};
pub use feeds::{Collected, Feed, Format, Sink, FEEDS};
pub use input::{import_bytes, import_path, ImportStats, Limits};

/// Age past which a scan warns that the database is stale.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// Options of [`import_files`].
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Put every path into this one source; otherwise each path is its own source, named
    /// by its absolute path, so importing the same path again replaces it.
    pub source: Option<String>,
    /// Build from an empty database instead of adding to the current one.
    pub fresh: bool,
    pub limits: Limits,
    /// Told the lock file's path when another writer holds the database.
    pub on_wait: Option<fn(&Path)>,
}

/// What [`import_files`] did.
#[derive(Clone, Debug, Default)]
pub struct ImportReport {
    /// Per source: its name and what was read.
    pub sources: Vec<(String, ImportStats)>,
    pub warnings: Vec<String>,
    pub elapsed: Duration,
}

impl ImportReport {
    pub fn total(&self) -> ImportStats {
        let mut t = ImportStats::default();
        for (_, s) in &self.sources {
            t.add(s);
        }
        t
    }
}

/// The source name `db import` gives a path when none is chosen.
pub fn source_name_for(path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    format!("file:{}", abs.display())
}

/// `patchline db import`: imports files and directories into the database at `db`, all
/// or nothing (any error leaves the database as it was).
pub fn import_files(db: &Path, paths: &[PathBuf], opts: &ImportOptions) -> Result<ImportReport> {
    let start = Instant::now();
    if paths.is_empty() {
        return Err(Error::Usage(
            "nothing to import: give one or more paths".into(),
        ));
    }
    for p in paths {
        if !p.exists() {
            return Err(Error::io(
                p,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
            ));
        }
    }
    let mut writer = DbWriter::begin_notifying(db, opts.fresh, &mut |lock| {
        if let Some(f) = opts.on_wait {
            f(lock)
        }
    })?;
    let mut report = ImportReport::default();
    let groups: Vec<(String, Vec<&PathBuf>)> = match &opts.source {
        Some(name) => vec![(name.clone(), paths.iter().collect())],
        None => paths
            .iter()
            .map(|p| (source_name_for(p), vec![p]))
            .collect(),
    };
    for (name, group) in groups {
        let meta = SourceMeta {
            name: name.clone(),
            url: Some(
                group
                    .iter()
                    .map(|p| {
                        std::fs::canonicalize(p)
                            .unwrap_or_else(|_| p.to_path_buf())
                            .display()
                            .to_string()
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            ..SourceMeta::default()
        };
        let limits = &opts.limits;
        let (stats, warnings) = writer.import_source(meta, |sink| {
            let mut stats = ImportStats::default();
            for p in &group {
                let got = import_path(p, limits, sink)?;
                // A directory of which nothing was read is a mistake, not an empty feed.
                if got.documents == 0 && p.is_dir() {
                    return Err(Error::input(
                        &Origin::file(p),
                        format!(
                            "no feed document found: {} files skipped (names without {}, or content of no known feed: see the warnings)",
                            got.skipped,
                            feeds::extension_list()
                        ),
                    ));
                }
                stats.add(&got);
            }
            Ok(stats)
        })?;
        report.warnings.extend(warnings);
        report.sources.push((name, stats));
    }
    writer.commit()?;
    report.elapsed = start.elapsed();
    Ok(report)
}

/// Time elapsed since an RFC 3339 timestamp (`None` when unreadable; zero when in the
/// future).
pub fn age_since(timestamp: &str) -> Option<Duration> {
    db::parse_time(timestamp).map(|t| db::age_at(t, time::OffsetDateTime::now_utc()))
}

/// `9d`, `36h`, `1d 4h`: the largest two units of a duration, for people.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (days, hours, mins) = (s / 86400, (s % 86400) / 3600, (s % 3600) / 60);
    match (days, hours, mins) {
        (0, 0, m) => format!("{m}m"),
        (0, h, 0) => format!("{h}h"),
        (0, h, m) => format!("{h}h {m}m"),
        (d, 0, _) => format!("{d}d"),
        (d, h, _) => format!("{d}d {h}h"),
    }
}

/// Parses `7d`, `36h`, `90m`, `3600s`, `2w`, or a bare number of days.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let t = s.trim();
    let bad = || {
        Error::Usage(format!(
            "invalid duration {s:?}: expected a number with a unit (s, m, h, d, w), e.g. 7d or 36h"
        ))
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult = match unit.trim() {
        "" | "d" | "day" | "days" => 86400,
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3600,
        "w" | "week" | "weeks" => 7 * 86400,
        _ => return Err(bad()),
    };
    n.checked_mul(mult).map(Duration::from_secs).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(604800));
        assert_eq!(parse_duration("36h").unwrap(), Duration::from_secs(129600));
        assert_eq!(parse_duration("3").unwrap(), Duration::from_secs(259200));
        assert!(parse_duration("7x").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
        assert_eq!(
            format_duration(Duration::from_secs(9 * 86400 + 3600)),
            "9d 1h"
        );
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
    }
}
