//! One rebuilt image: its new tag and slug, the new FROM, the upgrade step, and the
//! Containerfile patched with both (or notes saying what to change by hand).

use std::collections::{BTreeSet, HashMap};

use super::refs::{match_key, normalize, slugify, split_tag};
use super::tags::new_tag;
use super::upgrade::upgrade_step;
use super::{
    MovedPin, NewParent, PlanError, PlanImage, PlanRequest, PlannedImage, Trigger, UpgradeStep,
};
use crate::containerfile::{self, BuildArgs, EditError};

/// Plans the rebuild of one image in `wave`: its new tag and slug, its new parent, its
/// upgrade step when it is a root of the fix, and its patched Containerfile with the
/// diff, or a note saying what to change by hand.
#[allow(clippy::too_many_arguments)]
pub(super) fn plan_image(
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
    let root_of_fix = !packages.is_empty() || !img.language_fixes.is_empty();
    let mut upgrade = if packages.is_empty() {
        None
    } else {
        match upgrade_step(img, &packages, cf_base.as_deref()) {
            Ok(step) => Some(step),
            Err(note) => {
                notes.push(note);
                None
            }
        }
    };
    // A Containerfile that pins a vulnerable version gets the pin moved in place; the
    // upgrade step keeps only the packages it does not pin.
    let mut pin_edits = Vec::new();
    let mut moved_pins = Vec::new();
    if let (Some(cf), Some(step)) = (&parsed, &upgrade) {
        let fixes: std::collections::BTreeMap<String, String> = packages
            .iter()
            .filter_map(|p| img.fixed_versions.get(p).map(|v| (p.clone(), v.clone())))
            .filter(|(_, v)| super::upgrade::valid_version(v))
            .collect();
        for (pkg, edit) in cf.pin_edits(&step.tool, &fixes) {
            if let containerfile::EditTarget::Pin { line, .. } = &edit.target {
                moved_pins.push(MovedPin {
                    package: pkg.clone(),
                    to: fixes[&pkg].clone(),
                    line: *line,
                });
            }
            pin_edits.push(edit);
        }
        if !moved_pins.is_empty() {
            let rest: Vec<String> = packages
                .iter()
                .filter(|p| !moved_pins.iter().any(|m| &m.package == *p))
                .cloned()
                .collect();
            upgrade = if rest.is_empty() {
                None
            } else {
                upgrade_step(img, &rest, cf_base.as_deref()).ok()
            };
            for m in &moved_pins {
                notes.push(format!(
                    "the RUN at line {} pins {}: the pin moves to {} (no separate upgrade step for it)",
                    m.line, m.package, m.to
                ));
            }
        }
    }
    for f in &img.language_fixes {
        let to = match &f.fixed {
            Some(v) => format!("to {v} or later"),
            None => "to a fixed version (none is known yet)".to_string(),
        };
        let at = f
            .path
            .as_deref()
            .map(|p| format!(" (found at /{})", p.trim_start_matches('/')))
            .unwrap_or_default();
        notes.push(format!(
            "{} {} {}{at}: move it {to} in {}, then rebuild",
            f.ecosystem
                .language()
                .map_or(f.ecosystem.as_str(), |l| l.osv),
            f.name,
            f.installed,
            f.manifests()
        ));
    }
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
            edits.extend(pin_edits);
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
        moved_pins,
        language_fixes: img.language_fixes.clone(),
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
