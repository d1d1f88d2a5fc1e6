//! The resilience drill with real processes on a real PostgreSQL: two worker
//! processes and an API process share one store; one worker is `kill -9`ed in the middle of
//! a job; every job is still done, once. Then a graceful shutdown (SIGTERM) of the other
//! worker finishes the job in hand.
//!
//! The processes are this test binary run again (`current_exe() --exact drill_process`)
//! with `PATCHLINE_DRILL_ROLE` set: that test then calls `serve::run` (SIGTERM-aware) with
//! the role asked for; in a normal run it does nothing. Works the same under cargo test and
//! nextest.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use patchline_server::config::{Config, Role, Schedules};
use patchline_server::db::{Db, Result};
use patchline_server::jobs::{self, Enqueue};
use patchline_server::params;
use patchline_test_support::services::{free_port, postgres::Postgres};

const ROLE_ENV: &str = "PATCHLINE_DRILL_ROLE";
const STORE_ENV: &str = "PATCHLINE_DRILL_STORE";
const LISTEN_ENV: &str = "PATCHLINE_DRILL_LISTEN";

/// A server process of the drill (only when run by the drill itself).
#[test]
fn drill_process() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::stderr)
        .try_init();
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        listen: std::env::var(LISTEN_ENV).unwrap_or_else(|_| "127.0.0.1:0".into()),
        store: Some(std::env::var(STORE_ENV).unwrap()),
        store_pool: 4,
        data_dir: Some(dir.path().to_path_buf()),
        db: Some(dir.path().join("advisories.sqlite")),
        role: role.parse::<Role>().unwrap(),
        workers: 2,
        job_lease: "5s".into(),
        schedules: Schedules {
            sync: "off".into(),
            db_update: "off".into(),
            db_watch: "off".into(),
            digest: "off".into(),
            sla_check: "off".into(),
            retention: "1h".into(),
        },
        ..Config::default()
    };
    patchline_server::serve::run(config, Default::default()).unwrap();
}

fn spawn(role: &str, store: &str, listen: Option<&str>, log: &Path) -> Child {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "drill_process",
        "--nocapture",
        "--test-threads",
        "1",
    ])
    .env(ROLE_ENV, role)
    .env(STORE_ENV, store)
    .env_remove("NEXTEST_TEST_NAME")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(log).unwrap());
    if let Some(l) = listen {
        c.env(LISTEN_ENV, l);
    }
    c.spawn().unwrap()
}

fn wait_until(what: &str, secs: u64, logs: &Path, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut all = String::new();
    for e in std::fs::read_dir(logs).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "log") {
            all += &format!(
                "--- {}\n{}\n",
                e.path().display(),
                std::fs::read_to_string(e.path()).unwrap_or_default()
            );
        }
    }
    panic!("timed out waiting for {what}\n{all}");
}

fn sigterm(child: &Child) {
    let ok = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

fn exit_within(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process {} did not exit within {secs} s", child.id());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Job ids running under a process's leases (the owner names the pid: `host:pid:rand:thread`).
fn running_of(db: &Db, pid: u32) -> Vec<i64> {
    db.read(|tx| -> Result<Vec<i64>> {
        tx.query(
            "SELECT id FROM jobs WHERE state = 'running' AND kind = 'drill' AND lease_owner LIKE ?",
            params![format!("%:{pid}:%")],
        )?
        .iter()
        .map(|r| r.i64(0))
        .collect()
    })
    .unwrap()
}

/// A minimal OpenMetrics text check: every sample belongs to a declared family, has a
/// well-formed name, labels and value, and the text ends with `# EOF`.
fn check_openmetrics(text: &str) {
    let mut families: Vec<String> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "{text}");
    for line in &lines[..lines.len() - 1] {
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let keyword = parts.next().unwrap();
            assert!(
                ["HELP", "TYPE", "UNIT"].contains(&keyword),
                "bad comment: {line}"
            );
            let name = parts.next().unwrap().to_string();
            if keyword == "TYPE" {
                assert!(!families.contains(&name), "family {name} declared twice");
                families.push(name);
            }
            continue;
        }
        let name_end = line
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .unwrap_or_else(|| panic!("no value: {line}"));
        let name = &line[..name_end];
        assert!(
            families.iter().any(|f| name == f
                || name
                    .strip_prefix(f.as_str())
                    .is_some_and(|s| s.starts_with('_'))),
            "sample {name} of no declared family"
        );
        let mut rest = &line[name_end..];
        if rest.starts_with('{') {
            let close = rest.find('}').unwrap_or_else(|| panic!("labels: {line}"));
            for pair in rest[1..close].split(',').filter(|p| !p.is_empty()) {
                let (k, v) = pair
                    .split_once('=')
                    .unwrap_or_else(|| panic!("label: {line}"));
                assert!(
                    k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "{line}"
                );
                assert!(v.starts_with('"') && v.ends_with('"'), "{line}");
            }
            rest = &rest[close + 1..];
        }
        let value = rest.trim().split(' ').next().unwrap();
        assert!(
            value.parse::<f64>().is_ok() || ["+Inf", "-Inf", "NaN"].contains(&value),
            "value of {line}"
        );
    }
}

#[test]
fn a_worker_killed_mid_job_loses_and_duplicates_nothing() {
    if std::env::var_os(ROLE_ENV).is_some() {
        return;
    }
    let Some(pg) = Postgres::start() else { return };
    let url = pg.create_database("drill");
    let db = Db::open(&url, 4).unwrap();
    db.migrate().unwrap();
    db.tx(|tx| {
        tx.batch(
            "CREATE TABLE drill_effects (tag TEXT PRIMARY KEY, job_id BIGINT NOT NULL,
                 attempt BIGINT NOT NULL, pid BIGINT NOT NULL)",
        )
    })
    .unwrap();

    let n = 60;
    db.tx(|tx| -> Result<()> {
        for i in 0..n {
            jobs::enqueue(
                tx,
                jobs::kind::DRILL,
                &serde_json::json!({ "sleep_ms": 400, "tag": format!("job-{i}") }),
                Enqueue::default(),
            )?;
        }
        Ok(())
    })
    .unwrap();

    let logs = tempfile::tempdir().unwrap();
    let api_addr = format!("127.0.0.1:{}", free_port());
    let mut api = spawn("api", &url, Some(&api_addr), &logs.path().join("api.log"));
    // w1 first, so it surely holds jobs however slowly the machine starts processes; then
    // w2, both working the queue.
    let mut w1 = spawn("worker", &url, None, &logs.path().join("w1.log"));
    wait_until("worker 1 to hold a job", 60, logs.path(), || {
        !running_of(&db, w1.id()).is_empty()
    });
    let mut w2 = spawn("worker", &url, None, &logs.path().join("w2.log"));
    wait_until("worker 2 to hold a job", 60, logs.path(), || {
        !running_of(&db, w2.id()).is_empty()
    });
    // w1 in the middle of a job: holding it for a while already.
    wait_until("worker 1 to be mid-job", 60, logs.path(), || {
        !running_of(&db, w1.id()).is_empty()
    });
    std::thread::sleep(Duration::from_millis(150));
    let held = running_of(&db, w1.id());
    w1.kill().unwrap(); // SIGKILL
    w1.wait().unwrap();
    assert!(!held.is_empty());

    wait_until("every job done", 90, logs.path(), || {
        db.read(|tx| {
            tx.query_i64(
                "SELECT COUNT(*) FROM jobs WHERE kind = 'drill' AND state = 'done'",
                &[],
            )
        })
        .unwrap()
            == n
    });

    let (effects, failed, retried) = db
        .read(|tx| -> Result<(i64, i64, i64)> {
            Ok((
                tx.query_i64("SELECT COUNT(DISTINCT tag) FROM drill_effects", &[])?,
                tx.query_i64(
                    "SELECT COUNT(*) FROM jobs WHERE state = 'failed' OR error IS NOT NULL",
                    &[],
                )?,
                tx.query_i64("SELECT COUNT(*) FROM jobs WHERE attempts > 1", &[])?,
            ))
        })
        .unwrap();
    assert_eq!(
        effects, n,
        "every job's effect once (the key refuses a second)"
    );
    assert_eq!(failed, 0, "no job failed (a duplicate effect would have)");
    assert_eq!(
        retried,
        held.len() as i64,
        "only the killed worker's jobs ran again"
    );
    for id in &held {
        let (attempts, pid) = db
            .read(|tx| -> Result<(i64, i64)> {
                let r = tx.query_one(
                    "SELECT j.attempts, e.pid FROM jobs j JOIN drill_effects e ON e.job_id = j.id WHERE j.id = ?",
                    params![*id],
                )?;
                Ok((r.i64(0)?, r.i64(1)?))
            })
            .unwrap();
        assert_eq!(attempts, 2, "job {id} taken over after the lease ran out");
        assert_eq!(pid, i64::from(w2.id()), "job {id} finished by the survivor");
    }
    // Two schedulers, one periodic job.
    let retention = db
        .read(|tx| tx.query_i64("SELECT COUNT(*) FROM jobs WHERE kind = 'retention'", &[]))
        .unwrap();
    assert_eq!(retention, 1, "each period's job is enqueued once");

    // The API process reads the shared queue.
    let client = reqwest::blocking::Client::new();
    let base = format!("http://{api_addr}");
    wait_until("the API to be ready", 30, logs.path(), || {
        client
            .get(format!("{base}/readyz"))
            .send()
            .is_ok_and(|r| r.status() == 200)
    });
    let metrics = client
        .get(format!("{base}/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    check_openmetrics(&metrics);
    assert!(
        metrics.contains("patchline_jobs{kind=\"retention\",state=\"queued\"} 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("patchline_jobs{kind=\"scan\",state=\"running\"} 0"),
        "{metrics}"
    );

    // Graceful shutdown: the job in hand is finished, not abandoned.
    db.tx(|tx| {
        jobs::enqueue(
            tx,
            jobs::kind::DRILL,
            &serde_json::json!({ "sleep_ms": 2000, "tag": "last" }),
            Enqueue::default(),
        )
    })
    .unwrap();
    wait_until("worker 2 to take the last job", 30, logs.path(), || {
        !running_of(&db, w2.id()).is_empty()
    });
    sigterm(&w2);
    let status = exit_within(&mut w2, 30);
    assert!(status.success(), "worker 2 exited {status}");
    let (state, attempts) = db
        .read(|tx| -> Result<(String, i64)> {
            let r = tx.query_one(
                "SELECT j.state, j.attempts FROM jobs j JOIN drill_effects e ON e.job_id = j.id WHERE e.tag = 'last'",
                &[],
            )?;
            Ok((r.string(0)?, r.i64(1)?))
        })
        .unwrap();
    assert_eq!((state.as_str(), attempts), ("done", 1));

    sigterm(&api);
    let status = exit_within(&mut api, 30);
    assert!(status.success(), "the API exited {status}");
}
