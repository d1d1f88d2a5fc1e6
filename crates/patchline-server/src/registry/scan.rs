//! The `scan` job: one digest of a configured registry, pulled by digest with the
//! registry's credentials, inventoried (layers through the layer cache under
//! `data_dir/layers`, keyed by diff_id, so a base layer shared by a thousand images is read
//! once) and matched against the advisory DB; then stored in one transaction: image row,
//! inventory, scan and findings (the delta), the catalog entry of every tag pointing at the
//! digest, and the notification and campaign hooks.
//!
//! A missing advisory DB does not make images look clean: the scan runs without the
//! vulnerability scanner and its report carries the warning `advisory DB missing: nothing
//! matched`. A failed pull or scan marks the image `failed` with its error and fails the
//! job, which the queue retries with backoff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use patchline_image::cache::LayerCache;
use patchline_image::{OpenOptions, RegistryOptions};
use patchline_inventory::{InventoryOptions, Progress};
use patchline_model::Warning;
use patchline_scan::{Input, ScanOptions, Scanners};

use super::{configured, reference, valid_digest, valid_repository, ScanPayload};
use crate::config::RegistryConfig;
use crate::db::{now, Tx};
use crate::params;
use crate::state::Server;
use crate::store::{self, ImageKey};

/// Layers read from a registry (not found in the layer cache) and layers whose analysis
/// came from the cache, by this process, per data dir (one per server in tests and
/// benchmarks that run several in a process).
static LAYER_COUNTS: Mutex<BTreeMap<PathBuf, (u64, u64)>> = Mutex::new(BTreeMap::new());

/// (layers read, layers from the cache) by the scans of the server on `data_dir`.
pub fn layer_counts(data_dir: &Path) -> (u64, u64) {
    LAYER_COUNTS
        .lock()
        .map(|m| m.get(data_dir).copied().unwrap_or_default())
        .unwrap_or_default()
}

/// The warning a scan without an advisory DB carries.
pub const NO_DB_WARNING: &str = "advisory DB missing: nothing matched";

/// Longest error kept in `images.scan_error`.
const MAX_ERROR: usize = 2000;

struct Counting<'a> {
    data_dir: &'a Path,
}

impl Progress for Counting<'_> {
    fn layer_done(&self, _index: usize, from_cache: bool) {
        if let Ok(mut m) = LAYER_COUNTS.lock() {
            let c = m.entry(self.data_dir.to_path_buf()).or_default();
            if from_cache {
                c.1 += 1;
            } else {
                c.0 += 1;
            }
        }
    }
}

/// Connection settings for a configured registry: plain HTTP only for the `http://`
/// URLs the config allows (loopback), its username and password when set.
/// How the server scans an image pulled with `registry`: the shared advisory DB (vulnerabilities
/// only when it exists), the layer cache by diff_id, and the registry stage's governance.
/// Every scan job (registry pushes and syncs, Harbor's requests) scans with these.
pub fn scan_options(server: &Server, registry: RegistryOptions) -> anyhow::Result<ScanOptions> {
    Ok(ScanOptions {
        db: Some(server.advisory_db.clone()),
        open: OpenOptions {
            registry,
            ..OpenOptions::default()
        },
        inventory: InventoryOptions {
            cache: Some(layer_cache(server)),
            ..InventoryOptions::default()
        },
        scanners: Scanners {
            vuln: server.advisory_db.is_file(),
            ..Scanners::default()
        },
        governance: governance(server)?,
        ..ScanOptions::default()
    })
}

pub fn registry_options(reg: &RegistryConfig) -> anyhow::Result<RegistryOptions> {
    Ok(RegistryOptions {
        insecure: reg.url.starts_with("http://"),
        username: reg.username.clone(),
        password: reg.password()?,
        ..RegistryOptions::default()
    })
}

/// The layer cache shared by every scan of this process (and of others on the same
/// data dir: entries are written atomically by the cache).
pub fn layer_cache(server: &Server) -> LayerCache {
    LayerCache::new(server.data_dir.join("layers"))
}

/// Runs one scan job.
pub fn run(server: &Arc<Server>, p: &ScanPayload) -> anyhow::Result<()> {
    let started = Instant::now();
    let started_at = now();
    if !valid_repository(&p.repository) || !valid_digest(&p.digest) {
        anyhow::bail!(
            "scan job: invalid repository or digest {}@{}",
            patchline_model::quote_capped(&p.repository, 100),
            patchline_model::quote_capped(&p.digest, 100)
        );
    }
    let Some(reg) = configured(server, &p.registry) else {
        anyhow::bail!(
            "scan job: registry {} is not configured (any more)",
            patchline_model::quote_capped(&p.registry, 100)
        );
    };
    let host = reg.host().to_string();
    let key = ImageKey {
        digest: p.digest.clone(),
        registry: host.clone(),
        repository: p.repository.clone(),
        reference: reference(&host, &p.repository, p.tag.as_deref(), &p.digest),
        source: p.source.clone(),
    };
    let scanned = pull_and_scan(server, reg, &host, p);
    let scan = match scanned {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("{e:#}");
            let capped: String = msg.chars().take(MAX_ERROR).collect();
            server.db.tx(|tx| -> crate::db::Result<()> {
                let id = store::upsert_image(tx, &key)?;
                tx.exec(
                    "UPDATE images SET scan_status = 'failed', scan_error = ? WHERE id = ?",
                    params![&capped, id],
                )?;
                Ok(())
            })?;
            return Err(e);
        }
    };
    server
        .db
        .tx(|tx| store_scan(tx, server, &key, p, started_at, &scan))?;
    server
        .metrics
        .scan_seconds
        .observe(started.elapsed().as_secs_f64());
    Ok(())
}

fn pull_and_scan(
    server: &Server,
    reg: &RegistryConfig,
    host: &str,
    p: &ScanPayload,
) -> anyhow::Result<patchline_scan::Scan> {
    let opts = scan_options(server, registry_options(reg)?)?;
    let have_db = opts.scanners.vuln;
    let input = Input::parse(&format!("docker://{host}/{}@{}", p.repository, p.digest));
    let mut scan = patchline_scan::scan(
        input,
        &opts,
        &Counting {
            data_dir: &server.data_dir,
        },
    )
    .with_context(|| format!("scanning {host}/{}@{}", p.repository, p.digest))?;
    if !have_db {
        scan.report.warnings.push(Warning {
            source: "advisory-db".into(),
            location: server.advisory_db.display().to_string(),
            message: NO_DB_WARNING.into(),
        });
    }
    Ok(scan)
}

/// What the server's own scans are judged by: the configured policy file's `registry`
/// stage (its only stage when it has one), its trusted images and exceptions, and the
/// governance team's approved external images from the store.
pub fn governance(server: &Server) -> anyhow::Result<patchline_scan::policy::Governance> {
    let mut g = match &server.config.policy {
        Some(path) => {
            let file = patchline_policy::file::read_policy(path)?;
            let stage = if file.stages.contains_key("registry") {
                Some("registry")
            } else {
                None
            };
            patchline_scan::policy::Governance::from_policy(&file, stage)
                .map_err(|e| anyhow::anyhow!("policy {}: {e}", path.display()))?
        }
        None => patchline_scan::policy::Governance::default(),
    };
    g.trusted_images
        .extend(server.db.read(crate::trusted::governance)?);
    Ok(g)
}

/// The store's part, in one transaction: the digest is catalogued under every tag of its
/// repository that points at it now (a push of `latest` beside `1.4.2` queued no second
/// scan), else under the digest itself.
fn store_scan(
    tx: &mut dyn Tx,
    server: &Server,
    key: &ImageKey,
    p: &ScanPayload,
    started_at: i64,
    scan: &patchline_scan::Scan,
) -> crate::db::Result<()> {
    let mut refs: Vec<String> = tx
        .query(
            "SELECT tag FROM tags WHERE registry = ? AND repository = ? AND digest = ? ORDER BY tag",
            params![&key.registry, &p.repository, &p.digest],
        )?
        .iter()
        .map(|r| r.string(0))
        .collect::<crate::db::Result<Vec<_>>>()?
        .into_iter()
        .map(|t| reference(&key.registry, &p.repository, Some(&t), &p.digest))
        .collect();
    if refs.is_empty() {
        refs.push(reference(&key.registry, &p.repository, None, &p.digest));
    }
    crate::ingest::store_scan(
        tx,
        server,
        key,
        &refs,
        &scan.inventory,
        &scan.report,
        "pull",
        started_at,
    )?;
    Ok(())
}
