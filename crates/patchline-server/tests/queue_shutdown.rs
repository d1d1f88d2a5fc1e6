//! Graceful shutdown in one process (SQLite): readiness turns false while the job in hand
//! finishes; a job outliving the grace period keeps its lease for another worker to take
//! over; the metrics read the queue and the advisory DB's age at scrape time.

use std::time::{Duration, Instant};

use patchline_server::config::{Config, Schedules};
use patchline_server::db::{now, rfc3339, Db, Result};
use patchline_server::jobs::{self, Enqueue};
use patchline_server::params;
use patchline_server::serve::{start, Running};

fn config(dir: &std::path::Path) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: Some(dir.to_path_buf()),
        db: Some(dir.join("advisories.sqlite")),
        workers: 1,
        job_lease: "5s".into(),
        schedules: Schedules {
            sync: "off".into(),
            db_update: "off".into(),
            db_watch: "off".into(),
            digest: "off".into(),
            sla_check: "off".into(),
            retention: "off".into(),
        },
        ..Config::default()
    }
}

fn started(dir: &std::path::Path) -> Running {
    let running = start(config(dir), Default::default()).unwrap();
    running
        .server
        .db
        .tx(|tx| {
            tx.batch(
                "CREATE TABLE IF NOT EXISTS drill_effects (tag TEXT PRIMARY KEY, job_id BIGINT NOT NULL,
                     attempt BIGINT NOT NULL, pid BIGINT NOT NULL)",
            )
        })
        .unwrap();
    running
}

fn enqueue(db: &Db, sleep_ms: u64, tag: &str) -> i64 {
    db.tx(|tx| {
        jobs::enqueue(
            tx,
            jobs::kind::DRILL,
            &serde_json::json!({ "sleep_ms": sleep_ms, "tag": tag }),
            Enqueue::default(),
        )
    })
    .unwrap()
    .unwrap()
}

fn job_state(db: &Db, id: i64) -> (String, i64, Option<String>) {
    db.read(|tx| -> Result<(String, i64, Option<String>)> {
        let r = tx.query_one(
            "SELECT state, attempts, lease_owner FROM jobs WHERE id = ?",
            params![id],
        )?;
        Ok((r.string(0)?, r.i64(1)?, r.opt_string(2)?))
    })
    .unwrap()
}

fn wait_running(db: &Db, id: i64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while job_state(db, id).0 != "running" {
        assert!(Instant::now() < deadline, "job {id} never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn readiness_is_false_while_the_job_in_hand_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(dir.path());
    let url = running.url();
    let db = running.server.db.clone();
    let client = reqwest::blocking::Client::new();
    assert_eq!(
        client.get(format!("{url}/readyz")).send().unwrap().status(),
        200
    );

    let id = enqueue(&db, 1500, "in-hand");
    wait_running(&db, id);
    let stopper = std::thread::spawn(move || running.stop_within(Duration::from_secs(30)));
    let mut saw_503 = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !stopper.is_finished() && Instant::now() < deadline {
        if let Ok(r) = client.get(format!("{url}/readyz")).send() {
            if r.status() == 503 {
                saw_503 = true;
                // Liveness stays true: the process is fine, only leaving.
                assert_eq!(
                    client
                        .get(format!("{url}/healthz"))
                        .send()
                        .unwrap()
                        .status(),
                    200
                );
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(saw_503, "readiness went false during shutdown");
    assert!(stopper.join().unwrap(), "stopped within the grace period");
    let (state, attempts, owner) = job_state(&db, id);
    assert_eq!((state.as_str(), attempts, owner), ("done", 1, None));
    assert!(
        client.get(format!("{url}/readyz")).send().is_err(),
        "no longer listening"
    );
}

#[test]
fn a_job_outliving_the_grace_period_keeps_its_lease() {
    let dir = tempfile::tempdir().unwrap();
    let running = started(dir.path());
    let db = running.server.db.clone();
    let id = enqueue(&db, 4000, "slow");
    wait_running(&db, id);
    let t = Instant::now();
    assert!(
        !running.stop_within(Duration::from_millis(300)),
        "the job was still running"
    );
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    let (state, _, owner) = job_state(&db, id);
    assert_eq!(state, "running", "not released: it is in hand");
    let owner = owner.expect("still leased");

    // The process is gone (as far as the queue knows, once the lease runs out): another
    // worker takes the job over.
    db.tx(|tx| {
        tx.exec(
            "UPDATE jobs SET lease_until = ? WHERE id = ?",
            params![now() - 1, id],
        )
    })
    .unwrap();
    let taken = db
        .tx(|tx| jobs::claim(tx, "successor", 60, None))
        .unwrap()
        .unwrap();
    assert_eq!((taken.id, taken.attempts), (id, 2));
    assert!(!db.tx(|tx| jobs::complete(tx, id, &owner)).unwrap());
}

#[test]
fn metrics_read_the_queue_and_the_advisory_db_age() {
    let dir = tempfile::tempdir().unwrap();
    // An advisory DB updated an hour ago.
    let adv = dir.path().join("advisories.sqlite");
    patchline_advisory::db::DbWriter::begin(&adv, true)
        .unwrap()
        .commit()
        .unwrap();
    rusqlite::Connection::open(&adv)
        .unwrap()
        .execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('updated_at', ?1)",
            [rfc3339(now() - 3600)],
        )
        .unwrap();
    let mut c = config(dir.path());
    c.workers = 1;
    c.role = patchline_server::config::Role::Api;
    let running = start(c, Default::default()).unwrap();
    let db = running.server.db.clone();
    for i in 0..3 {
        enqueue(&db, 0, &format!("m{i}"));
    }
    db.tx(|tx| {
        jobs::enqueue(
            tx,
            jobs::kind::SCAN,
            &"x",
            Enqueue {
                max_attempts: Some(1),
                ..Enqueue::default()
            },
        )?;
        let job = jobs::claim(tx, "w", 60, Some(&[jobs::kind::SCAN]))?.unwrap();
        jobs::fail(tx, &job, "w", "broken")
    })
    .unwrap();
    let text = reqwest::blocking::get(format!("{}/metrics", running.url()))
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.contains("patchline_jobs{kind=\"drill\",state=\"queued\"} 3"),
        "{text}"
    );
    assert!(
        text.contains("patchline_jobs{kind=\"scan\",state=\"failed\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("patchline_jobs{kind=\"scan\",state=\"queued\"} 0"),
        "{text}"
    );
    let age: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("patchline_advisory_db_age_seconds "))
        .unwrap_or_else(|| panic!("no DB age: {text}"))
        .parse()
        .unwrap();
    assert!((3590.0..3700.0).contains(&age), "{age}");
    assert!(text.ends_with("# EOF\n"), "{text}");
    running.stop();
}
