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
use patchline_model::{Inventory, Warning};

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
    /// VEX statements (`--vex`): the policy stage leaves out the findings whose
    /// statement is `not_affected` or `fixed`, recorded in the report's `policy.vex`.
    pub vex: Vec<patchline_policy::vex::VexStatement>,
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
    let db_path = match &opts.db {
        Some(p) => p.clone(),
        None => {
            patchline_advisory::default_path().map_err(|error| ScanError::DbLocation { error })?
        }
    };
    let db_error = |error| ScanError::Db {
        path: db_path.clone(),
        error,
    };
    let db = AdvisoryDb::open(&db_path).map_err(db_error)?;
    let info = db.info().map_err(db_error)?;

    let described = input.describe();
    let inv = inventory(input, opts, progress)?;

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

    let verdict = opts.policy.apply(&mut report);
    Ok(Scan {
        inventory: inv,
        report,
        verdict,
    })
}

/// Stage 2 alone: the inventory of `input` (what `patchline sbom` prints and a catalog
/// stores).
pub fn inventory(
    input: Input,
    opts: &ScanOptions,
    progress: &dyn Progress,
) -> Result<Inventory, ScanError> {
    match input {
        Input::Inventory(inv) => Ok(*inv),
        Input::Sbom(path) => read_sbom(&path),
        Input::Image(reference) => read_image(&reference, &opts.open, &opts.inventory, progress),
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
