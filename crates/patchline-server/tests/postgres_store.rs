//! The store on a real PostgreSQL (Debian's, a throwaway cluster per test binary): the
//! migrations apply once and serialise across processes, every column type the schema uses
//! round-trips through `db::Value`, and the queue's claims never hand one job to two
//! workers.

use std::sync::{Arc, Barrier, OnceLock};

use patchline_server::db::{Db, Result, Value, MIGRATIONS};
use patchline_server::jobs::{self, Enqueue};
use patchline_server::params;
use patchline_test_support::services::postgres::Postgres;

/// One cluster for the binary's tests; each test that cannot have it reports its own skip.
fn cluster() -> Option<&'static Postgres> {
    static PG: OnceLock<Option<Postgres>> = OnceLock::new();
    let mut reported = false;
    let pg = PG
        .get_or_init(|| {
            reported = true;
            Postgres::start()
        })
        .as_ref();
    if pg.is_none() && !reported {
        patchline_test_support::missing(
            "PostgreSQL is not installed; install with: apt-get install -y postgresql",
        );
    }
    pg
}

fn fresh(name: &str) -> Option<String> {
    Some(cluster()?.create_database(name))
}

fn all_versions() -> Vec<i64> {
    MIGRATIONS.iter().map(|m| m.version).collect()
}

#[test]
fn migrates_a_fresh_database_once() {
    let Some(url) = fresh("migrate") else { return };
    let db = Db::open(&url, 2).unwrap();
    assert_eq!(db.migrate().unwrap(), all_versions());
    assert!(db.migrate().unwrap().is_empty(), "again: nothing to do");
    assert_eq!(
        db.schema_version().unwrap(),
        *all_versions().last().unwrap()
    );
    let tables = db
        .read(|tx| -> Result<i64> {
            tx.query_i64(
                "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'",
                &[],
            )
        })
        .unwrap();
    assert!(tables >= 20, "{tables} tables");
}

#[test]
fn concurrent_migrations_are_serialised() {
    let Some(url) = fresh("migrate_race") else {
        return;
    };
    // Separate pools: separate sessions, as separate processes would have.
    let n = 4;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let db = Db::open(&url, 1).unwrap();
                barrier.wait();
                db.migrate()
            })
        })
        .collect();
    let mut applied: Vec<i64> = Vec::new();
    for h in handles {
        applied.extend(h.join().unwrap().expect("every migrator succeeds"));
    }
    applied.sort();
    assert_eq!(
        applied,
        all_versions(),
        "each migration applied exactly once"
    );
    let db = Db::open(&url, 1).unwrap();
    let rows = db
        .read(|tx| -> Result<i64> { tx.query_i64("SELECT COUNT(*) FROM schema_migrations", &[]) })
        .unwrap();
    assert_eq!(rows as usize, MIGRATIONS.len());
}

#[test]
fn every_column_type_round_trips() {
    let Some(url) = fresh("types") else { return };
    let db = Db::open(&url, 2).unwrap();
    db.migrate().unwrap();
    db.tx(|tx| {
        tx.batch(
            "CREATE TABLE t (id BIGINT PRIMARY KEY, i BIGINT, s TEXT, b BYTEA, f DOUBLE PRECISION, flag BOOLEAN, small INTEGER)",
        )
    })
    .unwrap();
    let blob: Vec<u8> = (0..=255u8).collect();
    let text = "Grüße, \u{1F980} 'quoted' ? -- not a comment";
    db.tx(|tx| {
        tx.exec(
            "INSERT INTO t (id, i, s, b, f, flag, small) VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![1i64, i64::MAX, text, blob.clone(), 7.25f64, true, 42i64],
        )?;
        tx.exec(
            "INSERT INTO t (id, i, s, b, f, flag, small) VALUES (?, ?, ?, ?, ?, ?, ?)",
            params![
                2i64,
                None::<i64>,
                None::<String>,
                None::<Vec<u8>>,
                None::<f64>,
                None::<bool>,
                None::<i64>
            ],
        )?;
        // An integer where a real is wanted, as `?` comparisons infer.
        tx.exec("INSERT INTO t (id, f) VALUES (?, ?)", params![3i64, 3i64])
    })
    .unwrap();
    let rows = db
        .read(|tx| tx.query("SELECT id, i, s, b, f, flag, small FROM t ORDER BY id", &[]))
        .unwrap();
    let r = &rows[0];
    assert_eq!(r.i64(1).unwrap(), i64::MAX);
    assert_eq!(r.str(2).unwrap(), text);
    assert_eq!(r.blob(3).unwrap(), blob.as_slice());
    assert_eq!(r.f64(4).unwrap(), 7.25);
    assert!(r.bool(5).unwrap());
    assert_eq!(r.i64(6).unwrap(), 42);
    let r = &rows[1];
    assert_eq!(r.opt_i64(1).unwrap(), None);
    assert_eq!(r.opt_string(2).unwrap(), None);
    assert_eq!(r.opt_blob(3).unwrap(), None);
    assert_eq!(r.opt_f64(4).unwrap(), None);
    assert_eq!(r.value(5), &Value::Null);
    assert_eq!(rows[2].f64(4).unwrap(), 3.0);

    // Parameters compared with columns take the column's type; aggregates come back as
    // integers (count) or reals.
    let (n, len, max) = db
        .read(|tx| -> Result<(i64, i64, f64)> {
            let r = tx.query_one(
                "SELECT COUNT(*), MAX(LENGTH(s)), MAX(f) FROM t WHERE id >= ? AND f > ?",
                params![1i64, 0.5f64],
            )?;
            Ok((r.i64(0)?, r.i64(1)?, r.f64(2)?))
        })
        .unwrap();
    assert_eq!((n, len, max), (2, text.chars().count() as i64, 7.25));

    // A value of the wrong type is refused by name, never sent as other bytes.
    let e = db
        .tx(|tx| tx.exec("UPDATE t SET i = ? WHERE id = 1", params![2.5f64]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cannot bind a real") && e.contains("int8"),
        "{e}"
    );
    let e = db
        .tx(|tx| tx.exec("UPDATE t SET b = ? WHERE id = 1", params!["text"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot bind text") && e.contains("bytea"), "{e}");
    // SUM of a bigint is numeric in PostgreSQL: the error says to cast.
    let e = db
        .read(|tx| tx.query_one("SELECT SUM(i) FROM t", &[]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("numeric"), "{e}");
    let sum = db
        .read(|tx| tx.query_i64("SELECT CAST(SUM(small) AS BIGINT) FROM t", &[]))
        .unwrap();
    assert_eq!(sum, 42);
}

#[test]
fn the_schema_round_trips_through_the_store_functions() {
    let Some(url) = fresh("store") else { return };
    let db = Db::open(&url, 2).unwrap();
    db.migrate().unwrap();
    let key = patchline_server::store::ImageKey {
        digest: "sha256:aa".into(),
        registry: "127.0.0.1:5000".into(),
        repository: "base".into(),
        reference: "127.0.0.1:5000/base@sha256:aa".into(),
        source: "registry".into(),
    };
    let id = db
        .tx(|tx| patchline_server::store::upsert_image(tx, &key))
        .unwrap();
    let again = db
        .tx(|tx| patchline_server::store::upsert_image(tx, &key))
        .unwrap();
    assert_eq!(id, again);
    db.tx(|tx| patchline_server::store::set_state(tx, "k", "v1"))
        .unwrap();
    db.tx(|tx| patchline_server::store::set_state(tx, "k", "v2"))
        .unwrap();
    assert_eq!(
        db.read(|tx| patchline_server::store::get_state(tx, "k"))
            .unwrap()
            .as_deref(),
        Some("v2")
    );
}

#[test]
fn claims_hand_each_job_to_one_worker() {
    let Some(url) = fresh("claims") else { return };
    let db = Db::open(&url, 16).unwrap();
    db.migrate().unwrap();
    let n = 200;
    db.tx(|tx| -> Result<()> {
        for i in 0..n {
            jobs::enqueue(
                tx,
                jobs::kind::DRILL,
                &serde_json::json!({ "tag": format!("t{i}") }),
                Enqueue::default(),
            )?;
        }
        Ok(())
    })
    .unwrap();
    // Duplicate keys are refused across sessions too.
    let key = Enqueue {
        dedupe_key: Some("only-one"),
        ..Enqueue::default()
    };
    assert!(db
        .tx(|tx| jobs::enqueue(tx, jobs::kind::DRILL, &"x", key.clone()))
        .unwrap()
        .is_some());
    assert!(db
        .tx(|tx| jobs::enqueue(tx, jobs::kind::DRILL, &"x", key.clone()))
        .unwrap()
        .is_none());

    let workers = 8;
    let barrier = Arc::new(Barrier::new(workers));
    let t = std::time::Instant::now();
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            let (db, barrier) = (db.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let owner = format!("w{w}");
                let mut mine = Vec::new();
                while let Some(job) = db.tx(|tx| jobs::claim(tx, &owner, 60, None)).unwrap() {
                    assert!(db.tx(|tx| jobs::complete(tx, job.id, &owner)).unwrap());
                    mine.push(job.id);
                }
                mine
            })
        })
        .collect();
    let mut all: Vec<i64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let total = all.len();
    // A figure for docs and reports (`cargo test ... -- --nocapture`).
    eprintln!(
        "queue on PostgreSQL: {total} jobs claimed and completed by {workers} sessions in {:?} ({:.0} jobs/s)",
        t.elapsed(),
        total as f64 / t.elapsed().as_secs_f64()
    );
    all.sort();
    all.dedup();
    assert_eq!(all.len(), total, "no job claimed twice");
    assert_eq!(total, n + 1, "every job claimed");

    // Lease expiry on PostgreSQL: a dead owner's job is taken over, the dead owner can no
    // longer finish it.
    db.tx(|tx| jobs::enqueue(tx, jobs::kind::DRILL, &"y", Enqueue::default()))
        .unwrap();
    let job = db
        .tx(|tx| jobs::claim(tx, "dead", 60, None))
        .unwrap()
        .unwrap();
    assert!(db.tx(|tx| jobs::heartbeat(tx, job.id, "dead", 60)).unwrap());
    db.tx(|tx| {
        tx.exec(
            "UPDATE jobs SET lease_until = 0 WHERE id = ?",
            params![job.id],
        )
    })
    .unwrap();
    let taken = db
        .tx(|tx| jobs::claim(tx, "alive", 60, None))
        .unwrap()
        .unwrap();
    assert_eq!((taken.id, taken.attempts), (job.id, 2));
    assert!(!db.tx(|tx| jobs::heartbeat(tx, job.id, "dead", 60)).unwrap());
    assert!(!db.tx(|tx| jobs::complete(tx, job.id, "dead")).unwrap());
    assert!(db.tx(|tx| jobs::complete(tx, job.id, "alive")).unwrap());
}

#[test]
fn schedules_are_won_once_across_sessions() {
    let Some(url) = fresh("schedules") else {
        return;
    };
    let db = Db::open(&url, 8).unwrap();
    db.migrate().unwrap();
    let n = 6;
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                let db = Db::open(&url, 1).unwrap();
                barrier.wait();
                db.tx(|tx| jobs::schedule_due(tx, "digest", 3600))
                    .unwrap()
                    .0
            })
        })
        .collect();
    let won = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|w| *w)
        .count();
    assert_eq!(won, 1, "one process enqueues the period's job");
}
