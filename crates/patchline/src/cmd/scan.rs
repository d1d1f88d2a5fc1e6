//! `patchline scan IMAGE`: the image's (or an SBOM's) packages matched against the local
//! advisory database (`patchline-scan`), rendered as a table, JSON, SARIF or CycloneDX
//! VEX; exit 1 when the policy's verdict is a failure.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use patchline_report::{render_scan, RenderOptions, ScanFormat};
use patchline_scan::{Input, Policy};

use crate::args::{ImageArgs, SeverityArg};

/// `--format` of `scan`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Sarif,
    #[value(name = "cyclonedx")]
    CycloneDx,
    /// GitLab's container-scanning report (gl-container-scanning-report.json).
    Gitlab,
}

impl From<Format> for ScanFormat {
    fn from(f: Format) -> ScanFormat {
        match f {
            Format::Table => ScanFormat::Table,
            Format::Json => ScanFormat::Json,
            Format::Sarif => ScanFormat::Sarif,
            Format::CycloneDx => ScanFormat::CycloneDx,
            Format::Gitlab => ScanFormat::Gitlab,
        }
    }
}

/// A scanner of `--scanners`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScannerArg {
    /// Packages matched against the advisory database.
    Vuln,
    /// Image config, filesystem and Containerfile checks.
    Checks,
    /// Secrets in files, the environment and labels.
    Secrets,
}

/// The scan library's scanners of a `--scanners` list.
pub fn scanners(list: &[ScannerArg]) -> patchline_scan::Scanners {
    patchline_scan::Scanners {
        vuln: list.contains(&ScannerArg::Vuln),
        checks: list.contains(&ScannerArg::Checks),
        secrets: list.contains(&ScannerArg::Secrets),
    }
}

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  patchline scan registry.example.com/team/app:1.4 --fail-on high --only-fixed\n  patchline scan registry.example.com/team/app:1.4 --policy policy.yaml --stage build --exceptions .trivyignore.yaml"
)]
pub struct Args {
    /// The image: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REPO:TAG],
    /// dir:ROOTFS, docker://HOST/REPO[:TAG|@DIGEST], HOST/REPO:TAG; or sbom:FILE, a
    /// CycloneDX or SPDX JSON SBOM (patchline's own included).
    pub image: String,
    /// The advisory database [default: $XDG_CACHE_HOME/patchline/db/advisories.sqlite].
    #[arg(long, env = "PATCHLINE_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write to FILE instead of stdout (written whole or not at all; a device, FIFO or
    /// symlink is written through, not replaced).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a reported finding is at least this severe (`unknown`: any finding,
    /// rated or not).
    #[arg(long, value_name = "SEVERITY", value_enum, ignore_case = true)]
    pub fail_on: Option<SeverityArg>,
    /// Report only findings with a fixed version.
    #[arg(long)]
    pub only_fixed: bool,
    /// Leave out findings without a fix (unfixed, will-not-fix, unimportant).
    #[arg(long)]
    pub ignore_unfixed: bool,
    /// With --fail-on, judge an incomplete inventory (a package database that could not
    /// be read whole) on what was read, instead of exiting 2.
    #[arg(long, requires = "fail_on")]
    pub allow_incomplete: bool,
    /// With --fail-on, judge the packages that were matched even when some could not be
    /// (no advisory data for the distro, SBOM components without a purl or of a
    /// language ecosystem), instead of exiting 2.
    #[arg(long, requires = "fail_on")]
    pub allow_unmatched: bool,
    /// Judge the scan by a policy file's stage profile (YAML; see docs/policy.md):
    /// exit 1 when it fails, 2 when it cannot be judged.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// The policy file's stage: local, build, registry or runtime [default: the file's
    /// only stage; required when it has several].
    #[arg(long, value_name = "STAGE", requires = "policy")]
    pub stage: Option<String>,
    /// Accepted findings: a patchline exceptions file, Trivy's .trivyignore(.yaml) or
    /// Grype's .grype.yaml (repeatable; with or without --policy).
    #[arg(long, value_name = "FILE")]
    pub exceptions: Vec<PathBuf>,
    /// Warn when the database is older than this: days, or a number with a unit (36h, 2w).
    #[arg(long, value_name = "DAYS", default_value = "7", value_parser = parse_age)]
    pub max_db_age: Duration,
    /// Scanners to run, comma-separated (as Trivy's `--scanners`). Without `vuln` no
    /// advisory database is needed and nothing is matched.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_values_t = [ScannerArg::Vuln, ScannerArg::Checks, ScannerArg::Secrets]
    )]
    pub scanners: Vec<ScannerArg>,
    /// The Containerfile the image was built from: linted by the `checks` scanner (a
    /// `.dockerignore` beside it counts as the build context's).
    #[arg(long, value_name = "FILE")]
    pub containerfile: Option<PathBuf>,
    /// The lineage catalog whose hierarchy names the image's bases for a policy's
    /// `trusted_bases` and `max_base_age_days` [default: $XDG_CACHE_HOME/patchline/state.sqlite,
    /// when it exists].
    #[arg(long, env = "PATCHLINE_STATE", value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Report images built more than DAYS ago (`config.image-age`).
    #[arg(long, value_name = "DAYS")]
    pub max_image_age: Option<u32>,
    /// A label every image must carry (`config.missing-label`); repeatable.
    #[arg(long, value_name = "NAME")]
    pub required_label: Vec<String>,
    /// A VEX document (OpenVEX, CycloneDX VEX or CSAF VEX): findings its `not_affected`
    /// and `fixed` statements cover are left out by the policy stage and recorded in
    /// the report. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// After the scan, upload the inventory and report to a patchline server
    /// (`https://HOST[:PORT]`; `http://` only to a loopback host) with a scanner token
    /// from --server-token-file or $PATCHLINE_TOKEN. A failed upload exits 2.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// The file holding the scanner token for --server (never give the token itself on
    /// the command line) [default: $PATCHLINE_TOKEN].
    #[arg(long, value_name = "FILE", requires = "server")]
    pub server_token_file: Option<PathBuf>,
    /// The tag the server catalogues the image under (`host/repo:tag`) [default: the
    /// scanned reference].
    #[arg(long, value_name = "REF", requires = "server")]
    pub server_reference: Option<String>,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

/// Reads every `--vex` document; the first that cannot be read is the error (exit 2),
/// naming the file.
pub fn read_vex_files(paths: &[PathBuf]) -> Result<Vec<patchline_policy::vex::VexStatement>> {
    let mut out = Vec::new();
    for p in paths {
        out.extend(patchline_policy::vex::read_vex(p).map_err(|e| anyhow::anyhow!("--vex {e}"))?);
    }
    Ok(out)
}

/// A file read whole, refused past `limit` bytes.
pub fn read_bounded(path: &std::path::Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut bytes = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.len() as u64 > limit {
        anyhow::bail!("{}: larger than {} MiB", path.display(), limit >> 20);
    }
    Ok(bytes)
}

fn parse_age(s: &str) -> Result<Duration, String> {
    patchline_advisory::parse_duration(s).map_err(|e| e.to_string())
}

/// The token for `--server`: the file's first line, else `$PATCHLINE_TOKEN`.
pub fn server_token(file: Option<&std::path::Path>) -> Result<String> {
    let token = match file {
        Some(p) => {
            let bytes = read_bounded(p, 64 << 10).context("--server-token-file")?;
            String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("--server-token-file {}: not text", p.display()))?
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        }
        None => std::env::var("PATCHLINE_TOKEN")
            .map(|t| t.trim().to_string())
            .map_err(|_| {
                anyhow::anyhow!(
                    "--server needs a token: --server-token-file FILE or $PATCHLINE_TOKEN"
                )
            })?,
    };
    if token.is_empty() {
        anyhow::bail!("--server: the token is empty");
    }
    Ok(token)
}

/// How long an upload may take.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(120);

pub fn run(a: Args) -> Result<u8> {
    // Checked before the scan, so a bad URL or a missing token costs no pull.
    let upload = match &a.server {
        Some(url) => {
            patchline_server::uploads::upload_url(url).map_err(|e| anyhow::anyhow!(e))?;
            Some((url.clone(), server_token(a.server_token_file.as_deref())?))
        }
        None => None,
    };
    let vex = read_vex_files(&a.vex)?;
    let mut opts = a.image_args.scan_options()?;
    opts.db = a.db.clone();
    opts.max_db_age = Some(a.max_db_age);
    opts.scanners = scanners(&a.scanners);
    opts.containerfile = a.containerfile.clone();
    opts.catalog = match &a.state {
        Some(p) => Some(p.clone()),
        None => Some(patchline_lineage::Catalog::default_path()).filter(|p| p.exists()),
    };
    opts.config_checks.max_age_days = a.max_image_age;
    opts.config_checks.required_labels = a.required_label.clone();
    let mut policy = Policy::from_flags(a.fail_on.map(Into::into), a.only_fixed, a.ignore_unfixed);
    if a.allow_incomplete {
        policy = policy.allowing_incomplete();
    }
    if a.allow_unmatched {
        policy = policy.allowing_unmatched();
    }
    opts.policy = policy;
    opts.governance =
        crate::cmd::policy::governance(a.policy.as_deref(), a.stage.as_deref(), &a.exceptions)?;
    opts.governance.vex = vex;
    let started = time::OffsetDateTime::now_utc();
    let scan = crate::progress::with_layer_bars(|p| {
        patchline_scan::scan(Input::parse(&a.image), &opts, p)
    })?;

    let mut buf = Vec::new();
    let color = a.output.is_none()
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
        && std::env::var_os("NO_COLOR").is_none();
    render_scan(
        &scan.report,
        a.format.into(),
        &RenderOptions {
            color,
            timestamp: None,
            started: Some(started),
            serial: None,
        },
        &mut buf,
    )
    .context("rendering the scan report")?;
    crate::output::write_all_or_nothing(a.output.as_deref(), &buf)?;
    crate::term::warnings(
        &scan.report.warnings,
        matches!(a.format, Format::Table) && a.output.is_none(),
    );
    match &scan.report.policy {
        Some(outcome) => crate::cmd::policy::print_outcome(outcome),
        None => {
            for b in &scan.verdict.breaches {
                errln!("patchline: {} ({})", b.message, b.rule);
            }
        }
    }
    if let Some((url, token)) = upload {
        let r = patchline_server::uploads::push(
            &url,
            &token,
            &scan.inventory,
            &scan.report,
            a.server_reference.as_deref(),
            UPLOAD_TIMEOUT,
        )
        .map_err(|e| anyhow::anyhow!("--server: {e}"))?;
        errln!(
            "patchline: uploaded to {url}: image {} scan {} ({} new, {} resolved, {} changed)",
            r.image.digest,
            r.scan_id,
            r.delta.new,
            r.delta.resolved,
            r.delta.changed
        );
    }
    Ok(if scan.verdict.unjudgeable() {
        crate::EXIT_BAD_INPUT
    } else if scan.verdict.failed() {
        crate::EXIT_GATE_FAILED
    } else {
        crate::EXIT_OK
    })
}
