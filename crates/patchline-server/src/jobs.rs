//! The job queue: every piece of background work (a scan, a registry sync, a rematch, a
//! notification's delivery) is a row in `jobs`, claimed by a worker with a lease.
//!
//! - **Enqueue** with a `dedupe_key`: one live (queued or running) job per key, so a
//!   registry event replayed ten times scans once.
//! - **Claim**: PostgreSQL picks with `FOR UPDATE SKIP LOCKED`, so many workers never
//!   take the same job; SQLite's write lock serialises claims in its one process.
//! - **Lease**: a claim lasts `job_lease`; the worker's heartbeat extends it. A worker that
//!   dies (`kill -9`) stops extending it, and once it runs out the job is claimed again.
//! - **Finish**: done, or failed and retried with backoff until `max_attempts`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::db::{now, Backend, Result, Tx};
use crate::params;
use crate::state::Server;

/// The kinds of job, and the module that runs each.
pub mod kind {
    /// Pull and scan one image digest (`registry`).
    pub const SCAN: &str = "scan";
    /// Walk one registry's catalog and tags (`registry`).
    pub const SYNC: &str = "sync";
    /// Rematch stored inventories after an advisory change (`rescan`).
    pub const RESCAN: &str = "rescan";
    /// Look for a new advisory DB snapshot (a `db import`/`db update` beside the server)
    /// and enqueue the rescan of what changed (`rescan`).
    pub const DB_WATCH: &str = "db-watch";
    /// Update the advisory DB from the network feeds (`rescan`).
    pub const DB_UPDATE: &str = "db-update";
    /// Deliver one notification to a team's channels (`notify`).
    pub const NOTIFY: &str = "notify";
    /// Send each team its digest (`notify`).
    pub const DIGEST: &str = "digest";
    /// Campaign items past their SLA, approvals and exceptions expiring (`campaigns`).
    pub const SLA_CHECK: &str = "sla-check";
    /// Drop what retention no longer keeps (`jobs`).
    pub const RETENTION: &str = "retention";
}

/// A claimed job.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    /// JSON.
    pub payload: String,
    pub attempts: i64,
    pub max_attempts: i64,
}

impl Job {
    pub fn payload<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<T> {
        serde_json::from_str(&self.payload)
            .map_err(|e| anyhow::anyhow!("job {} ({}): bad payload: {e}", self.id, self.kind))
    }
}

/// How a job's run ended.
pub type JobResult = anyhow::Result<()>;

/// A job's handler: runs on a worker thread, may block.
pub type Handler = fn(&Arc<Server>, &Job) -> JobResult;

/// The handler of each kind.
pub fn handler(kind: &str) -> Option<Handler> {
    Some(match kind {
        kind::SCAN => crate::registry::scan_job,
        kind::SYNC => crate::registry::sync_job,
        kind::RESCAN => crate::rescan::rescan_job,
        kind::DB_UPDATE => crate::rescan::db_update_job,
        kind::DB_WATCH => crate::rescan::db_watch_job,
        kind::NOTIFY => crate::notify::deliver_job,
        kind::DIGEST => crate::notify::digest_job,
        kind::SLA_CHECK => crate::campaigns::sla_job,
        kind::RETENTION => retention_job,
        _ => return None,
    })
}

/// Options of [`enqueue`].
#[derive(Clone, Debug, Default)]
pub struct Enqueue<'a> {
    /// One live job per key; `None`: always a new job.
    pub dedupe_key: Option<&'a str>,
    /// Higher first.
    pub priority: i64,
    /// Not before this unix time; `None`: now.
    pub run_after: Option<i64>,
    /// Default 5.
    pub max_attempts: Option<i64>,
}

/// Queues a job in the caller's transaction; `None` when a live job with the same
/// dedupe key already exists.
pub fn enqueue(
    tx: &mut dyn Tx,
    kind: &str,
    payload: &impl Serialize,
    opts: Enqueue<'_>,
) -> Result<Option<i64>> {
    let payload = serde_json::to_string(payload)
        .map_err(|e| crate::db::DbError::Other(format!("job payload: {e}")))?;
    let t = now();
    let row = tx.query_opt(
        "INSERT INTO jobs (kind, payload, dedupe_key, state, priority, max_attempts, run_after, created_at)
         VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)
         ON CONFLICT DO NOTHING RETURNING id",
        params![kind, payload, opts.dedupe_key, opts.priority, opts.max_attempts.unwrap_or(5), opts.run_after.unwrap_or(t), t],
    )?;
    row.map(|r| r.i64(0)).transpose()
}

/// Claims the next runnable job for `owner`: a queued one whose time has come, or a
/// running one whose lease ran out (its worker died).
pub fn claim(
    tx: &mut dyn Tx,
    owner: &str,
    lease_secs: i64,
    kinds: Option<&[&str]>,
) -> Result<Option<Job>> {
    let t = now();
    let kind_filter = match kinds {
        Some(k) if !k.is_empty() => {
            format!(
                " AND kind IN ({})",
                k.iter()
                    .map(|k| format!("'{}'", k.replace('\'', "")))
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        _ => String::new(),
    };
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "SELECT id FROM jobs
         WHERE ((state = 'queued' AND run_after <= ?) OR (state = 'running' AND lease_until < ?)){kind_filter}
         ORDER BY priority DESC, run_after, id LIMIT 1{lock}"
    );
    let Some(row) = tx.query_opt(&sql, params![t, t])? else {
        return Ok(None);
    };
    let id = row.i64(0)?;
    let row = tx.query_one(
        "UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1,
             started_at = ? WHERE id = ?
         RETURNING id, kind, payload, attempts, max_attempts",
        params![owner, t + lease_secs, t, id],
    )?;
    Ok(Some(Job {
        id: row.i64(0)?,
        kind: row.string(1)?,
        payload: row.string(2)?,
        attempts: row.i64(3)?,
        max_attempts: row.i64(4)?,
    }))
}

/// Extends the lease of a job this owner holds; false when it lost it (another worker
/// took it over after the lease ran out).
pub fn heartbeat(tx: &mut dyn Tx, id: i64, owner: &str, lease_secs: i64) -> Result<bool> {
    let n = tx.exec(
        "UPDATE jobs SET lease_until = ? WHERE id = ? AND lease_owner = ? AND state = 'running'",
        params![now() + lease_secs, id, owner],
    )?;
    Ok(n == 1)
}

/// Marks a job this owner holds as done.
pub fn complete(tx: &mut dyn Tx, id: i64, owner: &str) -> Result<bool> {
    let n = tx.exec(
        "UPDATE jobs SET state = 'done', finished_at = ?, lease_owner = NULL, lease_until = NULL, error = NULL
         WHERE id = ? AND lease_owner = ? AND state = 'running'",
        params![now(), id, owner],
    )?;
    Ok(n == 1)
}

/// Records a failure: queued again after a backoff, or failed for good after its last attempt.
pub fn fail(tx: &mut dyn Tx, job: &Job, owner: &str, error: &str) -> Result<bool> {
    let t = now();
    let n = if job.attempts >= job.max_attempts {
        tx.exec(
            "UPDATE jobs SET state = 'failed', finished_at = ?, lease_owner = NULL, lease_until = NULL, error = ?
             WHERE id = ? AND lease_owner = ? AND state = 'running'",
            params![t, error, job.id, owner],
        )?
    } else {
        // 30 s, 2 min, 8 min, ... capped at an hour.
        let backoff = (30i64 << (2 * (job.attempts - 1).clamp(0, 6))).min(3600);
        tx.exec(
            "UPDATE jobs SET state = 'queued', run_after = ?, lease_owner = NULL, lease_until = NULL, error = ?
             WHERE id = ? AND lease_owner = ? AND state = 'running'",
            params![t + backoff, error, job.id, owner],
        )?
    };
    Ok(n == 1)
}

/// Gives a job back unfinished (shutdown): queued again at once, the attempt not counted.
pub fn release(tx: &mut dyn Tx, id: i64, owner: &str) -> Result<bool> {
    let n = tx.exec(
        "UPDATE jobs SET state = 'queued', attempts = attempts - 1, lease_owner = NULL, lease_until = NULL, run_after = ?
         WHERE id = ? AND lease_owner = ? AND state = 'running'",
        params![now(), id, owner],
    )?;
    Ok(n == 1)
}

/// Finished jobs older than retention are dropped.
pub fn retention_job(server: &Arc<Server>, _job: &Job) -> JobResult {
    let keep = i64::from(server.config.retention.jobs_days) * 86_400;
    server.db.tx(|tx| -> Result<()> {
        tx.exec(
            "DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished_at < ?",
            params![now() - keep],
        )?;
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Db;

    #[test]
    fn dedupe_claim_complete_and_lease_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.sqlite").to_str().unwrap(), 2).unwrap();
        db.migrate().unwrap();
        let opts = || Enqueue {
            dedupe_key: Some("scan:sha256:aa"),
            ..Enqueue::default()
        };
        let first = db.tx(|tx| enqueue(tx, kind::SCAN, &"x", opts())).unwrap();
        let again = db.tx(|tx| enqueue(tx, kind::SCAN, &"x", opts())).unwrap();
        assert!(
            first.is_some() && again.is_none(),
            "one live job per dedupe key"
        );

        let job = db.tx(|tx| claim(tx, "w1", 60, None)).unwrap().unwrap();
        assert!(
            db.tx(|tx| claim(tx, "w2", 60, None)).unwrap().is_none(),
            "a leased job is not claimed twice"
        );
        // The lease runs out (as if w1 died): w2 takes the job over; w1 can no longer finish it.
        db.tx(|tx| {
            tx.exec(
                "UPDATE jobs SET lease_until = 0 WHERE id = ?",
                params![job.id],
            )
        })
        .unwrap();
        let taken = db.tx(|tx| claim(tx, "w2", 60, None)).unwrap().unwrap();
        assert_eq!((taken.id, taken.attempts), (job.id, 2));
        assert!(!db.tx(|tx| complete(tx, job.id, "w1")).unwrap());
        assert!(db.tx(|tx| complete(tx, job.id, "w2")).unwrap());
        // Done: the key is free again.
        assert!(db
            .tx(|tx| enqueue(tx, kind::SCAN, &"x", opts()))
            .unwrap()
            .is_some());
    }
}
