//! The `sync` job: what push events missed (the registry's notification queue is in
//! memory and best effort; the hook may have been down). For one configured registry it
//! walks the repositories (`repositories` of the config, else `/v2/_catalog`), each one's
//! tags (`/v2/REPO/tags/list`, `Link` pagination followed by the registry client) and each
//! tag's digest (a `HEAD` of the manifest, `Docker-Content-Digest`); tags are recorded as
//! a push event would record them, and digests not scanned yet are queued.
//!
//! - **Rate**: requests to the registry are paced at `rate` per second (a tag list's
//!   further pages, followed inside the client, go unpaced).
//! - **Resumable**: after each repository the cursor `sync-cursor:NAME` in `server_state`
//!   holds the last repository done (in name order); a sync stopped by shutdown or an
//!   error continues after it on its next run, and clears it when it reaches the end.
//! - Tags that are gone from the registry are dropped from `tags` (their images stay).
//! - A repository that cannot be read (no permission, a broken manifest) is skipped and
//!   the walk goes on; the job then fails naming it (and is retried by the queue). The
//!   catalog itself failing fails the job at once, the cursor kept.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use patchline_image::registry::{catalog_paged, RegistryStore};
use patchline_image::{ImageError, RegistryRef};
use serde::{Deserialize, Serialize};

use super::scan::registry_options;
use super::{observe, valid_repository, valid_tag};
use crate::db::{now, Tx};
use crate::params;
use crate::state::Server;
use crate::store;

/// Tags looked at per repository, against a registry that lists without end.
const MAX_TAGS: usize = 10_000;
/// Failures named in a failed sync's error.
const MAX_FAILURES_SHOWN: usize = 10;
/// Page size asked of the catalog and tag lists.
const PAGE: u32 = 100;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SyncPayload {
    /// The registry's name (or host).
    pub registry: String,
}

/// What one run did (also kept as `sync-last:NAME` in `server_state`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    pub repositories: u64,
    pub tags: u64,
    pub moved: u64,
    pub queued: u64,
    /// Repositories that could not be read (skipped; the job then fails, naming them).
    pub errors: u64,
    /// The run started after this repository (a resumed run).
    pub resumed_after: Option<String>,
    pub finished_at: i64,
}

/// Spaces requests `1/rate` seconds apart.
struct Pacer {
    every: Duration,
    next: Instant,
}

impl Pacer {
    fn new(rate: f64) -> Pacer {
        let every = if rate.is_finite() && rate > 0.0 {
            Duration::from_secs_f64(1.0 / rate)
        } else {
            Duration::ZERO
        };
        Pacer {
            every,
            next: Instant::now(),
        }
    }
    fn wait(&mut self) {
        let now = Instant::now();
        if self.next > now {
            std::thread::sleep(self.next - now);
        }
        self.next = Instant::now().max(self.next) + self.every;
    }
}

pub fn cursor_key(name: &str) -> String {
    format!("sync-cursor:{name}")
}

pub fn last_key(name: &str) -> String {
    format!("sync-last:{name}")
}

/// Runs one sync.
pub fn run(server: &Arc<Server>, p: &SyncPayload) -> anyhow::Result<()> {
    sync(server, p).map(|_| ())
}

/// Runs one sync and returns what it did.
pub fn sync(server: &Server, p: &SyncPayload) -> anyhow::Result<SyncReport> {
    let Some(reg) = server
        .config
        .registries
        .iter()
        .find(|r| r.name() == p.registry || r.host().eq_ignore_ascii_case(&p.registry))
    else {
        anyhow::bail!(
            "sync: registry {} is not configured",
            patchline_model::quote_capped(&p.registry, 100)
        );
    };
    let name = reg.name().to_string();
    let host = reg.host().to_string();
    let opts = registry_options(reg)?;
    let mut pace = Pacer::new(reg.rate);

    let mut repos = if reg.repositories.is_empty() {
        pace.wait();
        catalog_paged(&host, &opts, Some(PAGE))
            .with_context(|| format!("sync of {name}: listing the catalog"))?
    } else {
        reg.repositories.clone()
    };
    repos.retain(|r| valid_repository(r));
    repos.sort();
    repos.dedup();

    let cursor = server
        .db
        .read(|tx| store::get_state(tx, &cursor_key(&name)))?
        .filter(|c| !c.is_empty());
    let mut report = SyncReport {
        resumed_after: cursor.clone(),
        ..SyncReport::default()
    };
    let mut failures = Vec::new();
    for repo in repos
        .iter()
        .filter(|r| cursor.as_deref().is_none_or(|c| r.as_str() > c))
    {
        if server.stopping() {
            anyhow::bail!(
                "sync of {name} stopped by shutdown before {repo}; the next run resumes there"
            );
        }
        let store = RegistryStore::new(
            RegistryRef {
                registry: host.clone(),
                repository: repo.clone(),
                tag: None,
                digest: None,
            },
            &opts,
        )?;
        let seen = match walk_repository(&store, &mut pace) {
            Ok(seen) => seen,
            // One repository the credentials may not read (or a broken manifest) must
            // not stop the others: noted, skipped, and the job fails at the end.
            Err(e) => {
                let msg = format!("{repo}: {e}");
                tracing::warn!(registry = %name, error = %msg, "sync: repository skipped");
                report.errors += 1;
                if failures.len() < MAX_FAILURES_SHOWN {
                    failures.push(msg);
                }
                continue;
            }
        };
        let (moved, queued) = server.db.tx(|tx| -> crate::db::Result<(u64, u64)> {
            let (mut moved, mut queued) = (0, 0);
            for (tag, digest) in &seen {
                let o = observe(tx, server, &host, repo, Some(tag), digest, "sync")?;
                moved += o.moved as u64;
                queued += o.queued as u64;
            }
            drop_missing_tags(tx, &host, repo, &seen)?;
            store::set_state(tx, &cursor_key(&name), repo)?;
            Ok((moved, queued))
        })?;
        report.repositories += 1;
        report.tags += seen.len() as u64;
        report.moved += moved;
        report.queued += queued;
    }
    report.finished_at = now();
    let doc = serde_json::to_string(&report).unwrap_or_default();
    server.db.tx(|tx| -> crate::db::Result<()> {
        store::set_state(tx, &cursor_key(&name), "")?;
        store::set_state(tx, &last_key(&name), &doc)
    })?;
    tracing::info!(registry = %name, repositories = report.repositories, tags = report.tags, queued = report.queued, errors = report.errors, "sync done");
    if report.errors > 0 {
        anyhow::bail!(
            "sync of {name}: {} repositories could not be read: {}",
            report.errors,
            failures.join("; ")
        );
    }
    Ok(report)
}

/// The (tag, digest) pairs of one repository.
fn walk_repository(
    store: &RegistryStore,
    pace: &mut Pacer,
) -> Result<Vec<(String, String)>, ImageError> {
    pace.wait();
    let mut tags = match store.list_tags_paged(Some(PAGE)) {
        Ok(t) => t,
        // Listed by the catalog, gone since (or never pushed to): nothing to do.
        Err(ImageError::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e),
    };
    tags.retain(|t| valid_tag(t));
    tags.truncate(MAX_TAGS);
    let mut seen = Vec::with_capacity(tags.len());
    for tag in &tags {
        pace.wait();
        match store.head_manifest(tag) {
            Ok(Some(d)) => seen.push((tag.clone(), d.to_string())),
            Ok(None) => {
                tracing::warn!(repository = %store.reference().repository, tag = %tag, "no Docker-Content-Digest on the manifest: tag skipped")
            }
            // Deleted between the list and the HEAD.
            Err(ImageError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(seen)
}

fn drop_missing_tags(
    tx: &mut dyn Tx,
    host: &str,
    repo: &str,
    seen: &[(String, String)],
) -> crate::db::Result<()> {
    let stored = tx.query(
        "SELECT tag FROM tags WHERE registry = ? AND repository = ?",
        params![host, repo],
    )?;
    for r in stored {
        let tag = r.string(0)?;
        if !seen.iter().any(|(t, _)| *t == tag) {
            tx.exec(
                "DELETE FROM tags WHERE registry = ? AND repository = ? AND tag = ?",
                params![host, repo, &tag],
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacing_spaces_requests() {
        let mut p = Pacer::new(50.0);
        let t = Instant::now();
        for _ in 0..6 {
            p.wait();
        }
        // Five gaps of 20 ms.
        assert!(
            t.elapsed() >= Duration::from_millis(95),
            "{:?}",
            t.elapsed()
        );
    }
}
