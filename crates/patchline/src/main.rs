//! The `patchline` command. One module per subcommand under `cmd/`; shared option
//! groups in `args`; terminal progress in `progress`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[macro_use]
mod term;

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
    /// Match an image's (or an SBOM's) packages against the advisory database.
    Scan(cmd::scan::Args),
    /// Manage the local advisory database: import, update, status.
    #[command(subcommand)]
    Db(cmd::db::Command),
    /// The catalog of images: add, import, list, export, remove, sync.
    #[command(subcommand)]
    Catalog(cmd::catalog::Command),
    /// The image hierarchy: text, JSON, Graphviz dot or Mermaid.
    Graph(cmd::graph::Args),
    /// Every image a CVE, a package or a new base digest affects, and who fixes it.
    Impact(cmd::impact::Args),
    /// Images whose parent tag now points at a newer digest.
    Outdated(cmd::outdated::Args),
    /// The patch plan for a CVE or a new base: waves, patched Containerfiles, tags.
    Plan(cmd::plan::Args),
    /// Check rebuilt images against a patch plan.
    Verify(cmd::verify::Args),
    /// Compare versions by an ecosystem's rules (`<`, `=` or `>`), or a stream of pairs.
    Vercmp(cmd::vercmp::Args),
}

/// Exit codes, as documented in the README.
pub const EXIT_OK: u8 = 0;
pub const EXIT_GATE_FAILED: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sbom(a) => cmd::sbom::run(a),
        Command::Scan(a) => cmd::scan::run(a),
        Command::Db(c) => cmd::db::run(c),
        Command::Catalog(c) => cmd::catalog::run(c),
        Command::Graph(a) => cmd::graph::run(a),
        Command::Impact(a) => cmd::impact::run(a),
        Command::Outdated(a) => cmd::outdated::run(a),
        Command::Plan(a) => cmd::plan::run(a),
        Command::Verify(a) => cmd::verify::run(a),
        Command::Vercmp(a) => cmd::vercmp::run(a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            errln!("patchline: error: {}", error_line(&e));
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// An error and its causes on one line, each said once: many errors already include
/// their cause's text (`file: No such file or directory`), which `{:#}` would repeat.
fn error_line(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn causes_are_said_once_on_one_line() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = anyhow::Error::new(io)
            .context("cannot read: entity not found")
            .context("reading x.json\nsecond line");
        assert_eq!(
            super::error_line(&e),
            "reading x.json second line: cannot read: entity not found"
        );
    }
}
