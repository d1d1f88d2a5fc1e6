//! Watching a real registry: Debian's `docker-registry` (Distribution 2.8) sends its push
//! and delete notifications to a running server; skopeo pushes the fixture images (the
//! debootstrap base and its curl child); the images' inventories, findings (against a
//! real Debian tracker extract) and catalog entries land in the store. The secret is
//! enforced, a replayed envelope changes nothing, a Harbor webhook and a foreign registry's
//! event are handled, and a sync from scratch finds images pushed while no hook listened
//! (and resumes from its cursor).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use patchline_server::config::{Config, Hooks, RegistryConfig, Schedules};
use patchline_server::params;
use patchline_server::registry::sync::{cursor_key, sync, SyncPayload};
use patchline_server::serve::{start, Running, ServeOptions};
use patchline_server::store;
use patchline_test_support::fixtures;
use patchline_test_support::services::free_port;
use patchline_test_support::services::registry::{Notify, RegistryService};

mod feeds_support;
use feeds_support::advisory_db;

const SECRET: &str = "hook-s3cret-for-tests";
const CVE: &str = "CVE-2024-11053";

fn quiet_schedules() -> Schedules {
    Schedules {
        sync: "off".into(),
        db_update: "off".into(),
        db_watch: "off".into(),
        digest: "off".into(),
        sla_check: "off".into(),
        retention: "off".into(),
    }
}

fn config(dir: &Path, port: u16, registry: &str, db: PathBuf) -> Config {
    let secret = dir.join("hook-secret");
    std::fs::write(&secret, format!("{SECRET}\n")).unwrap();
    Config {
        listen: format!("127.0.0.1:{port}"),
        data_dir: Some(dir.join("data")),
        db: Some(db),
        workers: 1,
        hooks: Hooks {
            secret_file: Some(secret),
            ..Hooks::default()
        },
        registries: vec![RegistryConfig::from_url(registry)],
        schedules: quiet_schedules(),
        ..Config::default()
    }
}

fn count(r: &Running, sql: &str) -> i64 {
    r.server.db.read(|tx| tx.query_i64(sql, &[])).unwrap()
}

fn digest_of(r: &Running, host: &str, repo: &str, tag: &str) -> Option<String> {
    r.server
        .db
        .read(|tx| {
            tx.query_opt(
                "SELECT digest FROM tags WHERE registry = ? AND repository = ? AND tag = ?",
                params![host, repo, tag],
            )
        })
        .unwrap()
        .map(|row| row.string(0).unwrap())
}

fn status(r: &Running, digest: &str) -> Option<(String, Option<String>)> {
    r.server
        .db
        .read(|tx| {
            tx.query_opt(
                "SELECT scan_status, scan_error FROM images WHERE digest = ?",
                params![digest],
            )
        })
        .unwrap()
        .map(|row| (row.string(0).unwrap(), row.opt_string(1).unwrap()))
}

/// Polls `f` until it gives a value or `secs` pass.
fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < end,
            "timed out after {secs} s waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_scanned(r: &Running, digest: &str) {
    wait_for(&format!("the scan of {digest}"), 600, || {
        match status(r, digest) {
            Some((s, _)) if s == "scanned" => Some(()),
            Some((s, e)) if s == "failed" => panic!("scan of {digest} failed: {e:?}"),
            _ => None,
        }
    })
}

fn open_findings(r: &Running, digest: &str) -> Vec<(String, String)> {
    r.server
        .db
        .read(|tx| {
            tx.query(
                "SELECT f.vuln_id, f.package FROM findings f JOIN images i ON i.id = f.image_id
                 WHERE i.digest = ? AND f.state = 'open' ORDER BY 1, 2",
                params![digest],
            )
        })
        .unwrap()
        .iter()
        .map(|row| (row.string(0).unwrap(), row.string(1).unwrap()))
        .collect()
}

/// Everything a replay must leave alone.
fn snapshot(r: &Running) -> Vec<i64> {
    [
        "SELECT COUNT(*) FROM jobs",
        "SELECT COUNT(*) FROM scans",
        "SELECT COUNT(*) FROM tag_history",
        "SELECT COUNT(*) FROM findings",
        "SELECT COUNT(*) FROM finding_events",
        "SELECT COUNT(*) FROM images",
        "SELECT COUNT(*) FROM catalog_entries",
    ]
    .iter()
    .map(|q| count(r, q))
    .collect()
}

fn post(
    url: &str,
    auth: Option<&str>,
    content_type: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::blocking::Client::new()
        .post(format!("{url}/api/v1/hooks/registry"))
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(serde_json::Value::Null))
}

/// A manifest push as Distribution 2.8 describes it (the shape of the real ones this
/// registry sent), with a blob push beside it.
fn push_envelope(host: &str, repo: &str, tag: &str, digest: &str) -> serde_json::Value {
    serde_json::json!({"events": [
        {"id": "b", "timestamp": "2026-12-07T20:00:00Z", "action": "push",
         "target": {"mediaType": "application/octet-stream", "digest": digest, "size": 1,
                    "repository": repo, "url": format!("http://{host}/v2/{repo}/blobs/{digest}")},
         "request": {"host": host, "method": "PUT"}},
        {"id": "m", "timestamp": "2026-12-07T20:00:00Z", "action": "push",
         "target": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
                    "size": 700, "repository": repo, "tag": tag,
                    "url": format!("http://{host}/v2/{repo}/manifests/{digest}")},
         "request": {"host": host, "method": "PUT", "useragent": "skopeo"}},
    ]})
}

const EVENTS_V1: &str = "application/vnd.docker.distribution.events.v1+json";

#[test]
fn push_events_are_scanned_and_stored() {
    let Some(fx) = fixtures() else { return };
    let t = tempfile::tempdir().unwrap();
    let Some(db) = advisory_db(t.path()) else {
        return;
    };
    let port = free_port();
    let notify = Notify {
        url: format!("http://127.0.0.1:{port}/api/v1/hooks/registry"),
        secret: SECRET.into(),
    };
    let Some(reg) = RegistryService::start(Some(&notify)) else {
        return;
    };
    let host = reg.host.clone();
    let running = start(
        config(t.path(), port, &reg.url(), db),
        ServeOptions::default(),
    )
    .unwrap();
    let url = running.url();
    let layout = fx.join("layout");

    let pushed = Instant::now();
    reg.push(&layout, "base", "platform/base:12");
    reg.push(&layout, "child", "apps/fetch:1.4.2");
    let base = wait_for("the base's tag from a push event", 60, || {
        digest_of(&running, &host, "platform/base", "12")
    });
    let child = wait_for("the child's tag from a push event", 60, || {
        digest_of(&running, &host, "apps/fetch", "1.4.2")
    });
    wait_scanned(&running, &base);
    wait_scanned(&running, &child);
    eprintln!(
        "push to findings for both images: {:.1} s",
        pushed.elapsed().as_secs_f64()
    );

    // The child's curl is the real vulnerable build; the base has no curl.
    let child_findings = open_findings(&running, &child);
    assert!(
        child_findings.contains(&(CVE.to_string(), "curl".to_string())),
        "{child_findings:?}"
    );
    assert!(
        !open_findings(&running, &base)
            .iter()
            .any(|(_, p)| p == "curl"),
        "the base has no curl"
    );
    // One row per distinct layer: the base layer is shared.
    assert_eq!(count(&running, "SELECT COUNT(*) FROM layers"), 2);
    assert_eq!(
        count(&running, "SELECT COUNT(*) FROM scans WHERE kind = 'pull'"),
        2
    );
    // One layer read per distinct diff_id (one worker: no two reads race).
    let (read, cached) = patchline_server::registry::scan::layer_counts(&running.server.data_dir);
    assert_eq!((read, cached), (2, 1), "layers read, layers from the cache");
    for r in [
        format!("{host}/platform/base:12"),
        format!("{host}/apps/fetch:1.4.2"),
    ] {
        let entry = running
            .server
            .db
            .read(|tx| patchline_server::lineage::get_entry(tx, &r))
            .unwrap()
            .unwrap_or_else(|| panic!("no catalog entry for {r}"));
        assert!(entry.is_resolved(), "{r}: {entry:?}");
    }
    assert_eq!(count(&running, "SELECT COUNT(*) FROM tag_history"), 2);

    // The secret is required and checked.
    let env = push_envelope(&host, "apps/fetch", "1.4.2", &child);
    assert_eq!(post(&url, None, EVENTS_V1, &env).0, 401);
    assert_eq!(
        post(&url, Some("Bearer not-the-secret"), EVENTS_V1, &env).0,
        401
    );
    assert_eq!(
        post(&url, Some(&format!("Bearer {SECRET}x")), EVENTS_V1, &env).0,
        401
    );
    let bearer = format!("Bearer {SECRET}");
    assert_eq!(post(&url, Some(&bearer), "text/plain", &env).0, 415);
    assert_eq!(
        post(&url, Some(&bearer), EVENTS_V1, &serde_json::json!({"x": 1})).0,
        400
    );

    // A replayed envelope (twice, and in the v2 media type) changes nothing.
    let before = snapshot(&running);
    for ct in [
        EVENTS_V1,
        EVENTS_V1,
        "application/vnd.docker.distribution.events.v2+json",
    ] {
        let (s, body) = post(&url, Some(&bearer), ct, &env);
        assert_eq!(s, 200, "{body}");
        assert_eq!(body, serde_json::json!({"accepted": 1, "ignored": 1}));
    }
    // The bare secret is accepted too.
    assert_eq!(post(&url, Some(SECRET), EVENTS_V1, &env).0, 200);
    assert_eq!(snapshot(&running), before, "a replay changed the store");

    // A registry that is not configured: ignored, never contacted.
    let foreign = push_envelope("registry.example.com:5000", "apps/evil", "1", &child);
    let (s, body) = post(&url, Some(&bearer), EVENTS_V1, &foreign);
    assert_eq!(
        (s, body),
        (200, serde_json::json!({"accepted": 0, "ignored": 2}))
    );
    assert_eq!(snapshot(&running), before);

    // Harbor's webhook: a new tag on a digest already scanned gets its catalog entry
    // from the stored inventory, without a second scan.
    let harbor = serde_json::json!({
        "type": "PUSH_ARTIFACT", "occur_at": 1_765_000_000, "operator": "ci",
        "event_data": {
            "resources": [{"digest": child, "tag": "latest",
                           "resource_url": format!("{host}/apps/fetch:latest")}],
            "repository": {"name": "fetch", "namespace": "apps", "repo_full_name": "apps/fetch",
                           "repo_type": "private"}
        }
    });
    let (s, body) = post(&url, Some(&bearer), "application/json", &harbor);
    assert_eq!(
        (s, body),
        (200, serde_json::json!({"accepted": 1, "ignored": 0}))
    );
    assert_eq!(
        digest_of(&running, &host, "apps/fetch", "latest").as_deref(),
        Some(child.as_str())
    );
    assert_eq!(
        count(&running, "SELECT COUNT(*) FROM scans"),
        2,
        "no second scan of the same digest"
    );
    let latest = format!("{host}/apps/fetch:latest");
    assert!(running
        .server
        .db
        .read(|tx| patchline_server::lineage::get_entry(tx, &latest))
        .unwrap()
        .is_some_and(|e| e.is_resolved()));

    // A real delete: the registry's own delete event marks the image deleted.
    let out = std::process::Command::new("skopeo")
        .args(["delete", "--tls-verify=false"])
        .arg(format!("docker://{host}/platform/base:12"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_for("the delete event", 60, || {
        let gone: i64 = running
            .server
            .db
            .read(|tx| {
                tx.query_i64(
                    "SELECT COUNT(*) FROM images WHERE digest = ? AND deleted_at IS NOT NULL",
                    params![&base],
                )
            })
            .unwrap();
        (gone == 1).then_some(())
    });
    assert!(digest_of(&running, &host, "platform/base", "12").is_none());
    running.stop();
    drop(reg);
}

#[test]
fn sync_from_scratch_finds_what_no_hook_saw_and_resumes() {
    let Some(fx) = fixtures() else { return };
    // No notifications: the hook never hears of these pushes.
    let Some(reg) = RegistryService::start(None) else {
        return;
    };
    let layout = fx.join("layout");
    reg.push(&layout, "base", "platform/base:12");
    reg.push(&layout, "child", "apps/fetch:1.4.2");
    let host = reg.host.clone();
    let t = tempfile::tempdir().unwrap();
    // No advisory DB at all: images are scanned (inventoried) and say nothing was matched.
    let missing_db = t.path().join("no-such-advisories.sqlite");
    let running = start(
        config(t.path(), free_port(), &reg.url(), missing_db),
        ServeOptions::default(),
    )
    .unwrap();
    let payload = SyncPayload {
        registry: host.clone(),
    };

    // An earlier run got as far as apps/fetch: this one resumes after it.
    running
        .server
        .db
        .tx(|tx| store::set_state(tx, &cursor_key(&host), "apps/fetch"))
        .unwrap();
    let first = sync(&running.server, &payload).unwrap();
    assert_eq!(first.resumed_after.as_deref(), Some("apps/fetch"));
    assert_eq!((first.repositories, first.tags), (1, 1), "{first:?}");
    assert!(digest_of(&running, &host, "apps/fetch", "1.4.2").is_none());
    let cursor = running
        .server
        .db
        .read(|tx| store::get_state(tx, &cursor_key(&host)))
        .unwrap();
    assert_eq!(
        cursor.as_deref(),
        Some(""),
        "a finished run clears its cursor"
    );

    // From scratch: both repositories.
    let second = sync(&running.server, &payload).unwrap();
    assert_eq!((second.repositories, second.tags), (2, 2), "{second:?}");
    assert_eq!(second.resumed_after, None);
    let base = digest_of(&running, &host, "platform/base", "12").unwrap();
    let child = digest_of(&running, &host, "apps/fetch", "1.4.2").unwrap();
    wait_scanned(&running, &base);
    wait_scanned(&running, &child);
    let warnings: String = running
        .server
        .db
        .read(|tx| {
            tx.query_one(
                "SELECT s.warnings FROM scans s JOIN images i ON i.id = s.image_id WHERE i.digest = ?",
                params![&child],
            )
        })
        .unwrap()
        .string(0)
        .unwrap();
    assert!(
        warnings.contains(patchline_server::registry::scan::NO_DB_WARNING),
        "{warnings}"
    );
    assert!(open_findings(&running, &child)
        .iter()
        .all(|(id, _)| !id.starts_with("CVE-")));

    // A digest the registry does not have: the job fails (and is retried by the queue)
    // and the image says why.
    let gone = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let job = patchline_server::jobs::Job {
        id: 0,
        kind: "scan".into(),
        payload: serde_json::json!({"registry": host, "repository": "apps/fetch", "digest": gone})
            .to_string(),
        attempts: 1,
        max_attempts: 5,
    };
    let err = patchline_server::registry::scan_job(&running.server, &job).unwrap_err();
    let (s, e) = status(&running, gone).unwrap();
    assert_eq!(s, "failed");
    let e = e.unwrap();
    assert!(e.contains(gone) && e.contains("apps/fetch"), "{e}");
    assert!(format!("{err:#}").contains(gone));

    // A third run finds nothing new to scan.
    let jobs_before = count(&running, "SELECT COUNT(*) FROM jobs WHERE kind = 'scan'");
    let third = sync(&running.server, &payload).unwrap();
    assert_eq!((third.queued, third.moved), (0, 0), "{third:?}");
    assert_eq!(
        count(&running, "SELECT COUNT(*) FROM jobs WHERE kind = 'scan'"),
        jobs_before
    );
    running.stop();
}

/// Without a registry: the hook's bounds and its authentication settings.
#[test]
fn hook_bounds_and_auth_settings() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("none.sqlite");
    // A configured secret: a body over 1 MiB is refused before it is parsed.
    let running = start(
        config(t.path(), 0, "http://127.0.0.1:5000", db.clone()),
        ServeOptions::default(),
    )
    .unwrap();
    let url = running.url();
    let doc: serde_json::Value = reqwest::blocking::get(format!("{url}/api/v1/openapi.json"))
        .unwrap()
        .json()
        .unwrap();
    assert!(
        doc["paths"]["/api/v1/hooks/registry"]["post"].is_object(),
        "the hook is in the OpenAPI document"
    );
    let big = serde_json::json!({"events": [], "pad": "x".repeat(1 << 20)});
    let (s, _) = post(&url, Some(&format!("Bearer {SECRET}")), EVENTS_V1, &big);
    assert_eq!(s, 413);
    // An event for the configured registry whose digest is unknown: recorded, queued.
    let d = "sha256:9e939218bb28baa4f28e93c76d69117d165f407076862a0ba7a35495cf7a2f93";
    let env = push_envelope("127.0.0.1:5000", "apps/fetch", "1", d);
    let (s, body) = post(&url, Some(&format!("Bearer {SECRET}")), EVENTS_V1, &env);
    assert_eq!(
        (s, body),
        (200, serde_json::json!({"accepted": 1, "ignored": 1}))
    );
    assert_eq!(
        count(&running, "SELECT COUNT(*) FROM jobs WHERE kind = 'scan' AND dedupe_key = 'scan:sha256:9e939218bb28baa4f28e93c76d69117d165f407076862a0ba7a35495cf7a2f93'"),
        1
    );
    running.stop();

    // No secret configured: every event is refused...
    let t2 = tempfile::tempdir().unwrap();
    let mut c = config(t2.path(), 0, "http://127.0.0.1:5000", db.clone());
    c.hooks = Hooks::default();
    let running = start(c.clone(), ServeOptions::default()).unwrap();
    let (s, body) = post(
        &running.url(),
        Some(&format!("Bearer {SECRET}")),
        EVENTS_V1,
        &env,
    );
    assert_eq!(s, 401, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("no registry hook secret"));
    running.stop();
    // ... unless the server runs with --no-auth (loopback only).
    let running = start(c, ServeOptions { no_auth: true }).unwrap();
    let (s, body) = post(&running.url(), None, EVENTS_V1, &env);
    assert_eq!(
        (s, body),
        (200, serde_json::json!({"accepted": 1, "ignored": 1}))
    );
    running.stop();

    // A configured header other than Authorization.
    let t3 = tempfile::tempdir().unwrap();
    let mut c = config(t3.path(), 0, "http://127.0.0.1:5000", db);
    c.hooks.header = Some("X-Registry-Token".into());
    let running = start(c, ServeOptions::default()).unwrap();
    let (s, _) = post(
        &running.url(),
        Some(&format!("Bearer {SECRET}")),
        EVENTS_V1,
        &env,
    );
    assert_eq!(s, 401, "the secret in Authorization is not looked at");
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/api/v1/hooks/registry", running.url()))
        .header("content-type", EVENTS_V1)
        .header("x-registry-token", SECRET)
        .body(env.to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    running.stop();
}

/// A registry that requires Basic credentials: the sync and the scan use the configured
/// username and password file; a wrong password fails the sync without showing it.
#[test]
fn credentials_from_the_config() {
    let Some(fx) = fixtures() else { return };
    let password = "reg-pass-7b1e";
    let Some(reg) = RegistryService::start_with(None, Some(("patchline", password))) else {
        return;
    };
    reg.push(&fx.join("layout"), "base", "platform/base:12");
    let host = reg.host.clone();
    let t = tempfile::tempdir().unwrap();
    let pw = t.path().join("registry-password");
    std::fs::write(&pw, format!("{password}\n")).unwrap();
    let mut c = config(
        t.path(),
        0,
        &reg.url(),
        t.path().join("no-advisories.sqlite"),
    );
    c.registries[0].username = Some("patchline".into());
    c.registries[0].password_file = Some(pw.clone());
    let running = start(c, ServeOptions::default()).unwrap();
    let payload = SyncPayload {
        registry: host.clone(),
    };
    let report = sync(&running.server, &payload).unwrap();
    assert_eq!((report.repositories, report.tags), (1, 1), "{report:?}");
    let base = digest_of(&running, &host, "platform/base", "12").unwrap();
    wait_scanned(&running, &base);

    std::fs::write(&pw, "wrong-password").unwrap();
    let e = format!("{:#}", sync(&running.server, &payload).unwrap_err());
    assert!(
        e.contains("catalog") && !e.contains("wrong-password"),
        "{e}"
    );
    running.stop();
}
