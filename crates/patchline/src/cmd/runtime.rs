//! `patchline runtime docker`: the containers of a Docker Engine with the image digest
//! each runs, the image's findings from the local advisory DB, and the runtime checks
//! (`patchline-runtime`); `--enforce` stops the containers that break the runtime stage's
//! blocking rules. Exit 0 when nothing blocks, 1 when something does, 2 when the engine
//! or the DB cannot be read.

use std::path::PathBuf;

use anyhow::{Context, Result};
use patchline_runtime::report::Format as RuntimeFormat;
use patchline_runtime::{Engine, Gate, RuntimeOptions};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Containers of a Docker Engine: image digests and findings, runtime checks.
    Docker(DockerArgs),
}

/// `--format` of `runtime`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Sarif,
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  patchline runtime docker\n  patchline runtime docker --host unix:///run/docker.sock --all --format json\n  patchline runtime docker --policy policy.yaml --enforce"
)]
pub struct DockerArgs {
    /// The engine: unix:///PATH or tcp://HOST:PORT (plain HTTP).
    #[arg(
        long,
        env = "DOCKER_HOST",
        value_name = "URL",
        default_value = "unix:///var/run/docker.sock"
    )]
    pub host: String,
    /// Every container, not only running ones.
    #[arg(long)]
    pub all: bool,
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Stop running containers that break a blocking rule (each action printed with its
    /// reason). Off by default: report only.
    #[arg(long)]
    pub enforce: bool,
    /// The advisory database [default: $XDG_CACHE_HOME/patchline/db/advisories.sqlite].
    #[arg(long, env = "PATCHLINE_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Blocking rules from a policy file's stage [default without it: critical runtime
    /// findings block].
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The policy file's stage.
    #[arg(
        long,
        value_name = "STAGE",
        default_value = "runtime",
        requires = "policy"
    )]
    pub stage: String,
    /// Runtime checks only: do not scan the images.
    #[arg(long)]
    pub no_image_scan: bool,
    /// Where image inventories are cached by image id [default:
    /// $XDG_CACHE_HOME/patchline/runtime].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The largest image export read from the engine, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 8192)]
    pub max_image_size: u64,
    /// Seconds each engine request may take (an image export included).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub timeout: u64,
}

pub fn run(c: Command) -> Result<u8> {
    match c {
        Command::Docker(a) => docker(a),
    }
}

fn docker(a: DockerArgs) -> Result<u8> {
    let gate = match &a.policy {
        Some(p) => {
            let file = patchline_policy::read_policy(p)
                .map_err(|e| anyhow::anyhow!("invalid policy file:\n{e}"))?;
            let profile = file
                .select_stage(Some(&a.stage))
                .map_err(|e| anyhow::anyhow!(e))?;
            Gate::from_policy(&file, profile)
        }
        None => Gate::default(),
    };
    let cache_dir = match &a.cache_dir {
        Some(d) => Some(d.clone()),
        None => patchline_advisory::default_path()
            .ok()
            .and_then(|p| Some(p.parent()?.parent()?.join("runtime"))),
    };
    let opts = RuntimeOptions {
        all: a.all,
        scan_images: !a.no_image_scan,
        db: a.db.clone(),
        cache_dir,
        max_image_bytes: a.max_image_size.saturating_mul(1 << 20),
        gate,
    };
    let mut engine = Engine::connect(&a.host, a.timeout)?;
    let mut report = patchline_runtime::inspect(&mut engine, &opts)?;
    if a.enforce {
        patchline_runtime::enforce(&engine, &mut report, 10);
        for act in &report.actions {
            errln!(
                "patchline: enforce: {} {} ({}): {}",
                act.outcome,
                act.name,
                &act.container[..act.container.len().min(12)],
                act.reasons.join("; ")
            );
        }
    }
    let format = match a.format {
        Format::Table => RuntimeFormat::Table,
        Format::Json => RuntimeFormat::Json,
        Format::Sarif => RuntimeFormat::Sarif,
    };
    let mut buf = Vec::new();
    patchline_runtime::report::render(&report, format, &mut buf)
        .context("rendering the runtime report")?;
    crate::output::write_all_or_nothing(a.output.as_deref(), &buf)?;
    for w in &report.warnings {
        errln!("patchline: warning: {w}");
    }
    for c in report.containers.iter().filter(|c| !c.blocking.is_empty()) {
        for b in &c.blocking {
            errln!("patchline: {}: {} ({})", c.facts.name, b.subject, b.rule);
        }
    }
    Ok(if report.failed() {
        crate::EXIT_GATE_FAILED
    } else {
        crate::EXIT_OK
    })
}
