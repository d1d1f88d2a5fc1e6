//! The scan as a library: what `patchline scan`, `patchline catalog add --db` and
//! `patchline verify --db` run, and what a server or an admission webhook will run.
//!
//! ```no_run
//! # fn demo() -> Result<(), patchline_scan::ScanError> {
//! use patchline_inventory::NoProgress;
//! use patchline_model::vuln::Severity;
//! use patchline_scan::{scan, Input, Policy, ScanOptions};
//!
//! let opts = ScanOptions {
//!     db: Some("advisories.sqlite".into()),
//!     policy: Policy::from_flags(Some(Severity::High), false, true),
//!     ..ScanOptions::default()
//! };
//! let result = scan(Input::parse("oci:layout:app"), &opts, &NoProgress)?;
//! // result.report goes to patchline-report's renderers as it is.
//! for b in &result.verdict.breaches {
//!     eprintln!("{} ({})", b.message, b.rule);
//! }
//! let exit_code = if result.verdict.failed() { 1 } else { 0 };
//! # let _ = exit_code;
//! # Ok(()) }
//! ```
//!
//! # Stages
//!
//! [`scan`] runs, in order:
//!
//! 1. **advisory DB**: opens the SQLite database of `patchline-advisory`
//!    ([`ScanOptions::db`], else its default location) and reads its description. It
//!    comes first because a missing database is the commonest mistake and the cheapest
//!    to find. A database older than [`ScanOptions::max_db_age`] adds a warning (source
//!    `advisory-db`) to the report.
//! 2. **input → inventory** ([`inventory`]): an [`Input`] is an image reference (skopeo's
//!    transports: `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`, `docker-archive:FILE`,
//!    `docker://HOST/REPO[:TAG|@DIGEST]`, bare `HOST/REPO:TAG`), a root filesystem
//!    (`dir:ROOTFS`), an SBOM (`sbom:FILE`: CycloneDX or SPDX JSON, patchline's own
//!    inventory JSON) or an inventory taken before (a catalog's, a server's store).
//!    Images are read layer by layer through `patchline-inventory`, with
//!    [`ScanOptions::inventory`] (limits, layer cache, parallelism) and
//!    [`ScanOptions::open`] (platform, registry credentials); layer progress goes to the
//!    caller's [`Progress`] (the CLI draws bars on a terminal, a server reports nothing).
//! 3. **match**: `patchline-match` turns the inventory and the advisories into findings
//!    in risk order, each carrying what to upgrade to
//!    ([`patchline_match::recommended_fix`]).
//! 4. **policy** ([`policy`]): filters the findings (`--only-fixed`,
//!    `--ignore-unfixed`) and gates them (`--fail-on`) into a [`Verdict`]: pass, or fail
//!    with the rules breached and the findings that breach them. Policy files,
//!    exceptions and VEX plug in here as further [`Rule`]s.
//!
//! The [`Scan`] returned holds the inventory, the report and the verdict. Rendering is
//! the caller's (`patchline-report` takes the report as it is), and so is the exit code:
//! this crate prints nothing and never exits. Every failure is a [`ScanError`] naming
//! what failed and where (the image, the SBOM file, the database path).

use std::path::{Path, PathBuf};
use std::time::Duration;

use patchline_advisory::AdvisoryDb;
use patchline_image::{ImageError, ImageRef, OpenOptions};
use patchline_inventory::sbom_input::SbomInputError;
use patchline_inventory::{InventoryOptions, Progress};
use patchline_match::{MatchError, MatchOptions, Matcher};
use patchline_model::vuln::ScanReport;
use patchline_model::vuln::{DbInfo, SCAN_SCHEMA};
use patchline_model::{Inventory, Tool, Warning};

pub use patchline_checks::config::ConfigOptions;
pub use patchline_checks::Scanners;

pub mod policy;

pub use policy::{
    Breach, Breaching, FailOn, Filtered, IgnoreUnfixed, OnlyFixed, Policy, RequireComplete, Rule,
    Verdict,
};

/// What to scan.
#[derive(Clone, Debug)]
pub enum Input {
    /// An image reference in skopeo's transports, or `dir:ROOTFS`.
    Image(String),
    /// An SBOM file: CycloneDX or SPDX JSON, or patchline's own inventory JSON.
    Sbom(PathBuf),
    /// An inventory taken before (stored in a catalog): matched again, nothing read.
    Inventory(Box<Inventory>),
}

impl Input {
    /// The command line's spelling: `sbom:FILE` is an SBOM, anything else an image
    /// reference (checked when it is read).
    pub fn parse(s: &str) -> Input {
        match s.strip_prefix("sbom:") {
            Some(file) => Input::Sbom(PathBuf::from(file)),
            None => Input::Image(s.to_string()),
        }
    }

    /// How errors and logs name the input.
    pub fn describe(&self) -> String {
        match self {
            Input::Image(r) => r.clone(),
            Input::Sbom(p) => format!("sbom:{}", p.display()),
            Input::Inventory(inv) => inv.image.reference.clone(),
        }
    }
}

/// How to scan.
#[derive(Clone, Debug, Default)]
pub struct ScanOptions {
    /// The advisory database; `None`: the default location
    /// ([`patchline_advisory::default_path`], under `$XDG_CACHE_HOME/patchline`).
    pub db: Option<PathBuf>,
    /// Warn (in the report) when the database is older than this; `None`: never.
    pub max_db_age: Option<Duration>,
    /// Platform of multi-arch images, registry credentials and timeouts.
    pub open: OpenOptions,
    /// Layer limits, the layer cache and how many layers are read at once.
    pub inventory: InventoryOptions,
    /// The policy stage's rules; the default reports everything and passes.
    pub policy: Policy,
    /// The day end of life is judged on; `None`: today (UTC).
    pub today: Option<time::Date>,
    /// Which scanners run (`--scanners vuln,checks,secrets`; all by default). Without
    /// `vuln` the advisory database is not opened and nothing is matched.
    pub scanners: Scanners,
    /// Settings of the image-config checks (required labels, maximum age).
    pub config_checks: ConfigOptions,
    /// The Containerfile the image is built from, linted by the `checks` scanner
    /// (`--containerfile`); a `.dockerignore` beside it counts as the build context's.
    pub containerfile: Option<PathBuf>,
    /// The lineage catalog (`patchline catalog`): when it knows the scanned image, its
    /// catalogued ancestors are the bases a policy's `trusted_bases` and
    /// `max_base_age_days` judge (before the Containerfile and the base annotations).
    pub catalog: Option<PathBuf>,
    /// A policy file's stage, exceptions and VEX statements, applied before `policy`
    /// ([`policy::stage`]); the default applies nothing.
    pub governance: policy::Governance,
}

/// What a scan found.
#[derive(Clone, Debug)]
pub struct Scan {
    /// The inventory that was matched.
    pub inventory: Inventory,
    /// Findings after the policy's filters, in risk order, with the database's
    /// description and the warnings of every stage: what the renderers take.
    pub report: ScanReport,
    /// The policy's judgement of the report.
    pub verdict: Verdict,
}

/// A scan that could not be completed. Each variant names what failed and where.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// No database path was given and the default location cannot be found.
    #[error("{error}")]
    DbLocation { error: patchline_advisory::Error },
    /// The advisory database is missing, of another schema, or unreadable.
    #[error("{error}")]
    Db {
        path: PathBuf,
        error: patchline_advisory::Error,
    },
    /// The input is not a valid image reference (unknown transport, bad syntax).
    #[error("{error}")]
    Reference { input: String, error: ImageError },
    /// The image could not be read (missing file, registry, corrupt or oversized layer).
    #[error("{}", naming(input, error))]
    Image { input: String, error: ImageError },
    /// The SBOM could not be read or is not one (the error names the file).
    #[error("SBOM {error}")]
    Sbom {
        path: PathBuf,
        error: SbomInputError,
    },
    /// The Containerfile given to lint could not be read or parsed.
    #[error("{message}")]
    Containerfile { path: PathBuf, message: String },
    /// The lineage catalog could not be read.
    #[error("reading the catalog {}: {message}", path.display())]
    Catalog { path: PathBuf, message: String },
    /// The advisory database failed during matching.
    #[error("matching {input} against the advisory database {}: {error}", db.display())]
    Match {
        input: String,
        db: PathBuf,
        error: MatchError,
    },
}

/// `error` prefixed with the image it is about, unless it names it already.
fn naming(input: &str, error: &ImageError) -> String {
    let text = error.to_string();
    if text.contains(input) {
        text
    } else {
        format!("reading the image {input}: {text}")
    }
}

/// Runs every stage (see the crate documentation) on `input`.
pub fn scan(input: Input, opts: &ScanOptions, progress: &dyn Progress) -> Result<Scan, ScanError> {
    let described = input.describe();
    let (mut report, inv, containerfile) = if opts.scanners.vuln {
        let db_path = match &opts.db {
            Some(p) => p.clone(),
            None => patchline_advisory::default_path()
                .map_err(|error| ScanError::DbLocation { error })?,
        };
        let db_error = |error| ScanError::Db {
            path: db_path.clone(),
            error,
        };
        let db = AdvisoryDb::open(&db_path).map_err(db_error)?;
        let info = db.info().map_err(db_error)?;

        let (inv, containerfile) = inventory_checked(input, opts, progress)?;

        let match_opts = MatchOptions { today: opts.today };
        let mut report =
            Matcher::new(&db)
                .scan(&inv, &match_opts)
                .map_err(|error| ScanError::Match {
                    input: described,
                    db: db_path.clone(),
                    error,
                })?;
        if let Some(w) = opts
            .max_db_age
            .and_then(|age| patchline_advisory::staleness_warning(&info, age))
        {
            report.warnings.push(Warning {
                source: "advisory-db".into(),
                location: db_path.display().to_string(),
                message: w,
            });
        }
        report.db = info;
        report.checks = inv.checks.clone();
        (report, inv, containerfile)
    } else {
        let (inv, containerfile) = inventory_checked(input, opts, progress)?;
        let report = unmatched_report(&inv);
        (report, inv, containerfile)
    };
    report.scanners = scanner_names(opts.scanners);

    let today = opts
        .today
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
    let governed = if opts.governance.is_active() {
        // Where the bases are known from, most reliable first: the catalog's lineage
        // (verified by layers), the Containerfile's FROM; else the stage reads the
        // image's base annotations.
        let mut bases = match &opts.catalog {
            Some(path) if opts.governance.bases.is_empty() => catalog_bases(path, &inv.image)?,
            _ => Vec::new(),
        };
        if bases.is_empty() && opts.governance.bases.is_empty() {
            bases.extend(
                containerfile
                    .as_ref()
                    .and_then(|c| containerfile_base(&c.text)),
            );
        }
        Some(if bases.is_empty() {
            opts.governance.apply(&mut report, &inv, today)
        } else {
            let mut g = opts.governance.clone();
            g.bases = bases;
            g.apply(&mut report, &inv, today)
        })
    } else {
        None
    };
    let flags = opts.policy.apply(&mut report);
    let verdict = match governed {
        Some(mut v) => {
            v.breaches.extend(flags.breaches.iter().cloned());
            v.filtered = flags.filtered.clone();
            policy::stage::merge_flag_verdict(&mut report, &flags, &v);
            v
        }
        None => flags,
    };
    Ok(Scan {
        inventory: inv,
        report,
        verdict,
    })
}

fn scanner_names(s: Scanners) -> Vec<String> {
    [
        ("vuln", s.vuln),
        ("checks", s.checks),
        ("secrets", s.secrets),
    ]
    .into_iter()
    .filter(|(_, on)| *on)
    .map(|(n, _)| n.to_string())
    .collect()
}

/// The report of a scan without the vulnerability scanner: the packages were
/// inventoried, nothing was matched (the report's `scanners` says so).
fn unmatched_report(inv: &Inventory) -> ScanReport {
    let mut warnings = inv.warnings.clone();
    warnings.push(Warning {
        source: "scanners".into(),
        location: inv.image.reference.clone(),
        message: "the vulnerability scanner did not run (--scanners): packages were inventoried, not matched".into(),
    });
    ScanReport {
        schema: SCAN_SCHEMA.to_string(),
        tool: Tool::default(),
        image: inv.image.clone(),
        distro: inv.distro.clone(),
        distro_eol: false,
        db: DbInfo::default(),
        packages_scanned: inv.packages.len(),
        packages_not_matched: 0,
        unmatched: Vec::new(),
        packages_managed_by_os: 0,
        findings: Vec::new(),
        inventory_complete: inv.complete,
        warnings,
        checks: inv.checks.clone(),
        scanners: Vec::new(),
        policy: None,
    }
}

/// A Containerfile as read once for the lint and for the policy's base image.
struct ContainerfileText {
    path: PathBuf,
    text: String,
}

/// Stage 2 with the checks: the inventory read with the scanners' inspectors riding the
/// layer walk, then the checks of the image config; and the Containerfile, read once.
fn inventory_checked(
    input: Input,
    opts: &ScanOptions,
    progress: &dyn Progress,
) -> Result<(Inventory, Option<ContainerfileText>), ScanError> {
    // The Containerfile first: a bad path or syntax is the caller's mistake, found before
    // any layer is read. Only the lint needs it to be readable; the policy's base image
    // falls back to the annotations without it.
    let containerfile = match &opts.containerfile {
        Some(path) if opts.scanners.checks => Some(read_containerfile(path)?),
        Some(path) if opts.governance.is_active() => read_containerfile(path).ok(),
        _ => None,
    };
    let lint = match &containerfile {
        Some(c) if opts.scanners.checks => lint_containerfile(c)?,
        _ => Vec::new(),
    };
    let inv_opts = InventoryOptions {
        inspectors: patchline_checks::inspectors(opts.scanners),
        ..opts.inventory.clone()
    };
    let mut inv = inventory_raw(input, &opts.open, &inv_opts, progress)?;
    // Always: the environment and labels are redacted whether or not their secrets are
    // reported.
    let secrets = patchline_checks::secrets::check_config(&mut inv.image);
    if opts.scanners.secrets {
        inv.checks.extend(secrets);
    }
    if opts.scanners.checks {
        patchline_checks::fs::merge_package_caches(&mut inv.checks);
        inv.checks.extend(patchline_checks::config::check_config(
            &inv.image,
            &opts.config_checks,
        ));
    }
    inv.checks.extend(lint);
    Ok((inv, containerfile))
}

/// The catalogued ancestors of the image (nearest first), then the external image the
/// topmost one is built on; empty when the catalog does not know the image.
fn catalog_bases(
    path: &Path,
    image: &patchline_model::ImageInfo,
) -> Result<Vec<patchline_policy::trusted::BaseImage>, ScanError> {
    use patchline_policy::trusted::{BaseImage, BaseSource};
    let error = |e: &dyn std::fmt::Display| ScanError::Catalog {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    // Opening creates a catalog: a mistyped path must not pass for an empty one.
    if !path.exists() {
        return Err(error(&"no such file"));
    }
    let catalog = patchline_lineage::Catalog::open(path).map_err(|e| error(&e))?;
    let graph = catalog.graph().map_err(|e| error(&e))?;
    let id = image
        .manifest_digest
        .as_ref()
        .and_then(|d| graph.find_digest(d))
        .or_else(|| graph.find(&image.reference));
    let Some(id) = id else {
        return Ok(Vec::new());
    };
    let created = |s: &Option<String>| {
        s.as_deref()
            .and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .map(|t| t.date())
    };
    let ancestors = graph.ancestors(id);
    let mut out: Vec<BaseImage> = ancestors
        .iter()
        .map(|&a| {
            let n = graph.node(a);
            BaseImage {
                reference: n.reference().to_string(),
                digest: n.entry.digest.as_ref().map(|d| d.to_string()),
                known_from: BaseSource::Catalog,
                created: created(&n.entry.created),
            }
        })
        .collect();
    let top = ancestors.last().copied().unwrap_or(id);
    if let Some(ext) = &graph.node(top).external_parent {
        out.push(BaseImage {
            reference: ext.clone(),
            digest: None,
            known_from: BaseSource::Catalog,
            created: None,
        });
    }
    Ok(out)
}

/// The final stage's external base of a Containerfile (unparsable here means no base is
/// known from it).
fn containerfile_base(text: &str) -> Option<patchline_policy::trusted::BaseImage> {
    let cf = patchline_lineage::containerfile::parse(text).ok()?;
    let base = cf.final_base(&Default::default()).ok()??;
    Some(patchline_policy::trusted::BaseImage {
        reference: base.as_str().to_string(),
        digest: base.digest().map(str::to_string),
        known_from: patchline_policy::trusted::BaseSource::Containerfile,
        created: None,
    })
}

fn read_containerfile(path: &Path) -> Result<ContainerfileText, ScanError> {
    let reading = |e: &dyn std::fmt::Display| ScanError::Containerfile {
        path: path.to_path_buf(),
        message: format!("reading the Containerfile {}: {e}", path.display()),
    };
    let meta = std::fs::metadata(path).map_err(|e| reading(&e))?;
    if meta.len() > 1 << 20 {
        return Err(reading(&format!(
            "{} bytes, over the limit of 1 MiB",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| reading(&e))?;
    Ok(ContainerfileText {
        path: path.to_path_buf(),
        text,
    })
}

fn lint_containerfile(
    c: &ContainerfileText,
) -> Result<Vec<patchline_checks::CheckFinding>, ScanError> {
    let dockerignore = c
        .path
        .parent()
        .map(|d| d.join(".dockerignore").exists())
        .unwrap_or(false);
    patchline_checks::containerfile::lint(
        &c.text,
        &c.path.display().to_string(),
        Some(dockerignore),
    )
    .map_err(|e| ScanError::Containerfile {
        path: c.path.clone(),
        message: e.to_string(),
    })
}

/// Stage 2 alone: the inventory of `input` (what `patchline sbom` prints and a catalog
/// stores).
///
/// Secrets in the image config's environment and labels are redacted (the secret
/// checks' detectors decide what is one), so no output of an inventory shows them.
pub fn inventory(
    input: Input,
    opts: &ScanOptions,
    progress: &dyn Progress,
) -> Result<Inventory, ScanError> {
    let mut inv = inventory_raw(input, &opts.open, &opts.inventory, progress)?;
    patchline_checks::secrets::check_config(&mut inv.image);
    Ok(inv)
}

fn inventory_raw(
    input: Input,
    open: &OpenOptions,
    inv_opts: &InventoryOptions,
    progress: &dyn Progress,
) -> Result<Inventory, ScanError> {
    match input {
        Input::Inventory(inv) => Ok(*inv),
        Input::Sbom(path) => read_sbom(&path),
        Input::Image(reference) => read_image(&reference, open, inv_opts, progress),
    }
}

fn read_sbom(path: &Path) -> Result<Inventory, ScanError> {
    patchline_inventory::sbom_input::read_sbom(path).map_err(|error| ScanError::Sbom {
        path: path.to_path_buf(),
        error,
    })
}

fn read_image(
    reference: &str,
    open: &OpenOptions,
    inv_opts: &InventoryOptions,
    progress: &dyn Progress,
) -> Result<Inventory, ScanError> {
    let parsed = ImageRef::parse(reference).map_err(|error| ScanError::Reference {
        input: reference.to_string(),
        error,
    })?;
    let image_error = |error| ScanError::Image {
        input: reference.to_string(),
        error,
    };
    if let ImageRef::RootFs { dir } = &parsed {
        return patchline_inventory::inventory_rootfs(dir, reference, inv_opts)
            .map_err(image_error);
    }
    let source = patchline_image::open(&parsed, reference, open).map_err(image_error)?;
    patchline_inventory::inventory_image(source.as_ref(), inv_opts, progress).map_err(image_error)
}
