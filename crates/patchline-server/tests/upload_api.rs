//! `POST /api/v1/uploads` on a real server: a real scan of the Debian 12 fixture image
//! is stored (image, inventory, findings, catalog entry, audit), a replay opens nothing
//! new, the CLI's client (`uploads::push`) gets the same answer, and bad uploads are
//! refused with the status and a message naming the problem.

mod upload_support;

use patchline_server::auth::Role;
use patchline_server::uploads::{push, DeltaCounts};
use serde_json::json;
use upload_support::*;

const REFERENCE: &str = "registry.example.com/team/app:1.4";

#[test]
fn upload_is_stored_and_a_replay_opens_nothing() {
    let Some(child) = scanned("child") else {
        return;
    };
    assert!(
        !child.report.findings.is_empty(),
        "the fixture has curl findings"
    );
    let env = Env::start();
    let scanner = env.token(Role::Scanner, None);

    let body = child.body(REFERENCE);
    let started = std::time::Instant::now();
    let (status, first) = env.post("/api/v1/uploads", &scanner, &body);
    assert_eq!(status, 201, "{first}");
    eprintln!(
        "upload of {} packages, {} findings ({} bytes of JSON) stored in {} ms",
        child.inventory.packages.len(),
        child.report.findings.len(),
        body.to_string().len(),
        started.elapsed().as_millis()
    );
    assert_eq!(first["image"]["digest"], child.digest());
    assert_eq!(first["image"]["reference"], REFERENCE);
    let keys: std::collections::BTreeSet<_> = child
        .report
        .findings
        .iter()
        .map(|f| (&f.id, &f.ecosystem, &f.package.name, &f.package.version))
        .collect();
    assert_eq!(first["delta"]["new"], keys.len(), "{first}");
    assert_eq!(first["delta"]["resolved"], 0);

    assert_eq!(
        env.count("SELECT count(*) FROM images WHERE source = 'upload'"),
        1
    );
    assert_eq!(
        env.count("SELECT count(*) FROM findings WHERE state = 'open'"),
        keys.len() as i64
    );
    assert_eq!(
        env.count("SELECT count(*) FROM image_packages"),
        child
            .inventory
            .packages
            .iter()
            .map(|p| (p.ecosystem.to_string(), p.name.clone()))
            .collect::<std::collections::BTreeSet<_>>()
            .len() as i64
    );
    assert_eq!(
        env.count("SELECT count(*) FROM catalog_entries WHERE reference = 'registry.example.com/team/app:1.4' AND image_id IS NOT NULL"),
        1
    );
    assert_eq!(
        env.count(
            "SELECT count(*) FROM audit_log WHERE action = 'upload' AND actor LIKE 'token:%'"
        ),
        1
    );
    let stored = env
        .running
        .server
        .db
        .read(|tx| {
            let id = patchline_server::store::image_id(tx, &child.digest())?.unwrap();
            patchline_server::store::load_inventory(tx, id)
        })
        .unwrap()
        .unwrap();
    assert_eq!(stored, child.inventory);

    // The replay, through the client `patchline scan --server` uses.
    let again = push(
        &env.url,
        &scanner,
        &child.inventory,
        &child.report,
        Some(REFERENCE),
        std::time::Duration::from_secs(30),
    )
    .unwrap();
    assert_eq!(
        again.delta,
        DeltaCounts::default(),
        "a replay changes nothing"
    );
    assert_eq!(again.image.id, first["image"]["id"].as_i64().unwrap());
    assert_ne!(again.scan_id, first["scan_id"].as_i64().unwrap());
    assert_eq!(
        env.count("SELECT count(*) FROM findings WHERE state = 'open'"),
        keys.len() as i64
    );
    assert_eq!(
        env.count("SELECT count(*) FROM finding_events"),
        keys.len() as i64,
        "no event from the replay"
    );

    // The same report minus one finding resolves exactly that one.
    let mut fewer = child.report.clone();
    let gone = fewer.findings.remove(0);
    let r = push(
        &env.url,
        &scanner,
        &child.inventory,
        &fewer,
        Some(REFERENCE),
        std::time::Duration::from_secs(30),
    )
    .unwrap();
    let dupes = child
        .report
        .findings
        .iter()
        .filter(|f| {
            f.id == gone.id
                && f.package.name == gone.package.name
                && f.package.version == gone.package.version
                && f.ecosystem == gone.ecosystem
        })
        .count();
    assert_eq!(r.delta.resolved, usize::from(dupes == 1), "{r:?}");
    env.running.stop();
}

#[test]
fn roles_other_than_scanner_and_admin_are_refused() {
    let env = Env::start();
    let body = json!({"inventory": {}, "report": {}});
    for role in [Role::Viewer, Role::Team, Role::Security] {
        let t = env.token(role, Some("web"));
        let (status, answer) = env.post("/api/v1/uploads", &t, &body);
        assert_eq!(status, 403, "{role:?}: {answer}");
        assert_eq!(answer["error"]["code"], "forbidden");
    }
    let r = env
        .client
        .post(format!("{}/api/v1/uploads", env.url))
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    // The CLI's client says what the server said, and never the token.
    let viewer = env.token(Role::Viewer, None);
    let Some(child) = scanned("child") else {
        return;
    };
    let e = push(
        &env.url,
        &viewer,
        &child.inventory,
        &child.report,
        None,
        std::time::Duration::from_secs(30),
    )
    .unwrap_err();
    assert!(e.contains("403") && e.contains("role viewer"), "{e}");
    assert!(!e.contains(&viewer), "the token leaked: {e}");
    env.running.stop();
}

#[test]
fn oversized_body_is_413() {
    let env = Env::start_with(|c| c.limits.max_body = 64 << 10);
    let scanner = env.token(Role::Scanner, None);
    let body = json!({"inventory": {}, "report": {}, "reference": "x".repeat(100 << 10)});
    let r = env
        .client
        .post(format!("{}/api/v1/uploads", env.url))
        .bearer_auth(&scanner)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 413);
    assert_eq!(env.count("SELECT count(*) FROM images"), 0);
    env.running.stop();
}

#[test]
fn malformed_uploads_are_400_naming_the_problem() {
    let env = Env::start();
    let scanner = env.token(Role::Scanner, None);
    let raw = |text: &str| {
        let r = env
            .client
            .post(format!("{}/api/v1/uploads", env.url))
            .bearer_auth(&scanner)
            .header("content-type", "application/json")
            .body(text.to_string())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let v: serde_json::Value = r.json().unwrap();
        (
            status,
            v["error"]["message"].as_str().unwrap_or("").to_string(),
        )
    };
    let (s, m) = raw("{\"inventory\": ");
    assert_eq!(s, 400);
    assert!(m.contains("EOF") || m.contains("end of"), "{m}");
    let (s, m) = raw("{\"inventory\": 1, \"report\": {}}");
    assert_eq!(s, 400);
    assert!(m.contains("invalid type") && m.contains("line 1"), "{m}");

    let Some(child) = scanned("child") else {
        return;
    };
    let Some(base) = scanned("base") else { return };
    let mut body = child.body(REFERENCE);
    body["extra"] = json!(1);
    let (s, m) = raw(&body.to_string());
    assert_eq!(s, 400);
    assert!(m.contains("unknown field `extra`"), "{m}");

    let mut body = child.body(REFERENCE);
    body["report"]["schema"] = json!("patchline.scan/v9");
    let (s, m) = raw(&body.to_string());
    assert_eq!(s, 400);
    assert!(
        m.contains("report.schema") && m.contains("patchline.scan/v9"),
        "{m}"
    );

    let mut body = child.body(REFERENCE);
    body["inventory"] = serde_json::to_value(&base.inventory).unwrap();
    let (s, m) = raw(&body.to_string());
    assert_eq!(s, 400);
    assert!(
        m.contains(&child.digest()) && m.contains(&base.digest()),
        "{m}"
    );

    let mut body = child.body(REFERENCE);
    body["report"]["image"]
        .as_object_mut()
        .unwrap()
        .remove("manifest_digest");
    let (s, m) = raw(&body.to_string());
    assert_eq!(s, 400);
    assert!(m.contains("manifest_digest"), "{m}");

    let mut body = child.body(REFERENCE);
    body["report"]["image"]["manifest_digest"] = json!("sha256:1234");
    let (s, m) = raw(&body.to_string());
    assert_eq!(s, 400);
    assert!(m.contains("sha256:1234"), "{m}");

    let (s, m) = raw(&child.body("two words:1").to_string());
    assert_eq!(s, 400);
    assert!(m.contains("reference"), "{m}");
    assert_eq!(
        env.count("SELECT count(*) FROM images"),
        0,
        "nothing stored"
    );
    env.running.stop();
}
