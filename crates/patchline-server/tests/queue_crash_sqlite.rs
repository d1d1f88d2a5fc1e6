//! A server killed mid-write restarts consistent (the embedded SQLite store): a process
//! commits a stream of two-table transactions and is `kill -9`ed among them; the store
//! then passes `PRAGMA integrity_check`, its migrations are intact (nothing to apply), every
//! transaction is there whole or not at all, and a server started on it drains the queue.
//!
//! The writer is this test binary run again with `PATCHLINE_CRASH_STORE` set (see
//! `queue_resilience.rs`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use patchline_server::config::{Config, Schedules};
use patchline_server::db::{Db, Result, MIGRATIONS};
use patchline_server::jobs::{self, Enqueue};
use patchline_server::params;

const STORE_ENV: &str = "PATCHLINE_CRASH_STORE";

/// The writer (only when run by the test below).
#[test]
fn crash_writer() {
    let Ok(path) = std::env::var(STORE_ENV) else {
        return;
    };
    let db = Db::open(&path, 2).unwrap();
    db.migrate().unwrap();
    for i in 0i64.. {
        db.tx(|tx| -> Result<()> {
            let id = jobs::enqueue(
                tx,
                jobs::kind::DRILL,
                &serde_json::json!({ "sleep_ms": 0 }),
                Enqueue::default(),
            )?
            .expect("no dedupe key");
            // A second table and a page-sized blob in the same transaction, so a kill
            // often lands in the middle of one.
            tx.exec(
                "INSERT INTO crash_log (job_id, n, pad) VALUES (?, ?, ?)",
                params![id, i, vec![(i % 251) as u8; 4096]],
            )?;
            Ok(())
        })
        .unwrap();
    }
}

#[test]
fn a_store_killed_mid_write_restarts_consistent() {
    if std::env::var_os(STORE_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.sqlite");
    let path_s = path.to_str().unwrap().to_string();
    {
        let db = Db::open(&path_s, 1).unwrap();
        db.migrate().unwrap();
        db.tx(|tx| {
            tx.batch(
                "CREATE TABLE crash_log (job_id BIGINT PRIMARY KEY, n BIGINT NOT NULL, pad BLOB NOT NULL)",
            )
        })
        .unwrap();
    }
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_writer",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(STORE_ENV, &path_s)
            .env_remove("NEXTEST_TEST_NAME")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let it write a while (a few hundred transactions), then kill it without warning.
        let db = Db::open(&path_s, 1).unwrap();
        let before = db
            .read(|tx| tx.query_i64("SELECT COUNT(*) FROM crash_log", &[]))
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let now = db
                .read(|tx| tx.query_i64("SELECT COUNT(*) FROM crash_log", &[]))
                .unwrap();
            if now >= before + 200 {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {round}: the writer wrote {now}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        drop(db);

        let db = Db::open(&path_s, 1).unwrap();
        let check = db
            .read(|tx| tx.query_one("PRAGMA integrity_check", &[]))
            .unwrap();
        assert_eq!(check.str(0).unwrap(), "ok", "round {round}");
        assert!(db.migrate().unwrap().is_empty(), "migrations intact");
        assert_eq!(
            db.schema_version().unwrap(),
            MIGRATIONS.last().unwrap().version
        );
        let (jobs_n, log_n, orphans) = db
            .read(|tx| -> Result<(i64, i64, i64)> {
                Ok((
                    tx.query_i64("SELECT COUNT(*) FROM jobs WHERE kind = 'drill'", &[])?,
                    tx.query_i64("SELECT COUNT(*) FROM crash_log", &[])?,
                    tx.query_i64(
                        "SELECT COUNT(*) FROM crash_log c LEFT JOIN jobs j ON j.id = c.job_id WHERE j.id IS NULL",
                        &[],
                    )?,
                ))
            })
            .unwrap();
        assert_eq!(
            jobs_n, log_n,
            "round {round}: each transaction whole or absent"
        );
        assert_eq!(orphans, 0);
    }

    // A server on the recovered store works through what was queued.
    let config = Config {
        listen: "127.0.0.1:0".into(),
        store: Some(path_s.clone()),
        data_dir: Some(dir.path().to_path_buf()),
        db: Some(dir.path().join("advisories.sqlite")),
        workers: 2,
        schedules: Schedules {
            sync: "off".into(),
            db_update: "off".into(),
            db_watch: "off".into(),
            digest: "off".into(),
            sla_check: "off".into(),
            retention: "off".into(),
        },
        ..Config::default()
    };
    let running = patchline_server::serve::start(config, Default::default()).unwrap();
    let db = running.server.db.clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = db
            .read(|tx| tx.query_i64("SELECT COUNT(*) FROM jobs WHERE state <> 'done'", &[]))
            .unwrap();
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{left} jobs left");
        std::thread::sleep(Duration::from_millis(100));
    }
    running.stop();
}
