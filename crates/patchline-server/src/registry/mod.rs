//! Watching registries: push events (Distribution's notification envelope, Harbor's
//! webhook), the scheduled sync of catalogs and tags, and the scan job that pulls an
//! image, scans it with the scan library and stores its inventory, findings and place in
//! the hierarchy.
//!
//! - [`hook`]: `POST /api/v1/hooks/registry`, authenticated by the shared secret of
//!   `[hooks]`; records tags and queues scans.
//! - [`sync`]: the `sync` job, walking `_catalog` and tag lists (what events missed).
//! - [`scan`]: the `scan` job, one digest pulled and scanned, stored in one transaction.
//!
//! Only configured registries (`[[registries]]`) are trusted: an event naming any other
//! host is counted and dropped, so a hook can never make the server fetch from an address
//! of the sender's choosing. Tags are keyed by the registry's `host[:port]`, images by
//! the manifest digest the tag points to (an index's digest for a multi-platform tag).
//!
//! A multi-platform push arrives as one event per platform manifest (by digest, no tag)
//! and one for the index (with the tag): each digest is scanned once (the index's scan
//! reads the server's platform), the tag points at the index.
//!
//! Everything is idempotent: a replayed event finds its tag where it already is (no move,
//! no history row) and its digest scanned or queued (the queue's dedupe key `scan:DIGEST`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;

use crate::config::RegistryConfig;
use crate::db::{now, Result, Tx};
use crate::jobs::{self, Enqueue, Job, JobResult};
use crate::params;
use crate::state::{AppState, Server};

pub mod hook;
pub mod scan;
pub mod sync;

/// `POST /api/v1/hooks/registry`.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(utoipa_axum::routes!(hook::registry_hook))
}

/// Pulls and scans one digest (payload: [`ScanPayload`]).
pub fn scan_job(server: &Arc<Server>, job: &Job) -> JobResult {
    scan::run(server, &job.payload()?)
}

/// Walks one registry's catalog and tags, enqueuing digests not scanned yet (payload:
/// `{"registry": NAME}`).
pub fn sync_job(server: &Arc<Server>, job: &Job) -> JobResult {
    sync::run(server, &job.payload()?)
}

/// What a `scan` job pulls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanPayload {
    /// The registry's `host[:port]`.
    pub registry: String,
    pub repository: String,
    pub digest: String,
    /// The tag that pointed at the digest when the job was queued, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// `registry` (an event) or `sync`.
    #[serde(default = "default_source")]
    pub source: String,
}

fn default_source() -> String {
    "registry".into()
}

/// The configured registry whose `host[:port]` (or name) is `host`, compared without
/// case; `None` for any other.
pub fn configured<'a>(server: &'a Server, host: &str) -> Option<&'a RegistryConfig> {
    server
        .config
        .registries
        .iter()
        .find(|r| r.host().eq_ignore_ascii_case(host) || r.name().eq_ignore_ascii_case(host))
}

/// `host/repo:tag` when a tag is known, else `host/repo@digest`: how the catalog and
/// scans name an image.
pub fn reference(host: &str, repository: &str, tag: Option<&str>, digest: &str) -> String {
    match tag {
        Some(t) => format!("{host}/{repository}:{t}"),
        None => format!("{host}/{repository}@{digest}"),
    }
}

/// A repository name as the distribution spec allows (lowercase path components of
/// `[a-z0-9._-]`), bounded; anything else from an event or a catalog is refused.
pub fn valid_repository(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 255
        && r.split('/').all(|c| {
            let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            let b = c.as_bytes();
            !b.is_empty()
                && alnum(b[0])
                && alnum(b[b.len() - 1])
                && b.iter().all(|&x| alnum(x) || b"._-".contains(&x))
        })
}

/// A tag as the distribution spec allows: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
pub fn valid_tag(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && !t.starts_with(['.', '-'])
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// `sha256:` and 64 hex digits (the only algorithm registries serve in practice).
pub fn valid_digest(d: &str) -> bool {
    d.parse::<patchline_model::Digest>().is_ok() && d.len() <= 200
}

/// What [`observe`] did with one (tag →) digest sighting.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// The tag moved (or appeared).
    pub moved: bool,
    /// A scan job was queued now.
    pub queued: bool,
}

/// Records that `repository[:tag]` of `host` points at `digest`, in the caller's
/// transaction: the tag row and its history (and the campaigns' hook) when it moved, the
/// image row (pending until scanned), a scan job when the digest is not scanned yet; a new
/// tag on a digest already scanned gets its catalog entry from the stored inventory
/// instead of a second scan.
pub fn observe(
    tx: &mut dyn Tx,
    server: &Server,
    host: &str,
    repository: &str,
    tag: Option<&str>,
    digest: &str,
    source: &str,
) -> Result<Observed> {
    let mut out = Observed::default();
    let t = now();
    if let Some(tag) = tag {
        let old = tx
            .query_opt(
                "SELECT digest FROM tags WHERE registry = ? AND repository = ? AND tag = ?",
                params![host, repository, tag],
            )?
            .map(|r| r.string(0))
            .transpose()?;
        if old.as_deref() != Some(digest) {
            tx.exec(
                "INSERT INTO tags (registry, repository, tag, digest, updated_at) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (registry, repository, tag) DO UPDATE SET digest = excluded.digest,
                     updated_at = excluded.updated_at",
                params![host, repository, tag, digest, t],
            )?;
            tx.exec(
                "INSERT INTO tag_history (registry, repository, tag, old_digest, new_digest, at)
                 VALUES (?, ?, ?, ?, ?, ?)",
                params![host, repository, tag, old.as_deref(), digest, t],
            )?;
            crate::campaigns::on_tag_moved(
                tx,
                server,
                host,
                repository,
                tag,
                old.as_deref(),
                digest,
            )?;
            out.moved = true;
        }
    }
    let existing = tx.query_opt(
        "SELECT id, scan_status, deleted_at FROM images WHERE digest = ?",
        params![digest],
    )?;
    let scanned = match &existing {
        Some(r) => r.str(1)? == "scanned" && r.opt_i64(2)?.is_none(),
        None => false,
    };
    let image_id = crate::store::upsert_image(
        tx,
        &crate::store::ImageKey {
            digest: digest.to_string(),
            registry: host.to_string(),
            repository: repository.to_string(),
            reference: reference(host, repository, tag, digest),
            source: source.to_string(),
        },
    )?;
    if scanned {
        if let (Some(tag), true) = (tag, out.moved) {
            if let Some(inv) = crate::store::load_inventory(tx, image_id)? {
                let r = reference(host, repository, Some(tag), digest);
                crate::lineage::record_image(tx, &r, image_id, &inv.image)?;
            }
        }
        return Ok(out);
    }
    let payload = ScanPayload {
        registry: host.to_string(),
        repository: repository.to_string(),
        digest: digest.to_string(),
        tag: tag.map(str::to_string),
        source: source.to_string(),
    };
    let key = format!("scan:{digest}");
    out.queued = jobs::enqueue(
        tx,
        jobs::kind::SCAN,
        &payload,
        Enqueue {
            dedupe_key: Some(&key),
            // Pushes first: someone is waiting for them; a sync's backlog can wait.
            priority: if source == "sync" { 0 } else { 10 },
            ..Enqueue::default()
        },
    )?
    .is_some();
    Ok(out)
}

/// A manifest deleted from the registry: the image is marked deleted (its history kept)
/// and tags pointing at it dropped. True when a live image was marked.
pub fn deleted(tx: &mut dyn Tx, host: &str, repository: &str, digest: &str) -> Result<bool> {
    let n = tx.exec(
        "UPDATE images SET deleted_at = ? WHERE digest = ? AND registry = ? AND repository = ? AND deleted_at IS NULL",
        params![now(), digest, host, repository],
    )?;
    tx.exec(
        "DELETE FROM tags WHERE registry = ? AND repository = ? AND digest = ?",
        params![host, repository, digest],
    )?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(valid_repository("apps/fetch"));
        assert!(valid_repository("library/debian"));
        assert!(!valid_repository("Apps/x"));
        assert!(!valid_repository("a//b"));
        assert!(!valid_repository("../x"));
        assert!(valid_tag("1.4.2") && valid_tag("latest") && !valid_tag("-x") && !valid_tag("a b"));
        assert!(valid_digest(
            "sha256:ec2e27e94a0d9b6ca36bbe9b9fc55f97d6ff1bbae8be801549aee5fb2d079614"
        ));
        assert!(!valid_digest("sha256:zz"));
    }
}
