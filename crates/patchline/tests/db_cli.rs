//! `patchline db import|update|status|sources` end to end: exit codes, messages, and the
//! database left intact on bad input. `db update` runs against a local HTTP server.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::*;

fn ok(args: &[&str]) -> String {
    let out = patchline(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "patchline {args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn exit2(args: &[&str], needle: &str) -> String {
    let out = patchline(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "patchline {args:?}: {err}");
    assert!(
        err.contains(needle),
        "patchline {args:?}: {err:?} lacks {needle:?}"
    );
    assert!(!err.contains("panicked"), "{err}");
    err
}

fn status_json(db: &str) -> serde_json::Value {
    patchline_json(&["db", "status", "--db", db, "--format", "json"])
}

fn count_json_files(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count() as u64
}

#[test]
fn import_and_status() {
    let Some(data) = shared_data() else { return };
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("adv.sqlite");
    let db_s = db.to_str().unwrap();
    let go = data.join("osv/Go");
    let tracker = data.join("feeds/debian-tracker/debian_security_tracker_mock.json");
    let kev = data.join("feeds/kev/known_exploited_vulnerabilities.json");
    let kev_n = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&kev).unwrap()).unwrap()
        ["vulnerabilities"]
        .as_array()
        .unwrap()
        .len() as u64;
    let go_n = count_json_files(&go);

    exit2(&["db", "status", "--db", db_s], "no advisory database");

    let out = ok(&[
        "db",
        "import",
        "--db",
        db_s,
        go.to_str().unwrap(),
        tracker.to_str().unwrap(),
        kev.to_str().unwrap(),
    ]);
    assert!(out.contains(&format!("{go_n} advisories")), "{out}");
    assert!(
        out.contains(&format!("{kev_n} enrichment records")),
        "{out}"
    );

    let s = status_json(db_s);
    assert_eq!(s["advisories"], go_n + 3);
    assert_eq!(s["enrichments"], kev_n);
    assert_eq!(s["schema_version"], 2);
    assert_eq!(s["stale"], false);
    assert_eq!(s["sources"].as_array().unwrap().len(), 3);

    let table = ok(&["db", "status", "--db", db_s]);
    assert!(
        table.contains("debian-tracker") && table.contains("ADVISORIES"),
        "{table}"
    );

    // Stale: any age is over a zero limit.
    let out = patchline(&["db", "status", "--db", db_s, "--max-age", "0"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("patchline db update"),
        "{err}"
    );

    // Re-importing a source replaces it.
    ok(&["db", "import", "--db", db_s, go.to_str().unwrap()]);
    assert_eq!(status_json(db_s)["advisories"], go_n + 3);

    // Bad input: exit 2, the file and field named, the database unchanged.
    let before = std::fs::read(&db).unwrap();
    let bad = t.path().join("bad.json");
    std::fs::write(&bad, r#"{"id": "X-1", "modified": "x", "affected": [{"package": {"ecosystem": "npm", "name": 3}}]}"#).unwrap();
    let err = exit2(
        &["db", "import", "--db", db_s, bad.to_str().unwrap()],
        "bad.json",
    );
    assert!(err.contains("affected[0].package.name"), "{err}");
    let junk = t.path().join("junk.bin");
    std::fs::write(&junk, b"\x00\x01\x02binary").unwrap();
    exit2(
        &["db", "import", "--db", db_s, junk.to_str().unwrap()],
        "unrecognised feed format",
    );
    exit2(
        &["db", "import", "--db", db_s, "/nonexistent/feed.json"],
        "/nonexistent/feed.json",
    );
    let cut = t.path().join("cut.zip");
    std::fs::write(&cut, b"PK\x03\x04 not really a zip").unwrap();
    exit2(
        &["db", "import", "--db", db_s, cut.to_str().unwrap()],
        "cut.zip",
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "database untouched");

    let out = ok(&["db", "sources"]);
    assert!(
        out.contains("osv-Debian") && out.contains("debian-tracker") && out.contains("epss"),
        "{out}"
    );
}

/// Path → (body, etag); the paths listed in `fail` answer 500.
#[derive(Default)]
struct Site {
    files: BTreeMap<String, (Vec<u8>, String)>,
    fail: Vec<String>,
}

fn serve(site: Arc<Mutex<Site>>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let mut r = BufReader::new(c.try_clone().unwrap());
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut inm = None;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    if k.eq_ignore_ascii_case("if-none-match") {
                        inm = Some(v.trim().to_string());
                    }
                }
            }
            let s = site.lock().unwrap();
            let (status, etag, body): (&str, String, Vec<u8>) = if s.fail.contains(&path) {
                ("500 Oops", String::new(), b"oops".to_vec())
            } else {
                match s.files.get(&path) {
                    Some((b, e)) if inm.as_deref() == Some(e.as_str()) => {
                        ("304 Not Modified", e.clone(), Vec::new())
                    }
                    Some((b, e)) => ("200 OK", e.clone(), b.clone()),
                    None => ("404 Not Found", String::new(), Vec::new()),
                }
            };
            drop(s);
            let mut c = c;
            let _ = write!(
                c,
                "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\nETag: {etag}\r\n\r\n",
                body.len()
            );
            let _ = c.write_all(&body);
        }
    });
    base
}

#[test]
fn update_from_a_mirror() {
    let Some(data) = shared_data() else { return };
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("adv.sqlite");
    let db_s = db.to_str().unwrap();
    let site = Arc::new(Mutex::new(Site::default()));
    {
        let mut s = site.lock().unwrap();
        // Formats are told by content: one OSV record served where the zip would be.
        s.files.insert(
            "/Go/all.zip".into(),
            (
                std::fs::read(data.join("osv/Go/GO-2022-0969.json")).unwrap(),
                "\"g1\"".into(),
            ),
        );
        s.files.insert(
            "/tracker/data/json".into(),
            (
                std::fs::read(data.join("feeds/debian-tracker/debian_security_tracker_mock.json"))
                    .unwrap(),
                "\"t1\"".into(),
            ),
        );
        s.files.insert(
            "/sites/default/files/feeds/known_exploited_vulnerabilities.json".into(),
            (
                std::fs::read(data.join("feeds/kev/known_exploited_vulnerabilities.json")).unwrap(),
                "\"k1\"".into(),
            ),
        );
    }
    let base = serve(site.clone());
    let args = [
        "db",
        "update",
        "--db",
        db_s,
        "--mirror",
        &base,
        "--source",
        "osv-Go",
        "--source",
        "debian-tracker",
        "--source",
        "kev",
    ];
    let out = ok(&args);
    assert_eq!(out.matches(": updated").count(), 3, "{out}");
    let first = status_json(db_s);
    assert_eq!(first["advisories"], 4);

    let out = ok(&args);
    assert_eq!(out.matches("not modified").count(), 3, "{out}");

    site.lock()
        .unwrap()
        .fail
        .push("/sites/default/files/feeds/known_exploited_vulnerabilities.json".into());
    let err = exit2(&args, "kev");
    assert!(err.contains("1 of 3 sources failed"), "{err}");
    let after = status_json(db_s);
    assert_eq!(after["advisories"], first["advisories"]);
    assert_eq!(after["enrichments"], first["enrichments"]);

    exit2(
        &["db", "update", "--db", db_s, "--source", "no-such-feed"],
        "unknown source",
    );
}

#[test]
fn a_second_import_says_it_waits_for_the_lock() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("advisories.sqlite");
    // Hold the writers' lock as another `db import` would.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(t.path().join("advisories.sqlite.lock"))
        .unwrap();
    lock.lock().unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_patchline"))
        .args(["db", "import", "--db", db.to_str().unwrap(), DEBIAN_FEED])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    lock.unlock().unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("waiting for") && stderr.contains("advisories.sqlite.lock"),
        "{stderr}"
    );
}
