//! `patchline man DIR`: one man page per command and subcommand, written to DIR.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  patchline man ~/.local/share/man/man1 && man patchline-scan")]
pub struct Args {
    /// Directory to write `patchline.1`, `patchline-scan.1`, `patchline-db-import.1`, ...
    /// into (created when missing).
    pub dir: PathBuf,
}

pub fn run(a: Args) -> Result<u8> {
    std::fs::create_dir_all(&a.dir).with_context(|| format!("creating {}", a.dir.display()))?;
    let mut written = 0;
    write_pages(crate::Cli::command(), "patchline", &a.dir, &mut written)?;
    noteln!("{written} man pages written to {}", a.dir.display());
    Ok(crate::EXIT_OK)
}

/// Writes the page of `cmd` as `NAME.1` and recurses into its subcommands.
fn write_pages(cmd: clap::Command, name: &str, dir: &Path, written: &mut usize) -> Result<()> {
    // The page and its synopsis name the whole command line (`patchline db import`).
    let cmd = cmd.name(name.to_string()).bin_name(name.replace('-', " "));
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .title(name.to_ascii_uppercase())
        .render(&mut page)
        .with_context(|| format!("rendering the man page of {name}"))?;
    let path = dir.join(format!("{name}.1"));
    crate::output::write_all_or_nothing(Some(&path), &page)?;
    *written += 1;
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(
            sub.clone(),
            &format!("{name}-{}", sub.get_name()),
            dir,
            written,
        )?;
    }
    Ok(())
}
