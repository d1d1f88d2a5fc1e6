//! `patchline graph`: the image hierarchy of the catalog, with tier, owner, digest age
//! and vulnerability counts (own and inherited) per image.

use anyhow::Result;
use patchline_lineage::render::{self, RenderOptions};
use patchline_lineage::vuln_counts;

use crate::cmd::catalog::StateArgs;

/// `--format` of `graph`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An indented tree.
    Text,
    Json,
    /// Graphviz.
    Dot,
    Mermaid,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  patchline graph --format mermaid")]
pub struct Args {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write to FILE instead of stdout (written whole or not at all; a device, FIFO or
    /// symlink is written through, not replaced).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub state: StateArgs,
}

pub fn run(a: Args) -> Result<u8> {
    let cat = a.state.open()?;
    let g = cat.graph()?;
    let counts = vuln_counts(&g, &cat.scans()?);
    let opts = RenderOptions {
        counts: Some(&counts),
        now: None,
    };
    let out = match a.format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&render::json(&g, &opts))?;
            s.push('\n');
            s
        }
        Format::Dot => render::dot(&g, &opts),
        Format::Mermaid => render::mermaid(&g, &opts),
        Format::Text => render::text(&g, &opts),
    };
    crate::output::write_all_or_nothing(a.output.as_deref(), out.as_bytes())?;
    Ok(crate::EXIT_OK)
}
