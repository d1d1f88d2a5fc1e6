//! `patchline policy check FILE`: validates a policy file (and exceptions files) the way
//! a scan reads them, naming every problem with its file and line; and the loading of
//! policy and exceptions files that `scan --policy/--exceptions` shares.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Result};
use patchline_model::policy::PolicyOutcome;
use patchline_policy::{read_exceptions_file, read_policy, Exception};
use patchline_scan::policy::Governance;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Validate a policy file: unknown keys, bad severities, dates and patterns, each
    /// with its line; exit 2 when invalid.
    Check(CheckArgs),
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  patchline policy check policy.yaml --exceptions .trivyignore.yaml"
)]
pub struct CheckArgs {
    /// The policy file (YAML; see docs/policy.md).
    pub file: PathBuf,
    /// Also validate an exceptions file: patchline's, Trivy's .trivyignore(.yaml) or
    /// Grype's .grype.yaml (repeatable).
    #[arg(long, value_name = "FILE")]
    pub exceptions: Vec<PathBuf>,
}

pub fn run(c: Command) -> Result<u8> {
    match c {
        Command::Check(a) => check(a),
    }
}

fn check(a: CheckArgs) -> Result<u8> {
    let mut ok = true;
    match read_policy(&a.file) {
        Ok(p) => outln!(
            "ok: {} stage(s) ({}), {} exception(s), {} trusted image(s)",
            p.stages.len(),
            p.stages.keys().cloned().collect::<Vec<_>>().join(", "),
            p.exceptions.len(),
            p.trusted_images.len()
        )?,
        Err(e) => {
            ok = false;
            for line in e.to_string().lines() {
                errln!("patchline: error: {line}");
            }
        }
    }
    for f in &a.exceptions {
        match read_exceptions_file(f) {
            Ok(i) => {
                for w in &i.warnings {
                    errln!("patchline: warning: {w}");
                }
                outln!(
                    "ok: {}: {} exception(s) ({})",
                    f.display(),
                    i.exceptions.len(),
                    i.format.as_str()
                )?;
            }
            Err(e) => {
                ok = false;
                for line in e.to_string().lines() {
                    errln!("patchline: error: {line}");
                }
            }
        }
    }
    Ok(if ok {
        crate::EXIT_OK
    } else {
        crate::EXIT_BAD_INPUT
    })
}

/// The governance of `scan --policy FILE --stage STAGE --exceptions FILE...`: the
/// stage's profile (the file's only stage when none is named), the file's exceptions,
/// then the exceptions files'. Import warnings go to stderr.
pub fn governance(
    policy: Option<&Path>,
    stage: Option<&str>,
    exceptions: &[PathBuf],
) -> Result<Governance> {
    let mut g = match policy {
        Some(path) => {
            let file = read_policy(path).map_err(|e| anyhow!("invalid policy file:\n{e}"))?;
            Governance::from_policy(&file, stage).map_err(|e| anyhow!(e))?
        }
        None => Governance::default(),
    };
    let mut extra: Vec<Exception> = Vec::new();
    for f in exceptions {
        let i = read_exceptions_file(f).map_err(|e| anyhow!("invalid exceptions file:\n{e}"))?;
        for w in &i.warnings {
            errln!("patchline: warning: {w}");
        }
        extra.extend(i.exceptions);
    }
    g.exceptions.extend(extra);
    Ok(g)
}

/// Most subjects printed under one reason; the JSON report has them all (up to its own
/// bound).
const SHOWN_SUBJECTS: usize = 10;

/// The policy block on stderr: the verdict, every reason with what breaches it, and
/// what the exceptions did.
pub fn print_outcome(o: &PolicyOutcome) {
    let stage = if o.stage.is_empty() {
        String::new()
    } else {
        format!(" {}", o.stage)
    };
    let file = o
        .file
        .as_deref()
        .map(|f| format!(" ({f})"))
        .unwrap_or_default();
    errln!("patchline: policy{stage}{file}: {}", o.verdict.as_str());
    for r in &o.reasons {
        errln!("patchline:   {}: {}", r.rule, r.message);
        for s in r.subjects.iter().take(SHOWN_SUBJECTS) {
            errln!("patchline:     {s}");
        }
        if r.subjects.len() > SHOWN_SUBJECTS {
            errln!(
                "patchline:     … and {} more (see the JSON report's policy block)",
                r.subjects.len() - SHOWN_SUBJECTS
            );
        }
    }
    let describe = |e: &patchline_model::policy::ExceptionRef| {
        let mut notes = Vec::new();
        if !e.packages.is_empty() {
            notes.push(e.packages.join(", "));
        }
        if let Some(o) = &e.owner {
            notes.push(format!("owner {o}"));
        }
        if let Some(x) = &e.expires {
            notes.push(format!("expires {x}"));
        }
        if let Some(s) = &e.source {
            notes.push(s.clone());
        }
        if notes.is_empty() {
            e.id.clone()
        } else {
            format!("{} ({})", e.id, notes.join("; "))
        }
    };
    for a in &o.exceptions.applied {
        errln!(
            "patchline:   exception applied: {}: {} finding(s) left out: {}",
            describe(&a.exception),
            a.suppressed.len(),
            a.exception.reason
        );
    }
    for e in &o.exceptions.expired {
        errln!(
            "patchline:   exception expired, no longer applied: {}",
            describe(e)
        );
    }
    for e in &o.exceptions.unused {
        errln!(
            "patchline:   exception unused (matched nothing): {}",
            describe(e)
        );
    }
    if !o.vex.is_empty() {
        errln!(
            "patchline:   VEX: {} finding(s) left out as not affected or fixed",
            o.vex.len()
        );
    }
}
