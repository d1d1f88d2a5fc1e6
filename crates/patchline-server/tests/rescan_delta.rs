//! Delta rescans on real images: the fixtures' Debian 12 base and its child (curl
//! 7.88.1-10+deb12u5 added) are inventoried by patchline-scan and stored; the advisory DB
//! starts from the real Debian security tracker sample, then a feed update adds
//! CVE-2024-2398 for curl (fixed in 7.88.1-10+deb12u6, as curl's own Debian changelog
//! says). Only the child is rematched, its delta holds the new finding, the base gets no
//! new scan; a full rematch equals `patchline scan` of each stored inventory.

use std::path::Path;
use std::sync::Arc;

use patchline_model::Inventory;
use patchline_scan::{Input, ScanOptions, Scanners};
use patchline_server::config::Config;
use patchline_server::db::Db;
use patchline_server::rescan;
use patchline_server::state::Server;
use patchline_server::store::{self, ImageKey};
use patchline_server::{jobs, params};

mod feeds_support;
use feeds_support::{import_tracker, tracker_with_curl};

const TRACKER: &str = "feeds/debian-tracker/debian_security_tracker_mock.json";

fn inventory(reference: &str) -> Inventory {
    let opts = ScanOptions {
        scanners: Scanners {
            vuln: false,
            checks: false,
            secrets: false,
        },
        ..ScanOptions::default()
    };
    patchline_scan::scan(
        Input::Image(reference.into()),
        &opts,
        &patchline_inventory::NoProgress,
    )
    .unwrap()
    .inventory
}

fn scans_of(db: &Db, image: i64) -> i64 {
    db.read(|tx| {
        tx.query_i64(
            "SELECT COUNT(*) FROM scans WHERE image_id = ?",
            params![image],
        )
    })
    .unwrap()
}

fn open_findings(db: &Db, image: i64) -> Vec<(String, String, String)> {
    db.read(|tx| -> patchline_server::db::Result<Vec<(String, String, String)>> {
        tx.query(
            "SELECT vuln_id, package, version FROM findings WHERE image_id = ? AND state = 'open' ORDER BY 1, 2, 3",
            params![image],
        )?
        .iter()
        .map(|r| Ok((r.string(0)?, r.string(1)?, r.string(2)?)))
        .collect()
    })
    .unwrap()
}

fn scan_findings(inv: &Inventory, adb: &Path) -> Vec<(String, String, String)> {
    let opts = ScanOptions {
        db: Some(adb.to_path_buf()),
        ..ScanOptions::default()
    };
    let scan = patchline_scan::scan(
        Input::Inventory(Box::new(inv.clone())),
        &opts,
        &patchline_inventory::NoProgress,
    )
    .unwrap();
    let mut v: Vec<_> = scan
        .report
        .findings
        .iter()
        .map(|f| {
            (
                f.id.clone(),
                f.package.name.clone(),
                f.package.version.clone(),
            )
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn a_feed_update_rematches_only_the_images_it_touches() {
    let Some(fixtures) = patchline_test_support::fixtures() else {
        return;
    };
    let Some(sample) = patchline_test_support::shared_data_path(TRACKER) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let adb_path = dir.path().join("advisories.sqlite");
    import_tracker(&adb_path, &sample);
    let config = Config {
        data_dir: Some(dir.path().to_path_buf()),
        db: Some(adb_path.clone()),
        ..Config::default()
    };
    let db = Db::open(
        &format!("sqlite:{}", dir.path().join("store.db").display()),
        4,
    )
    .unwrap();
    db.migrate().unwrap();
    let server = Arc::new(Server::new(db, config, false, adb_path.clone()));
    let db = &server.db;

    let layout = fixtures.join("layout");
    let base_inv = inventory(&format!("oci:{}:base", layout.display()));
    let child_inv = inventory(&format!("oci:{}:child", layout.display()));
    assert!(child_inv.packages.iter().any(|p| p.name == "curl"));
    assert!(!base_inv.packages.iter().any(|p| p.name == "curl"));
    // Keyed as the advisory DB keys them: the release's ecosystem and source names.
    let keys = rescan::advisory_keys(&child_inv);
    for k in [("Debian:12", "curl"), ("Debian:12", "glibc")] {
        assert!(keys.contains(&(k.0.to_string(), k.1.to_string())), "{k:?}");
    }
    assert!(!keys.iter().any(|k| k.1 == "libc6" || k.1 == "libcurl4"));
    let mut ids = Vec::new();
    for (name, inv) in [("base", &base_inv), ("child", &child_inv)] {
        let id = db
            .tx(|tx| {
                let id = store::upsert_image(
                    tx,
                    &ImageKey {
                        digest: format!("sha256:{name}"),
                        registry: "registry.test".into(),
                        repository: name.into(),
                        reference: format!("registry.test/{name}:1"),
                        source: "registry".into(),
                    },
                )?;
                store::save_inventory(tx, id, inv)?;
                Ok::<_, patchline_server::db::DbError>(id)
            })
            .unwrap();
        ids.push(id);
    }
    let (base, child) = (ids[0], ids[1]);

    // The first watch of this store: the generation it last matched is unknown, so the
    // rescan rematches everything.
    let job = rescan::watch(&server).unwrap();
    assert!(job.is_some());
    assert_eq!(rescan::watch(&server).unwrap(), None, "one live rescan");
    let s = rescan::rescan(&server, None).unwrap();
    assert!(s.full);
    assert_eq!((s.images, s.indexed), (2, 2));
    // What was stored is what `patchline scan` of each inventory finds.
    for (id, inv) in [(base, &base_inv), (child, &child_inv)] {
        assert_eq!(open_findings(db, id), scan_findings(inv, &adb_path));
    }
    assert!(!open_findings(db, child)
        .iter()
        .any(|f| f.0 == "CVE-2024-2398"));
    let g1 = patchline_advisory::AdvisoryDb::open(&adb_path)
        .unwrap()
        .generation()
        .unwrap();
    let job_done = |server: &Server| {
        server
            .db
            .tx(|tx| {
                tx.exec(
                    "UPDATE jobs SET state = 'done' WHERE kind = ?",
                    params![jobs::kind::RESCAN],
                )
            })
            .unwrap();
    };
    job_done(&server);
    assert_eq!(rescan::watch(&server).unwrap(), None, "nothing new");

    // The feed update: curl gains CVE-2024-2398.
    let updated = dir.path().join("tracker.json");
    std::fs::write(&updated, tracker_with_curl(&sample)).unwrap();
    import_tracker(&adb_path, &updated);
    let adb = patchline_advisory::AdvisoryDb::open(&adb_path).unwrap();
    assert_eq!(adb.generation().unwrap(), g1 + 1);
    assert_eq!(
        adb.changed_since(g1).unwrap(),
        Some(vec![("Debian:12".to_string(), "curl".to_string())])
    );
    drop(adb);
    let job = rescan::watch(&server).unwrap().expect("a rescan queued");
    let payload: rescan::RescanPayload = server
        .db
        .read(|tx| {
            tx.query_one("SELECT payload FROM jobs WHERE id = ?", params![job])?
                .string(0)
        })
        .map(|p| serde_json::from_str(&p).unwrap())
        .unwrap();
    assert_eq!((payload.since, payload.to), (Some(g1), g1 + 1));

    let base_scans = scans_of(db, base);
    let child_scans = scans_of(db, child);
    let s = rescan::rescan(&server, payload.since).unwrap();
    assert!(!s.full);
    assert_eq!((s.changed_keys, s.images, s.indexed), (1, 1, 0), "{s:?}");
    // One finding per binary of source curl: curl and libcurl4.
    assert_eq!((s.new_findings, s.with_changes), (2, 1), "{s:?}");
    assert_eq!(scans_of(db, base), base_scans, "the base was not rematched");
    assert_eq!(scans_of(db, child), child_scans + 1);
    let kind: String = db
        .read(|tx| {
            tx.query_one(
                "SELECT kind FROM scans WHERE image_id = ? ORDER BY id DESC LIMIT 1",
                params![child],
            )?
            .string(0)
        })
        .unwrap();
    assert_eq!(kind, "rescan");
    // The delta rematched curl's packages only, yet the scan's counts are the image's.
    let (counted, open): (i64, i64) = db
        .read(|tx| -> patchline_server::db::Result<(i64, i64)> {
            let r = tx.query_one(
                "SELECT critical + high + medium + low + unknown FROM scans WHERE image_id = ? ORDER BY id DESC LIMIT 1",
                params![child],
            )?;
            let open = tx.query_i64(
                "SELECT COUNT(*) FROM findings WHERE image_id = ? AND state = 'open'",
                params![child],
            )?;
            Ok((r.i64(0)?, open))
        })
        .unwrap();
    assert_eq!(counted, open);
    let events: i64 = db
        .read(|tx| {
            tx.query_i64(
                "SELECT COUNT(*) FROM finding_events e JOIN findings f ON f.id = e.finding_id
                 WHERE f.image_id = ? AND f.vuln_id = 'CVE-2024-2398' AND e.kind = 'new'",
                params![child],
            )
        })
        .unwrap();
    assert_eq!(events, 2);
    let curl: Vec<_> = open_findings(db, child)
        .into_iter()
        .filter(|f| f.0 == "CVE-2024-2398")
        .collect();
    let v = "7.88.1-10+deb12u5".to_string();
    assert_eq!(
        curl,
        vec![
            ("CVE-2024-2398".into(), "curl".into(), v.clone()),
            ("CVE-2024-2398".into(), "libcurl4".into(), v),
        ]
    );
    assert_eq!(
        open_findings(db, child),
        scan_findings(&child_inv, &adb_path)
    );
}

/// `POST /api/v1/feeds`: a security token's upload is imported in place and queues the
/// rescan; a viewer is refused; a document of no feed is a 400 that does not leak the
/// temporary file's name; the previous DB stays usable.
#[test]
fn feed_upload_updates_the_db_and_queues_the_rescan() {
    let Some(sample) = patchline_test_support::shared_data_path(TRACKER) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let adb_path = dir.path().join("advisories.sqlite");
    import_tracker(&adb_path, &sample);
    let config = Config {
        data_dir: Some(dir.path().to_path_buf()),
        db: Some(adb_path.clone()),
        ..Config::default()
    };
    let db = Db::open(
        &format!("sqlite:{}", dir.path().join("store.db").display()),
        4,
    )
    .unwrap();
    db.migrate().unwrap();
    let server = Arc::new(Server::new(db, config, false, adb_path.clone()));
    let (security, viewer) = server
        .db
        .tx(|tx| {
            use patchline_server::auth::{create_token, Role};
            let s = create_token(tx, "sec", Role::Security, None, None, "test")?.1;
            let v = create_token(tx, "view", Role::Viewer, None, None, "test")?.1;
            Ok::<_, patchline_server::db::DbError>((s, v))
        })
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/api/v1/feeds", listener.local_addr().unwrap());
    let (router, _) = rescan::routes().split_for_parts();
    let app = router.with_state(server.clone());
    rt.spawn(async move { axum::serve(listener, app).await });
    // A rescan for the first watch is out of the way: the upload's is the one counted.
    rescan::watch(&server).unwrap();
    server
        .db
        .tx(|tx| tx.exec("UPDATE jobs SET state = 'done'", &[]))
        .unwrap();
    let g1 = patchline_advisory::AdvisoryDb::open(&adb_path)
        .unwrap()
        .generation()
        .unwrap();

    let client = reqwest::blocking::Client::new();
    let body = tracker_with_curl(&sample);
    let r = client
        .post(format!("{url}?source=debian-tracker"))
        .bearer_auth(&viewer)
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);

    let r = client
        .post(format!("{url}?source=debian-tracker"))
        .bearer_auth(&security)
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().unwrap();
    assert_eq!(v["generation"], g1 + 1, "{v}");
    assert!(v["rescan_job"].as_i64().is_some(), "{v}");
    assert!(v["advisories"].as_u64().unwrap() > 0, "{v}");
    let adb = patchline_advisory::AdvisoryDb::open(&adb_path).unwrap();
    assert_eq!(
        adb.changed_since(g1).unwrap(),
        Some(vec![("Debian:12".to_string(), "curl".to_string())])
    );
    drop(adb);

    let r = client
        .post(format!("{url}?source=debian-tracker"))
        .bearer_auth(&security)
        .body(r#"{"what": 1}"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().unwrap();
    assert!(
        text.contains("the upload") && !text.contains("feed-uploads"),
        "{text}"
    );
    let r = client
        .post(format!("{url}?source=../x"))
        .bearer_auth(&security)
        .body("{}")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let adb = patchline_advisory::AdvisoryDb::open(&adb_path).unwrap();
    assert_eq!(adb.generation().unwrap(), g1 + 1);
    assert_eq!(adb.lookup("Debian:12", "curl").unwrap().len(), 1);
    // Nothing left behind in the upload directory.
    let left: Vec<_> = std::fs::read_dir(dir.path().join("feed-uploads"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}
