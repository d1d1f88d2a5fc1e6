//! `patchline sbom IMAGE`: the inventory of an image as table, JSON, CycloneDX or SPDX.

use std::path::PathBuf;

use anyhow::{Context, Result};
use patchline_image::ImageRef;
use patchline_inventory::{NoProgress, Progress};
use patchline_model::Inventory;
use patchline_report::{render_sbom, RenderOptions, SbomFormat};

use crate::args::ImageArgs;
use crate::progress::LayerBars;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The image: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG],
    /// dir:ROOTFS, docker://HOST/REPO[:TAG|@DIGEST] or HOST/REPO:TAG.
    pub image: String,
    /// Output format.
    #[arg(long, short = 'f', default_value = "table", value_parser = ["table", "json", "cyclonedx", "spdx"])]
    pub format: String,
    /// Write to FILE instead of stdout (written whole or not at all).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

/// Reads an image reference into its inventory (shared with later subcommands).
pub fn inventory(image: &str, a: &ImageArgs) -> Result<Inventory> {
    let reference = ImageRef::parse(image)?;
    let opts = a.inventory_options()?;
    if let ImageRef::RootFs { dir } = &reference {
        return Ok(patchline_inventory::inventory_rootfs(dir, image, &opts)?);
    }
    let source = patchline_image::open(&reference, image, &a.open_options()?)?;
    let bars = LayerBars::for_stderr();
    let progress: &dyn Progress = match &bars {
        Some(b) => b,
        None => &NoProgress,
    };
    Ok(patchline_inventory::inventory_image(
        source.as_ref(),
        &opts,
        progress,
    )?)
}

pub fn run(a: Args) -> Result<u8> {
    let format: SbomFormat = a.format.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let inv = inventory(&a.image, &a.image_args)?;
    let mut buf = Vec::new();
    let color = a.output.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout());
    render_sbom(
        &inv,
        format,
        &RenderOptions {
            color,
            timestamp: None,
            serial: None,
        },
        &mut buf,
    )
    .context("rendering the SBOM")?;
    crate::output::write_all_or_nothing(a.output.as_deref(), &buf)?;
    for w in &inv.warnings {
        eprintln!(
            "patchline: warning: {}: {}: {}",
            w.source, w.location, w.message
        );
    }
    Ok(crate::EXIT_OK)
}
