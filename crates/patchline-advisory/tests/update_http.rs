//! `db update` through its real HTTP code path (patchline-http) against a server of the test's own
//! on 127.0.0.1, serving the real samples (and zips built from them) under the official
//! URL paths, as a mirror would: first download, 304, a resumed download, a 500, a
//! truncated body; the database checked after each step.

mod common;

use std::path::Path;

use common::*;
use patchline_advisory::update::{update, Outcome, UpdateOptions, UpdateReport};
use patchline_advisory::AdvisoryDb;
use patchline_test_support::shared_data;

const GO: &str = "/Go/all.zip";
const TRACKER: &str = "/tracker/data/json";
const KEV: &str = "/sites/default/files/feeds/known_exploited_vulnerabilities.json";
const EPSS: &str = "/epss_scores-current.csv.gz";

fn outcome<'a>(r: &'a UpdateReport, name: &str) -> &'a Outcome {
    &r.sources.iter().find(|s| s.name == name).unwrap().outcome
}

fn run(server: &Server, db: &Path) -> UpdateReport {
    let mut o = UpdateOptions::new(db.to_path_buf());
    o.mirror = Some(format!("{}/", server.base));
    o.sources = vec![
        "osv-Go".into(),
        "debian-tracker".into(),
        "kev".into(),
        "epss".into(),
    ];
    o.timeout = std::time::Duration::from_secs(10);
    update(&o, &mut |_| {}).unwrap()
}

fn source_counts(db: &Path) -> Vec<(String, u64, u64)> {
    AdvisoryDb::open(db)
        .unwrap()
        .sources()
        .unwrap()
        .into_iter()
        .map(|s| (s.name, s.advisories, s.enrichments))
        .collect()
}

#[test]
fn update_downloads_revalidates_resumes_and_survives_failures() {
    let Some(d) = shared_data() else { return };
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("advisories.sqlite");
    let go_files = json_files(&d.join("osv/Go"));
    let go_zip = zip_of(&go_files);
    let kev_path = d.join("feeds/kev/known_exploited_vulnerabilities.json");
    let kev_n = json(&kev_path)["vulnerabilities"].as_array().unwrap().len() as u64;
    let epss =
        gzip(epss_csv(&[("CVE-2023-4863", 0.9, 0.99), ("CVE-2024-3094", 0.8, 0.98)]).as_bytes());

    let server = Server::start();
    server.put(GO, go_zip.clone(), "go-1");
    server.put(
        TRACKER,
        std::fs::read(d.join("feeds/debian-tracker/debian_security_tracker_mock.json")).unwrap(),
        "tracker-1",
    );
    server.put(KEV, std::fs::read(&kev_path).unwrap(), "kev-1");
    server.put(EPSS, epss, "epss-1");

    // 1. First download: everything is fetched and imported.
    let r = run(&server, &db);
    assert!(r.committed && r.failures().is_empty(), "{r:?}");
    for s in &r.sources {
        assert!(
            matches!(
                s.outcome,
                Outcome::Updated {
                    resumed_from: 0,
                    ..
                }
            ),
            "{s:?}"
        );
    }
    let first = source_counts(&db);
    let expected = vec![
        ("debian-tracker".to_string(), 3, 0),
        ("epss".to_string(), 0, 2),
        ("kev".to_string(), 0, kev_n),
        ("osv-Go".to_string(), go_files.len() as u64, 0),
    ];
    assert_eq!(first, expected);
    let req = &server.take_log(GO)[0];
    assert_eq!(req.header("if-none-match"), None);
    assert_eq!(req.header("range"), None);
    let adb = AdvisoryDb::open(&db).unwrap();
    let go_src = adb
        .sources()
        .unwrap()
        .into_iter()
        .find(|s| s.name == "osv-Go")
        .unwrap();
    assert_eq!(go_src.etag.as_deref(), Some("\"go-1\""));
    assert_eq!(
        go_src.url.as_deref(),
        Some(format!("{}{GO}", server.base).as_str())
    );
    assert_eq!(
        AdvisoryDb::open(&db)
            .unwrap()
            .enrichment_of("CVE-2023-4863")
            .unwrap()
            .unwrap()
            .epss
            .unwrap()
            .score,
        0.9
    );

    // 2. Nothing changed: conditional requests, 304s, records kept, fetch time moved.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = run(&server, &db);
    for s in &r.sources {
        assert_eq!(s.outcome, Outcome::NotModified, "{}", s.name);
    }
    let req = &server.take_log(GO)[0];
    assert_eq!(req.header("if-none-match"), Some("\"go-1\""));
    assert!(req.header("if-modified-since").is_some());
    assert_eq!(source_counts(&db), first);
    let go_src2 = AdvisoryDb::open(&db)
        .unwrap()
        .sources()
        .unwrap()
        .into_iter()
        .find(|s| s.name == "osv-Go")
        .unwrap();
    assert!(go_src2.fetched_at > go_src.fetched_at, "{go_src2:?}");

    // 3. A new Go archive whose download breaks off: the source fails, keeps its previous
    //    records, and the partial file waits for the next run.
    let mut new_files = go_files.clone();
    let extra = t.path().join("GO-2099-0001.json");
    std::fs::write(
        &extra,
        r#"{"id":"GO-2099-0001","modified":"2099-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"Go","name":"example.com/new"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]}]}"#,
    )
    .unwrap();
    new_files.push(extra);
    let new_zip = zip_of(&new_files);
    server.put(GO, new_zip.clone(), "go-2");
    let cut = new_zip.len() / 3;
    server.fault(GO, Fault::Truncate(cut));
    let reader = AdvisoryDb::open(&db).unwrap();
    let r = run(&server, &db);
    match outcome(&r, "osv-Go") {
        Outcome::Failed(m) => assert!(m.contains("truncated") || m.contains("interrupted"), "{m}"),
        o => panic!("{o:?}"),
    }
    assert_eq!(outcome(&r, "kev"), &Outcome::NotModified);
    assert!(r.committed);
    assert_eq!(source_counts(&db), first, "previous Go records kept");
    assert!(AdvisoryDb::open(&db)
        .unwrap()
        .lookup("Go", "example.com/new")
        .unwrap()
        .is_empty());
    let part = t.path().join("downloads/osv-Go.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), cut as u64);
    server.take_log(GO);

    // 4. The next run resumes with Range + If-Range and gets the rest (206).
    let r = run(&server, &db);
    match outcome(&r, "osv-Go") {
        Outcome::Updated {
            resumed_from,
            bytes,
            ..
        } => {
            assert_eq!(*resumed_from, cut as u64);
            assert_eq!(*bytes, new_zip.len() as u64);
        }
        o => panic!("{o:?}"),
    }
    let req = &server.take_log(GO)[0];
    assert_eq!(req.header("range"), Some(format!("bytes={cut}-").as_str()));
    assert_eq!(req.header("if-range"), Some("\"go-2\""));
    let adb = AdvisoryDb::open(&db).unwrap();
    assert_eq!(adb.lookup("Go", "example.com/new").unwrap().len(), 1);
    assert!(!part.exists(), "the completed download is cleaned up");
    // A reader opened before the swaps still reads its own version.
    assert!(reader.lookup("Go", "example.com/new").unwrap().is_empty());
    assert_eq!(
        reader.lookup("Go", "stdlib").unwrap().len(),
        adb.lookup("Go", "stdlib").unwrap().len()
    );

    // 5. A server error: that source fails and keeps its records; the others go on.
    server.put(
        KEV,
        b"{\"catalogVersion\":\"2\",\"vulnerabilities\":[]}".to_vec(),
        "kev-2",
    );
    server.fault(KEV, Fault::Status(500));
    let before = source_counts(&db);
    let r = run(&server, &db);
    match outcome(&r, "kev") {
        Outcome::Failed(m) => assert!(m.contains("HTTP 500"), "{m}"),
        o => panic!("{o:?}"),
    }
    assert_eq!(r.failures().len(), 1);
    assert_eq!(source_counts(&db), before);
    assert!(AdvisoryDb::open(&db)
        .unwrap()
        .enrichment_of("CVE-2023-4863")
        .unwrap()
        .is_some());

    // 6. A partial download whose resource changed meanwhile: If-Range does not match,
    //    the server sends the whole new body (200) and the download restarts.
    server.put(TRACKER, b"{\"curl\":{\"CVE-2023-38545\":{\"releases\":{\"bookworm\":{\"status\":\"resolved\",\"fixed_version\":\"7.88.1-10+deb12u4\",\"urgency\":\"high\"}}}}}".to_vec(), "tracker-2");
    server.fault(TRACKER, Fault::Truncate(20));
    let r = run(&server, &db);
    assert!(matches!(outcome(&r, "debian-tracker"), Outcome::Failed(_)));
    server.put(TRACKER, b"{\"curl\":{\"CVE-2023-38546\":{\"releases\":{\"bookworm\":{\"status\":\"resolved\",\"fixed_version\":\"7.88.1-10+deb12u4\",\"urgency\":\"low\"}}}}}".to_vec(), "tracker-3");
    server.take_log(TRACKER);
    let r = run(&server, &db);
    assert!(
        matches!(
            outcome(&r, "debian-tracker"),
            Outcome::Updated {
                resumed_from: 0,
                ..
            }
        ),
        "{r:?}"
    );
    assert_eq!(
        server.take_log(TRACKER)[0].header("if-range"),
        Some("\"tracker-2\"")
    );
    let ids: Vec<String> = AdvisoryDb::open(&db)
        .unwrap()
        .lookup("Debian:12", "curl")
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, ["DEBIAN-CVE-2023-38546"]);

    // 7. Bad content from the server: the source fails, the database stays usable.
    server.put(EPSS, b"this is not a feed".to_vec(), "epss-2");
    let before = source_counts(&db);
    let r = run(&server, &db);
    match outcome(&r, "epss") {
        Outcome::Failed(m) => assert!(m.contains("unrecognised"), "{m}"),
        o => panic!("{o:?}"),
    }
    assert_eq!(source_counts(&db), before);

    // 8. Every source failing writes nothing.
    for p in [GO, TRACKER, KEV, EPSS] {
        server.fault(p, Fault::Status(503));
    }
    let bytes = std::fs::read(&db).unwrap();
    let r = run(&server, &db);
    assert!(!r.committed && r.failures().len() == 4);
    assert_eq!(std::fs::read(&db).unwrap(), bytes);
}

#[test]
fn unknown_sources_and_bad_mirrors_are_usage_errors() {
    let t = tempfile::tempdir().unwrap();
    let mut o = UpdateOptions::new(t.path().join("db.sqlite"));
    o.sources = vec!["osv-Nowhere".into()];
    let e = update(&o, &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("unknown source \"osv-Nowhere\""), "{e}");
    o.sources = vec!["kev".into()];
    o.mirror = Some("ftp://mirror".into());
    assert!(update(&o, &mut |_| {}).is_err());
    assert!(!t.path().join("db.sqlite").exists());
}
