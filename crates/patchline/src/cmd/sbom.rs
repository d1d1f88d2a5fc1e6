//! `patchline sbom IMAGE`: the inventory of an image as table, JSON, CycloneDX or SPDX.

use std::path::PathBuf;

use anyhow::{Context, Result};
use patchline_model::Inventory;
use patchline_report::{render_sbom, RenderOptions, SbomFormat};
use patchline_scan::Input;

use crate::args::ImageArgs;

/// `--format` of `sbom`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    #[value(name = "cyclonedx")]
    CycloneDx,
    Spdx,
}

impl From<Format> for SbomFormat {
    fn from(f: Format) -> SbomFormat {
        match f {
            Format::Table => SbomFormat::Table,
            Format::Json => SbomFormat::Json,
            Format::CycloneDx => SbomFormat::CycloneDx,
            Format::Spdx => SbomFormat::Spdx,
        }
    }
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  patchline sbom oci:build/layout:app --format cyclonedx -o app.cdx.json"
)]
pub struct Args {
    /// The image: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG],
    /// dir:ROOTFS, docker://HOST/REPO[:TAG|@DIGEST] or HOST/REPO:TAG.
    pub image: String,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to FILE instead of stdout (written whole or not at all; a device, FIFO or
    /// symlink is written through, not replaced).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

/// Reads an image reference into its inventory (the first stage of `patchline-scan`),
/// with layer bars on a terminal.
pub fn inventory(image: &str, a: &ImageArgs) -> Result<Inventory> {
    let opts = a.scan_options()?;
    Ok(crate::progress::with_layer_bars(|p| {
        patchline_scan::inventory(Input::Image(image.to_string()), &opts, p)
    })?)
}

pub fn run(a: Args) -> Result<u8> {
    let inv = inventory(&a.image, &a.image_args)?;
    let mut buf = Vec::new();
    let color = a.output.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout());
    render_sbom(
        &inv,
        a.format.into(),
        &RenderOptions {
            color,
            timestamp: None,
            started: None,
            serial: None,
        },
        &mut buf,
    )
    .context("rendering the SBOM")?;
    crate::output::write_all_or_nothing(a.output.as_deref(), &buf)?;
    crate::term::warnings(
        &inv.warnings,
        matches!(a.format, Format::Table) && a.output.is_none(),
    );
    Ok(crate::EXIT_OK)
}
