//! Images, inventories and findings in the store: what a scan (pulled, uploaded or
//! rematched) writes, and the delta it makes.
//!
//! Every write here runs inside the caller's transaction ([`Tx`]), so a scan's image row,
//! inventory, findings and the jobs it enqueues commit together or not at all.

use std::collections::BTreeMap;

use patchline_model::vuln::{Finding, ScanReport, Severity};
use patchline_model::Inventory;
use serde::{Deserialize, Serialize};

use crate::db::{now, DbError, Result, Tx};
use crate::params;

/// Where an image came from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageKey {
    /// The manifest digest (`sha256:...`).
    pub digest: String,
    /// `host[:port]`; empty for uploads that name none.
    pub registry: String,
    pub repository: String,
    /// What was scanned, as given (`host/repo@sha256:...`, `host/repo:tag`).
    pub reference: String,
    /// `registry`, `sync` or `upload`.
    pub source: String,
}

/// The image's row id, created on first sight; a deleted image seen again is live again.
pub fn upsert_image(tx: &mut dyn Tx, key: &ImageKey) -> Result<i64> {
    let t = now();
    tx.exec(
        "INSERT INTO images (digest, registry, repository, reference, first_seen, source)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (digest) DO UPDATE SET deleted_at = NULL",
        params![
            &key.digest,
            &key.registry,
            &key.repository,
            &key.reference,
            t,
            &key.source
        ],
    )?;
    tx.query_i64(
        "SELECT id FROM images WHERE digest = ?",
        params![&key.digest],
    )
}

pub fn image_id(tx: &mut dyn Tx, digest: &str) -> Result<Option<i64>> {
    tx.query_opt("SELECT id FROM images WHERE digest = ?", params![digest])?
        .map(|r| r.i64(0))
        .transpose()
}

/// Stores the inventory (compressed), its layers and its package index, replacing what
/// the image had.
pub fn save_inventory(tx: &mut dyn Tx, image_id: i64, inv: &Inventory) -> Result<()> {
    let json =
        serde_json::to_vec(inv).map_err(|e| DbError::Other(format!("inventory JSON: {e}")))?;
    let doc = zstd::encode_all(&json[..], 3)
        .map_err(|e| DbError::Other(format!("compressing inventory: {e}")))?;
    let t = now();
    tx.exec(
        "INSERT INTO inventories (image_id, doc, packages, complete, updated_at, distro_id) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (image_id) DO UPDATE SET doc = excluded.doc, packages = excluded.packages,
             complete = excluded.complete, updated_at = excluded.updated_at, distro_id = excluded.distro_id",
        params![image_id, doc, inv.packages.len(), inv.complete, t, inv.distro.as_ref().map(|d| d.id.clone())],
    )?;
    tx.exec(
        "UPDATE images SET config_digest = ?, created = ? WHERE id = ?",
        params![
            inv.image.config_digest.as_ref().map(|d| d.to_string()),
            inv.image.created.clone(),
            image_id
        ],
    )?;
    tx.exec(
        "DELETE FROM image_layers WHERE image_id = ?",
        params![image_id],
    )?;
    for l in &inv.image.layers {
        let diff_id = l.diff_id.to_string();
        tx.exec(
            "INSERT INTO image_layers (image_id, idx, diff_id) VALUES (?, ?, ?)",
            params![image_id, l.index, &diff_id],
        )?;
        tx.exec(
            "INSERT INTO layers (diff_id, size, analyzed_at) VALUES (?, ?, ?) ON CONFLICT (diff_id) DO NOTHING",
            params![&diff_id, l.size.map(|s| s as i64), t],
        )?;
    }
    tx.exec(
        "DELETE FROM image_packages WHERE image_id = ?",
        params![image_id],
    )?;
    let keys: std::collections::BTreeSet<(String, String)> =
        inv.packages.iter().map(package_key).collect();
    for (eco, name) in keys {
        tx.exec(
            "INSERT INTO image_packages (ecosystem, name, image_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            params![eco, name, image_id],
        )?;
    }
    Ok(())
}

/// The (ecosystem, name) an inventory package is indexed under: the key a changed
/// advisory is looked up by.
pub fn package_key(p: &patchline_model::Package) -> (String, String) {
    (p.ecosystem.to_string(), p.name.clone())
}

pub fn load_inventory(tx: &mut dyn Tx, image_id: i64) -> Result<Option<Inventory>> {
    let Some(row) = tx.query_opt(
        "SELECT doc FROM inventories WHERE image_id = ?",
        params![image_id],
    )?
    else {
        return Ok(None);
    };
    let json = zstd::decode_all(row.blob(0)?)
        .map_err(|e| DbError::Other(format!("inventory of image {image_id}: {e}")))?;
    let inv = serde_json::from_slice(&json)
        .map_err(|e| DbError::Other(format!("inventory of image {image_id}: {e}")))?;
    Ok(Some(inv))
}

/// A finding as the store keys and summarises it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredFinding {
    pub id: i64,
    pub image_id: i64,
    pub vuln_id: String,
    pub ecosystem: String,
    pub package: String,
    pub version: String,
    pub severity: String,
    pub kev: bool,
    pub fixed_version: Option<String>,
    pub layer_diff_id: Option<String>,
}

/// What changed for one image in one scan or rematch.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Delta {
    pub image_id: i64,
    /// The `scans` row; 0 when none was written (a partial report that changed nothing).
    pub scan_id: i64,
    pub new: Vec<StoredFinding>,
    pub resolved: Vec<StoredFinding>,
    /// Severity or KEV status changed: (the finding now, what changed: `severity` / `kev`).
    pub changed: Vec<(StoredFinding, String)>,
}

impl Delta {
    pub fn is_empty(&self) -> bool {
        self.new.is_empty() && self.resolved.is_empty() && self.changed.is_empty()
    }
}

fn severity_str(s: Severity) -> &'static str {
    match s {
        Severity::Negligible => "low",
        other => other.as_str(),
    }
}

/// (vulnerability, ecosystem, package, version).
type FindingKey = (String, String, String, String);

fn finding_key(f: &Finding) -> FindingKey {
    (
        f.id.clone(),
        f.ecosystem.clone(),
        f.package.name.clone(),
        f.package.version.clone(),
    )
}

/// Records a scan's report for an image: a `scans` row with its counts, findings upserted
/// (new ones opened, missing ones resolved, severity and KEV changes noted), each change
/// in `finding_events`. Returns the delta.
pub fn record_scan(
    tx: &mut dyn Tx,
    image_id: i64,
    kind: &str,
    started_at: i64,
    report: &ScanReport,
) -> Result<Delta> {
    record(tx, image_id, kind, started_at, report, None)
}

/// The packages a partial report covers, as (name, version): the report holds every
/// finding of exactly these packages of the image and nothing else.
pub type Scope = std::collections::HashSet<(String, String)>;

/// [`record_scan`] of a report that matched only the packages in `scope` (a delta
/// rescan): open findings of other packages are left as they are; the scan's counts are
/// the image's open findings afterwards, its unmatched count and warnings the previous
/// scan's.
pub fn record_partial_scan(
    tx: &mut dyn Tx,
    image_id: i64,
    kind: &str,
    started_at: i64,
    report: &ScanReport,
    scope: &Scope,
) -> Result<Delta> {
    record(tx, image_id, kind, started_at, report, Some(scope))
}

fn record(
    tx: &mut dyn Tx,
    image_id: i64,
    kind: &str,
    started_at: i64,
    report: &ScanReport,
    scope: Option<&Scope>,
) -> Result<Delta> {
    let t = now();
    // What is open now.
    let mut open: BTreeMap<FindingKey, (i64, String, bool, Option<String>)> = BTreeMap::new();
    let open_rows = match scope {
        None => tx.query(
            "SELECT id, vuln_id, ecosystem, package, version, severity, kev, doc_hash FROM findings WHERE image_id = ? AND state = 'open'",
            params![image_id],
        )?,
        Some(scope) => {
            let names: std::collections::BTreeSet<&str> =
                scope.iter().map(|(n, _)| n.as_str()).collect();
            let mut rows = Vec::new();
            let names: Vec<&str> = names.into_iter().collect();
            for part in names.chunks(400) {
                let marks = vec!["?"; part.len()].join(", ");
                let mut values = vec![crate::db::Value::from(image_id)];
                values.extend(part.iter().map(|n| crate::db::Value::from(*n)));
                rows.extend(
                    tx.query(
                        &format!(
                            "SELECT id, vuln_id, ecosystem, package, version, severity, kev, doc_hash FROM findings
                             WHERE image_id = ? AND state = 'open' AND package IN ({marks})"
                        ),
                        &values,
                    )?
                    .into_iter()
                    .filter(|r| {
                        matches!((r.str(3), r.str(4)), (Ok(n), Ok(v)) if scope.contains(&(n.to_string(), v.to_string())))
                    }),
                );
            }
            rows
        }
    };
    for r in open_rows {
        open.insert(
            (r.string(1)?, r.string(2)?, r.string(3)?, r.string(4)?),
            (r.i64(0)?, r.string(5)?, r.bool(6)?, r.opt_string(7)?),
        );
    }

    let mut delta = Delta {
        image_id,
        ..Delta::default()
    };
    let mut seen = std::collections::BTreeSet::new();
    for f in &report.findings {
        let key = finding_key(f);
        if !seen.insert(key.clone()) {
            continue;
        }
        let severity = severity_str(f.severity).to_string();
        let is_kev = f.kev.is_some();
        let cvss = f
            .cvss
            .iter()
            .map(|c| c.base_score)
            .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))));
        let doc = serde_json::to_string(f).unwrap_or_default();
        let hash = doc_hash(&doc);
        // Seen again exactly as stored: nothing to write (most findings of a rescan).
        if open
            .get(&key)
            .is_some_and(|o| o.3.as_deref() == Some(hash.as_str()))
        {
            open.remove(&key);
            continue;
        }
        let aliases = serde_json::to_string(&f.aliases).unwrap_or_else(|_| "[]".into());
        let fixed = f.fixed_versions.first().cloned();
        let layer = f.package.introduced.as_ref().map(|l| l.diff_id.to_string());
        let fix_state = serde_json::to_value(f.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string));
        let id = tx.query_i64(
            "INSERT INTO findings (image_id, vuln_id, aliases, ecosystem, package, version, severity, cvss, kev, epss,
                 fix_state, fixed_version, layer_diff_id, summary, state, first_seen, last_seen, doc, doc_hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?)
             ON CONFLICT (image_id, vuln_id, ecosystem, package, version) DO UPDATE SET
                 aliases = excluded.aliases, severity = excluded.severity, cvss = excluded.cvss,
                 kev = excluded.kev, epss = excluded.epss, fix_state = excluded.fix_state,
                 fixed_version = excluded.fixed_version, layer_diff_id = excluded.layer_diff_id,
                 summary = excluded.summary, state = 'open', last_seen = excluded.last_seen,
                 resolved_at = NULL, doc = excluded.doc, doc_hash = excluded.doc_hash
             RETURNING id",
            params![
                image_id,
                &key.0,
                aliases,
                &key.1,
                &key.2,
                &key.3,
                &severity,
                cvss,
                is_kev,
                f.epss.as_ref().map(|e| e.score),
                fix_state,
                fixed.clone(),
                layer.clone(),
                f.summary.clone(),
                t,
                t,
                doc,
                hash
            ],
        )?;
        if !f.aliases.is_empty() {
            if open.contains_key(&key) {
                tx.exec(
                    "DELETE FROM finding_aliases WHERE finding_id = ?",
                    params![id],
                )?;
            }
            for a in &f.aliases {
                tx.exec(
                    "INSERT INTO finding_aliases (alias, finding_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    params![a.as_str(), id],
                )?;
            }
        }
        let stored = StoredFinding {
            id,
            image_id,
            vuln_id: key.0.clone(),
            ecosystem: key.1.clone(),
            package: key.2.clone(),
            version: key.3.clone(),
            severity: severity.clone(),
            kev: is_kev,
            fixed_version: fixed,
            layer_diff_id: layer,
        };
        match open.remove(&key) {
            None => {
                event(tx, id, image_id, "new", None, t)?;
                delta.new.push(stored);
            }
            Some((_, old_sev, old_kev, _)) => {
                if old_sev != severity {
                    event(
                        tx,
                        id,
                        image_id,
                        "severity",
                        Some(&format!("{old_sev} -> {severity}")),
                        t,
                    )?;
                    delta.changed.push((stored.clone(), "severity".into()));
                }
                if old_kev != is_kev {
                    event(
                        tx,
                        id,
                        image_id,
                        "kev",
                        Some(if is_kev { "added" } else { "removed" }),
                        t,
                    )?;
                    delta.changed.push((stored, "kev".into()));
                }
            }
        }
    }
    for ((vuln_id, ecosystem, package, version), (id, severity, kev, _)) in open {
        tx.exec(
            "UPDATE findings SET state = 'resolved', resolved_at = ? WHERE id = ?",
            params![t, id],
        )?;
        event(tx, id, image_id, "resolved", None, t)?;
        delta.resolved.push(StoredFinding {
            id,
            image_id,
            vuln_id,
            ecosystem,
            package,
            version,
            severity,
            kev,
            fixed_version: None,
            layer_diff_id: None,
        });
    }
    // The scan's row, last: its counts are the report's, or for a partial report the
    // image's open findings now. A partial report that changed nothing leaves no row
    // (most images of a delta rescan): the image's last_scanned_at says it was matched.
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    let mut kev = 0i64;
    let mut warnings = serde_json::to_string(&report.warnings).unwrap_or_else(|_| "[]".into());
    let mut unmatched = report.packages_not_matched as i64;
    let write_scan = match scope {
        None => {
            for f in &report.findings {
                *counts.entry(severity_str(f.severity).into()).or_default() += 1;
                kev += f.kev.is_some() as i64;
            }
            true
        }
        Some(_) if delta.is_empty() => false,
        Some(_) => {
            for r in tx.query(
                "SELECT severity, count(*), CAST(sum(kev) AS BIGINT) FROM findings
                 WHERE image_id = ? AND state = 'open' GROUP BY severity",
                params![image_id],
            )? {
                counts.insert(r.string(0)?, r.i64(1)?);
                kev += r.opt_i64(2)?.unwrap_or(0);
            }
            if let Some(r) = tx.query_opt(
                "SELECT unmatched, warnings FROM scans WHERE image_id = ? ORDER BY id DESC LIMIT 1",
                params![image_id],
            )? {
                unmatched = r.opt_i64(0)?.unwrap_or(0);
                warnings = r.opt_string(1)?.unwrap_or_else(|| "[]".into());
            }
            true
        }
    };
    if write_scan {
        let n = |k: &str| counts.get(k).copied().unwrap_or(0);
        delta.scan_id = tx.query_i64(
            "INSERT INTO scans (image_id, kind, started_at, finished_at, db_built, critical, high, medium, low, unknown, kev,
                 unmatched, warnings, new_findings, resolved_findings)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            params![
                image_id,
                kind,
                started_at,
                t,
                report.db.updated_at.clone(),
                n("critical"),
                n("high"),
                n("medium"),
                n("low"),
                n("unknown"),
                kev,
                unmatched,
                warnings,
                delta.new.len(),
                delta.resolved.len()
            ],
        )?;
    }
    tx.exec(
        "UPDATE images SET last_scanned_at = ?, scan_status = 'scanned', scan_error = NULL WHERE id = ?",
        params![t, image_id],
    )?;
    Ok(delta)
}

/// `(f.vuln_id = ? OR <an alias of f is ?>)` over `findings f`: bind the id twice.
pub const VULN_OR_ALIAS: &str =
    "(f.vuln_id = ? OR f.id IN (SELECT finding_id FROM finding_aliases WHERE alias = ?))";

/// The fingerprint `findings.doc_hash` holds: 128 bits of SHA-256 over the stored JSON.
fn doc_hash(doc: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(doc.as_bytes())[..16])
}

fn event(
    tx: &mut dyn Tx,
    finding_id: i64,
    image_id: i64,
    kind: &str,
    detail: Option<&str>,
    at: i64,
) -> Result<()> {
    tx.exec(
        "INSERT INTO finding_events (finding_id, image_id, kind, at, detail) VALUES (?, ?, ?, ?, ?)",
        params![finding_id, image_id, kind, at, detail],
    )?;
    Ok(())
}

/// A small named value (`server_state`).
pub fn get_state(tx: &mut dyn Tx, key: &str) -> Result<Option<String>> {
    tx.query_opt("SELECT value FROM server_state WHERE key = ?", params![key])?
        .map(|r| r.string(0))
        .transpose()
}

pub fn set_state(tx: &mut dyn Tx, key: &str, value: &str) -> Result<()> {
    tx.exec(
        "INSERT INTO server_state (key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![key, value, now()],
    )?;
    Ok(())
}
