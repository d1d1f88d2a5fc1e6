//! `patchline scan IMAGE`: the image's (or an SBOM's) packages matched against the local
//! advisory database, as a table, JSON, SARIF or CycloneDX VEX.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use patchline_advisory::AdvisoryDb;
use patchline_match::{MatchOptions, Matcher};
use patchline_model::vuln::Severity;
use patchline_model::{Inventory, Warning};
use patchline_report::{render_scan, RenderOptions, ScanFormat};

use crate::args::ImageArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The image: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG],
    /// dir:ROOTFS, docker://HOST/REPO[:TAG|@DIGEST], HOST/REPO:TAG; or sbom:FILE, a
    /// CycloneDX or SPDX JSON SBOM (patchline's own included).
    pub image: String,
    /// The advisory database [default: $XDG_CACHE_HOME/patchline/db/advisories.sqlite].
    #[arg(long, env = "PATCHLINE_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', default_value = "table", value_parser = ["table", "json", "sarif", "cyclonedx"])]
    pub format: String,
    /// Write to FILE instead of stdout (written whole or not at all).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a reported finding is at least this severe (negligible, low, medium,
    /// high, critical).
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Report only findings with a fixed version.
    #[arg(long)]
    pub only_fixed: bool,
    /// Leave out findings without a fix (unfixed, will-not-fix, unimportant).
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// Warn when the database is older than this: days, or a number with a unit (36h, 2w).
    #[arg(long, value_name = "DAYS", default_value = "7", value_parser = parse_age)]
    pub max_db_age: Duration,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

fn parse_age(s: &str) -> Result<Duration, String> {
    patchline_advisory::parse_duration(s).map_err(|e| e.to_string())
}

/// The inventory of IMAGE: an image reference, or `sbom:FILE`.
fn inventory(image: &str, a: &ImageArgs) -> Result<Inventory> {
    match image.strip_prefix("sbom:") {
        Some(file) => patchline_inventory::sbom_input::read_sbom(Path::new(file))
            .with_context(|| format!("reading the SBOM {file}")),
        None => crate::cmd::sbom::inventory(image, a),
    }
}

pub fn run(a: Args) -> Result<u8> {
    let format: ScanFormat = a.format.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    // The database first: a missing one is the commonest mistake, and cheap to find.
    let db_path = match &a.db {
        Some(p) => p.clone(),
        None => patchline_advisory::default_path()?,
    };
    let db = AdvisoryDb::open(&db_path)?;
    let info = db.info()?;
    let stale = patchline_advisory::staleness_warning(&info, a.max_db_age);

    let inv = inventory(&a.image, &a.image_args)?;
    let opts = MatchOptions {
        only_fixed: a.only_fixed,
        ignore_unfixed: a.ignore_unfixed,
        today: None,
    };
    let mut report = Matcher::new(&db)
        .scan(&inv, &opts)
        .context("matching the inventory against the advisory database")?;
    report.db = info;
    if let Some(w) = stale {
        report.warnings.push(Warning {
            source: "advisory-db".into(),
            location: db_path.display().to_string(),
            message: w,
        });
    }

    let mut buf = Vec::new();
    let color = a.output.is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none();
    render_scan(
        &report,
        format,
        &RenderOptions {
            color,
            timestamp: None,
            serial: None,
        },
        &mut buf,
    )
    .context("rendering the scan report")?;
    crate::output::write_all_or_nothing(a.output.as_deref(), &buf)?;
    for w in &report.warnings {
        eprintln!(
            "patchline: warning: {}: {}: {}",
            w.source, w.location, w.message
        );
    }
    if let Some(threshold) = a.fail_on {
        let n = report
            .findings
            .iter()
            .filter(|f| f.severity >= threshold)
            .count();
        if n > 0 {
            eprintln!(
                "patchline: {n} finding(s) at or above {} (--fail-on)",
                threshold.as_str()
            );
            return Ok(crate::EXIT_GATE_FAILED);
        }
    }
    Ok(crate::EXIT_OK)
}
