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
//!   (see [`containerfile`](crate::containerfile)); one `RUN` line per image:
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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::containerfile::{self, BuildArgs, EditError, ParseError};

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
    pub cots: bool,
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
    pub containerfile_path: Option<String>,
    /// The patched Containerfile, whole.
    pub patched_containerfile: Option<String>,
    /// Unified diff from the catalogued Containerfile to the patched one.
    pub diff: Option<String>,
    /// The Containerfile could not be patched (or there is none): apply the change by hand.
    pub manual: bool,
    pub notes: Vec<String>,
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

// ---------------------------------------------------------------------------------------
// References

/// Docker-normalised `(repository, tag, digest)`: `debian:12` →
/// `("docker.io/library/debian", Some("12"), None)`.
fn normalize(reference: &str) -> (String, Option<String>, Option<String>) {
    let (name, digest) = match reference.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (reference, None),
    };
    let (repo, tag) = split_tag(name);
    let mut parts: Vec<&str> = repo.split('/').collect();
    let hostlike = parts.len() > 1
        && (parts[0].contains('.') || parts[0].contains(':') || parts[0] == "localhost");
    if hostlike && matches!(parts[0], "index.docker.io" | "registry-1.docker.io") {
        parts[0] = "docker.io";
    }
    let mut repo = if hostlike {
        parts.join("/")
    } else {
        format!("docker.io/{}", parts.join("/"))
    };
    if repo.starts_with("docker.io/") && repo.matches('/').count() == 1 {
        repo = repo.replacen("docker.io/", "docker.io/library/", 1);
    }
    let tag = tag
        .map(str::to_string)
        .or_else(|| digest.is_none().then(|| "latest".to_string()));
    (repo, tag, digest)
}

/// `repo[:tag]` → (repo, tag); a colon before the last slash is a port.
fn split_tag(name: &str) -> (&str, Option<&str>) {
    match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => (&name[..i], Some(&name[i + 1..])),
        _ => (name, None),
    }
}

/// The key parent links are matched on: normalised `repo:tag` (or `repo@digest`).
fn match_key(reference: &str) -> String {
    let (repo, tag, digest) = normalize(reference);
    match (tag, digest) {
        (Some(t), _) => format!("{repo}:{t}"),
        (None, Some(d)) => format!("{repo}@{d}"),
        (None, None) => repo,
    }
}

fn valid_digest(d: &str) -> bool {
    let Some((alg, hex)) = d.split_once(':') else {
        return false;
    };
    let len = match alg {
        "sha256" => 64,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len
        && hex
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fn valid_tag(t: &str) -> bool {
    let mut chars = t.chars();
    t.len() <= 128
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn valid_package(p: &str) -> bool {
    let mut chars = p.chars();
    p.len() <= 200
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "._+:~-".contains(c))
}

/// File-system-safe slug of a reference.
fn slugify(reference: &str) -> String {
    let mut s: String = reference
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    if s.is_empty() || s.starts_with('.') {
        s.insert(0, '_');
    }
    s
}

// ---------------------------------------------------------------------------------------
// Tags

fn bump_patch(tag: &str) -> Option<String> {
    let (v, rest) = match tag.strip_prefix('v') {
        Some(r) => ("v", r),
        None => ("", tag),
    };
    let core_len = rest.find(['-', '+']).unwrap_or(rest.len());
    let (core, variant) = rest.split_at(core_len);
    let nums: Vec<&str> = core.split('.').collect();
    if nums.len() != 3
        || nums
            .iter()
            .any(|n| n.is_empty() || !n.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    if variant.len() == 1 {
        return None;
    }
    let patch: u64 = nums[2].parse().ok()?;
    Some(format!(
        "{v}{}.{}.{}{variant}",
        nums[0],
        nums[1],
        patch.checked_add(1)?
    ))
}

fn with_suffix(tag: &str, prefix: &str, taken: &BTreeSet<String>) -> Option<String> {
    // Continue an earlier patch suffix instead of stacking a second one.
    let marker = format!("-{prefix}");
    let (base, mut n) = match tag.rfind(&marker) {
        Some(i) => {
            let num = &tag[i + marker.len()..];
            match num.parse::<u64>() {
                Ok(k) if !num.is_empty() && num.bytes().all(|c| c.is_ascii_digit()) => {
                    (&tag[..i], k + 1)
                }
                _ => (tag, 1),
            }
        }
        None => (tag, 1),
    };
    for _ in 0..10_000 {
        let candidate = format!("{base}-{prefix}{n}");
        if !taken.contains(&candidate) {
            return Some(candidate);
        }
        n += 1;
    }
    None
}

fn with_date(tag: &str, date: &str, taken: &BTreeSet<String>) -> Option<String> {
    let is_date = |s: &str| s.len() == 8 && s.bytes().all(|c| c.is_ascii_digit());
    let mut base = tag;
    // Drop an earlier date suffix (`-YYYYMMDD` or `-YYYYMMDD-N`).
    if let Some((head, last)) = base.rsplit_once('-') {
        if is_date(last) {
            base = head;
        } else if last.bytes().all(|c| c.is_ascii_digit()) && !last.is_empty() {
            if let Some((h2, d)) = head.rsplit_once('-') {
                if is_date(d) {
                    base = h2;
                }
            }
        }
    }
    let first = format!("{base}-{date}");
    if !taken.contains(&first) {
        return Some(first);
    }
    (2..10_000)
        .map(|n| format!("{base}-{date}-{n}"))
        .find(|c| !taken.contains(c))
}

/// A new tag for an image whose current tag is `tag`, never in `taken`.
fn new_tag(
    scheme: &TagScheme,
    tag: &str,
    date: &str,
    taken: &BTreeSet<String>,
) -> Result<String, String> {
    let candidate = match scheme {
        TagScheme::BumpPatch => match bump_patch(tag) {
            Some(t) if !taken.contains(&t) => Some(t),
            _ => with_suffix(tag, "p", taken),
        },
        TagScheme::Suffix(prefix) => {
            if !prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.".contains(c))
            {
                return Err(format!(
                    "suffix {prefix:?} may hold only letters, digits, `_` and `.`"
                ));
            }
            with_suffix(tag, prefix, taken)
        }
        TagScheme::Date => with_date(tag, date, taken),
    };
    let t = candidate.ok_or_else(|| format!("no free tag derived from {tag:?}"))?;
    if valid_tag(&t) {
        Ok(t)
    } else {
        Err(format!(
            "{t:?} is not a valid tag (at most 128 of [A-Za-z0-9_.-])"
        ))
    }
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}{:02}{:02}", d.year(), u8::from(d.month()), d.day())
}

// ---------------------------------------------------------------------------------------
// Upgrade steps

/// The upgrade command for a distro, or `None` when the distro has no known package
/// manager. `names` are the names of the image's bases (catalog parent, Containerfile
/// FROM), used to spot minimal images that ship only microdnf (`ubi9/ubi-minimal`,
/// `fedora-minimal`, `rockylinux:9-minimal`).
pub fn upgrade_command(
    distro_id: &str,
    packages: &[String],
    names: &[&str],
) -> Option<UpgradeStep> {
    let id = distro_id.trim().to_ascii_lowercase();
    let pkgs = packages.join(" ");
    let minimal = names
        .iter()
        .any(|n| n.to_ascii_lowercase().contains("minimal"));
    let (tool, command) = match id.as_str() {
        "debian" | "ubuntu" | "raspbian" | "devuan" | "kali" | "linuxmint" | "pop" | "elementary" => (
            "apt-get",
            format!("apt-get update && apt-get install --only-upgrade -y {pkgs} && rm -rf /var/lib/apt/lists/*"),
        ),
        "alpine" | "wolfi" | "chainguard" | "postmarketos" => ("apk", format!("apk upgrade --no-cache {pkgs}")),
        "rhel" | "rocky" | "almalinux" | "centos" | "fedora" | "ol" | "eurolinux" | "circle" => {
            let tool = if minimal { "microdnf" } else { "dnf" };
            (tool, format!("{tool} upgrade -y {pkgs} && {tool} clean all"))
        }
        "amzn" => ("yum", format!("yum upgrade -y {pkgs} && yum clean all")),
        "photon" | "mariner" | "azurelinux" => ("tdnf", format!("tdnf upgrade -y {pkgs} && tdnf clean all")),
        s if s == "opensuse" || s.starts_with("opensuse-") || s.starts_with("sle") || s == "suse" => (
            "zypper",
            format!("zypper --non-interactive update {pkgs} && zypper clean --all"),
        ),
        _ => return None,
    };
    Some(UpgradeStep {
        distro: id,
        tool: tool.to_string(),
        packages: packages.to_vec(),
        command,
    })
}

// ---------------------------------------------------------------------------------------
// Planning

#[derive(Debug, Clone, PartialEq, Eq)]
enum Status {
    /// The updated base of a NewBase plan.
    Trigger,
    Rebuilt {
        wave: usize,
    },
    Vendor,
    Blocked {
        waiting_on: String,
    },
    Skipped {
        reason: String,
    },
}

fn find_cycle(parent: &[Option<usize>]) -> Option<Vec<usize>> {
    // 0 = unseen, 1 = on the current walk, 2 = done.
    let mut state = vec![0u8; parent.len()];
    for start in 0..parent.len() {
        let mut walk = Vec::new();
        let mut cur = Some(start);
        while let Some(i) = cur {
            match state[i] {
                2 => break,
                1 => {
                    let pos = walk.iter().position(|&w| w == i).unwrap_or(0);
                    return Some(walk[pos..].to_vec());
                }
                _ => {
                    state[i] = 1;
                    walk.push(i);
                    cur = parent[i];
                }
            }
        }
        for w in walk {
            state[w] = 2;
        }
    }
    None
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

    // Index the images and link parents.
    let mut by_ref: HashMap<&str, usize> = HashMap::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for (i, img) in images.iter().enumerate() {
        if by_ref.insert(img.reference.as_str(), i).is_some() {
            return Err(PlanError::DuplicateImage(img.reference.clone()));
        }
        by_key.entry(match_key(&img.reference)).or_insert(i);
        for p in &img.packages_to_upgrade {
            if !valid_package(p) {
                return Err(PlanError::InvalidPackage {
                    image: img.reference.clone(),
                    package: p.clone(),
                });
            }
        }
    }
    let parent: Vec<Option<usize>> = images
        .iter()
        .map(|img| {
            let p = img.parent.as_deref()?;
            by_ref
                .get(p)
                .copied()
                .or_else(|| by_key.get(&match_key(p)).copied())
        })
        .collect();
    if let Some(cycle) = find_cycle(&parent) {
        return Err(PlanError::Cycle {
            images: cycle.iter().map(|&i| images[i].reference.clone()).collect(),
        });
    }

    // Parents before children.
    let mut depth: Vec<Option<usize>> = vec![None; images.len()];
    for i in 0..images.len() {
        let mut chain = vec![i];
        let mut cur = i;
        while depth[cur].is_none() {
            match parent[cur] {
                Some(p) => {
                    chain.push(p);
                    cur = p;
                }
                None => break,
            }
        }
        let mut d = depth[cur].unwrap_or(0);
        if depth[cur].is_none() {
            depth[cur] = Some(0);
        }
        for &c in chain.iter().rev().skip(1) {
            d += 1;
            depth[c] = Some(d);
        }
    }
    let mut order: Vec<usize> = (0..images.len()).collect();
    order.sort_by(|&a, &b| (depth[a], &images[a].reference).cmp(&(depth[b], &images[b].reference)));

    let is_base_child = |img: &PlanImage| match (&base_key, &img.parent) {
        (Some(k), Some(p)) => &match_key(p) == k,
        _ => false,
    };

    let mut status: Vec<Option<Status>> = vec![None; images.len()];
    for &i in &order {
        let img = &images[i];
        let parent_status = parent[i].and_then(|p| status[p].clone());
        let s = if base_key
            .as_ref()
            .is_some_and(|k| &match_key(&img.reference) == k)
        {
            Status::Trigger
        } else if img.cots {
            Status::Vendor
        } else {
            match parent_status {
                Some(Status::Vendor) => Status::Blocked {
                    waiting_on: parent[i].map(|p| images[p].reference.clone()).unwrap_or_default(),
                },
                Some(Status::Blocked { waiting_on }) => Status::Blocked { waiting_on },
                Some(Status::Rebuilt { wave }) => Status::Rebuilt { wave: wave + 1 },
                _ if is_base_child(img) || !img.packages_to_upgrade.is_empty() => Status::Rebuilt { wave: 0 },
                _ => Status::Skipped {
                    reason: match &img.parent {
                        Some(p) => format!(
                            "affected, but not a root of the fix and its parent {p} is not rebuilt in this plan"
                        ),
                        None => "affected, but not a root of the fix and it has no parent in the catalog".to_string(),
                    },
                },
            }
        };
        status[i] = Some(s);
    }

    // Tags already taken, by normalised repository.
    let mut taken: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (repo, tags) in &req.existing_tags {
        taken
            .entry(normalize(repo).0)
            .or_default()
            .extend(tags.iter().cloned());
    }
    for img in images {
        let (repo, tag, _) = normalize(&img.reference);
        if let Some(t) = tag {
            taken.entry(repo).or_default().insert(t);
        }
    }
    let date = match &req.date {
        Some(d) if d.len() == 8 && d.bytes().all(|c| c.is_ascii_digit()) => d.clone(),
        Some(d) => {
            return Err(PlanError::InvalidTrigger(format!(
                "date {d:?} is not YYYYMMDD"
            )))
        }
        None => today(),
    };

    let mut slugs: BTreeSet<String> = BTreeSet::new();
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
                reason: match (&req.trigger, img.packages_to_upgrade.is_empty()) {
                    (Trigger::NewBase { new_ref, new_digest, .. }, _) if is_base_child(img) => {
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
                let p = plan_image(req, img, wave, parent_plan, is_base_child(img), &date, &mut taken, &mut slugs)?;
                planned[i] = Some(p);
            }
        }
    }

    let mut waves: Vec<Wave> = Vec::new();
    let mut all: Vec<PlannedImage> = planned.into_iter().flatten().collect();
    all.sort_by(|a, b| (a.wave, &a.reference).cmp(&(b.wave, &b.reference)));
    for p in all {
        if waves.last().is_none_or(|w| w.index != p.wave) {
            waves.push(Wave {
                index: p.wave,
                images: Vec::new(),
            });
        }
        if let Some(w) = waves.last_mut() {
            w.images.push(p);
        }
    }
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

#[allow(clippy::too_many_arguments)]
fn plan_image(
    req: &PlanRequest,
    img: &PlanImage,
    wave: usize,
    parent_plan: Option<&PlannedImage>,
    base_child: bool,
    date: &str,
    taken: &mut HashMap<String, BTreeSet<String>>,
    slugs: &mut BTreeSet<String>,
) -> Result<PlannedImage, PlanError> {
    let mut notes = Vec::new();
    let name = img.reference.split('@').next().unwrap_or("");
    let (repo_written, tag) = split_tag(name);
    let tag = tag.unwrap_or("latest");
    let repo_key = normalize(&img.reference).0;
    let repo_taken = taken.entry(repo_key).or_default();
    let new_tag = new_tag(&req.tag_scheme, tag, date, repo_taken).map_err(|reason| {
        PlanError::InvalidTag {
            image: img.reference.clone(),
            reason,
        }
    })?;
    repo_taken.insert(new_tag.clone());
    let new_reference = format!("{repo_written}:{new_tag}");

    let mut slug = slugify(&img.reference);
    if slugs.contains(&slug) {
        let base = slug.clone();
        slug = (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|s| !slugs.contains(s))
            .unwrap_or(base);
    }
    slugs.insert(slug.clone());

    let new_parent = match (parent_plan, &req.trigger) {
        (Some(pp), _) => Some(NewParent {
            reference: pp.new_reference.clone(),
            digest: None,
            from: pp.new_reference.clone(),
            pin_after_build: true,
            built_in_wave: Some(pp.wave),
        }),
        (
            None,
            Trigger::NewBase {
                new_ref,
                new_digest,
                ..
            },
        ) if base_child => Some(NewParent {
            reference: new_ref.clone(),
            digest: Some(new_digest.clone()),
            from: format!("{new_ref}@{new_digest}"),
            pin_after_build: false,
            built_in_wave: None,
        }),
        _ => None,
    };

    let parsed = match &img.containerfile {
        Some(text) => Some(containerfile::parse(text).map_err(|error| {
            PlanError::Containerfile {
                image: img.reference.clone(),
                path: img
                    .containerfile_path
                    .clone()
                    .unwrap_or_else(|| "(Containerfile)".into()),
                error,
            }
        })?),
        None => None,
    };
    let cf_base = parsed
        .as_ref()
        .and_then(|cf| cf.final_base(&BuildArgs::new()).ok().flatten())
        .map(|b| b.0);

    let mut packages = img.packages_to_upgrade.clone();
    packages.sort();
    packages.dedup();
    let root_of_fix = !packages.is_empty();
    let upgrade = if root_of_fix {
        // The base it is built on tells a minimal image (only microdnf) from a full one.
        let names: Vec<&str> = [img.parent.as_deref(), cf_base.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        match img
            .distro_id
            .as_deref()
            .and_then(|d| upgrade_command(d, &packages, &names))
        {
            Some(step) => Some(step),
            None => {
                notes.push(format!(
                    "no upgrade command known for distro {:?}: upgrade {} by hand",
                    img.distro_id.as_deref().unwrap_or("unknown"),
                    packages.join(" ")
                ));
                None
            }
        }
    } else {
        None
    };
    // Replaced by the edit's own note when the Containerfile leaves a non-root USER in
    // effect and the edit wraps the step in `USER root` itself.
    let parent_user_note = (upgrade.is_some() && img.parent.is_some()).then(|| {
        notes.push(
            "the upgrade step runs as the user the parent image leaves set; if that is not root, put `USER root` before it and restore the user after".to_string(),
        );
        notes.len() - 1
    });

    // Stale Containerfile: it does not build on what the catalog says the parent is.
    if let (Some(base), Some(p)) = (&cf_base, &img.parent) {
        if match_key(base) != match_key(p) {
            notes.push(format!(
                "the Containerfile builds on {base} but the catalog parent is {p}: one of them is stale"
            ));
        }
    }

    let mut patched = None;
    let mut diff = None;
    let mut manual = false;
    match (&parsed, &img.containerfile) {
        (Some(cf), Some(text)) => {
            let mut edits = Vec::new();
            let mut failed: Option<EditError> = None;
            if let Some(np) = &new_parent {
                match cf.final_base_edit(&np.from) {
                    Ok(e) => {
                        notes.extend(e.note.clone());
                        edits.push(e);
                    }
                    Err(e) => failed = Some(e),
                }
            }
            if let (Some(step), None) = (&upgrade, &failed) {
                match cf.upgrade_step_edit(&step.command) {
                    Ok(e) => {
                        if let Some(note) = &e.note {
                            if let Some(i) = parent_user_note {
                                notes[i] = note.clone();
                            } else {
                                notes.push(note.clone());
                            }
                        }
                        edits.push(e);
                    }
                    Err(e) => failed = Some(e),
                }
            }
            let result = match failed {
                Some(e) => Err(e),
                None => containerfile::apply_edits(text, &edits),
            };
            match result {
                // Nothing this plan knows how to write (an unknown distro): the notes
                // say what to change.
                Ok(_) if edits.is_empty() => manual = true,
                Ok(new_text) => {
                    let path = img.containerfile_path.as_deref().unwrap_or("Containerfile");
                    diff = Some(unified_diff(text, &new_text, path));
                    patched = Some(new_text);
                }
                Err(e) => {
                    manual = true;
                    notes.push(format!(
                        "the Containerfile was left untouched: {e}; {}",
                        manual_change(&new_parent, &upgrade)
                    ));
                }
            }
        }
        _ => {
            manual = true;
            notes.push(format!(
                "no Containerfile in the catalog: {}",
                manual_change(&new_parent, &upgrade)
            ));
        }
    }

    Ok(PlannedImage {
        reference: img.reference.clone(),
        slug,
        wave,
        tier: img.tier.clone(),
        owner: img.owner.clone(),
        contact: img.contact.clone(),
        root_of_fix,
        new_tag,
        new_reference,
        parent: img.parent.clone(),
        new_parent,
        upgrade,
        containerfile_path: img.containerfile_path.clone(),
        patched_containerfile: patched,
        diff,
        manual,
        notes,
    })
}

fn manual_change(new_parent: &Option<NewParent>, upgrade: &Option<UpgradeStep>) -> String {
    let mut parts = Vec::new();
    if let Some(np) = new_parent {
        parts.push(format!("build FROM {}", np.from));
    }
    if let Some(u) = upgrade {
        parts.push(format!(
            "add `RUN {}` after the final stage's last RUN (as root)",
            u.command
        ));
    }
    if parts.is_empty() {
        "rebuild it as is".to_string()
    } else {
        parts.join(" and ")
    }
}

/// `--- a/PATH` / `+++ b/PATH` unified diff with three lines of context.
pub fn unified_diff(old: &str, new: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
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

// ---------------------------------------------------------------------------------------
// Rendering

/// The plan as pretty JSON.
pub fn render_json(plan: &PatchPlan) -> Result<String, PlanError> {
    let mut s = serde_json::to_string_pretty(plan)?;
    s.push('\n');
    Ok(s)
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// A code fence longer than any backtick run in `body`.
fn fence(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn trigger_title(t: &Trigger) -> String {
    match t {
        Trigger::Cve { id } => format!("Patch plan for {id}"),
        Trigger::NewBase {
            image,
            new_ref,
            new_digest,
        } => format!("Patch plan for the new base {image} → {new_ref}@{new_digest}"),
    }
}

/// The plan as Markdown: summary, waves with diffs, vendor fixes, blocked and skipped
/// images, owners to notify.
pub fn render_markdown(plan: &PatchPlan) -> String {
    let mut md = String::new();
    let rebuilt: usize = plan.waves.iter().map(|w| w.images.len()).sum();
    let _ = writeln!(md, "# {}\n", trigger_title(&plan.trigger));
    let _ = writeln!(
        md,
        "{rebuilt} image(s) to rebuild in {} wave(s); {} vendor image(s) to fix; {} blocked; {} skipped.\n",
        plan.waves.len(),
        plan.vendor_must_fix.len(),
        plan.blocked.len(),
        plan.skipped.len()
    );
    if !plan.waves.is_empty() {
        let _ = writeln!(md, "| Wave | Image | New tag | Owner | Change |");
        let _ = writeln!(md, "| --- | --- | --- | --- | --- |");
        for w in &plan.waves {
            for p in &w.images {
                let mut change = Vec::new();
                if p.root_of_fix {
                    change.push(match &p.upgrade {
                        Some(u) => format!("upgrade {} ({})", u.packages.join(" "), u.tool),
                        None => "upgrade by hand".to_string(),
                    });
                }
                if let Some(np) = &p.new_parent {
                    change.push(format!("FROM {}", np.from));
                }
                let _ = writeln!(
                    md,
                    "| {} | `{}` | `{}` | {} | {} |",
                    w.index,
                    cell(&p.reference),
                    cell(&p.new_tag),
                    cell(&p.owner),
                    cell(&change.join("; "))
                );
            }
        }
        md.push('\n');
    }
    for w in &plan.waves {
        let _ = writeln!(md, "## Wave {}\n", w.index);
        for p in &w.images {
            let _ = writeln!(md, "### `{}` → `{}`\n", p.reference, p.new_reference);
            let contact = p
                .contact
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let _ = writeln!(md, "- Owner: {}{contact}", p.owner);
            let _ = writeln!(md, "- Tier: {}", p.tier);
            if let Some(path) = &p.containerfile_path {
                let _ = writeln!(md, "- Containerfile: `{path}`");
            }
            if let Some(np) = &p.new_parent {
                let pin = if np.pin_after_build {
                    format!(
                        " (pin the digest after wave {} is pushed)",
                        np.built_in_wave.unwrap_or(0)
                    )
                } else {
                    " (pinned by digest)".to_string()
                };
                let _ = writeln!(md, "- New parent: `{}`{pin}", np.from);
            }
            if let Some(u) = &p.upgrade {
                let _ = writeln!(md, "- Root of the fix ({}): `RUN {}`", u.distro, u.command);
            } else if p.root_of_fix {
                let _ = writeln!(md, "- Root of the fix: no upgrade command known, see notes");
            }
            for n in &p.notes {
                let _ = writeln!(md, "- Note: {n}");
            }
            if let Some(d) = &p.diff {
                let f = fence(d);
                let _ = writeln!(
                    md,
                    "\n{f}diff\n{}{}{f}",
                    d,
                    if d.ends_with('\n') { "" } else { "\n" }
                );
            }
            md.push('\n');
        }
    }
    if !plan.vendor_must_fix.is_empty() {
        let _ = writeln!(md, "## Vendor must fix\n");
        let _ = writeln!(md, "| Image | Owner | Contact | Packages | Why |");
        let _ = writeln!(md, "| --- | --- | --- | --- | --- |");
        for v in &plan.vendor_must_fix {
            let _ = writeln!(
                md,
                "| `{}` | {} | {} | {} | {} |",
                cell(&v.reference),
                cell(&v.owner),
                cell(v.contact.as_deref().unwrap_or("")),
                cell(&v.packages.join(" ")),
                cell(&v.reason)
            );
        }
        md.push('\n');
    }
    if !plan.blocked.is_empty() {
        let _ = writeln!(md, "## Blocked\n");
        for b in &plan.blocked {
            let _ = writeln!(
                md,
                "- `{}` ({}): waits on the vendor fix of `{}`",
                b.reference, b.owner, b.waiting_on
            );
        }
        md.push('\n');
    }
    if !plan.skipped.is_empty() {
        let _ = writeln!(md, "## Skipped\n");
        for s in &plan.skipped {
            let _ = writeln!(md, "- `{}` ({}): {}", s.reference, s.owner, s.reason);
        }
        md.push('\n');
    }
    if !plan.notify.is_empty() {
        let _ = writeln!(md, "## Owners to notify\n");
        for n in &plan.notify {
            let contact = n
                .contact
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let _ = writeln!(md, "- **{}**{contact}", n.owner);
            for a in &n.actions {
                let _ = writeln!(md, "  - {a}");
            }
        }
    }
    md
}

// ---------------------------------------------------------------------------------------
// Writing

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PlanError + '_ {
    move |source| PlanError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), PlanError> {
    let mut f = std::fs::File::create(path).map_err(io_err(path))?;
    f.write_all(bytes).map_err(io_err(path))?;
    f.sync_all().map_err(io_err(path))
}

/// Name of the patched file in the plan directory: the catalogued file's own name.
fn containerfile_name(path: Option<&str>) -> String {
    let base = path
        .and_then(|p| p.rsplit(['/', '\\']).next())
        .filter(|b| !b.is_empty() && *b != "." && *b != "..")
        .unwrap_or("Containerfile");
    let safe: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.starts_with('.') {
        format!("_{safe}")
    } else {
        safe
    }
}

fn fill_dir(plan: &PatchPlan, root: &Path) -> Result<(), PlanError> {
    write_file(&root.join("plan.json"), render_json(plan)?.as_bytes())?;
    write_file(&root.join("plan.md"), render_markdown(plan).as_bytes())?;
    for w in &plan.waves {
        for p in &w.images {
            let dir = root.join(format!("wave-{}", w.index)).join(&p.slug);
            std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
            let name = containerfile_name(p.containerfile_path.as_deref());
            if let Some(text) = &p.patched_containerfile {
                write_file(&dir.join(&name), text.as_bytes())?;
            }
            if let Some(d) = &p.diff {
                write_file(&dir.join(format!("{name}.diff")), d.as_bytes())?;
            }
            write_file(
                &dir.join("image.json"),
                serde_json::to_string_pretty(p)?.as_bytes(),
            )?;
        }
    }
    Ok(())
}

/// Writes the plan to `dir`: `plan.json`, `plan.md`, and for each planned image
/// `wave-N/<slug>/` with the patched Containerfile, its `.diff` and `image.json`. The
/// directory is built under a temporary name beside `dir` and renamed into place; an
/// existing non-empty `dir` is refused.
pub fn write_dir(plan: &PatchPlan, dir: &Path) -> Result<(), PlanError> {
    let name = dir
        .file_name()
        .ok_or_else(|| PlanError::DirNotEmpty(dir.to_path_buf()))?
        .to_string_lossy()
        .into_owned();
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let existed_empty = match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(PlanError::DirNotEmpty(dir.to_path_buf()));
            }
            true
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) if dir.exists() => {
            return Err(if dir.is_dir() {
                PlanError::Io {
                    path: dir.to_path_buf(),
                    source: e,
                }
            } else {
                PlanError::DirNotEmpty(dir.to_path_buf())
            })
        }
        Err(e) => {
            return Err(PlanError::Io {
                path: dir.to_path_buf(),
                source: e,
            })
        }
    };
    std::fs::create_dir_all(&parent).map_err(io_err(&parent))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = parent.join(format!(".{name}.tmp-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&tmp).map_err(io_err(&tmp))?;
    let result = fill_dir(plan, &tmp).and_then(|()| {
        if existed_empty {
            std::fs::remove_dir(dir).map_err(io_err(dir))?;
        }
        std::fs::rename(&tmp, dir).map_err(io_err(dir))
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}
