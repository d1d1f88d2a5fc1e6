//! `patchline vex IMAGE`: what a scan knows about each vulnerability in the image, as a
//! VEX document (OpenVEX v0.2.0 by default, or CycloneDX 1.6 with `vulnerabilities`).
//!
//! The image is scanned as `patchline scan` scans it (same database and image options),
//! or a scan report written by `patchline scan --format json` is read instead
//! (`--report`). `--vex FILE` (repeatable) takes vendor statements in: findings they
//! say are `not_affected` or `fixed` are restated as such, with the vendor's
//! justification. Exceptions come from the report's policy block (its applied
//! exceptions). The renderers' module docs (`patchline_report::openvex`,
//! `scan/cyclonedx_vex.rs`) say which statement each finding and decision becomes.

use std::path::PathBuf;

use anyhow::{Context, Result};
use patchline_model::vuln::ScanReport;
use patchline_report::{render_openvex, render_scan, RenderOptions, ScanFormat, VexAuthor};
use patchline_scan::Input;

use crate::args::ImageArgs;

/// `--format` of `vex`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// OpenVEX v0.2.0.
    Openvex,
    /// CycloneDX 1.6 with `vulnerabilities` and their `analysis`.
    #[value(name = "cyclonedx")]
    CycloneDx,
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  patchline vex registry.example.com/team/app:1.4 --author team-app@example.com -o app.openvex.json\n  patchline scan oci:build/app -f json -o scan.json && patchline vex --report scan.json --format cyclonedx"
)]
pub struct Args {
    /// The image, as `patchline scan` takes it (or sbom:FILE).
    #[arg(required_unless_present = "report", conflicts_with = "report")]
    pub image: Option<String>,
    /// Read a scan report (`patchline scan --format json`) instead of scanning.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// The advisory database [default: $XDG_CACHE_HOME/patchline/db/advisories.sqlite].
    #[arg(long, env = "PATCHLINE_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Openvex)]
    pub format: Format,
    /// Write to FILE instead of stdout (written whole or not at all).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The document's author (OpenVEX `author`).
    #[arg(long, default_value = "patchline")]
    pub author: String,
    /// The author's role (OpenVEX `role`).
    #[arg(long)]
    pub role: Option<String>,
    /// A VEX document (OpenVEX, CycloneDX VEX or CSAF VEX) whose `not_affected` and
    /// `fixed` statements are restated for the findings they match. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

pub fn run(a: Args) -> Result<u8> {
    let statements = crate::cmd::scan::read_vex_files(&a.vex)?;
    let mut report: ScanReport = match (&a.report, &a.image) {
        (Some(path), _) => {
            let bytes = crate::cmd::scan::read_bounded(path, 256 << 20)?;
            serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "{}: not a patchline scan report (patchline scan --format json)",
                    path.display()
                )
            })?
        }
        (None, Some(image)) => {
            let mut opts = a.image_args.scan_options()?;
            opts.db = a.db.clone();
            opts.governance.vex = statements.clone();
            crate::progress::with_layer_bars(|p| {
                patchline_scan::scan(Input::parse(image), &opts, p)
            })?
            .report
        }
        (None, None) => anyhow::bail!("name an IMAGE or a --report FILE"),
    };
    patchline_policy::vex::suppress(&mut report, &statements);

    let opts = RenderOptions::default();
    let mut buf = Vec::new();
    match a.format {
        Format::Openvex => render_openvex(
            &report,
            &VexAuthor {
                author: a.author.clone(),
                role: a.role.clone(),
            },
            &opts,
            &mut buf,
        ),
        Format::CycloneDx => render_scan(&report, ScanFormat::CycloneDx, &opts, &mut buf),
    }
    .context("rendering the VEX document")?;
    crate::output::write_all_or_nothing(a.output.as_deref(), &buf)?;
    crate::term::warnings(&report.warnings, false);
    Ok(crate::EXIT_OK)
}
