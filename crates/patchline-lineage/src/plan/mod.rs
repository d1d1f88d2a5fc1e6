//! Patch plans: which images to rebuild, in which order, with which Containerfile changes,
//! under which new tags, and whom to tell.
//!
//! The CLI fills a [`PlanRequest`] from the catalog graph (the affected images, each with
//! its parent link, owner, Containerfile and, for the roots of the fix, the packages to
//! upgrade there) and [`build_plan`] turns it into a [`PatchPlan`]. This module knows
//! nothing of the catalog's own types, so it can be driven by a test or another front end.
//!
//! # Decisions
//! - **Waves.** Only images that are rebuilt appear in waves. An image is rebuilt when it
//!   is a root of the fix (it has packages to upgrade), when its parent is rebuilt, or, for
//!   a [`Trigger::NewBase`] plan, when its parent is the updated base. Its wave is 0 when
//!   no parent of it is rebuilt, else its parent's wave + 1, so an image is always built
//!   after every ancestor in the plan. The updated base of a `NewBase` plan is already
//!   published, so it is not rebuilt: its children form wave 0. Parent links are matched
//!   by exact reference first, then by the Docker-normalised `repository:tag`
//!   (`debian:12` = `docker.io/library/debian:12`). A cycle of parent links is an error
//!   that names every image on it.
//! - **COTS images** are never planned: they are listed under "vendor must fix" with their
//!   owner. Images built on a COTS image in the plan are *blocked* (waiting on the
//!   vendor). Affected images that are neither a root nor the child of a rebuilt image
//!   are listed as *skipped* with the reason: the input says they are affected, but no
//!   change in this plan reaches them.
//! - **Pinning.** A child of the updated base is pinned to `new_ref@new_digest` at once.
//!   A child of an image rebuilt in an earlier wave cannot be pinned yet: that digest
//!   exists only once the wave is built. Its FROM gets the parent's *new tag*, which is
//!   unique (tags are never reused) and the plan marks it `pin_after_build: true`; after
//!   the parent is pushed, the executor pins it with
//!   [`set_final_base`](crate::containerfile::set_final_base)`(text, "repo:tag@sha256:…")`,
//!   and `verify` checks the digest. No placeholder digest is ever written into a
//!   Containerfile: the file stays buildable as planned.
//! - **Upgrade steps** go after the final stage's last `RUN` (right after its FROM when
//!   it has none), so packages the image installs itself are upgraded too, wrapped in
//!   `USER root` / `USER <previous>` when the file leaves a non-root user in effect there
//!   (see [`containerfile`](crate::containerfile)); one `RUN` line per image, the
//!   command the distro registry ([`patchline_model::distro`]) gives for its distro:
//!   Debian family `apt-get update && apt-get install --only-upgrade -y PKGS && rm -rf
//!   /var/lib/apt/lists/*`; Alpine/Wolfi `apk upgrade --no-cache PKGS`; RHEL family
//!   (rhel, rocky, almalinux, centos, fedora, ol) `dnf upgrade -y PKGS && dnf clean all`,
//!   or `microdnf` instead of `dnf` when the image's parent or its Containerfile base has
//!   `minimal` in its name (ubi-minimal, fedora-minimal ship only microdnf); Amazon
//!   Linux `yum` (AL2 has no dnf; on AL2023 yum is dnf); Photon/Mariner/Azure Linux
//!   `tdnf`; SUSE family `zypper --non-interactive update PKGS && zypper clean --all`. An
//!   unknown distro gets a note instead of a guess. Package names come from scanned
//!   images, so each must look like a package name (`[A-Za-z0-9][A-Za-z0-9._+:~-]*`)
//!   before it is put in a shell command; anything else fails the plan.
//! - **Tags** ([`TagScheme`]): `BumpPatch` bumps `[v]X.Y.Z[-variant]` to `[v]X.Y.(Z+1)`
//!   keeping the variant; when the tag is not of that shape, or the bumped tag already
//!   exists (a real release owns it), it falls back to `Suffix("p")`. `Suffix(s)` gives
//!   `TAG-sN` with the smallest free N, continuing an existing `-sN` (`1.0-p1` → `1.0-p2`).
//!   `Date` gives `TAG-YYYYMMDD`, then `-2`, `-3`… on the same day. A tag is never one that
//!   exists: the request's existing tags, every catalogued tag of the repository and
//!   every tag this plan already gave out.
//! - **Bad input.** A Containerfile that does not parse fails the plan, naming the image,
//!   the path, the line and column. An edit that cannot be made safely (a `FROM scratch`
//!   final stage, an image word split by a line continuation) leaves that image's file
//!   untouched, with a note saying what to change by hand.
//! - **Writing.** [`write_dir`] builds the whole directory under a temporary sibling name
//!   and renames it into place, so a crash never leaves half a plan; it refuses to
//!   replace a non-empty directory.
//!
//! # Parts
//! - this module: the request and plan types and [`build_plan`], the entry point;
//! - `waves`: parent links, cycles, build order, each image's fate, waves;
//! - `tags`: new tags;
//! - `upgrade`: upgrade commands from the distro registry ([`upgrade_command`]);
//! - `image`: one rebuilt image, its Containerfile patched ([`unified_diff`]);
//! - `refs`: reference normalisation, digests, slugs;
//! - `render`: JSON and Markdown ([`render_json`], [`render_markdown`]);
//! - `write`: the plan directory ([`write_dir`]).

mod fixes;
mod image;
mod refs;
mod render;
mod tags;
mod upgrade;
mod waves;
mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::containerfile::{self, ParseError};

pub use fixes::{highest_fixed, RootFixes};
pub use image::unified_diff;
pub use render::{render_json, render_markdown};
pub use upgrade::upgrade_command;
pub use write::write_dir;

use refs::{match_key, valid_digest};
use waves::{is_base_child, Status};

/// Version of the plan JSON.
pub const PLAN_SCHEMA_VERSION: u32 = 1;

// ---------------------------------------------------------------------------------------
// Input

/// An affected image, as the catalog graph knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanImage {
    /// `repo:tag` as catalogued.
    pub reference: String,
    /// Reference of the parent in the catalog graph.
    pub parent: Option<String>,
    pub tier: String,
    pub owner: String,
    pub contact: Option<String>,
    pub containerfile_path: Option<String>,
    /// Containerfile text.
    pub containerfile: Option<String>,
    /// os-release `ID`: debian, ubuntu, alpine, rhel, rocky, almalinux, fedora, centos,
    /// opensuse…
    pub distro_id: Option<String>,
    /// Binary packages to upgrade here, because this image is the root of the fix.
    pub packages_to_upgrade: Vec<String>,
    /// The version each of those packages moves to, when known: a Containerfile that
    /// pins the vulnerable version (`curl=7.88.1-10+deb12u5`) gets the pin moved.
    #[serde(default)]
    pub fixed_versions: std::collections::BTreeMap<String, String>,
    /// Language packages whose fix belongs here: the image's own manifest names them.
    #[serde(default)]
    pub language_fixes: Vec<LanguageFix>,
    pub cots: bool,
}

impl PlanImage {
    /// The fix belongs here: OS packages to upgrade or language packages to move.
    pub fn is_root_of_fix(&self) -> bool {
        !self.packages_to_upgrade.is_empty() || !self.language_fixes.is_empty()
    }
}

/// A language package the image itself must move to a fixed version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageFix {
    pub ecosystem: patchline_model::Ecosystem,
    pub name: String,
    pub installed: String,
    /// `None` when no fixed version is known.
    pub fixed: Option<String>,
    /// The file the package was found in (`.../site-packages/x.dist-info/METADATA`).
    pub path: Option<String>,
}

impl LanguageFix {
    /// The manifests that declare such a package, in the order they are usually found.
    pub fn manifests(&self) -> &'static str {
        use patchline_model::Ecosystem as E;
        match self.ecosystem {
            E::Pypi => "requirements.txt / pyproject.toml (or the lock file: poetry.lock, uv.lock, Pipfile.lock)",
            E::Npm => "package.json (and package-lock.json)",
            E::Golang => "go.mod (go get MODULE@VERSION && go mod tidy)",
            E::Cargo => "Cargo.toml (cargo update -p CRATE --precise VERSION)",
            E::Maven => "pom.xml (or build.gradle)",
            E::Gem => "Gemfile (and Gemfile.lock: bundle update GEM)",
            E::Composer => "composer.json (composer update VENDOR/NAME)",
            E::Nuget => "the project's *.csproj (PackageReference)",
            _ => "the package manager's manifest",
        }
    }
}

/// What the plan answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Trigger {
    Cve {
        id: String,
    },
    NewBase {
        /// The base reference in the catalog.
        image: String,
        /// `repo:tag` of the new base.
        new_ref: String,
        /// `sha256:…` of the new base.
        new_digest: String,
    },
}

/// How new tags are made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagScheme {
    /// `1.4.2` → `1.4.3`; other tags fall back to `Suffix("p")`.
    BumpPatch,
    /// `TAG-pN` for `Suffix("p")`: `-p1`, `-p2`…
    Suffix(String),
    /// `TAG-YYYYMMDD`.
    Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRequest {
    pub trigger: Trigger,
    /// The affected set, roots included.
    pub images: Vec<PlanImage>,
    pub tag_scheme: TagScheme,
    /// Tags that already exist, by repository (`registry.local:5000/team/app`); the
    /// catalogued images' own tags are always taken.
    pub existing_tags: BTreeMap<String, BTreeSet<String>>,
    /// `YYYYMMDD` for [`TagScheme::Date`]; today (UTC) when `None`.
    pub date: Option<String>,
}

impl PlanRequest {
    pub fn new(trigger: Trigger, images: Vec<PlanImage>, tag_scheme: TagScheme) -> Self {
        PlanRequest {
            trigger,
            images,
            tag_scheme,
            existing_tags: BTreeMap::new(),
            date: None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Output

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatchPlan {
    pub schema_version: u32,
    pub trigger: Trigger,
    pub tag_scheme: TagScheme,
    pub waves: Vec<Wave>,
    pub vendor_must_fix: Vec<VendorFix>,
    pub blocked: Vec<BlockedImage>,
    pub skipped: Vec<SkippedImage>,
    /// One entry per owner, with every image of theirs in the plan.
    pub notify: Vec<Notice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wave {
    pub index: usize,
    pub images: Vec<PlannedImage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedImage {
    pub reference: String,
    /// File-system-safe name, unique in the plan.
    pub slug: String,
    pub wave: usize,
    pub tier: String,
    pub owner: String,
    pub contact: Option<String>,
    /// The fix belongs here: `upgrade` says what to run.
    pub root_of_fix: bool,
    pub new_tag: String,
    /// `repo:new_tag`.
    pub new_reference: String,
    pub parent: Option<String>,
    pub new_parent: Option<NewParent>,
    pub upgrade: Option<UpgradeStep>,
    /// Pinned versions moved in place in the Containerfile (the upgrade step then
    /// leaves those packages out).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved_pins: Vec<MovedPin>,
    /// Language packages to move to a fixed version in the image's own manifests.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub language_fixes: Vec<LanguageFix>,
    pub containerfile_path: Option<String>,
    /// The patched Containerfile, whole.
    pub patched_containerfile: Option<String>,
    /// Unified diff from the catalogued Containerfile to the patched one.
    pub diff: Option<String>,
    /// The Containerfile could not be patched (or there is none): apply the change by hand.
    pub manual: bool,
    pub notes: Vec<String>,
}

/// A pinned version moved in place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedPin {
    pub package: String,
    pub to: String,
    /// Line of the `RUN` that pins it.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewParent {
    /// `repo:tag` of the new parent.
    pub reference: String,
    /// Its digest, when known at plan time.
    pub digest: Option<String>,
    /// What the FROM now says.
    pub from: String,
    /// The parent is rebuilt in `built_in_wave`: pin its digest once that wave is pushed.
    pub pin_after_build: bool,
    pub built_in_wave: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpgradeStep {
    pub distro: String,
    /// apt-get, apk, dnf, microdnf, yum, tdnf or zypper.
    pub tool: String,
    pub packages: Vec<String>,
    /// The shell command of the `RUN` line.
    pub command: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VendorFix {
    pub reference: String,
    pub owner: String,
    pub contact: Option<String>,
    pub packages: Vec<String>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedImage {
    pub reference: String,
    pub owner: String,
    pub contact: Option<String>,
    /// The COTS image this one waits on.
    pub waiting_on: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedImage {
    pub reference: String,
    pub owner: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub owner: String,
    pub contact: Option<String>,
    /// One line per image: what the owner has to do.
    pub actions: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cycle in the parent links: {}", cycle_text(.images))]
    Cycle { images: Vec<String> },
    #[error("image {0} is listed twice")]
    DuplicateImage(String),
    #[error("invalid trigger: {0}")]
    InvalidTrigger(String),
    #[error("image {image}: package name {package:?} is not a valid package name")]
    InvalidPackage { image: String, package: String },
    #[error("image {image}: cannot make a new tag: {reason}")]
    InvalidTag { image: String, reason: String },
    #[error("image {image}: Containerfile {path} does not parse: {error}")]
    Containerfile {
        image: String,
        path: String,
        error: ParseError,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} already exists and is not an empty directory")]
    DirNotEmpty(PathBuf),
    #[error("plan JSON: {0}")]
    Json(#[from] serde_json::Error),
}

fn cycle_text(images: &[String]) -> String {
    let mut s = images.join(" -> ");
    if let Some(first) = images.first() {
        s.push_str(" -> ");
        s.push_str(first);
    }
    s
}

/// Builds the patch plan.
pub fn build_plan(req: &PlanRequest) -> Result<PatchPlan, PlanError> {
    let images = &req.images;
    // Validate the trigger.
    let base_key = match &req.trigger {
        Trigger::Cve { id } => {
            if id.trim().is_empty() {
                return Err(PlanError::InvalidTrigger("empty CVE id".into()));
            }
            None
        }
        Trigger::NewBase {
            image,
            new_ref,
            new_digest,
        } => {
            if image.trim().is_empty() {
                return Err(PlanError::InvalidTrigger("empty base image".into()));
            }
            if new_ref.contains('@') {
                return Err(PlanError::InvalidTrigger(format!(
                    "new reference {new_ref:?} must be repo:tag; give the digest separately"
                )));
            }
            if let Err(e) = containerfile::set_final_base("FROM x\n", new_ref) {
                return Err(PlanError::InvalidTrigger(e.to_string()));
            }
            if !valid_digest(new_digest) {
                return Err(PlanError::InvalidTrigger(format!(
                    "new digest {new_digest:?} is not sha256:<64 hex> or sha512:<128 hex>"
                )));
            }
            Some(match_key(image))
        }
    };

    let base_key = base_key.as_deref();
    let parent = waves::link_parents(images)?;
    let order = waves::build_order(images, &parent);
    let status = waves::statuses(images, &parent, &order, base_key);
    let mut taken = tags::taken_tags(req);
    let date = tags::plan_date(req.date.as_deref())?;

    let mut slugs = BTreeSet::new();
    let mut planned: Vec<Option<PlannedImage>> = vec![None; images.len()];
    let mut vendor = Vec::new();
    let mut blocked = Vec::new();
    let mut skipped = Vec::new();
    for &i in &order {
        let img = &images[i];
        let Some(st) = status[i].clone() else {
            continue;
        };
        match st {
            Status::Trigger => {}
            Status::Vendor => vendor.push(VendorFix {
                reference: img.reference.clone(),
                owner: img.owner.clone(),
                contact: img.contact.clone(),
                packages: img.packages_to_upgrade.clone(),
                reason: match (&req.trigger, !img.is_root_of_fix()) {
                    (Trigger::NewBase { new_ref, new_digest, .. }, _) if is_base_child(base_key, img) => {
                        format!("vendor image built on the updated base: the vendor must rebuild it on {new_ref}@{new_digest}")
                    }
                    (_, false) => "vendor image: the vendor must ship the upgraded packages".to_string(),
                    _ => "vendor image: it inherits the vulnerable content; the vendor must rebuild".to_string(),
                },
            }),
            Status::Blocked { waiting_on } => blocked.push(BlockedImage {
                reference: img.reference.clone(),
                owner: img.owner.clone(),
                contact: img.contact.clone(),
                waiting_on,
            }),
            Status::Skipped { reason } => skipped.push(SkippedImage {
                reference: img.reference.clone(),
                owner: img.owner.clone(),
                reason,
            }),
            Status::Rebuilt { wave } => {
                let parent_plan = parent[i].and_then(|p| planned[p].as_ref());
                let p = image::plan_image(req, img, wave, parent_plan, is_base_child(base_key, img), &date, &mut taken, &mut slugs)?;
                planned[i] = Some(p);
            }
        }
    }

    let waves = waves::group(planned);
    vendor.sort_by(|a, b| a.reference.cmp(&b.reference));
    blocked.sort_by(|a, b| a.reference.cmp(&b.reference));
    skipped.sort_by(|a, b| a.reference.cmp(&b.reference));

    let mut plan = PatchPlan {
        schema_version: PLAN_SCHEMA_VERSION,
        trigger: req.trigger.clone(),
        tag_scheme: req.tag_scheme.clone(),
        waves,
        vendor_must_fix: vendor,
        blocked,
        skipped,
        notify: Vec::new(),
    };
    plan.notify = notices(&plan);
    Ok(plan)
}

fn notices(plan: &PatchPlan) -> Vec<Notice> {
    let mut by_owner: BTreeMap<String, Notice> = BTreeMap::new();
    let mut add = |owner: &str, contact: &Option<String>, action: String| {
        let n = by_owner.entry(owner.to_string()).or_insert_with(|| Notice {
            owner: owner.to_string(),
            contact: None,
            actions: Vec::new(),
        });
        if n.contact.is_none() {
            n.contact.clone_from(contact);
        }
        n.actions.push(action);
    };
    for w in &plan.waves {
        for p in &w.images {
            add(
                &p.owner,
                &p.contact,
                format!(
                    "rebuild {} as {} in wave {}",
                    p.reference, p.new_reference, w.index
                ),
            );
        }
    }
    for v in &plan.vendor_must_fix {
        add(
            &v.owner,
            &v.contact,
            format!("vendor must fix {}: {}", v.reference, v.reason),
        );
    }
    for b in &plan.blocked {
        add(
            &b.owner,
            &b.contact,
            format!(
                "{} is blocked until the vendor fixes {}",
                b.reference, b.waiting_on
            ),
        );
    }
    by_owner.into_values().collect()
}
