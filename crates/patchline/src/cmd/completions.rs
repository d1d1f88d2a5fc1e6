//! `patchline completions SHELL`: the shell completion script, on stdout.

use anyhow::Result;
use clap::CommandFactory;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  patchline completions bash > ~/.local/share/bash-completion/completions/patchline"
)]
pub struct Args {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(a: Args) -> Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(
        a.shell,
        &mut crate::Cli::command(),
        "patchline",
        &mut script,
    );
    crate::output::write_all_or_nothing(None, &script)?;
    Ok(crate::EXIT_OK)
}
