//! `patchline plan`: the patch plan for a CVE or a new base digest: rebuild waves,
//! patched Containerfiles, new tags, owners to notify.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use patchline_image::registry::RegistryStore;
use patchline_image::ImageRef;
use patchline_lineage::plan::{self, PlanImage, PlanRequest, TagScheme, Trigger};
use patchline_lineage::{Catalog, Graph, NodeId, Tier};

use crate::args::ImageArgs;
use crate::cmd::catalog::{resolve_info, StateArgs};

#[derive(clap::Args, Debug)]
#[command(after_help = "Example:\n  patchline plan --cve CVE-2024-2398 --write plan/")]
pub struct Args {
    /// Plan the fix of this vulnerability (from the stored scans, or --db).
    #[arg(
        long,
        value_name = "CVE-ID",
        required_unless_present = "base",
        conflicts_with = "base"
    )]
    pub cve: Option<String>,
    /// Plan the rebuild of everything below this catalogued base image ...
    #[arg(long, value_name = "IMAGE", requires = "to")]
    pub base: Option<String>,
    /// ... onto this new reference (REPO:TAG, resolved in the registry, or REPO:TAG@DIGEST).
    #[arg(long, value_name = "NEWREF", requires = "base")]
    pub to: Option<String>,
    /// For --cve: scan the stored inventories against this advisory database now.
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Markdown)]
    pub format: Format,
    /// Also write the plan as a directory (plan.json, plan.md, one folder per image).
    #[arg(long, value_name = "DIR")]
    pub write: Option<PathBuf>,
    /// New tags: patch (1.4.2 -> 1.4.3), suffix:-p (TAG-p1) or date (TAG-YYYYMMDD).
    #[arg(long, default_value = "patch", value_name = "SCHEME", value_parser = parse_scheme)]
    pub tag_scheme: TagScheme,
    /// Do not ask the registry which tags exist already.
    #[arg(long)]
    pub offline: bool,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

/// `--format` of `plan`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Json,
}

/// `--tag-scheme`: a typed value, though not a `ValueEnum` (`suffix:` carries its
/// suffix); clap reports a bad one as a usage error.
fn parse_scheme(s: &str) -> Result<TagScheme, String> {
    match s {
        "patch" => Ok(TagScheme::BumpPatch),
        "date" => Ok(TagScheme::Date),
        _ => match s.strip_prefix("suffix:") {
            Some(x) => {
                let x = x.trim_start_matches('-');
                if x.is_empty() || !x.chars().all(|c| c.is_ascii_alphanumeric()) {
                    return Err("the suffix must be letters or digits (suffix:-p)".into());
                }
                Ok(TagScheme::Suffix(x.to_string()))
            }
            None => Err("expected patch, suffix:-p or date".into()),
        },
    }
}

/// The plan input for one node of the graph.
fn plan_image(cat: &Catalog, g: &Graph, id: NodeId, packages: Vec<String>) -> Result<PlanImage> {
    let n = g.node(id);
    let e = &n.entry;
    let containerfile = match &e.containerfile {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("image {}: reading its Containerfile {p}", e.reference))?,
        ),
        None => None,
    };
    let distro_id = cat
        .inventory(&e.reference)?
        .and_then(|inv| inv.distro.map(|d| d.id));
    Ok(PlanImage {
        reference: e.reference.clone(),
        parent: n.parent.map(|p| g.node(p).reference().to_string()),
        tier: e.tier.as_str().to_string(),
        owner: e
            .owner
            .as_ref()
            .map(|o| o.team.clone())
            .unwrap_or_else(|| "unknown".into()),
        contact: e.owner.as_ref().and_then(|o| o.contact.clone()),
        containerfile_path: e.containerfile.clone(),
        containerfile,
        distro_id,
        packages_to_upgrade: packages,
        cots: e.tier == Tier::Cots,
        ..PlanImage::default()
    })
}

/// Splits `REPO:TAG@DIGEST` into `(REPO:TAG, Some(DIGEST))`.
fn split_digest(s: &str) -> (&str, Option<&str>) {
    match s.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (s, None),
    }
}

pub fn run(a: Args) -> Result<u8> {
    let cat = a.state.open()?;
    let g = cat.graph()?;
    let mut images = Vec::new();
    let trigger = if let (Some(base), Some(to)) = (&a.base, &a.to) {
        let b = g
            .find(base)
            .ok_or_else(|| anyhow!("base {base} is not in the catalog"))?;
        let to = to.strip_prefix("docker://").unwrap_or(to);
        let (new_ref, digest) = split_digest(to);
        let new_digest = match digest {
            Some(d) => d.to_string(),
            None => resolve_info(new_ref, &a.image_args)
                .with_context(|| format!("--to {new_ref}"))?
                .manifest_digest
                .ok_or_else(|| anyhow!("--to {new_ref}: the registry named no digest"))?
                .to_string(),
        };
        for d in g.descendants(b) {
            images.push(plan_image(&cat, &g, d, Vec::new())?);
        }
        Trigger::NewBase {
            image: g.node(b).reference().to_string(),
            new_ref: new_ref.to_string(),
            new_digest,
        }
    } else if let Some(id) = &a.cve {
        let report = crate::cmd::impact::cve_report(&cat, id, a.db.as_deref())?;
        if report.images.is_empty() {
            bail!("no catalogued image is affected by {id}");
        }
        let mut fixes = plan::RootFixes::from_impact(&report);
        let mut seen = HashSet::new();
        for img in &report.images {
            let node = g
                .find(&img.image)
                .ok_or_else(|| anyhow!("{}: not in the graph", img.image))?;
            if !seen.insert(node) {
                continue;
            }
            let pkgs = fixes.packages_of(&img.image);
            let mut p = plan_image(&cat, &g, node, pkgs)?;
            fixes.apply(&img.image, &mut p);
            images.push(p);
        }
        Trigger::Cve { id: id.clone() }
    } else {
        bail!("give --cve CVE-ID or --base IMAGE --to NEWREF");
    };

    let mut req = PlanRequest::new(trigger, images, a.tag_scheme.clone());
    if !a.offline {
        req.existing_tags = existing_tags(&req.images, &a.image_args);
    }
    let p = plan::build_plan(&req)?;
    if let Some(dir) = &a.write {
        plan::write_dir(&p, dir)?;
        errln!("patchline: plan written to {}", dir.display());
    }
    let out = if a.format == Format::Json {
        plan::render_json(&p)?
    } else {
        plan::render_markdown(&p)
    };
    crate::output::write_all_or_nothing(None, out.as_bytes())?;
    Ok(crate::EXIT_OK)
}

/// Tags that exist in the registry for every planned repository, so that no new tag
/// reuses one. A repository that cannot be listed is warned about, not fatal: the
/// catalogued tags are still avoided.
fn existing_tags(images: &[PlanImage], a: &ImageArgs) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    let Ok(opts) = a.open_options() else {
        return out;
    };
    for img in images {
        if img.cots {
            continue;
        }
        let Ok(ImageRef::Registry(mut r)) = ImageRef::parse(&img.reference) else {
            continue;
        };
        let repo = format!("{}/{}", r.registry, r.repository);
        if out.contains_key(&repo) {
            continue;
        }
        r.tag = None;
        r.digest = None;
        match RegistryStore::new(r, &opts.registry).and_then(|s| s.list_tags()) {
            Ok(tags) => {
                out.insert(repo, tags.into_iter().collect());
            }
            Err(e) => errln!("patchline: warning: listing the tags of {repo}: {e}"),
        }
    }
    out
}
