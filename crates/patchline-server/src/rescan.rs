//! Rescans without pulling: when the advisory DB changes, only stored inventories holding
//! a changed (ecosystem, package) are rematched, and each image's delta (new, resolved,
//! changed severity or KEV) is stored and handed to notifications and campaigns.
//!
//! # How a change reaches the images
//!
//! 1. The advisory DB (`server.advisory_db`, written in place by `patchline db update` /
//!    `db import` beside the server, by [`db_update_job`], or by an upload to
//!    `POST /api/v1/feeds`) counts **generations** and logs the (ecosystem, package) keys
//!    and the enrichment ids (CVEs) each one changed (`patchline_advisory::db`).
//! 2. [`db_watch_job`] (every `schedules.db_watch`) compares the DB's generation with the
//!    store's `server_state` key `advisory.generation`; on a difference it enqueues one
//!    `rescan` job `{since, to}` and moves the key, in one transaction (the dedupe key
//!    `rescan` keeps one live rescan: while one runs, the next watch waits and then
//!    covers everything since).
//! 3. [`rescan_job`] asks the DB what changed since `since`: the keys select the images
//!    through `rescan_keysets`, the changed CVEs the images with an open finding of that id
//!    (their severity, KEV or EPSS moved). When the DB cannot say (no `since`: the first
//!    watch of this store; a `--fresh` rebuild; a generation older than the DB's log),
//!    every stored inventory is rematched.
//!
//! # The keys (`rescan_keysets` and `rescan_indexed`, migration 0004)
//!
//! The advisory DB keys advisories by OSV ecosystem (`Debian:12`, `Alpine:v3.18`, `PyPI`)
//! and by the name distro feeds use: the **source** package. `image_packages` (lead-owned,
//! [`crate::store::package_key`]) holds the inventory's own ecosystem (`deb`) and the
//! binary name, so it cannot be joined to them. [`advisory_keys`] computes, for one
//! inventory, exactly the lookups `patchline-match` makes: OS packages of the release's
//! own package format under each of the release's ecosystems and each of
//! [`patchline_match::lookup_names`] (source name; rpm also the binary name), language
//! packages not owned by an OS package under their OSV ecosystem; both normalised as the
//! advisory DB normalises them. Key sets are stored once each, named by their hash:
//! builds of one application share theirs. The index is brought up to date lazily
//! before each rescan: an inventory whose `updated_at` or stored size differs from what
//! `rescan_indexed` recorded is indexed again, so no writer of inventories has to know
//! about it.
//!
//! # Rematching
//!
//! One [`Matcher`] over one snapshot of the DB serves the whole job: it looks each
//! (ecosystem, package) up once and evaluates each (source package, version) once, so
//! images sharing base layers share that work. Three stages run at once: reading and
//! decompressing stored inventories (two threads: the largest cost of a delta),
//! matching, and recording (`store::record_scan` with kind `rescan`,
//! `notify::on_delta`, `campaigns::on_image_scanned`, in transactions of up to
//! [`WRITE_BATCH`] images). A full rematch's report per image is what `patchline scan`
//! of the same inventory reports: the matcher's report with the DB's info and the
//! inventory's checks.
//!
//! A delta rematches only what can have changed ([`DeltaScope`]): each affected
//! image's packages under a changed key, and those with an open finding of a changed
//! CVE. `store::record_partial_scan` reconciles the findings of exactly those packages
//! and leaves the others alone; an image whose part changed nothing gets no `scans` row
//! (its `last_scanned_at` moves). Findings seen again unchanged are not rewritten
//! (`findings.doc_hash`, migration 13).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use patchline_advisory::AdvisoryDb;
use patchline_match::{MatchOptions, Matcher};
use patchline_model::distro::{Recognition, Registry};
use patchline_model::ecosystem::normalize_package;
use patchline_model::vuln::{DbInfo, ScanReport};
use patchline_model::Inventory;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;

use crate::db::{now, Db, Value};
use crate::jobs::{self, kind, Enqueue, Job, JobResult};
use crate::params;
use crate::state::{AppState, Server};
use crate::store;

mod feeds;

/// `server_state` key: the advisory DB generation the last enqueued rescan covers.
pub const STATE_GENERATION: &str = "advisory.generation";

/// Images recorded per store transaction.
pub const WRITE_BATCH: usize = 64;

/// Inventories read per query.
const READ_BATCH: usize = 64;

/// Rows per multi-row INSERT (3 parameters each: within both engines' limits).
const INSERT_ROWS: usize = 400;

/// `POST /api/v1/feeds`: the air-gapped way to update the advisory DB.
pub fn routes() -> OpenApiRouter<AppState> {
    feeds::routes()
}

/// The payload of a `rescan` job.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RescanPayload {
    /// The generation the images were last matched against; `None`: unknown, rematch
    /// everything.
    pub since: Option<u64>,
    /// The generation the watch saw (informative: the job matches the DB as it is).
    pub to: u64,
}

/// Rematches the images a set of changed advisory keys touches.
pub fn rescan_job(server: &Arc<Server>, job: &Job) -> JobResult {
    let p: RescanPayload = job.payload()?;
    let stats = rescan(server, p.since)?;
    tracing::info!(
        job = job.id,
        generation = stats.generation,
        full = stats.full,
        changed_keys = stats.changed_keys,
        images = stats.images,
        with_changes = stats.with_changes,
        new = stats.new_findings,
        resolved = stats.resolved_findings,
        failed = stats.failed,
        secs = stats.elapsed.as_secs_f64(),
        "rescan done"
    );
    Ok(())
}

/// Notices a new advisory DB snapshot and enqueues the rescan of what changed.
pub fn db_watch_job(server: &Arc<Server>, _job: &Job) -> JobResult {
    watch(server).map(|_| ())
}

/// [`db_watch_job`]'s work: the rescan job enqueued, if any.
pub fn watch(server: &Server) -> anyhow::Result<Option<i64>> {
    if !server.advisory_db.is_file() {
        // No DB yet: nothing was matched, nothing to rematch.
        return Ok(None);
    }
    let generation = {
        let adb = AdvisoryDb::open(&server.advisory_db)?;
        adb.generation()?
    };
    let queued = server.db.tx(|tx| -> anyhow::Result<Option<i64>> {
        let last = store::get_state(tx, STATE_GENERATION)?.and_then(|v| v.parse::<u64>().ok());
        if last == Some(generation) {
            return Ok(None);
        }
        let payload = RescanPayload {
            since: last,
            to: generation,
        };
        let id = jobs::enqueue(
            tx,
            kind::RESCAN,
            &payload,
            Enqueue {
                dedupe_key: Some("rescan"),
                priority: 5,
                ..Enqueue::default()
            },
        )?;
        // A rescan already queued or running: this change waits for the next watch,
        // which then covers it from `last`.
        if id.is_some() {
            store::set_state(tx, STATE_GENERATION, &generation.to_string())?;
        }
        Ok(id)
    })?;
    Ok(queued)
}

/// Updates the advisory DB from the network feeds (the configured sources, or the
/// default set), then wakes the watch. Fails (the job records the error) when no source
/// could be updated; a partial update is committed and its failures logged.
pub fn db_update_job(server: &Arc<Server>, job: &Job) -> JobResult {
    let mut opts = patchline_advisory::update::UpdateOptions::new(server.advisory_db.clone());
    opts.downloads = Some(server.data_dir.join("feed-downloads"));
    let report = patchline_advisory::update::update(&opts, &mut |line| {
        tracing::debug!(job = job.id, "{line}")
    })
    .with_context(|| format!("updating the advisory DB {}", server.advisory_db.display()))?;
    let failures: Vec<String> = report
        .failures()
        .iter()
        .map(|s| match &s.outcome {
            patchline_advisory::update::Outcome::Failed(e) => format!("{}: {e}", s.name),
            _ => s.name.clone(),
        })
        .collect();
    if !report.committed {
        anyhow::bail!(
            "no feed could be updated ({} failed): {}",
            failures.len(),
            failures.join("; ")
        );
    }
    for f in &failures {
        tracing::warn!(job = job.id, "feed update failed: {f}");
    }
    watch(server)?;
    Ok(())
}

/// What a rescan did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RescanStats {
    /// The DB generation matched against.
    pub generation: u64,
    /// Every stored inventory was rematched (the change set was unknown).
    pub full: bool,
    /// Changed (ecosystem, package) keys and enrichment ids.
    pub changed_keys: usize,
    pub changed_cves: usize,
    /// Inventories indexed (new or replaced since the last rescan).
    pub indexed: usize,
    /// Images rematched.
    pub images: usize,
    /// Images whose findings changed.
    pub with_changes: usize,
    pub new_findings: usize,
    pub resolved_findings: usize,
    /// Images whose inventory could not be read (logged, skipped).
    pub failed: usize,
    #[serde(skip)]
    pub elapsed: Duration,
    /// [`Rematched::stage_secs`].
    #[serde(skip)]
    pub stage_secs: [f64; 3],
}

/// Rematches what changed in the advisory DB since generation `since` (everything when
/// `None` or when the DB cannot say).
pub fn rescan(server: &Server, since: Option<u64>) -> anyhow::Result<RescanStats> {
    let started = Instant::now();
    let adb = AdvisoryDb::open(&server.advisory_db)?;
    let mut stats = RescanStats {
        generation: adb.generation()?,
        ..RescanStats::default()
    };
    stats.indexed = index_inventories(&server.db)?;
    let changed = match since {
        Some(g) => match (adb.changed_since(g)?, adb.enrichment_changed_since(g)?) {
            (Some(keys), Some(cves)) => Some((keys, cves)),
            _ => None,
        },
        None => None,
    };
    let mut scope = None;
    let images = match changed {
        None => {
            stats.full = true;
            server.db.read(|tx| -> crate::db::Result<Vec<i64>> {
                tx.query(
                    "SELECT i.image_id FROM inventories i JOIN images m ON m.id = i.image_id
                     WHERE m.deleted_at IS NULL ORDER BY i.image_id",
                    &[],
                )?
                .iter()
                .map(|r| r.i64(0))
                .collect()
            })?
        }
        Some((keys, cves)) => {
            stats.changed_keys = keys.len();
            stats.changed_cves = cves.len();
            let (images, s) = affected_images(&server.db, &keys, &cves)?;
            scope = Some(s);
            images
        }
    };
    let out = rematch(server, &adb, &images, scope.as_ref())?;
    stats.images = out.images;
    stats.with_changes = out.with_changes;
    stats.new_findings = out.new_findings;
    stats.resolved_findings = out.resolved_findings;
    stats.failed = out.failed;
    stats.stage_secs = out.stage_secs;
    stats.elapsed = started.elapsed();
    Ok(stats)
}

/// The advisory keys `patchline-match` looks `inv`'s packages up under (see the module
/// doc), as the advisory DB's change log spells them.
pub fn advisory_keys(inv: &Inventory) -> BTreeSet<(String, String)> {
    let keyer = Keyer::new(inv);
    inv.packages.iter().flat_map(|p| keyer.keys(p)).collect()
}

/// The advisory keys of one inventory's packages (its distro release recognised once).
struct Keyer {
    registry: &'static Registry,
    release: Option<patchline_model::distro::Release>,
}

impl Keyer {
    fn new(inv: &Inventory) -> Keyer {
        let registry = Registry::builtin();
        let release = inv
            .distro
            .as_ref()
            .and_then(|d| match registry.recognize(d) {
                Recognition::Release(r) => Some(r),
                _ => None,
            });
        Keyer { registry, release }
    }

    /// The keys `patchline-match` looks `p` up under; none for a package it does not
    /// match (an OS package of another format, a language package an OS package owns).
    fn keys(&self, p: &patchline_model::Package) -> Vec<(String, String)> {
        let ecosystems: Vec<&str> = if p.ecosystem.is_os() {
            match &self.release {
                Some(rel) if p.ecosystem == rel.spec.packages => {
                    rel.ecosystems.iter().map(String::as_str).collect()
                }
                _ => return Vec::new(),
            }
        } else {
            if p.managed_by.is_some() {
                return Vec::new();
            }
            match p.ecosystem.language() {
                Some(l) => vec![l.osv],
                None => return Vec::new(),
            }
        };
        let mut out = Vec::new();
        for eco in ecosystems {
            let eco = self.registry.normalize_ecosystem(eco);
            for name in patchline_match::lookup_names(p) {
                out.push((eco.to_string(), normalize_package(&eco, name).into_owned()));
            }
        }
        out
    }
}

/// What a delta rescan rematches of each affected image: the packages under a changed
/// advisory key, and those with an open finding of a changed CVE.
#[derive(Clone, Debug, Default)]
pub struct DeltaScope {
    pub keys: std::collections::HashSet<(String, String)>,
    /// Per image: (package, version) of its open findings of a changed CVE.
    pub by_cve: std::collections::HashMap<i64, Vec<(String, String)>>,
}

impl DeltaScope {
    /// `inv` cut down to the packages to rematch, and their (name, version) scope; every
    /// package sharing a name and version with one in scope comes along, so that the
    /// findings the scope reconciles are exactly those the cut inventory can yield.
    fn cut(&self, image_id: i64, mut inv: Inventory) -> (Inventory, store::Scope) {
        let keyer = Keyer::new(&inv);
        let mut scope: store::Scope = self
            .by_cve
            .get(&image_id)
            .map(|v| v.iter().cloned().collect())
            .unwrap_or_default();
        for p in &inv.packages {
            if keyer.keys(p).iter().any(|k| self.keys.contains(k)) {
                scope.insert((p.name.clone(), p.version.clone()));
            }
        }
        inv.packages
            .retain(|p| scope.contains(&(p.name.clone(), p.version.clone())));
        (inv, scope)
    }
}

fn decode_inventory(image_id: i64, doc: &[u8]) -> anyhow::Result<Inventory> {
    let json = zstd::decode_all(doc).with_context(|| format!("inventory of image {image_id}"))?;
    serde_json::from_slice(&json).with_context(|| format!("inventory of image {image_id}"))
}

/// An inventory's advisory keys.
type Keys = BTreeSet<(String, String)>;

/// The name of a key set: SHA-256 of its sorted keys.
fn keyset_name(keys: &Keys) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (e, p) in keys {
        h.update(e.as_bytes());
        h.update([0]);
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// Brings `rescan_indexed` and `rescan_keysets` up to date with the stored
/// inventories; returns how many were (re)indexed.
pub fn index_inventories(db: &Db) -> anyhow::Result<usize> {
    let stale: Vec<(i64, i64, i64)> = db.read(|tx| -> crate::db::Result<Vec<(i64, i64, i64)>> {
        tx.query(
            "SELECT i.image_id, i.updated_at, length(i.doc) FROM inventories i
             LEFT JOIN rescan_indexed r ON r.image_id = i.image_id
             WHERE r.image_id IS NULL OR r.inventory_updated_at <> i.updated_at
                OR r.inventory_size <> length(i.doc)
             ORDER BY i.image_id",
            &[],
        )?
        .iter()
        .map(|r| Ok((r.i64(0)?, r.i64(1)?, r.i64(2)?)))
        .collect()
    })?;
    // Key sets known to be stored (a set is written once and never changes).
    let mut known: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut n = 0;
    for chunk in stale.chunks(READ_BATCH * 2) {
        let docs = load_docs(db, &chunk.iter().map(|c| c.0).collect::<Vec<_>>())?;
        // Decompressing and parsing is most of the cost: two threads.
        let half = docs.len().div_ceil(2);
        let keyed: Vec<(i64, anyhow::Result<Keys>)> = std::thread::scope(|s| {
            let work = |part: &[(i64, Vec<u8>)]| -> Vec<(i64, anyhow::Result<Keys>)> {
                part.iter()
                    .map(|(id, doc)| {
                        (
                            *id,
                            decode_inventory(*id, doc).map(|inv| advisory_keys(&inv)),
                        )
                    })
                    .collect()
            };
            let (a, b) = docs.split_at(half);
            let other = s.spawn(move || work(b));
            let mut out = work(a);
            out.extend(other.join().unwrap_or_default());
            out
        });
        let mut rows: Vec<(i64, i64, i64, String, Option<Keys>)> = Vec::new();
        for (id, keys) in keyed {
            let Some(&(_, updated, size)) = chunk.iter().find(|c| c.0 == id) else {
                continue;
            };
            match keys {
                Ok(keys) => {
                    let name = keyset_name(&keys);
                    let new = known.insert(name.clone());
                    rows.push((id, updated, size, name, new.then_some(keys)));
                }
                Err(e) => {
                    tracing::warn!(image = id, error = %format!("{e:#}"), "indexing an inventory")
                }
            }
        }
        db.tx(|tx| -> crate::db::Result<()> {
            for (id, updated, size, name, keys) in &rows {
                if let Some(keys) = keys {
                    let stored = tx
                        .query_opt(
                            "SELECT 1 FROM rescan_keysets WHERE keyset = ? LIMIT 1",
                            params![name.as_str()],
                        )?
                        .is_some();
                    let keys: Vec<&(String, String)> = keys.iter().collect();
                    for part in keys.chunks(INSERT_ROWS).filter(|_| !stored) {
                        let mut sql = String::from(
                            "INSERT INTO rescan_keysets (keyset, ecosystem, package) VALUES ",
                        );
                        let mut values: Vec<Value> = Vec::with_capacity(part.len() * 3);
                        for (i, (eco, pkg)) in part.iter().enumerate() {
                            sql.push_str(if i == 0 { "(?, ?, ?)" } else { ", (?, ?, ?)" });
                            values.push(Value::from(name.as_str()));
                            values.push(Value::from(eco.as_str()));
                            values.push(Value::from(pkg.as_str()));
                        }
                        sql.push_str(" ON CONFLICT DO NOTHING");
                        tx.exec(&sql, &values)?;
                    }
                }
                tx.exec(
                    "INSERT INTO rescan_indexed (image_id, inventory_updated_at, inventory_size, keyset) VALUES (?, ?, ?, ?)
                     ON CONFLICT (image_id) DO UPDATE SET inventory_updated_at = excluded.inventory_updated_at,
                         inventory_size = excluded.inventory_size, keyset = excluded.keyset",
                    params![*id, *updated, *size, name.as_str()],
                )?;
            }
            Ok(())
        })?;
        n += rows.len();
    }
    Ok(n)
}

/// The stored (compressed) inventories of `ids`.
fn load_docs(db: &Db, ids: &[i64]) -> crate::db::Result<Vec<(i64, Vec<u8>)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks = vec!["?"; ids.len()].join(", ");
    let sql = format!("SELECT image_id, doc FROM inventories WHERE image_id IN ({marks})");
    let values: Vec<Value> = ids.iter().map(|&i| Value::from(i)).collect();
    db.read(|tx| -> crate::db::Result<Vec<(i64, Vec<u8>)>> {
        tx.query(&sql, &values)?
            .iter()
            .map(|r| Ok((r.i64(0)?, r.blob(1)?.to_vec())))
            .collect()
    })
}

/// Live images whose key set holds any of `keys`, or with an open finding of one of
/// `cves`, and what of each to rematch.
pub fn affected_images(
    db: &Db,
    keys: &[(String, String)],
    cves: &[String],
) -> crate::db::Result<(Vec<i64>, DeltaScope)> {
    db.read(|tx| -> crate::db::Result<(Vec<i64>, DeltaScope)> {
        let mut ids = BTreeSet::new();
        let mut scope = DeltaScope {
            keys: keys.iter().cloned().collect(),
            ..DeltaScope::default()
        };
        for (eco, pkg) in keys {
            for r in tx.query(
                "SELECT r.image_id FROM rescan_keysets k JOIN rescan_indexed r ON r.keyset = k.keyset
                 JOIN images m ON m.id = r.image_id
                 WHERE k.ecosystem = ? AND k.package = ? AND m.deleted_at IS NULL",
                params![eco.as_str(), pkg.as_str()],
            )? {
                ids.insert(r.i64(0)?);
            }
        }
        for part in cves.chunks(500) {
            let marks = vec!["?"; part.len()].join(", ");
            let values: Vec<Value> = part.iter().map(|c| Value::from(c.as_str())).collect();
            for r in tx.query(
                &format!(
                    "SELECT f.image_id, f.package, f.version FROM findings f JOIN images m ON m.id = f.image_id
                     WHERE f.state = 'open' AND m.deleted_at IS NULL AND f.vuln_id IN ({marks})"
                ),
                &values,
            )? {
                let id = r.i64(0)?;
                ids.insert(id);
                scope
                    .by_cve
                    .entry(id)
                    .or_default()
                    .push((r.string(1)?, r.string(2)?));
            }
        }
        Ok((ids.into_iter().collect(), scope))
    })
}

/// What [`rematch`] did.
#[derive(Clone, Debug, Default)]
pub struct Rematched {
    pub images: usize,
    pub with_changes: usize,
    pub new_findings: usize,
    pub resolved_findings: usize,
    pub failed: usize,
    /// Busy time of each stage (they overlap): reading and decoding inventories,
    /// matching, recording.
    pub stage_secs: [f64; 3],
}

/// The report `patchline scan` makes of `inv` with `matcher` over a DB described by
/// `info`.
pub fn report_for(
    matcher: &mut Matcher<'_>,
    info: &DbInfo,
    inv: &Inventory,
) -> Result<ScanReport, patchline_match::MatchError> {
    let mut report = matcher.scan(inv, &MatchOptions::default())?;
    report.db = info.clone();
    report.checks = inv.checks.clone();
    report.scanners = vec!["vuln".into()];
    Ok(report)
}

/// Rematches the stored inventories of `images` against `adb` and records each result:
/// three stages on three threads (read + decompress, match, record), bounded queues
/// between them.
pub fn rematch(
    server: &Server,
    adb: &AdvisoryDb,
    images: &[i64],
    scope: Option<&DeltaScope>,
) -> anyhow::Result<Rematched> {
    let info = adb.info()?;
    let db = &server.db;
    type Read = (i64, anyhow::Result<(Inventory, Option<store::Scope>)>);
    type Matched = (i64, i64, ScanReport, Option<store::Scope>);
    let (inv_tx, inv_rx) = std::sync::mpsc::sync_channel::<Read>(128);
    let (rep_tx, rep_rx) = std::sync::mpsc::sync_channel::<Matched>(128);
    std::thread::scope(|s| -> anyhow::Result<Rematched> {
        // Decoding inventories is the largest part of a delta rescan: two readers, each
        // taking every other chunk.
        let readers: Vec<_> = (0..2)
            .map(|k| {
                let inv_tx = inv_tx.clone();
                s.spawn(move || -> anyhow::Result<f64> {
                    let mut busy = 0.0;
                    for chunk in images.chunks(READ_BATCH).skip(k).step_by(2) {
                        let t = Instant::now();
                        let docs = load_docs(db, chunk)?;
                        busy += t.elapsed().as_secs_f64();
                        for (id, doc) in docs {
                            let t = Instant::now();
                            let read = decode_inventory(id, &doc).map(|inv| match scope {
                                Some(scope) => {
                                    let (inv, sc) = scope.cut(id, inv);
                                    (inv, Some(sc))
                                }
                                None => (inv, None),
                            });
                            busy += t.elapsed().as_secs_f64();
                            if inv_tx.send((id, read)).is_err() {
                                return Ok(busy);
                            }
                        }
                    }
                    Ok(busy)
                })
            })
            .collect();
        drop(inv_tx);
        let writer = s.spawn(move || -> anyhow::Result<Rematched> {
            let mut out = Rematched::default();
            let mut batch: Vec<Matched> = Vec::with_capacity(WRITE_BATCH);
            let flush = |batch: &mut Vec<Matched>, out: &mut Rematched| -> anyhow::Result<()> {
                if batch.is_empty() {
                    return Ok(());
                }
                let t = Instant::now();
                let deltas = db.tx(|tx| -> crate::db::Result<Vec<store::Delta>> {
                    let mut deltas = Vec::with_capacity(batch.len());
                    for (id, started, report, scope) in batch.iter() {
                        let delta = match scope {
                            Some(scope) => store::record_partial_scan(
                                tx, *id, "rescan", *started, report, scope,
                            )?,
                            None => store::record_scan(tx, *id, "rescan", *started, report)?,
                        };
                        // Unchanged findings cannot move a campaign or tell anyone.
                        if !delta.is_empty() {
                            crate::notify::on_delta(tx, server, &delta)?;
                            crate::campaigns::on_image_scanned(tx, server, *id)?;
                        }
                        deltas.push(delta);
                    }
                    Ok(deltas)
                })?;
                for d in deltas {
                    out.images += 1;
                    out.with_changes += !d.is_empty() as usize;
                    out.new_findings += d.new.len();
                    out.resolved_findings += d.resolved.len();
                }
                out.stage_secs[2] += t.elapsed().as_secs_f64();
                batch.clear();
                Ok(())
            };
            for item in rep_rx {
                batch.push(item);
                if batch.len() >= WRITE_BATCH {
                    flush(&mut batch, &mut out)?;
                }
            }
            flush(&mut batch, &mut out)?;
            Ok(out)
        });
        let mut matcher = Matcher::new(adb);
        let mut failed = 0;
        let mut match_busy = 0.0;
        let mut result = Ok(());
        for (id, read) in inv_rx {
            let (inv, part) = match read {
                Ok(read) => read,
                Err(e) => {
                    tracing::warn!(image = id, error = %format!("{e:#}"), "rematch: unreadable inventory");
                    failed += 1;
                    continue;
                }
            };
            let started = now();
            let t = Instant::now();
            let report = report_for(&mut matcher, &info, &inv);
            match_busy += t.elapsed().as_secs_f64();
            match report {
                Ok(report) => {
                    if rep_tx.send((id, started, report, part)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    // The DB failed under the matcher: stop, the job is retried.
                    result = Err(anyhow::anyhow!("matching image {id}: {e}"));
                    break;
                }
            }
        }
        drop(rep_tx);
        let written = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the rematch writer panicked"))??;
        let mut read_busy = 0.0;
        for reader in readers {
            read_busy += reader
                .join()
                .map_err(|_| anyhow::anyhow!("the rematch reader panicked"))??;
        }
        result?;
        let mut written = written;
        written.failed = failed;
        written.stage_secs[0] = read_busy;
        written.stage_secs[1] = match_busy;
        Ok(written)
    })
}
