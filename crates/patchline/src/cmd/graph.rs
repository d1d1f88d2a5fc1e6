//! `patchline graph`: the image hierarchy of the catalog, with tier, owner, digest age
//! and vulnerability counts (own and inherited) per image.

use anyhow::Result;
use patchline_lineage::render::{self, RenderOptions};
use patchline_lineage::vuln_counts;

use crate::cmd::catalog::StateArgs;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Output format.
    #[arg(long, short = 'f', default_value = "text", value_parser = ["text", "json", "dot", "mermaid"])]
    pub format: String,
    /// Write to FILE instead of stdout (written whole or not at all).
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
    let out = match a.format.as_str() {
        "json" => {
            let mut s = serde_json::to_string_pretty(&render::json(&g, &opts))?;
            s.push('\n');
            s
        }
        "dot" => render::dot(&g, &opts),
        "mermaid" => render::mermaid(&g, &opts),
        _ => render::text(&g, &opts),
    };
    crate::output::write_all_or_nothing(a.output.as_deref(), out.as_bytes())?;
    Ok(crate::EXIT_OK)
}
