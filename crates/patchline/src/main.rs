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

const EXAMPLES: &str = "\
Examples:
  patchline db update
      Download the advisory feeds (Debian, Ubuntu, Alpine, Red Hat family, SUSE, ... plus KEV and EPSS).
  patchline scan docker.io/library/debian:12
      Scan an image from a registry; findings in risk order.
  patchline scan sbom:sbom.cdx.json --fail-on high --format sarif -o patchline.sarif
      Gate a CI job on an SBOM: exit 1 on a high or critical finding, 2 when the input could not be read or judged whole.

Exit codes: 0 ok, 1 gate failed, 2 bad input or usage.";

/// Patch and vulnerability management for container images across an image supply chain.
#[derive(Parser)]
#[command(name = "patchline", version, about, propagate_version = true, after_help = EXAMPLES)]
pub(crate) struct Cli {
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
    /// Policy files: check one (`policy check FILE`).
    #[command(subcommand)]
    Policy(cmd::policy::Command),
    /// A VEX document (OpenVEX or CycloneDX) of an image's scan: findings, exceptions, vendor statements.
    Vex(cmd::vex::Args),
    /// The organisation-wide server: registry watch, delta rescans, notifications, campaigns, API.
    Serve(cmd::serve::Args),
    /// Running containers: their images' findings and runtime checks (`runtime docker`).
    #[command(subcommand)]
    Runtime(cmd::runtime::Command),
    /// Compare versions by an ecosystem's rules (`<`, `=` or `>`), or a stream of pairs.
    Vercmp(cmd::vercmp::Args),
    /// Print the shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(cmd::completions::Args),
    /// Write a man page for every command and subcommand into a directory.
    Man(cmd::man::Args),
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
        Command::Policy(c) => cmd::policy::run(c),
        Command::Vex(a) => cmd::vex::run(a),
        Command::Serve(a) => cmd::serve::run(a),
        Command::Runtime(c) => cmd::runtime::run(c),
        Command::Vercmp(a) => cmd::vercmp::run(a),
        Command::Completions(a) => cmd::completions::run(a),
        Command::Man(a) => cmd::man::run(a),
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
    use clap::{CommandFactory, Parser};

    /// The command lines of a help text's examples (the lines starting `patchline `).
    fn example_lines(help: &str) -> Vec<Vec<&str>> {
        help.lines()
            .map(str::trim)
            .filter(|l| l.starts_with("patchline "))
            .map(command_argv)
            .collect()
    }

    /// The words of a shell command line up to its first redirection, pipe or list
    /// operator: what patchline itself is given.
    fn command_argv(line: &str) -> Vec<&str> {
        line.split_whitespace()
            .take_while(|w| !matches!(*w, "||" | "&&" | ">" | "|"))
            .collect()
    }

    /// docs/ci.md: every YAML block is valid YAML, and every `patchline` command line in
    /// it (YAML `run:`/`script:` lines and shell) parses as this CLI's command line.
    #[test]
    fn ci_docs_are_valid() {
        let doc = include_str!("../../../docs/ci.md");
        let mut blocks: Vec<(&str, String)> = Vec::new();
        let mut current: Option<(&str, String)> = None;
        for line in doc.lines() {
            match (&mut current, line.strip_prefix("```")) {
                (None, Some(lang)) => current = Some((lang.trim(), String::new())),
                (Some(_), Some(_)) => blocks.push(current.take().unwrap()),
                (Some((_, body)), None) => {
                    body.push_str(line);
                    body.push('\n');
                }
                (None, None) => {}
            }
        }
        assert!(current.is_none(), "an unclosed code block");
        let yaml = blocks.iter().filter(|(l, _)| *l == "yaml").count();
        assert_eq!(yaml, 2, "the GitHub and GitLab pipelines");
        let mut commands = 0;
        for (lang, body) in &blocks {
            if *lang == "yaml" {
                let v: serde_json::Value = serde_saphyr::from_str(body)
                    .unwrap_or_else(|e| panic!("docs/ci.md: invalid YAML: {e}\n{body}"));
                assert!(v.is_object(), "{body}");
            }
            for line in body.lines() {
                let line = line.trim().trim_start_matches("- ");
                let line = line.strip_prefix("run: ").unwrap_or(line);
                let Some(start) = line.find("patchline ") else {
                    continue;
                };
                let cmd = &line[start..];
                if cmd.starts_with("patchline patchline") || line.contains("cargo install") {
                    continue;
                }
                let argv = command_argv(cmd);
                commands += 1;
                if let Err(e) = super::Cli::try_parse_from(&argv) {
                    panic!("docs/ci.md: {argv:?} does not parse: {e}");
                }
            }
        }
        assert!(commands >= 6, "{commands} command lines checked");
    }

    /// Every command has an example, and every example parses as a command line.
    #[test]
    fn every_command_has_an_example_that_parses() {
        fn walk(cmd: &clap::Command, path: &str, seen: &mut usize) {
            if cmd.get_name() == "help" {
                return;
            }
            let help = cmd
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            let examples = example_lines(&help);
            assert!(!examples.is_empty(), "{path}: no example in its help");
            for argv in examples {
                *seen += 1;
                if let Err(e) = super::Cli::try_parse_from(&argv) {
                    panic!("{path}: example {argv:?} does not parse: {e}");
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), seen);
            }
        }
        let cli = super::Cli::command();
        let mut seen = 0;
        for sub in cli.get_subcommands().filter(|s| !s.has_subcommands()) {
            walk(sub, sub.get_name(), &mut seen);
        }
        for group in cli.get_subcommands().filter(|s| s.has_subcommands()) {
            for sub in group.get_subcommands() {
                walk(
                    sub,
                    &format!("{} {}", group.get_name(), sub.get_name()),
                    &mut seen,
                );
            }
        }
        // The top level's three.
        for argv in example_lines(super::EXAMPLES) {
            super::Cli::try_parse_from(&argv).unwrap();
            seen += 1;
        }
        assert!(seen >= 23, "{seen} examples");
    }

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
