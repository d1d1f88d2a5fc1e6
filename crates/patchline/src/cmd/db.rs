//! `patchline db`: the local advisory database: `import` (offline), `update` (download),
//! `status`, `sources`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Result};
use patchline_advisory::update::{self, Outcome, UpdateOptions};
use patchline_advisory::{age_since, format_duration, AdvisoryDb, ImportOptions};

use crate::args::TableFormat;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Import feed files or directories (offline, air-gapped).
    ///
    /// Reads OSV JSON, directories and osv.dev all.zip; Debian security tracker JSON;
    /// Alpine secdb JSON; NVD CVE API 2.0 JSON; CVE JSON 5; CISA KEV JSON; EPSS CSV
    /// (plain or .gz). Formats are told by content. All or nothing: on any error the
    /// database is left as it was.
    Import(ImportArgs),
    /// Download the sources and update the database (conditional, resumable, atomic).
    ///
    /// Fetches osv.dev per-ecosystem zips, the Debian security tracker, CISA KEV and EPSS
    /// from their official URLs or a mirror. By default: the advisory sources of every
    /// distro patchline scans, plus KEV and EPSS (`patchline db sources` marks them);
    /// other sources (language ecosystems, osv-Debian) by --source. A failing source
    /// keeps its previous data; the new database replaces the old one in one rename.
    Update(UpdateArgs),
    /// Show the database's sources, record counts, fetch times and age.
    Status(StatusArgs),
    /// List the sources `db update` knows, with their URLs.
    #[command(after_help = "Example:\n  patchline db sources")]
    Sources,
}

#[derive(clap::Args, Debug)]
pub struct DbPath {
    /// The advisory database [default: $XDG_CACHE_HOME/patchline/db/advisories.sqlite].
    #[arg(long, env = "PATCHLINE_DB", value_name = "FILE")]
    pub db: Option<PathBuf>,
}

impl DbPath {
    fn resolve(&self) -> Result<PathBuf> {
        Ok(match &self.db {
            Some(p) => p.clone(),
            None => patchline_advisory::default_path()?,
        })
    }
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  patchline db import ./osv/Debian ./known_exploited_vulnerabilities.json"
)]
pub struct ImportArgs {
    /// Feed files or directories (searched recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub db: DbPath,
    /// Name of the source to (re)place: importing the same name again replaces its
    /// records [default: one source per PATH, named by its absolute path].
    #[arg(long, value_name = "NAME")]
    pub source: Option<String>,
    /// Start from an empty database instead of adding to the current one.
    #[arg(long)]
    pub fresh: bool,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  patchline db update --source debian-tracker --source kev")]
pub struct UpdateArgs {
    #[command(flatten)]
    pub db: DbPath,
    /// Base URL of a mirror: replaces the scheme and host of every source URL, keeping
    /// the path (e.g. http://mirror.local/osv → http://mirror.local/osv/Go/all.zip).
    #[arg(long, env = "PATCHLINE_DB_MIRROR", value_name = "URL")]
    pub mirror: Option<String>,
    /// Sources to update (repeatable): a name from `patchline db sources`, or NAME=URL
    /// for a feed of your own [default: the distros' sources, KEV and EPSS].
    #[arg(long = "source", value_name = "NAME")]
    pub sources: Vec<String>,
    /// Rebuild from an empty database (drops sources not updated in this run).
    #[arg(long)]
    pub fresh: bool,
    /// Seconds until each feed's answer starts (connecting takes at most 10 of them);
    /// a body is then held to 1 KiB/s over 30 s windows, however long it is.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub timeout: u64,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  patchline db status --format json")]
pub struct StatusArgs {
    #[command(flatten)]
    pub db: DbPath,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
    /// Warn when the database is older than this: days, or a number with a unit (36h, 2w).
    /// The default, a week, stays quiet for weekly mirror syncs.
    #[arg(long, value_name = "DAYS", default_value = "7", value_parser = parse_age)]
    pub max_age: Duration,
}

fn parse_age(s: &str) -> Result<Duration, String> {
    patchline_advisory::parse_duration(s).map_err(|e| e.to_string())
}

pub fn run(c: Command) -> Result<u8> {
    match c {
        Command::Import(a) => import(a),
        Command::Update(a) => run_update(a),
        Command::Status(a) => status(a),
        Command::Sources => sources(),
    }
}

/// A warning on stderr; one that cannot be written changes nothing (`term`).
fn warn(msg: &str) {
    errln!("patchline: warning: {msg}");
}

fn import(a: ImportArgs) -> Result<u8> {
    let db = a.db.resolve()?;
    let opts = ImportOptions {
        source: a.source,
        fresh: a.fresh,
        on_wait: Some(|lock| {
            errln!(
                "patchline: waiting for {}: another patchline is writing this database",
                lock.display()
            )
        }),
        ..ImportOptions::default()
    };
    let report = patchline_advisory::import_files(&db, &a.paths, &opts)?;
    for w in &report.warnings {
        warn(w);
    }
    for (name, s) in &report.sources {
        noteln!(
            "{name}: {} advisories, {} enrichment records from {} documents{}",
            s.advisories(),
            s.enrichments(),
            s.documents,
            if s.skipped > 0 {
                format!(" ({} files skipped)", s.skipped)
            } else {
                String::new()
            }
        );
    }
    let t = report.total();
    let secs = report.elapsed.as_secs_f64();
    let records = (t.advisories() + t.enrichments()) as f64;
    noteln!(
        "imported {} advisories and {} enrichment records into {} in {secs:.2} s ({:.0} records/s)",
        t.advisories(),
        t.enrichments(),
        db.display(),
        if secs > 0.0 { records / secs } else { records }
    );
    Ok(crate::EXIT_OK)
}

fn run_update(a: UpdateArgs) -> Result<u8> {
    let mut opts = UpdateOptions::new(a.db.resolve()?);
    opts.mirror = a.mirror;
    opts.sources = a.sources;
    opts.fresh = a.fresh;
    opts.timeout = Duration::from_secs(a.timeout.max(1));
    let report = update::update(&opts, &mut |line| errln!("patchline: {line}"))?;
    for w in &report.warnings {
        warn(w);
    }
    let mut failed = Vec::new();
    for s in &report.sources {
        match &s.outcome {
            Outcome::Updated { stats, .. } => noteln!(
                "{}: updated, {} advisories, {} enrichment records",
                s.name,
                stats.advisories(),
                stats.enrichments()
            ),
            Outcome::NotModified => noteln!("{}: not modified", s.name),
            Outcome::Failed(m) => {
                noteln!("{}: failed (previous data kept): {m}", s.name);
                failed.push(format!("{} ({})", s.name, s.url));
            }
        }
    }
    if !report.committed {
        bail!(
            "every source failed; {} was left unchanged",
            opts.db.display()
        );
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} sources failed, their previous data was kept: {}",
            failed.len(),
            report.sources.len(),
            failed.join(", ")
        );
    }
    Ok(crate::EXIT_OK)
}

fn sources() -> Result<u8> {
    outln!("{:<20} {:<8} URL", "SOURCE", "DEFAULT")?;
    for s in update::builtin_sources() {
        outln!(
            "{:<20} {:<8} {}",
            s.name,
            if s.default { "yes" } else { "no" },
            s.url
        )?;
    }
    Ok(crate::EXIT_OK)
}

fn age_text(ts: Option<&str>) -> String {
    ts.and_then(age_since)
        .map(format_duration)
        .unwrap_or_else(|| "-".into())
}

fn status(a: StatusArgs) -> Result<u8> {
    let path = a.db.resolve()?;
    let db = AdvisoryDb::open(&path)?;
    let info = db.info()?;
    let sources = db.sources()?;
    let (advisories, enrichments) = db.counts()?;
    let age = db.age()?;
    let stale = patchline_advisory::staleness_warning(&info, a.max_age);
    if a.format == TableFormat::Json {
        let srcs: Vec<serde_json::Value> = sources
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                if let (Some(obj), Some(age)) = (
                    v.as_object_mut(),
                    s.fetched_at.as_deref().and_then(age_since),
                ) {
                    obj.insert("age_seconds".into(), age.as_secs().into());
                }
                v
            })
            .collect();
        let doc = serde_json::json!({
            "path": info.path,
            "schema_version": info.schema_version,
            "updated_at": info.updated_at,
            "age_seconds": age.map(|d| d.as_secs()),
            "max_age_seconds": a.max_age.as_secs(),
            "stale": stale.is_some(),
            "advisories": advisories,
            "enrichments": enrichments,
            "sources": srcs,
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        outln!("database   {}", info.path)?;
        outln!("schema     {}", info.schema_version)?;
        outln!(
            "updated    {} ({} ago)",
            info.updated_at.as_deref().unwrap_or("-"),
            age_text(info.updated_at.as_deref())
        )?;
        outln!("records    {advisories} advisories, {enrichments} enrichment records")?;
        outln!()?;
        let w = sources
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(6)
            .max(6);
        outln!(
            "{:<w$}  {:<16} {:>10} {:>11}  {:<20} {:>7}  URL",
            "SOURCE",
            "FORMATS",
            "ADVISORIES",
            "ENRICHMENT",
            "FETCHED",
            "AGE"
        )?;
        for s in &sources {
            outln!(
                "{:<w$}  {:<16} {:>10} {:>11}  {:<20} {:>7}  {}",
                s.name,
                if s.formats.is_empty() {
                    "-"
                } else {
                    &s.formats
                },
                s.advisories,
                s.enrichments,
                s.fetched_at.as_deref().unwrap_or("-"),
                age_text(s.fetched_at.as_deref()),
                s.url.as_deref().unwrap_or("-")
            )?;
        }
    }
    if let Some(w) = stale {
        warn(&w);
    }
    Ok(crate::EXIT_OK)
}
