//! The decision for each container image, from the store and the policy's `runtime`
//! stage.
//!
//! An image reference is resolved to a stored image by its digest when pinned
//! (`@sha256:`), else through the store's `tags` (where each tag points now), else by the
//! reference it was scanned or catalogued under. Then, in order:
//! - not found, or never scanned successfully → `[admission] never_scanned` (deny|warn);
//! - open findings, less those an active exception covers (the policy file's, and the
//!   store's approved exceptions not past their last day): a KEV finding → the stage's
//!   `kev` action (deny by default); findings at or above the stage's `fail_on` → deny;
//!   with `fixable_only`, both judge only findings with a fixed version;
//! - the stage's `trusted_bases` set: the image, or a base its stored inventory names
//!   (the `org.opencontainers.image.base.name` annotation) or its catalog entry declares,
//!   must match a pattern or a live trusted-images entry (the policy file's and the
//!   governance team's) → else `[admission] untrusted` (deny|warn);
//! - not pinned by digest → `[admission] unpinned` (warn|deny): a tag can move after
//!   the decision, so only a digest makes the decision hold for what actually runs.
//!
//! No `runtime` stage (or no policy file): the stage's defaults, i.e. KEV denies and
//! nothing else about findings does.
//!
//! A digest-pinned reference to a multi-platform index matches only when the store
//! keeps the index digest (registry scans key images by the digest the tag serves).

use patchline_model::vuln::Finding;
use patchline_policy::exceptions::Exception;
use patchline_policy::file::{Action, StageProfile};
use patchline_policy::pattern::reference_matches;
use patchline_policy::trusted::{bases_from_annotations, TrustMatch, TrustedImage};

use super::review::ContainerImage;
use super::Mode;
use crate::db::{now, Tx};
use crate::params;
use crate::state::Server;

/// Reasons to deny and warnings, each naming the container and image.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub denials: Vec<String>,
    pub warnings: Vec<String>,
}

impl Verdict {
    /// No decision could be made: the `never_scanned` answer, saying why.
    pub fn undecided(mode: Mode, why: String) -> Verdict {
        let mut v = Verdict::default();
        v.add(mode, why);
        v
    }

    fn add(&mut self, mode: Mode, reason: String) {
        match mode {
            Mode::Deny => self.denials.push(reason),
            Mode::Warn => self.warnings.push(reason),
        }
    }
}

/// A container image reference split the way registries and the store key it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Docker's normalisation: no registry host → Docker Hub, one-part names under
    /// `library/`, no tag nor digest → `latest`.
    pub fn parse(s: &str) -> Option<ImageRef> {
        let (name, digest) = match s.split_once('@') {
            Some((n, d)) => (n, Some(d.to_string())),
            None => (s, None),
        };
        if name.is_empty() || name.len() > 512 || name.contains(char::is_whitespace) {
            return None;
        }
        let slash = name.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name[slash..].rfind(':') {
            Some(i) => (&name[..slash + i], Some(name[slash + i + 1..].to_string())),
            None => (name, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((h, rest)) if h.contains(['.', ':']) || h == "localhost" => {
                (h.to_string(), rest.to_string())
            }
            _ => ("docker.io".to_string(), name.to_string()),
        };
        let repository = if registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_string()),
            _ => tag,
        };
        Some(ImageRef {
            registry,
            repository,
            tag,
            digest,
        })
    }

    fn registries(&self) -> Vec<&str> {
        if self.registry == "docker.io" {
            vec!["docker.io", "index.docker.io", "registry-1.docker.io"]
        } else {
            vec![self.registry.as_str()]
        }
    }

    pub fn full(&self) -> String {
        let mut s = format!("{}/{}", self.registry, self.repository);
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }
}

struct Stored {
    id: i64,
    digest: String,
    reference: String,
    scan_status: String,
}

fn by_digest(tx: &mut dyn Tx, digest: &str) -> crate::db::Result<Option<Stored>> {
    let Some(r) = tx.query_opt(
        "SELECT id, reference, scan_status, digest FROM images WHERE digest = ? AND deleted_at IS NULL",
        params![digest],
    )?
    else {
        return Ok(None);
    };
    Ok(Some(Stored {
        id: r.i64(0)?,
        reference: r.string(1)?,
        scan_status: r.string(2)?,
        digest: r.string(3)?,
    }))
}

fn resolve(tx: &mut dyn Tx, raw: &str, r: &ImageRef) -> crate::db::Result<Option<Stored>> {
    if let Some(d) = &r.digest {
        return by_digest(tx, d);
    }
    if let Some(tag) = &r.tag {
        for reg in r.registries() {
            if let Some(row) = tx.query_opt(
                "SELECT digest FROM tags WHERE registry = ? AND repository = ? AND tag = ?",
                params![reg, &r.repository, tag],
            )? {
                let d = row.string(0)?;
                if let Some(s) = by_digest(tx, &d)? {
                    return Ok(Some(s));
                }
            }
        }
    }
    for reference in [raw.to_string(), r.full()] {
        let row = tx.query_opt(
            "SELECT i.digest FROM images i WHERE i.reference = ? AND i.deleted_at IS NULL
             UNION ALL SELECT i.digest FROM catalog_entries c JOIN images i ON i.id = c.image_id
             WHERE c.reference = ? AND i.deleted_at IS NULL",
            params![&reference, &reference],
        )?;
        if let Some(row) = row {
            return by_digest(tx, &row.string(0)?);
        }
    }
    Ok(None)
}

/// The references an image is known by (exceptions and trust patterns match these).
fn references(
    tx: &mut dyn Tx,
    s: &Stored,
    r: &ImageRef,
    raw: &str,
) -> crate::db::Result<Vec<String>> {
    let mut refs = vec![s.reference.clone(), r.full(), raw.to_string()];
    for row in tx.query(
        "SELECT reference FROM catalog_entries WHERE image_id = ?",
        params![s.id],
    )? {
        refs.push(row.string(0)?);
    }
    refs.dedup();
    Ok(refs)
}

fn declared_parents(tx: &mut dyn Tx, image_id: i64) -> crate::db::Result<Vec<String>> {
    let mut out = Vec::new();
    for row in tx.query(
        "SELECT doc FROM catalog_entries WHERE image_id = ?",
        params![image_id],
    )? {
        if let Ok(e) = serde_json::from_str::<patchline_lineage::CatalogEntry>(row.str(0)?) {
            out.extend(e.declared_parent);
        }
    }
    Ok(out)
}

/// The store's approved exceptions not past their last day.
fn store_exceptions(tx: &mut dyn Tx) -> crate::db::Result<Vec<Exception>> {
    let rows = tx.query(
        "SELECT doc FROM exceptions WHERE state = 'approved' AND (expires_at IS NULL OR expires_at > ?)",
        params![now()],
    )?;
    let mut out = Vec::new();
    for r in rows {
        if let Ok(d) = serde_json::from_str::<crate::api::exceptions::ExceptionDoc>(r.str(0)?) {
            out.push(Exception {
                id: d.id,
                packages: d.packages,
                images: d.images,
                paths: d.paths,
                fix_state: d.fix_state,
                reason: d.reason,
                ..Default::default()
            });
        }
    }
    Ok(out)
}

/// Finding ids named in a reason, at most this many (the rest counted).
const NAMED: usize = 5;

fn name_ids(hits: &[&Finding]) -> String {
    let mut ids: Vec<&str> = hits.iter().map(|f| f.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let more = ids.len().saturating_sub(NAMED);
    let mut s = ids[..ids.len().min(NAMED)].join(", ");
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

struct Governance {
    stage: StageProfile,
    exceptions: Vec<Exception>,
    trusted: Vec<TrustedImage>,
}

fn governance(tx: &mut dyn Tx, server: &Server) -> anyhow::Result<Governance> {
    let today = time::OffsetDateTime::now_utc().date();
    let (stage, mut exceptions, mut trusted) = match &server.config.policy {
        Some(path) => {
            let f = patchline_policy::file::read_policy(path)
                .map_err(|e| anyhow::anyhow!("policy {}: {e}", path.display()))?;
            (
                f.stage("runtime").cloned().unwrap_or_default(),
                f.exceptions
                    .into_iter()
                    .filter(|e| !e.is_expired(today))
                    .collect::<Vec<_>>(),
                f.trusted_images,
            )
        }
        None => (StageProfile::default(), Vec::new(), Vec::new()),
    };
    exceptions.extend(store_exceptions(tx)?);
    trusted.extend(crate::trusted::governance(tx)?);
    Ok(Governance {
        stage,
        exceptions,
        trusted,
    })
}

/// Judges every container's image.
pub fn judge(
    tx: &mut dyn Tx,
    server: &Server,
    images: &[ContainerImage],
) -> anyhow::Result<Verdict> {
    let cfg = &server.config.admission;
    let g = governance(tx, server)?;
    let mut v = Verdict::default();
    // The same image in several containers is judged once, named by its first container.
    let mut seen = std::collections::HashSet::new();
    for c in images {
        if !seen.insert(c.image.as_str()) {
            continue;
        }
        let at = format!("{} image {}", c.container, c.image);
        let Some(r) = ImageRef::parse(&c.image) else {
            v.denials.push(format!("{at}: not a valid image reference"));
            continue;
        };
        if r.digest.is_none() {
            v.add(
                cfg.unpinned,
                format!("{at}: tag not pinned by digest (@sha256:...)"),
            );
        }
        let stored = resolve(tx, &c.image, &r)?;
        let Some(s) = stored.filter(|s| s.scan_status == "scanned") else {
            v.add(
                cfg.never_scanned,
                format!("{at}: never scanned by patchline"),
            );
            continue;
        };
        judge_image(tx, &g, &s, &r, &c.image, &at, cfg.untrusted, &mut v)?;
    }
    Ok(v)
}

#[allow(clippy::too_many_arguments)]
fn judge_image(
    tx: &mut dyn Tx,
    g: &Governance,
    s: &Stored,
    r: &ImageRef,
    raw: &str,
    at: &str,
    untrusted: Mode,
    v: &mut Verdict,
) -> anyhow::Result<()> {
    let refs = references(tx, s, r, raw)?;
    let mut findings = Vec::new();
    for row in tx.query(
        "SELECT doc FROM findings WHERE image_id = ? AND state = 'open' AND doc IS NOT NULL",
        params![s.id],
    )? {
        if let Ok(f) = serde_json::from_str::<Finding>(row.str(0)?) {
            findings.push(f);
        }
    }
    let p = &g.stage;
    let judged: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            !g.exceptions
                .iter()
                .any(|e| refs.iter().any(|i| e.matches_finding(f, i)))
        })
        .filter(|f| !p.fixable_only || !f.fixed_versions.is_empty())
        .collect();
    let scope = if p.fixable_only { " with a fix" } else { "" };
    if p.kev != Action::Ignore {
        let hits: Vec<&Finding> = judged.iter().copied().filter(|f| f.kev.is_some()).collect();
        if !hits.is_empty() {
            let msg = format!(
                "{at}: {} known-exploited (CISA KEV) finding(s){scope}: {}",
                hits.len(),
                name_ids(&hits)
            );
            match p.kev {
                Action::Warn => v.warnings.push(msg),
                _ => v.denials.push(msg),
            }
        }
    }
    if let Some(t) = p.fail_on {
        let hits: Vec<&Finding> = judged
            .iter()
            .copied()
            .filter(|f| patchline_match::fails_on(f, t))
            .collect();
        if !hits.is_empty() {
            v.denials.push(format!(
                "{at}: {} finding(s){scope} at or above {} without an exception: {}",
                hits.len(),
                t.as_str(),
                name_ids(&hits)
            ));
        }
    }
    if let Some(patterns) = &p.trusted_bases {
        let today = time::OffsetDateTime::now_utc().date();
        let mut bases: Vec<(String, Option<String>)> = Vec::new();
        if let Some(inv) = crate::store::load_inventory(tx, s.id)? {
            bases.extend(
                bases_from_annotations(&inv.image)
                    .into_iter()
                    .map(|b| (b.reference, b.digest)),
            );
        }
        bases.extend(declared_parents(tx, s.id)?.into_iter().map(|p| (p, None)));
        // The image itself may be an approved external image run as is (an approval
        // pins a digest: the stored one, whatever tag named it).
        let digest = Some(s.digest.clone());
        let own = refs.iter().map(|x| (x.clone(), digest.clone()));
        let trusted = own.chain(bases.iter().cloned()).any(|(reference, d)| {
            patterns.iter().any(|p| reference_matches(p, &reference))
                || g.trusted
                    .iter()
                    .any(|t| t.judge(&reference, d.as_deref(), today) == TrustMatch::Trusted)
        });
        if !trusted {
            let named = if bases.is_empty() {
                "base image unknown".to_string()
            } else {
                let b: Vec<&str> = bases.iter().map(|(b, _)| b.as_str()).collect();
                format!("base {}", b.join(", "))
            };
            v.add(
                untrusted,
                format!("{at}: not built on a trusted base ({named})"),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_normalised() {
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(r.full(), "docker.io/library/nginx:latest");
        let r = ImageRef::parse("localhost:5000/a/b:1.2@sha256:abc").unwrap();
        assert_eq!(
            (
                r.registry.as_str(),
                r.repository.as_str(),
                r.tag.as_deref(),
                r.digest.as_deref()
            ),
            ("localhost:5000", "a/b", Some("1.2"), Some("sha256:abc"))
        );
        let r = ImageRef::parse("registry.example.com:443/team/app@sha256:d").unwrap();
        assert_eq!(r.tag, None);
        assert!(ImageRef::parse("bad name").is_none());
        assert!(ImageRef::parse("").is_none());
    }
}
