//! New tags ([`TagScheme`]): bump the patch version, add or continue a `-sN` suffix, or
//! a date; never a tag that exists or that the plan already gave out.

use std::collections::{BTreeSet, HashMap};

use super::refs::normalize;
use super::{PlanError, PlanRequest, TagScheme};

fn valid_tag(t: &str) -> bool {
    let mut chars = t.chars();
    t.len() <= 128
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

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
pub(super) fn new_tag(
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

/// Tags already taken, by normalised repository: the request's existing tags and the
/// catalogued images' own tags.
pub(super) fn taken_tags(req: &PlanRequest) -> HashMap<String, BTreeSet<String>> {
    let mut taken: HashMap<String, BTreeSet<String>> = HashMap::new();
    for (repo, tags) in &req.existing_tags {
        taken
            .entry(normalize(repo).0)
            .or_default()
            .extend(tags.iter().cloned());
    }
    for img in &req.images {
        let (repo, tag, _) = normalize(&img.reference);
        if let Some(t) = tag {
            taken.entry(repo).or_default().insert(t);
        }
    }
    taken
}

/// The `YYYYMMDD` date tags are made from: the request's, checked, or today's.
pub(super) fn plan_date(date: Option<&str>) -> Result<String, PlanError> {
    match date {
        Some(d) if d.len() == 8 && d.bytes().all(|c| c.is_ascii_digit()) => Ok(d.to_string()),
        Some(d) => Err(PlanError::InvalidTrigger(format!(
            "date {d:?} is not YYYYMMDD"
        ))),
        None => Ok(today()),
    }
}
