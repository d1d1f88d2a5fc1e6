//! `patchline runtime docker`: the containers of a Docker Engine with the image digest
//! each runs, the image's findings from the local advisory DB, and the runtime checks
//! (`patchline-runtime`); `--enforce` stops the containers that break the runtime stage's
//! blocking rules. Exit 0 when nothing blocks, 1 when something does, 2 when the engine
//! or the DB cannot be read.
//!
//! `patchline runtime k8s --from FILE`: the pods of `kubectl get pods -A -o json`, each
//! container's image digest and the pod-level checks (`patchline_runtime::k8s`); the
//! same exit codes (2: the file cannot be read or is not a pod list).

use std::path::PathBuf;

use anyhow::{Context, Result};
use patchline_runtime::report::Format as RuntimeFormat;
use patchline_runtime::{Engine, Gate, RuntimeOptions};

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Containers of a Docker Engine: image digests and findings, runtime checks.
    Docker(DockerArgs),
    /// Pods of a Kubernetes cluster (from `kubectl get pods -A -o json`): image digests
    /// and pod-level runtime checks.
    K8s(K8sArgs),
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

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  kubectl get pods -A -o json > pods.json\n  patchline runtime k8s --from pods.json\n  patchline runtime k8s --from pods.json --namespace prod --policy policy.yaml --format sarif"
)]
pub struct K8sArgs {
    /// Read the pods from FILE: the JSON of `kubectl get pods -A -o json` (a List or a
    /// PodList). Required: reading a cluster's API directly is not built in yet.
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// Only this namespace's pods.
    #[arg(
        long,
        short = 'n',
        value_name = "NS",
        conflicts_with = "all_namespaces"
    )]
    pub namespace: Option<String>,
    /// Every namespace's pods (the default with --from).
    #[arg(long, short = 'A')]
    pub all_namespaces: bool,
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
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
    /// The largest --from file read, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = patchline_runtime::k8s::MAX_POD_LIST_BYTES >> 20)]
    pub max_input_size: u64,
}

pub fn run(c: Command) -> Result<u8> {
    match c {
        Command::Docker(a) => docker(a),
        Command::K8s(a) => k8s(a),
    }
}

fn gate(policy: Option<&std::path::Path>, stage: &str) -> Result<Gate> {
    Ok(match policy {
        Some(p) => {
            let file = patchline_policy::read_policy(p)
                .map_err(|e| anyhow::anyhow!("invalid policy file:\n{e}"))?;
            let profile = file
                .select_stage(Some(stage))
                .map_err(|e| anyhow::anyhow!(e))?;
            Gate::from_policy(&file, profile)
        }
        None => Gate::default(),
    })
}

fn format(f: Format) -> RuntimeFormat {
    match f {
        Format::Table => RuntimeFormat::Table,
        Format::Json => RuntimeFormat::Json,
        Format::Sarif => RuntimeFormat::Sarif,
    }
}

fn k8s(a: K8sArgs) -> Result<u8> {
    use patchline_runtime::k8s;
    let Some(from) = &a.from else {
        anyhow::bail!(
            "reading pods from a cluster's API is not built in yet: run `kubectl get pods -A -o json > pods.json` and pass --from pods.json"
        );
    };
    let opts = k8s::K8sOptions {
        namespace: a.namespace.clone(),
        gate: gate(a.policy.as_deref(), &a.stage)?,
    };
    let list = k8s::read_pod_list(from, a.max_input_size.saturating_mul(1 << 20))?;
    let report = k8s::inspect(&list, &format!("file {}", from.display()), &opts);
    let mut buf = Vec::new();
    k8s::render::render(&report, format(a.format), &mut buf)
        .context("rendering the Kubernetes runtime report")?;
    crate::output::write_all_or_nothing(a.output.as_deref(), &buf)?;
    for w in &report.warnings {
        errln!("patchline: warning: {w}");
    }
    for p in report.pods.iter().filter(|p| !p.blocking.is_empty()) {
        for b in &p.blocking {
            errln!(
                "patchline: {}/{}: {} ({})",
                p.namespace,
                p.name,
                b.subject,
                b.rule
            );
        }
    }
    Ok(if report.failed() {
        crate::EXIT_GATE_FAILED
    } else {
        crate::EXIT_OK
    })
}

fn docker(a: DockerArgs) -> Result<u8> {
    let gate = gate(a.policy.as_deref(), &a.stage)?;
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
    let format = format(a.format);
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
