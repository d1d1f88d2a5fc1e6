//! The `patchline` command. One module per subcommand under `cmd/`; shared option
//! groups in `args`; terminal progress in `progress`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod cmd;
mod output;
mod progress;

/// Patch and vulnerability management for container images across an image supply chain.
#[derive(Parser)]
#[command(name = "patchline", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inventory an image's OS packages, layer by layer, as an SBOM.
    Sbom(cmd::sbom::Args),
}

/// Exit codes, as documented in the README.
pub const EXIT_OK: u8 = 0;
#[allow(dead_code)]
pub const EXIT_GATE_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sbom(a) => cmd::sbom::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("patchline: error: {e:#}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}
