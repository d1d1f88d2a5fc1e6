//! `patchline impact`: every catalogued image a CVE, a package or a new base digest
//! affects, the root of each fix and its owner.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use patchline_lineage::{
    impact_base, impact_cve, impact_package, render, Catalog, ImpactReport, PackageQuery,
};

use patchline_scan::{Input, ScanOptions};

use crate::args::TextFormat;
use crate::cmd::catalog::StateArgs;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  patchline impact CVE-2024-2398 --db ~/.cache/patchline/db/advisories.sqlite"
)]
pub struct Args {
    /// The vulnerability (CVE or any alias), from the stored scans.
    #[arg(value_name = "CVE-ID", required_unless_present_any = ["package", "base"], conflicts_with_all = ["package", "base"])]
    pub cve: Option<String>,
    /// A package: NAME or NAME@VERSION (binary or source name), from the stored inventories.
    #[arg(long, value_name = "NAME[@VERSION]", conflicts_with = "base")]
    pub package: Option<String>,
    /// A base image with a new digest: IMAGE[@DIGEST] (as catalogued).
    #[arg(long, value_name = "IMAGE@DIGEST")]
    pub base: Option<String>,
    /// For a CVE: scan the stored inventories against this advisory database now instead
    /// of using the stored scans.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    #[arg(long, short = 'f', value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
    #[command(flatten)]
    pub state: StateArgs,
}

/// The impact report for a CVE: stored scans, or fresh scans of the stored inventories.
pub fn cve_report(cat: &Catalog, id: &str, db: Option<&std::path::Path>) -> Result<ImpactReport> {
    let g = cat.graph()?;
    let mut scans = cat.scans()?;
    if let Some(db) = db {
        let opts = ScanOptions {
            db: Some(db.to_path_buf()),
            ..ScanOptions::default()
        };
        for (reference, inv) in cat.inventories()? {
            let s = patchline_scan::scan(
                Input::Inventory(Box::new(inv)),
                &opts,
                &patchline_inventory::NoProgress,
            )
            .with_context(|| format!("rescanning the stored inventory of {reference}"))?;
            scans.insert(reference, s.report);
        }
    }
    if scans.is_empty() {
        bail!("no image of the catalog has been scanned: catalog them with --db PATH, or pass --db PATH here");
    }
    Ok(impact_cve(&g, &scans, id))
}

pub fn run(a: Args) -> Result<u8> {
    let cat = a.state.open()?;
    let report = if let Some(spec) = &a.package {
        let q = PackageQuery::parse(spec)?;
        let invs = cat.inventories()?;
        if invs.is_empty() {
            bail!(
                "no inventory is stored in the catalog: catalog the images without --no-inventory"
            );
        }
        impact_package(&cat.graph()?, &invs, &q)
    } else if let Some(base) = &a.base {
        impact_base(&cat.graph()?, base)?
    } else if let Some(id) = &a.cve {
        cve_report(&cat, id, a.db.as_deref())?
    } else {
        bail!("give a CVE-ID, --package NAME[@VERSION] or --base IMAGE@DIGEST");
    };
    let out = if a.format == TextFormat::Json {
        let mut s = serde_json::to_string_pretty(&report)?;
        s.push('\n');
        s
    } else {
        render::impact_text(&report)
    };
    crate::output::write_all_or_nothing(None, out.as_bytes())?;
    for w in &report.warnings {
        errln!("patchline: warning: {w}");
    }
    Ok(crate::EXIT_OK)
}
