//! Waves: parent links (a cycle is an error), the build order, what the plan does with
//! each image (rebuilt in wave N, vendor must fix, blocked, skipped) and the grouping of
//! the rebuilt images into waves.

use std::collections::HashMap;

use super::refs::match_key;
use super::upgrade::valid_package;
use super::{PlanError, PlanImage, PlannedImage, Wave};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Status {
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

/// Indexes the images and links each to its parent in the plan (by exact reference
/// first, then by normalised `repo:tag`). Refuses an image listed twice, a package name
/// that is not one, and a cycle of parent links.
pub(super) fn link_parents(images: &[PlanImage]) -> Result<Vec<Option<usize>>, PlanError> {
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
    Ok(parent)
}

/// Parents before children: by depth in the parent links, then by reference.
pub(super) fn build_order(images: &[PlanImage], parent: &[Option<usize>]) -> Vec<usize> {
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
    order
}

/// Is `img` built on the updated base of a NewBase plan (`base_key`, its match key)?
pub(super) fn is_base_child(base_key: Option<&str>, img: &PlanImage) -> bool {
    match (base_key, &img.parent) {
        (Some(k), Some(p)) => match_key(p) == k,
        _ => false,
    }
}

/// What the plan does with each image, walking `order` so that every parent is decided
/// before its children.
pub(super) fn statuses(
    images: &[PlanImage],
    parent: &[Option<usize>],
    order: &[usize],
    base_key: Option<&str>,
) -> Vec<Option<Status>> {
    let mut status: Vec<Option<Status>> = vec![None; images.len()];
    for &i in order {
        let img = &images[i];
        let parent_status = parent[i].and_then(|p| status[p].clone());
        let s = if base_key.is_some_and(|k| match_key(&img.reference) == k) {
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
                _ if is_base_child(base_key, img) || img.is_root_of_fix() => Status::Rebuilt { wave: 0 },
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
    status
}

/// The planned images in waves, each wave and its images in order (wave, reference).
pub(super) fn group(planned: Vec<Option<PlannedImage>>) -> Vec<Wave> {
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
    waves
}
