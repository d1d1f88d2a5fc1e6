//! The job queue: every piece of background work (a scan, a registry sync, a rematch, a
//! notification's delivery) is a row in `jobs`, claimed by a worker with a lease.
//!
//! - **Enqueue** with a `dedupe_key`: one live (queued or running) job per key, so a
//!   registry event replayed ten times scans once (a partial unique index holds the rule,
//!   so it stands across processes too).
//! - **Claim**: PostgreSQL picks with `FOR UPDATE SKIP LOCKED`, so many workers in many
//!   processes never take the same job and never wait on each other's picks; SQLite's write
//!   lock serialises claims (one process, or a few on one machine).
//! - **Lease**: a claim lasts `job_lease` (config, at least 5 s); the worker's heartbeat
//!   extends it every third of that. A worker that dies (`kill -9`, a lost machine) stops
//!   extending it, and once it runs out the job is claimed again by any worker, its attempt
//!   counted. A worker whose lease was taken over cannot record the job's end any more
//!   (`complete`/`fail` check the owner), so one run's outcome is recorded once.
//! - **Finish**: done; or failed and queued again after a backoff ([`backoff_secs`]: 30 s,
//!   2 min, 8 min, ... capped at an hour, with a little spread so a burst of failures does
//!   not come back at the same second) until `max_attempts`, then failed for good.
//! - **Release**: a job claimed but not started when shutdown begins goes back to the queue
//!   at once, the attempt not counted.
//! - **Periodic jobs** ([`schedule_due`]): the `job_schedules` row of each schedule holds
//!   when it is next due; a scheduler enqueues a period's job only after moving that time
//!   forward in the same statement, so every process may run a scheduler and each period's
//!   job is enqueued once.
//!
//! What this gives: a job is run **at least once**, and its end recorded once. Handlers
//! make their effects idempotent or write them in one transaction (a scan's findings are
//! upserted by key; a delivery records its outcome), so a job taken over after its worker
//! died leaves no duplicate. The drill kind ([`kind::DRILL`]) shows it with real processes.

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
    /// For drills and tests only (nothing in the server enqueues it): sleeps
    /// `{"sleep_ms": N}` (at most a minute), then, with `"tag"`, inserts the tag into the
    /// table `drill_effects (tag TEXT PRIMARY KEY, job_id BIGINT, attempt BIGINT, pid
    /// BIGINT)` that whoever runs the drill creates. Run twice, a tag's insert fails on the
    /// key: a duplicate is visible. See [`super::drill_job`].
    pub const DRILL: &str = "drill";
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
        kind::DRILL => drill_job,
        crate::harbor::KIND => crate::harbor::scan_job,
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
    let mut params: Vec<crate::db::Value> = vec![t.into(), t.into()];
    let kind_filter = match kinds {
        Some(k) if !k.is_empty() => {
            params.extend(k.iter().map(|k| crate::db::Value::from(*k)));
            format!(" AND kind IN ({})", vec!["?"; k.len()].join(", "))
        }
        _ => String::new(),
    };
    // A job whose worker keeps dying (killed for memory, a crash in native code) would be
    // taken over forever: past its last attempt it fails for good instead.
    tx.exec(
        "UPDATE jobs SET state = 'failed', finished_at = ?, lease_owner = NULL, lease_until = NULL,
             error = 'the lease ran out on the last attempt (the worker died or hung)'
         WHERE state = 'running' AND lease_until < ? AND attempts >= max_attempts",
        params![t, t],
    )?;
    let lock = match tx.backend() {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "SELECT id FROM jobs
         WHERE ((state = 'queued' AND run_after <= ?) OR (state = 'running' AND lease_until < ?)){kind_filter}
         ORDER BY priority DESC, run_after, id LIMIT 1{lock}"
    );
    let Some(row) = tx.query_opt(&sql, &params)? else {
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
    // An error message is the handler's; bound what is stored of it.
    let error = truncate(error, 4000);
    let n = if job.attempts >= job.max_attempts {
        tx.exec(
            "UPDATE jobs SET state = 'failed', finished_at = ?, lease_owner = NULL, lease_until = NULL, error = ?
             WHERE id = ? AND lease_owner = ? AND state = 'running'",
            params![t, error, job.id, owner],
        )?
    } else {
        tx.exec(
            "UPDATE jobs SET state = 'queued', run_after = ?, lease_owner = NULL, lease_until = NULL, error = ?
             WHERE id = ? AND lease_owner = ? AND state = 'running'",
            params![t + backoff_secs(job.id, job.attempts), error, job.id, owner],
        )?
    };
    Ok(n == 1)
}

/// Seconds before a job's next attempt after its `attempts`-th failed: 30 s, 2 min, 8 min,
/// 32 min, then an hour, plus up to a tenth more picked by the job's id (the same job
/// always waits the same, different jobs failing together spread out).
pub fn backoff_secs(job_id: i64, attempts: i64) -> i64 {
    let base = (30i64 << (2 * (attempts - 1).clamp(0, 6))).min(3600);
    let spread = (job_id.unsigned_abs() % 1000) as i64 * (base / 10) / 1000;
    base + spread
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
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

/// Moves schedule `name` to its next period when it is due: true when this caller won the
/// period (and should enqueue its job), with the time the schedule is next due either way.
/// A schedule seen for the first time is due at once. One statement, so two processes
/// asking at the same moment never both win (PostgreSQL's row lock makes the second see
/// the first's new `next_at`; SQLite's write lock serialises them).
pub fn schedule_due(tx: &mut dyn Tx, name: &str, every_secs: i64) -> Result<(bool, i64)> {
    let t = now();
    let next = t + every_secs.max(1);
    let won = tx.query_opt(
        "INSERT INTO job_schedules (name, next_at, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET next_at = excluded.next_at, updated_at = excluded.updated_at
         WHERE job_schedules.next_at <= ?
         RETURNING next_at",
        params![name, next, t, t],
    )?;
    if let Some(row) = won {
        return Ok((true, row.i64(0)?));
    }
    let next_at = tx.query_i64(
        "SELECT next_at FROM job_schedules WHERE name = ?",
        params![name],
    )?;
    Ok((false, next_at))
}

/// How many jobs of each kind are in each live or failed state (the metrics' gauges).
pub fn queue_counts(tx: &mut dyn Tx) -> Result<Vec<(String, String, i64)>> {
    tx.query(
        "SELECT kind, state, COUNT(*) FROM jobs WHERE state IN ('queued', 'running', 'failed')
         GROUP BY kind, state ORDER BY kind, state",
        &[],
    )?
    .into_iter()
    .map(|r| Ok((r.string(0)?, r.string(1)?, r.i64(2)?)))
    .collect()
}

/// Seconds the oldest runnable queued job has waited (0 when none): a queue that grows
/// older wants more workers.
pub fn oldest_queued_secs(tx: &mut dyn Tx) -> Result<i64> {
    let t = now();
    let oldest = tx.query_opt(
        "SELECT MIN(run_after) FROM jobs WHERE state = 'queued' AND run_after <= ?",
        params![t],
    )?;
    Ok(match oldest.map(|r| r.opt_i64(0)).transpose()?.flatten() {
        Some(at) => (t - at).max(0),
        None => 0,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DrillPayload {
    #[serde(default)]
    sleep_ms: u64,
    #[serde(default)]
    tag: Option<String>,
}

/// [`kind::DRILL`]: for failure drills and tests only.
pub fn drill_job(server: &Arc<Server>, job: &Job) -> JobResult {
    let p: DrillPayload = job.payload()?;
    std::thread::sleep(std::time::Duration::from_millis(p.sleep_ms.min(60_000)));
    if let Some(tag) = &p.tag {
        server.db.tx(|tx| {
            tx.exec(
                "INSERT INTO drill_effects (tag, job_id, attempt, pid) VALUES (?, ?, ?, ?)",
                params![
                    tag.as_str(),
                    job.id,
                    job.attempts,
                    i64::from(std::process::id())
                ],
            )
        })?;
    }
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

    #[test]
    fn backoff_grows_is_capped_and_spreads() {
        assert_eq!(backoff_secs(0, 1), 30);
        assert_eq!(backoff_secs(0, 2), 120);
        assert_eq!(backoff_secs(0, 3), 480);
        assert_eq!(backoff_secs(0, 20), 3600);
        for id in [1, 77, 999, 123_456_789] {
            let b = backoff_secs(id, 2);
            assert!((120..=132).contains(&b), "{id}: {b}");
            assert_eq!(b, backoff_secs(id, 2), "the same job waits the same");
        }
        assert!(backoff_secs(3600, 9) <= 3960);
    }

    #[test]
    fn failures_back_off_then_fail_for_good_and_release_gives_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.sqlite").to_str().unwrap(), 2).unwrap();
        db.migrate().unwrap();
        let id = db
            .tx(|tx| {
                enqueue(
                    tx,
                    kind::DRILL,
                    &"x",
                    Enqueue {
                        max_attempts: Some(2),
                        ..Enqueue::default()
                    },
                )
            })
            .unwrap()
            .unwrap();
        let job = db.tx(|tx| claim(tx, "w", 60, None)).unwrap().unwrap();
        assert!(db.tx(|tx| fail(tx, &job, "w", "boom")).unwrap());
        let (state, run_after, err) = db
            .read(|tx| -> Result<(String, i64, String)> {
                let r = tx.query_one(
                    "SELECT state, run_after, error FROM jobs WHERE id = ?",
                    params![id],
                )?;
                Ok((r.string(0)?, r.i64(1)?, r.string(2)?))
            })
            .unwrap();
        assert_eq!((state.as_str(), err.as_str()), ("queued", "boom"));
        assert!(run_after >= now() + 29, "backed off: {run_after}");
        assert!(
            db.tx(|tx| claim(tx, "w", 60, None)).unwrap().is_none(),
            "not before its backoff"
        );
        db.tx(|tx| tx.exec("UPDATE jobs SET run_after = 0", &[]))
            .unwrap();
        // Claimed, then shutdown before it started: released, the attempt not counted.
        let job = db.tx(|tx| claim(tx, "w", 60, None)).unwrap().unwrap();
        assert_eq!(job.attempts, 2);
        assert!(db.tx(|tx| release(tx, job.id, "w")).unwrap());
        let job = db.tx(|tx| claim(tx, "w2", 60, None)).unwrap().unwrap();
        assert_eq!(job.attempts, 2);
        assert!(db
            .tx(|tx| fail(tx, &job, "w2", &"e".repeat(10_000)))
            .unwrap());
        let (state, err_len) = db
            .read(|tx| -> Result<(String, i64)> {
                let r = tx.query_one(
                    "SELECT state, LENGTH(error) FROM jobs WHERE id = ?",
                    params![id],
                )?;
                Ok((r.string(0)?, r.i64(1)?))
            })
            .unwrap();
        assert_eq!((state.as_str(), err_len), ("failed", 4000));
    }

    #[test]
    fn a_schedule_is_won_once_per_period() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.sqlite").to_str().unwrap(), 2).unwrap();
        db.migrate().unwrap();
        let (won, next) = db.tx(|tx| schedule_due(tx, "digest", 3600)).unwrap();
        assert!(won && next >= now() + 3599);
        let (won, next2) = db.tx(|tx| schedule_due(tx, "digest", 3600)).unwrap();
        assert!(!won, "a second scheduler does not enqueue the same period");
        assert_eq!(next, next2);
        db.tx(|tx| tx.exec("UPDATE job_schedules SET next_at = 0", &[]))
            .unwrap();
        assert!(db.tx(|tx| schedule_due(tx, "digest", 3600)).unwrap().0);
    }
}
