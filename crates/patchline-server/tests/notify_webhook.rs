//! Notifications end to end over a real HTTP receiver: fix-at-root attribution (one fix
//! message to the base's team however many descendants report the package, a waiting
//! line to each descendant's team), signed deliveries verified by the reference
//! verifier, never the same (finding, team) twice across repeated deltas, a failing
//! channel that holds neither the others nor leaks its secret, and the digest.

use std::sync::Arc;

use patchline_lineage::CatalogEntry;
use patchline_model::vuln::ScanReport;
use patchline_model::Digest;
use patchline_server::config::Config;
use patchline_server::db::{now, Db, Tx};
use patchline_server::jobs;
use patchline_server::notify::{self, webhook};
use patchline_server::store::{self, ImageKey};
use patchline_server::{params, Server};
use patchline_test_support::services::webhook::{Received, WebhookReceiver};

fn dg(s: &str) -> Digest {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(s.as_bytes())))
        .parse()
        .unwrap()
}

struct World {
    _dir: tempfile::TempDir,
    server: Arc<Server>,
}

fn world(catalog: &str) -> World {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("s.sqlite").to_str().unwrap(), 2).unwrap();
    db.migrate().unwrap();
    let config = Config {
        data_dir: Some(dir.path().to_path_buf()),
        ..Config::default()
    };
    let server = Arc::new(Server::new(
        db,
        config,
        false,
        dir.path().join("adv.sqlite"),
    ));
    server
        .db
        .tx(|tx| -> patchline_server::db::Result<()> {
            patchline_server::lineage::import_yaml(tx, catalog)?;
            notify::teams::import(tx, catalog)?;
            Ok(())
        })
        .unwrap();
    World { _dir: dir, server }
}

/// Resolves a catalogued image as a scan would: its digest and layers.
fn resolve(tx: &mut dyn Tx, reference: &str, layers: &[&str]) -> i64 {
    let digest = dg(&format!("manifest {reference} {layers:?}"));
    let id = store::upsert_image(
        tx,
        &ImageKey {
            digest: digest.to_string(),
            registry: "r.example".into(),
            repository: reference.into(),
            reference: reference.into(),
            source: "registry".into(),
        },
    )
    .unwrap();
    let mut e: CatalogEntry = patchline_server::lineage::get_entry(tx, reference)
        .unwrap()
        .unwrap();
    e.digest = Some(digest);
    e.diff_ids = layers.iter().map(|l| dg(l)).collect();
    e.chain_ids.clear();
    e.ensure_chain_ids();
    patchline_server::lineage::put_entry(tx, &e, Some(id)).unwrap();
    id
}

/// A report with one finding per (vuln, package, severity, layer index, layer).
fn report(reference: &str, findings: &[(&str, &str, &str, usize, &str)]) -> ScanReport {
    let f: Vec<serde_json::Value> = findings
        .iter()
        .map(|(id, pkg, sev, idx, layer)| {
            serde_json::json!({
                "id": id, "advisories": [], "ecosystem": "Debian:12",
                "package": {"ecosystem": "deb", "name": pkg, "version": "1.0-1",
                    "purl": format!("pkg:deb/debian/{pkg}@1.0-1"),
                    "introduced": {"index": idx, "diff_id": dg(layer).to_string()}},
                "state": "fixed", "fixed_versions": ["1.0-2"], "severity": sev,
                "severity_source": "test",
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "schema": "patchline.scan/v1", "tool": {"name": "patchline", "version": "0"},
        "image": {"reference": reference}, "db": {"path": "", "schema_version": 1},
        "packages_scanned": 10, "findings": f, "inventory_complete": true,
    }))
    .unwrap()
}

fn scan(w: &World, image_id: i64, rep: &ScanReport) -> store::Delta {
    let s = w.server.clone();
    w.server
        .db
        .tx(|tx| -> patchline_server::db::Result<store::Delta> {
            let d = store::record_scan(tx, image_id, "pull", now(), rep)?;
            notify::on_delta(tx, &s, &d)?;
            Ok(d)
        })
        .unwrap()
}

/// Runs every runnable `notify` job; returns how many failed.
fn run_notify_jobs(w: &World) -> usize {
    let mut failed = 0;
    while let Some(job) = w
        .server
        .db
        .tx(|tx| jobs::claim(tx, "test", 60, Some(&[jobs::kind::NOTIFY])))
        .unwrap()
    {
        match notify::deliver_job(&w.server, &job) {
            Ok(()) => {
                w.server
                    .db
                    .tx(|tx| jobs::complete(tx, job.id, "test"))
                    .unwrap();
            }
            Err(e) => {
                failed += 1;
                let msg = e.to_string();
                w.server
                    .db
                    .tx(|tx| jobs::fail(tx, &job, "test", &msg))
                    .unwrap();
            }
        }
    }
    failed
}

fn catalog(url: &str, secret_file: &str) -> String {
    format!(
        r#"
images:
  - reference: r.example/platform/base:12
    tier: base
    owner: {{ team: platform }}
  - reference: r.example/apps/one:1
    tier: application
    owner: {{ team: apps }}
    parent: r.example/platform/base:12
  - reference: r.example/apps/two:1
    tier: application
    owner: {{ team: apps }}
    parent: r.example/platform/base:12
  - reference: r.example/web/three:1
    tier: application
    owner: {{ team: web }}
    parent: r.example/platform/base:12
teams:
  - name: platform
    notify: [ {{ webhook: {{ url: "{url}/platform", secret_file: "{secret_file}" }} }} ]
  - name: apps
    notify: [ {{ webhook: {{ url: "{url}/apps", secret_file: "{secret_file}" }} }} ]
    digest: daily
  - name: web
    notify:
      - webhook: {{ url: "http://127.0.0.1:9/hook/SECRETPATH", secret_file: "{secret_file}" }}
      - webhook: {{ url: "{url}/web", secret_file: "{secret_file}" }}
"#
    )
}

#[test]
fn one_fix_to_the_root_team_waiting_lines_below_signed_and_never_twice() {
    let rx = WebhookReceiver::start();
    let url = rx.url.clone();
    let sdir = tempfile::tempdir().unwrap();
    let secret_file = sdir.path().join("hook-secret");
    std::fs::write(&secret_file, "whsec-test-0123456789\n").unwrap();
    let w = world(&catalog(&url, secret_file.to_str().unwrap()));
    let ids = w
        .server
        .db
        .tx(|tx| -> patchline_server::db::Result<Vec<i64>> {
            Ok(vec![
                resolve(tx, "r.example/platform/base:12", &["L0"]),
                resolve(tx, "r.example/apps/one:1", &["L0", "A1"]),
                resolve(tx, "r.example/apps/two:1", &["L0", "A2"]),
                resolve(tx, "r.example/web/three:1", &["L0", "W3"]),
            ])
        })
        .unwrap();
    let crit = |r: &str| report(r, &[("CVE-2024-0001", "libfoo", "critical", 0, "L0")]);
    // The descendants are scanned first, then the base; then everything again.
    for _ in 0..2 {
        scan(&w, ids[1], &crit("r.example/apps/one:1"));
        scan(&w, ids[2], &crit("r.example/apps/two:1"));
        scan(&w, ids[3], &crit("r.example/web/three:1"));
        scan(&w, ids[0], &crit("r.example/platform/base:12"));
    }
    // The same delta replayed (a retried job) adds nothing either.
    let d = w
        .server
        .db
        .tx(|tx| -> patchline_server::db::Result<store::Delta> {
            let mut d = store::record_scan(tx, ids[1], "pull", now(), &report("x", &[]))?;
            d.resolved.clear();
            Ok(d)
        })
        .unwrap();
    assert!(d.new.is_empty());
    let rows: Vec<(String, String, String)> = w
        .server
        .db
        .read(|tx| -> patchline_server::db::Result<_> {
            tx.query(
                "SELECT team, kind, dedupe_key FROM notifications ORDER BY team, dedupe_key",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.string(0)?, r.string(1)?, r.string(2)?)))
            .collect()
        })
        .unwrap();
    let expected = [
        (
            "apps",
            "waiting",
            "waiting:r.example/apps/one:1:CVE-2024-0001:libfoo",
        ),
        (
            "apps",
            "waiting",
            "waiting:r.example/apps/two:1:CVE-2024-0001:libfoo",
        ),
        (
            "platform",
            "fix",
            "fix:r.example/platform/base:12:CVE-2024-0001:libfoo",
        ),
        (
            "web",
            "waiting",
            "waiting:r.example/web/three:1:CVE-2024-0001:libfoo",
        ),
    ];
    let rows_ref: Vec<(&str, &str, &str)> = rows
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(rows_ref, expected);

    // Critical: sent at once. The web team's first webhook is refused (port 9).
    let failed = run_notify_jobs(&w);
    assert_eq!(failed, 1, "the web team's dead channel fails its job");
    let received = rx.received();
    let count = |p: &str| received.iter().filter(|r| r.path == p).count();
    assert_eq!(
        (count("/platform"), count("/apps"), count("/web")),
        (1, 2, 1),
        "{received:?}"
    );
    for r in &received {
        let sig = r.header(webhook::SIGNATURE_HEADER).expect("signed");
        webhook::verify(b"whsec-test-0123456789", sig, &r.body, now(), 300)
            .unwrap_or_else(|e| panic!("{}: {e}", r.path));
        // A tampered body is detected by the receiver's verifier.
        let mut tampered = r.body.clone();
        tampered[5] ^= 1;
        assert_eq!(
            webhook::verify(b"whsec-test-0123456789", sig, &tampered, now(), 300),
            Err(webhook::VerifyError::Mismatch)
        );
    }
    let fix: serde_json::Value = serde_json::from_slice(
        &received
            .iter()
            .find(|r| r.path == "/platform")
            .unwrap()
            .body,
    )
    .unwrap();
    assert_eq!(fix["kind"], "fix");
    assert_eq!(fix["urgent"], true);
    assert_eq!(fix["details"]["descendants"].as_array().unwrap().len(), 3);
    assert!(fix["text"].as_str().unwrap().contains("1.0-2"), "{fix}");
    let waiting: serde_json::Value =
        serde_json::from_slice(&received.iter().find(|r| r.path == "/apps").unwrap().body).unwrap();
    assert!(
        waiting["text"]
            .as_str()
            .unwrap()
            .contains("waiting on r.example/platform/base:12 (platform)"),
        "{waiting}"
    );

    // The failure is logged per channel, without the URL's path or the secret; the
    // channel that worked is not sent again when the job is retried.
    let (deliveries, job_error): (Vec<(String, bool, String)>, String) = w
        .server
        .db
        .read(|tx| -> patchline_server::db::Result<_> {
            let d = tx
                .query(
                    "SELECT d.channel, d.ok, d.status FROM deliveries d JOIN notifications n ON n.id = d.notification_id
                     WHERE n.team = 'web' ORDER BY d.id",
                    &[],
                )?
                .iter()
                .map(|r| Ok((r.string(0)?, r.bool(1)?, r.string(2)?)))
                .collect::<patchline_server::db::Result<Vec<_>>>()?;
            let e = tx
                .query_opt("SELECT error FROM jobs WHERE error IS NOT NULL", &[])?
                .map(|r| r.string(0))
                .transpose()?
                .unwrap_or_default();
            Ok((d, e))
        })
        .unwrap();
    assert_eq!(deliveries.len(), 2, "{deliveries:?}");
    assert!(!deliveries[0].1 && deliveries[1].1, "{deliveries:?}");
    for text in [&deliveries[0].2, &job_error] {
        assert!(
            !text.contains("SECRETPATH") && !text.contains("whsec"),
            "{text}"
        );
        assert!(text.contains("127.0.0.1:9"), "{text}");
    }
    w.server
        .db
        .tx(|tx| tx.exec("UPDATE jobs SET run_after = 0 WHERE state = 'queued'", &[]))
        .unwrap();
    assert_eq!(run_notify_jobs(&w), 1);
    assert_eq!(
        rx.received().iter().filter(|r| r.path == "/web").count(),
        1,
        "the working channel is not sent twice"
    );
    let m = {
        let mut reg = prometheus_client::registry::Registry::default();
        w.server.metrics.register(&mut reg);
        let mut s = String::new();
        prometheus_client::encoding::text::encode(&mut s, &reg).unwrap();
        s
    };
    assert!(m.contains("channel=\"webhook\",outcome=\"failed\""), "{m}");

    // A low finding is not urgent: it waits for the digest, which sends one message.
    let before = rx.received().len();
    scan(
        &w,
        ids[1],
        &report(
            "r.example/apps/one:1",
            &[
                ("CVE-2024-0001", "libfoo", "critical", 0, "L0"),
                ("CVE-2024-0002", "libapp", "low", 1, "A1"),
                ("CVE-2024-0003", "libapp2", "medium", 1, "A1"),
            ],
        ),
    );
    assert_eq!(run_notify_jobs(&w), 0);
    assert_eq!(rx.received().len(), before, "nothing urgent");
    let job = jobs::Job {
        id: 0,
        kind: jobs::kind::DIGEST.into(),
        payload: "{}".into(),
        attempts: 1,
        max_attempts: 1,
    };
    notify::digest_job(&w.server, &job).unwrap();
    notify::digest_job(&w.server, &job).unwrap();
    assert_eq!(run_notify_jobs(&w), 0);
    let after = rx.received();
    let digests: Vec<&Received> = after[before..].iter().collect();
    assert_eq!(digests.len(), 1, "{digests:?}");
    let d: serde_json::Value = serde_json::from_slice(&digests[0].body).unwrap();
    assert_eq!(
        (d["kind"].as_str(), digests[0].path.as_str()),
        (Some("digest"), "/apps")
    );
    let text = d["text"].as_str().unwrap();
    assert!(
        text.contains("CVE-2024-0002") && text.contains("CVE-2024-0003"),
        "{text}"
    );
    let pending = w
        .server
        .db
        .read(|tx| {
            tx.query_i64(
                "SELECT COUNT(*) FROM notifications WHERE state = 'pending'",
                params![],
            )
        })
        .unwrap_or(-1);
    assert!(
        pending <= 1,
        "only the web team's failing message may wait: {pending}"
    );
}
