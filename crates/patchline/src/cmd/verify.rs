//! `patchline verify PLAN.json --images REF...`: checks that the rebuilt images carry out
//! the plan: each is built on its planned parent (layer chain), a new base is in every
//! chain, and (with a database) the planned vulnerability is gone.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use patchline_lineage::plan::{PatchPlan, PlannedImage, Trigger};
use patchline_model::{Digest, ImageInfo};

use patchline_scan::Input;

use crate::args::{ImageArgs, TextFormat};
use crate::cmd::catalog::{catalog_reference, resolve_info};

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Example:\n  patchline verify plan/plan.json --images registry.example.com/team/app:1.4.3 --db advisories.sqlite"
)]
pub struct Args {
    /// The plan, as written by `patchline plan --format json` (or plan.json of --write).
    pub plan: PathBuf,
    /// The rebuilt images, by their new references (REPO:NEWTAG[@DIGEST]).
    #[arg(long, num_args = 1.., required = true, value_name = "REF")]
    pub images: Vec<String>,
    /// Advisory database: rescan the rebuilt images (required for a CVE plan).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
    #[arg(long, short = 'f', value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
    #[command(flatten)]
    pub image_args: ImageArgs,
}

#[derive(Debug, serde::Serialize)]
struct Checked {
    image: String,
    planned: String,
    digest: Option<Digest>,
    ok: bool,
    problems: Vec<String>,
}

/// `repo:tag` of a reference, without transport or digest.
fn tag_key(r: &str) -> String {
    let r = catalog_reference(r);
    match r.split_once('@') {
        Some((a, _)) => a.to_string(),
        None => r,
    }
}

fn is_prefix(parent: &ImageInfo, child: &ImageInfo) -> bool {
    parent.layers.len() < child.layers.len()
        && parent
            .layers
            .iter()
            .zip(&child.layers)
            .all(|(a, b)| a.diff_id == b.diff_id)
}

pub fn run(a: Args) -> Result<u8> {
    let text = std::fs::read_to_string(&a.plan)
        .with_context(|| format!("reading the plan {}", a.plan.display()))?;
    let plan: PatchPlan = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a patchline plan (JSON)", a.plan.display()))?;
    let cve = match &plan.trigger {
        Trigger::Cve { id } => {
            if a.db.is_none() {
                bail!("the plan fixes {id}: give --db PATH to rescan the rebuilt images");
            }
            Some(id.clone())
        }
        Trigger::NewBase { .. } => None,
    };
    let planned: Vec<&PlannedImage> = plan.waves.iter().flat_map(|w| &w.images).collect();
    let by_new: HashMap<String, &PlannedImage> = planned
        .iter()
        .map(|p| (tag_key(&p.new_reference), *p))
        .collect();
    // Check every given image belongs to the plan before any pull.
    let mut given: Vec<(&String, &PlannedImage)> = Vec::new();
    for r in &a.images {
        let p = by_new.get(&tag_key(r)).ok_or_else(|| {
            anyhow!(
                "{r} is not a rebuilt image of the plan {} (expected one of: {})",
                a.plan.display(),
                planned
                    .iter()
                    .map(|p| p.new_reference.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })?;
        given.push((r, p));
    }

    let new_base = match &plan.trigger {
        Trigger::NewBase {
            new_ref,
            new_digest,
            ..
        } => Some(
            resolve_info(&format!("{new_ref}@{new_digest}"), &a.image_args)
                .with_context(|| format!("the new base {new_ref}@{new_digest}"))?,
        ),
        Trigger::Cve { .. } => None,
    };

    let mut results = Vec::new();
    for (r, p) in &given {
        let mut problems = Vec::new();
        let (info, scan) = match &a.db {
            Some(db) => {
                let mut opts = a.image_args.scan_options()?;
                opts.db = Some(db.clone());
                let s = crate::progress::with_layer_bars(|p| {
                    patchline_scan::scan(Input::Image(r.to_string()), &opts, p)
                })
                .with_context(|| format!("rescanning the rebuilt image {r}"))?;
                (s.inventory.image, Some(s.report))
            }
            None => (
                resolve_info(r, &a.image_args)
                    .with_context(|| format!("reading the rebuilt image {r}"))?,
                None,
            ),
        };
        if let Some(np) = &p.new_parent {
            let spec = match &np.digest {
                Some(d) => format!("{}@{d}", tag_key(&np.reference)),
                None => np.reference.clone(),
            };
            match resolve_info(&spec, &a.image_args) {
                Ok(parent) => {
                    if !is_prefix(&parent, &info) {
                        problems.push(format!(
                            "not built on its planned parent {spec}: the parent's {} layer(s) are not a prefix of the image's {}",
                            parent.layers.len(),
                            info.layers.len()
                        ));
                    }
                    let annotated = info
                        .annotations
                        .get("org.opencontainers.image.base.digest")
                        .and_then(|d| d.parse::<Digest>().ok());
                    if let (Some(ad), Some(pd)) = (annotated, &parent.manifest_digest) {
                        if &ad != pd {
                            problems.push(format!(
                                "its base.digest annotation names {ad}, not the planned parent {pd}"
                            ));
                        }
                    }
                }
                Err(e) => problems.push(format!("planned parent {spec}: {e:#}")),
            }
        }
        if let Some(nb) = &new_base {
            if !is_prefix(nb, &info) {
                problems.push("the new base's layers are not in its layer chain".into());
            }
        }
        if let (Some(id), Some(s)) = (&cve, &scan) {
            let still: Vec<String> = s
                .findings
                .iter()
                .filter(|f| &f.id == id || f.aliases.iter().any(|x| x == id))
                .map(|f| format!("{} {}", f.package.name, f.package.version))
                .collect();
            if !still.is_empty() {
                problems.push(format!("{id} is still present in: {}", still.join(", ")));
            }
        }
        results.push(Checked {
            image: r.to_string(),
            planned: p.reference.clone(),
            digest: info.manifest_digest.clone(),
            ok: problems.is_empty(),
            problems,
        });
    }
    let given_planned: std::collections::HashSet<&str> =
        given.iter().map(|(_, p)| p.reference.as_str()).collect();
    let missing: Vec<&str> = planned
        .iter()
        .filter(|p| !given_planned.contains(p.reference.as_str()))
        .map(|p| p.new_reference.as_str())
        .collect();

    let ok = results.iter().all(|c| c.ok) && missing.is_empty();
    let out = if a.format == TextFormat::Json {
        let mut s = serde_json::to_string_pretty(&serde_json::json!({
            "ok": ok,
            "images": results,
            "not_verified": missing,
        }))?;
        s.push('\n');
        s
    } else {
        let mut s = String::new();
        for c in &results {
            if c.ok {
                s.push_str(&format!("ok      {} (rebuild of {})\n", c.image, c.planned));
            } else {
                s.push_str(&format!("FAILED  {} (rebuild of {})\n", c.image, c.planned));
                for pr in &c.problems {
                    s.push_str(&format!("        - {pr}\n"));
                }
            }
        }
        for m in &missing {
            s.push_str(&format!(
                "MISSING {m}: planned but not given with --images\n"
            ));
        }
        s.push_str(if ok {
            "verify: passed\n"
        } else {
            "verify: failed\n"
        });
        s
    };
    crate::output::write_all_or_nothing(None, out.as_bytes())?;
    Ok(if ok {
        crate::EXIT_OK
    } else {
        crate::EXIT_GATE_FAILED
    })
}
