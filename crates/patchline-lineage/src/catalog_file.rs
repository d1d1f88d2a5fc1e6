//! The declarative catalog: a YAML file, kept in git by the governance team, listing many
//! images with their tier, owner, Containerfile and (optionally) declared parent.
//!
//! ```yaml
//! version: 1
//! images:
//!   - reference: registry.example/platform/debian:12
//!     tier: base
//!     owner: { team: platform, contact: platform@example.com }
//!     containerfile: images/debian/Containerfile
//!     context: images/debian
//!   - reference: registry.example/platform/enterprise:12
//!     tier: enterprise
//!     owner: { team: platform }
//!     parent: registry.example/platform/debian:12
//!     build_args: { BASE_TAG: "12" }
//!     labels: { criticality: high }
//!   - reference: vendor.example/db/server:9.1
//!     tier: cots
//!     owner: { team: Acme DB support, contact: support@acme.example }
//! ```
//!
//! Parsing checks everything before anything is written: unknown fields and tiers,
//! invalid or duplicate references (also two spellings of one name such as `python:3.11`
//! and `docker.io/library/python:3.11`), and cycles in declared parents, each reported
//! with the images involved. A `parent` that names no catalogued image is allowed (an
//! external base such as `docker.io/library/debian:12`) and reported as a warning.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::entry::{check_reference, CatalogEntry, Owner, Tier};
use crate::error::{LineageError, Result};
use crate::name::ImageName;

/// The only catalog file version this code reads and writes.
pub const CATALOG_FILE_VERSION: u32 = 1;
/// Larger files are refused before parsing.
pub const MAX_CATALOG_FILE: usize = 64 << 20;
/// At most this many problems are listed in one error.
const MAX_PROBLEMS: usize = 50;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    images: Vec<FileImage>,
    /// Teams and how to reach them (`patchline serve`'s notifications; the CLI keeps
    /// them out of its catalog store): see [`crate::teams`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    teams: Vec<crate::teams::Team>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileImage {
    reference: String,
    /// Kept as text so that an unknown tier is reported with the image it belongs to.
    tier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<FileOwner>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    containerfile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    context: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    build_args: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileOwner {
    team: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contact: Option<String>,
}

/// Parses and validates a catalog file on its own (no cycle check against images
/// already catalogued: see [`check_parents`]). Returns unresolved entries carrying the
/// declared fields only.
pub fn parse(text: &str) -> Result<Vec<CatalogEntry>> {
    let doc = parse_doc(text)?;
    if let Some(v) = doc.version {
        if v != CATALOG_FILE_VERSION {
            return Err(LineageError::CatalogFile(format!(
                "version {v} is not supported (this patchline reads version {CATALOG_FILE_VERSION})"
            )));
        }
    }
    entries_of(doc.images)
}

/// The `teams:` section of a catalog file, validated (names unique, each channel
/// complete). A file without the section has no teams.
pub fn parse_teams(text: &str) -> Result<Vec<crate::teams::Team>> {
    let doc = parse_doc(text)?;
    crate::teams::validate(&doc.teams)?;
    Ok(doc.teams)
}

/// The whole document, bounded, unknown fields refused (with their line and column).
fn parse_doc(text: &str) -> Result<FileDoc> {
    if text.len() > MAX_CATALOG_FILE {
        return Err(LineageError::CatalogFile(format!(
            "{} bytes, larger than the {MAX_CATALOG_FILE}-byte limit",
            text.len()
        )));
    }
    // Hostile documents are bounded by the parser's budget; the event budget grows
    // with the text so that a legitimate catalog of 100,000 images still loads.
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: 1_000_000usize.max(text.len()),
            max_nodes: 1_000_000usize.max(text.len()),
        },
    };
    serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| LineageError::CatalogFile(e.to_string()))
}

fn entries_of(images: Vec<FileImage>) -> Result<Vec<CatalogEntry>> {
    let mut problems = Vec::new();
    let mut entries = Vec::with_capacity(images.len());
    // Normalised name (or the raw reference when it is no image name) → first image.
    let mut seen: HashMap<String, (usize, String)> = HashMap::new();
    for (i, img) in images.into_iter().enumerate() {
        let n = i + 1;
        let label = format!(
            "image #{n} ({})",
            img.reference.chars().take(200).collect::<String>()
        );
        if let Err(e) = check_reference(&img.reference) {
            problems.push(format!("image #{n}: invalid reference: {e}"));
            continue;
        }
        let key = identity_key(&img.reference);
        if let Some((first, first_ref)) = seen.get(&key) {
            problems.push(if *first_ref == img.reference {
                format!("{label}: duplicate reference (first at image #{first})")
            } else {
                format!("{label}: names the same image as image #{first} ({first_ref})")
            });
            continue;
        }
        seen.insert(key, (n, img.reference.clone()));
        let tier = match img.tier.parse::<Tier>() {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!("{label}: {e}"));
                continue;
            }
        };
        let mut e = CatalogEntry::new(img.reference, tier);
        if let Some(o) = img.owner {
            if o.team.trim().is_empty() {
                problems.push(format!("{label}: owner team is empty"));
                continue;
            }
            e.owner = Some(Owner::new(
                o.team.trim(),
                o.contact
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty()),
            ));
        }
        if let Some(p) = img.parent {
            let p = p.trim().to_string();
            if check_reference(&p).is_err() {
                problems.push(format!("{label}: invalid parent {p:?}"));
                continue;
            }
            e.declared_parent = Some(p);
        }
        e.containerfile = img.containerfile.filter(|s| !s.trim().is_empty());
        e.context = img.context.filter(|s| !s.trim().is_empty());
        e.build_args = img.build_args;
        e.labels = img.labels;
        entries.push(e);
    }
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems_error(problems))
    }
}

/// What identifies an image across spellings: its normalised name when it is one.
pub(crate) fn identity_key(reference: &str) -> String {
    match ImageName::parse(reference) {
        Some(n) => n.to_string(),
        None => reference.to_string(),
    }
}

pub(crate) fn problems_error(mut problems: Vec<String>) -> LineageError {
    let total = problems.len();
    problems.truncate(MAX_PROBLEMS);
    let mut msg = if total == 1 {
        problems.remove(0)
    } else {
        format!("{total} problems:\n  - {}", problems.join("\n  - "))
    };
    if total > MAX_PROBLEMS {
        msg.push_str(&format!("\n  ... and {} more", total - MAX_PROBLEMS));
    }
    LineageError::CatalogFile(msg)
}

/// Resolves declared parents over a set of images (`(reference, declared parent)`) and
/// finds cycles. A parent resolves to an image by exact reference, else by normalised
/// name. Returns the cycles (each as the references along it, the first repeated at the
/// end) and the parents that name no image in the set.
pub fn check_parents<'a>(
    images: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> (Vec<Vec<String>>, Vec<(String, String)>) {
    let images: Vec<(&str, Option<&str>)> = images.into_iter().collect();
    let mut by_ref: HashMap<&str, usize> = HashMap::with_capacity(images.len());
    let mut by_key: HashMap<String, usize> = HashMap::with_capacity(images.len());
    for (i, (r, _)) in images.iter().enumerate() {
        by_ref.entry(*r).or_insert(i);
        by_key.entry(identity_key(r)).or_insert(i);
    }
    let mut unknown = Vec::new();
    let parent: Vec<Option<usize>> = images
        .iter()
        .map(|(r, p)| {
            let p = (*p)?;
            let found = by_ref
                .get(p)
                .copied()
                .or_else(|| by_key.get(&identity_key(p)).copied());
            if found.is_none() {
                unknown.push((r.to_string(), p.to_string()));
            }
            found
        })
        .collect();
    // Every image has at most one parent: follow each path once, colouring nodes.
    let mut state = vec![0u8; images.len()]; // 0 new, 1 on the current path, 2 done
    let mut cycles = Vec::new();
    for start in 0..images.len() {
        if state[start] != 0 {
            continue;
        }
        let mut path = Vec::new();
        let mut cur = Some(start);
        while let Some(c) = cur {
            match state[c] {
                0 => {
                    state[c] = 1;
                    path.push(c);
                    cur = parent[c];
                }
                1 => {
                    let pos = path.iter().position(|&x| x == c).unwrap_or(0);
                    let mut cyc: Vec<String> = path[pos..]
                        .iter()
                        .map(|&x| images[x].0.to_string())
                        .collect();
                    cyc.push(images[c].0.to_string());
                    cycles.push(cyc);
                    break;
                }
                _ => break,
            }
        }
        for x in path {
            state[x] = 2;
        }
    }
    (cycles, unknown)
}

/// Writes entries as a catalog file (declared fields only).
pub fn to_yaml(entries: &[CatalogEntry]) -> Result<String> {
    let doc = FileDoc {
        version: Some(CATALOG_FILE_VERSION),
        images: entries
            .iter()
            .map(|e| FileImage {
                reference: e.reference.clone(),
                tier: e.tier.as_str().to_string(),
                owner: e.owner.as_ref().map(|o| FileOwner {
                    team: o.team.clone(),
                    contact: o.contact.clone(),
                }),
                containerfile: e.containerfile.clone(),
                context: e.context.clone(),
                build_args: e.build_args.clone(),
                labels: e.labels.clone(),
                parent: e.declared_parent.clone(),
            })
            .collect(),
        teams: Vec::new(),
    };
    serde_saphyr::to_string(&doc)
        .map_err(|e| LineageError::CatalogFile(format!("cannot write YAML: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_catalog() {
        let text = r#"
version: 1
images:
  - reference: registry.example/platform/debian:12
    tier: base
    owner: { team: platform, contact: platform@example.com }
    containerfile: images/debian/Containerfile
  - reference: registry.example/platform/enterprise:12
    tier: enterprise
    owner:
      team: platform
    parent: registry.example/platform/debian:12
    build_args: { BASE_TAG: "12" }
    labels: { criticality: high }
"#;
        let e = parse(text).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].tier, Tier::Base);
        assert_eq!(
            e[0].owner.as_ref().unwrap().contact.as_deref(),
            Some("platform@example.com")
        );
        assert_eq!(
            e[1].declared_parent.as_deref(),
            Some("registry.example/platform/debian:12")
        );
        assert_eq!(e[1].build_args["BASE_TAG"], "12");
        let back = to_yaml(&e).unwrap();
        let again = parse(&back).unwrap();
        assert_eq!(e, again, "{back}");
    }

    #[test]
    fn names_every_problem() {
        let text = r#"
images:
  - reference: a.example/x:1
    tier: service
  - reference: a.example/y:1
    tier: base
  - reference: a.example/y:1
    tier: base
  - reference: python:3.11
    tier: base
  - reference: docker.io/library/python:3.11
    tier: base
  - reference: "has space"
    tier: base
"#;
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("4 problems"), "{err}");
        assert!(
            err.contains("image #1 (a.example/x:1): unknown tier \"service\""),
            "{err}"
        );
        assert!(
            err.contains("image #3 (a.example/y:1): duplicate reference (first at image #2)"),
            "{err}"
        );
        assert!(err.contains("image #5 (docker.io/library/python:3.11): names the same image as image #4 (python:3.11)"), "{err}");
        assert!(err.contains("image #6: invalid reference"), "{err}");
    }

    #[test]
    fn refuses_unknown_fields_and_garbage() {
        let err = parse("images:\n  - reference: a.example/x:1\n    tier: base\n    ownr: x\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("ownr"), "{err}");
        for bad in [
            "[",
            "images: 3",
            "\u{0}",
            "images:\n  - {reference: a.example/x:1}",
            "version: 2\nimages: []",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        // A billion-laughs document stays within the parser's budget.
        let mut bomb =
            String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
        for i in 0..12 {
            let prev = if i == 0 {
                "a".to_string()
            } else {
                format!("b{}", i - 1)
            };
            bomb.push_str(&format!("b{i}: &b{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
        }
        assert!(parse(&bomb).is_err());
    }

    #[test]
    fn finds_cycles_with_their_images() {
        let imgs = [
            ("a.example/a:1", Some("a.example/c:1")),
            ("a.example/b:1", Some("a.example/a:1")),
            ("a.example/c:1", Some("a.example/b:1")),
            ("a.example/d:1", Some("a.example/a:1")),
            ("a.example/e:1", Some("a.example/e:1")),
            ("a.example/f:1", Some("docker.io/library/debian:12")),
            ("python:3.11", None),
            ("a.example/g:1", Some("docker.io/library/python:3.11")),
        ];
        let (cycles, unknown) = check_parents(imgs.iter().map(|(a, b)| (*a, *b)));
        assert_eq!(cycles.len(), 2, "{cycles:?}");
        assert_eq!(
            cycles[0],
            [
                "a.example/a:1",
                "a.example/c:1",
                "a.example/b:1",
                "a.example/a:1"
            ]
        );
        assert_eq!(cycles[1], ["a.example/e:1", "a.example/e:1"]);
        assert_eq!(
            unknown,
            [(
                "a.example/f:1".to_string(),
                "docker.io/library/debian:12".to_string()
            )]
        );
    }
}
