//! Trusted images on a real server: a team requests an image (its stored scan gives the
//! summary), only security approves, the approval is served as a policy file the CLI
//! reads and to the server's scans, and the review ends it on expiry, on a KEV finding
//! and when a tag of the repository moves on from the approved digest.

mod upload_support;

use patchline_server::auth::Role;
use patchline_server::db::now;
use patchline_server::params;
use patchline_server::trusted;
use serde_json::{json, Value};
use upload_support::*;

const REPO: &str = "registry.example.com/base/debian";

/// A server holding the uploaded child image and an approved request for it; `None`
/// without the fixtures.
struct Approved {
    env: Env,
    id: i64,
    digest: String,
    team: String,
    security: String,
}

fn approved() -> Option<Approved> {
    let child = scanned("child")?;
    let env = Env::start();
    let scanner = env.token(Role::Scanner, None);
    let (s, up) = env.post(
        "/api/v1/uploads",
        &scanner,
        &child.body(&format!("{REPO}:12")),
    );
    assert_eq!(s, 201, "{up}");
    let team = env.token(Role::Team, Some("web"));
    let security = env.token(Role::Security, None);
    let (s, req) = env.post(
        "/api/v1/trusted-images/requests",
        &team,
        &json!({"repository": REPO, "digest": child.digest(), "justification": "our base image"}),
    );
    assert_eq!(s, 201, "{req}");
    let id = req["id"].as_i64().unwrap();
    let (s, ok) = env.post(
        &format!("/api/v1/trusted-images/{id}/approve"),
        &security,
        &json!({"reason": "reviewed", "expires_in_days": 30}),
    );
    assert_eq!(s, 200, "{ok}");
    Some(Approved {
        env,
        id,
        digest: child.digest(),
        team,
        security,
    })
}

fn review(env: &Env, at: i64) -> Vec<trusted::Revoked> {
    env.running
        .server
        .db
        .tx(|tx| trusted::review_at(tx, at))
        .unwrap()
}

fn policy(env: &Env, token: &str) -> patchline_policy::PolicyFile {
    let r = env
        .client
        .get(format!("{}/api/v1/trusted-images/policy", env.url))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("yaml"));
    patchline_policy::parse_policy(&r.text().unwrap(), "served").unwrap()
}

#[test]
fn request_approve_serve_and_expire() {
    let Some(child) = scanned("child") else {
        return;
    };
    let env = Env::start();
    let scanner = env.token(Role::Scanner, None);
    let viewer = env.token(Role::Viewer, None);
    let team = env.token(Role::Team, Some("web"));
    let security = env.token(Role::Security, None);
    let (s, _) = env.post(
        "/api/v1/uploads",
        &scanner,
        &child.body(&format!("{REPO}:12")),
    );
    assert_eq!(s, 201);
    let body =
        json!({"repository": REPO, "digest": child.digest(), "justification": "our base image"});

    // Scanners and viewers do not request; a team does.
    for t in [&scanner, &viewer] {
        let (s, e) = env.post("/api/v1/trusted-images/requests", t, &body);
        assert_eq!(s, 403, "{e}");
    }
    let (s, req) = env.post("/api/v1/trusted-images/requests", &team, &body);
    assert_eq!(s, 201, "{req}");
    assert_eq!(req["state"], "requested");
    assert_eq!(req["justification"], "our base image");
    let highs = child
        .report
        .findings
        .iter()
        .filter(|f| f.severity.as_str() == "high")
        .count();
    assert_eq!(req["scan_summary"]["high"], highs as i64, "{req}");
    assert_eq!(req["scan_summary"]["kev"], 0);
    let id = req["id"].as_i64().unwrap();
    let (s, e) = env.post("/api/v1/trusted-images/requests", &team, &body);
    assert_eq!(s, 409, "{e}");

    // Only security approves; an approval must expire.
    let approve = format!("/api/v1/trusted-images/{id}/approve");
    let (s, e) = env.post(
        &approve,
        &team,
        &json!({"reason": "mine", "expires_in_days": 30}),
    );
    assert_eq!(s, 403, "{e}");
    let (s, e) = env.post(&approve, &security, &json!({"reason": "ok"}));
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("must expire"),
        "{e}"
    );
    let (s, ok) = env.post(
        &approve,
        &security,
        &json!({"reason": "reviewed", "expires_in_days": 30}),
    );
    assert_eq!(s, 200, "{ok}");
    assert_eq!(ok["state"], "approved");
    assert!(ok["decided_by"].as_str().unwrap().contains("security"));
    let (s, e) = env.post(
        &approve,
        &security,
        &json!({"reason": "again", "expires_in_days": 30}),
    );
    assert_eq!(s, 409, "{e}");

    // Listed, and served as a policy file any token (a CI's scanner) can fetch.
    let (s, page) = env.get("/api/v1/trusted-images?state=approved", &viewer);
    assert_eq!(s, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], id);
    let served = policy(&env, &scanner);
    assert_eq!(served.trusted_images.len(), 1);
    let t = &served.trusted_images[0];
    assert_eq!(t.pattern, REPO);
    assert_eq!(t.digest.as_deref(), Some(child.digest().as_str()));
    let today = time::OffsetDateTime::now_utc().date();
    assert_eq!(t.expires, Some(today + time::Duration::days(30)));
    assert!(t.matches(&format!("{REPO}:12"), Some(&child.digest()), today));
    let gov = env
        .running
        .server
        .db
        .read(|tx| trusted::governance(tx))
        .unwrap();
    assert_eq!(gov.len(), 1);
    assert_eq!(gov[0].pattern, REPO);

    // Nothing to end today; in 40 days the approval has expired.
    assert!(review(&env, now()).is_empty());
    let ended = review(&env, now() + 40 * 86_400);
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].state, "expired");
    assert!(ended[0].reason.contains("expired"), "{ended:?}");
    let (_, one) = env.get(&format!("/api/v1/trusted-images/{id}"), &viewer);
    assert_eq!(one["state"], "expired");
    assert!(env
        .running
        .server
        .db
        .read(|tx| trusted::governance(tx))
        .unwrap()
        .is_empty());
    assert!(policy(&env, &viewer).trusted_images.is_empty());
    assert_eq!(
        env.count("SELECT count(*) FROM audit_log WHERE action IN ('trusted-image.request', 'trusted-image.approve', 'trusted-image.expire')"),
        3
    );
    // An expired image may be requested again.
    let (s, again) = env.post("/api/v1/trusted-images/requests", &team, &body);
    assert_eq!(s, 201, "{again}");
    assert_eq!(again["id"], id);
    let (s, rej) = env.post(
        &format!("/api/v1/trusted-images/{id}/reject"),
        &security,
        &json!({"reason": "use the new one"}),
    );
    assert_eq!(s, 200, "{rej}");
    assert_eq!(rej["state"], "rejected");
    env.running.stop();
}

#[test]
fn a_kev_finding_revokes() {
    let Some(a) = approved() else { return };
    let child = scanned("child").unwrap();
    let mut report = child.report.clone();
    report.findings[0].kev = Some(patchline_model::vuln::Kev {
        date_added: "2026-12-01".into(),
        ..Default::default()
    });
    let cve = report.findings[0].id.clone();
    a.env
        .running
        .server
        .db
        .tx(|tx| {
            let id = patchline_server::store::image_id(tx, &a.digest)?.unwrap();
            patchline_server::store::record_scan(tx, id, "rescan", now(), &report)
        })
        .unwrap();
    let ended = review(&a.env, now());
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0].id, a.id);
    assert_eq!(ended[0].state, "revoked");
    assert!(
        ended[0].reason.contains("KEV") && ended[0].reason.contains(&cve),
        "{ended:?}"
    );
    assert!(policy(&a.env, &a.team).trusted_images.is_empty());
    assert_eq!(
        a.env.count("SELECT count(*) FROM audit_log WHERE action = 'trusted-image.revoke' AND actor LIKE 'patchline%'"),
        1
    );
    a.env.running.stop();
}

#[test]
fn a_tag_moving_on_revokes() {
    let Some(a) = approved() else { return };
    let newer = format!("sha256:{}", "b".repeat(64));
    // Unrelated moves (another repository, a tag that never held the digest) end nothing.
    a.env
        .running
        .server
        .db
        .tx(|tx| {
            let t = now();
            tx.exec(
                "INSERT INTO tags (registry, repository, tag, digest, updated_at) VALUES (?, ?, ?, ?, ?)",
                params!["registry.example.com", "base/other", "12", &newer, t],
            )?;
            tx.exec(
                "INSERT INTO tag_history (registry, repository, tag, old_digest, new_digest, at) VALUES (?, ?, ?, ?, ?, ?)",
                params!["registry.example.com", "base/other", "12", &a.digest, &newer, t],
            )?;
            tx.exec(
                "INSERT INTO tags (registry, repository, tag, digest, updated_at) VALUES (?, ?, ?, ?, ?)",
                params!["registry.example.com", "base/debian", "13", &newer, t],
            )?;
            Ok::<_, patchline_server::db::DbError>(())
        })
        .unwrap();
    assert!(review(&a.env, now()).is_empty());
    a.env
        .running
        .server
        .db
        .tx(|tx| {
            let t = now();
            tx.exec(
                "INSERT INTO tags (registry, repository, tag, digest, updated_at) VALUES (?, ?, ?, ?, ?)",
                params!["registry.example.com", "base/debian", "12", &newer, t],
            )?;
            tx.exec(
                "INSERT INTO tag_history (registry, repository, tag, old_digest, new_digest, at) VALUES (?, ?, ?, ?, ?, ?)",
                params!["registry.example.com", "base/debian", "12", &a.digest, &newer, t],
            )?;
            Ok::<_, patchline_server::db::DbError>(())
        })
        .unwrap();
    let ended = review(&a.env, now());
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0].state, "revoked");
    assert!(
        ended[0].reason.contains("tag 12 moved") && ended[0].reason.contains(&newer),
        "{ended:?}"
    );
    let (_, one) = a
        .env
        .get(&format!("/api/v1/trusted-images/{}", a.id), &a.team);
    assert_eq!(one["state"], "revoked");
    a.env.running.stop();
}

#[test]
fn revoke_by_hand_and_list_pages() {
    let Some(a) = approved() else { return };
    let r = a
        .env
        .client
        .delete(format!(
            "{}/api/v1/trusted-images/{}?reason=superseded",
            a.env.url, a.id
        ))
        .bearer_auth(&a.team)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = a
        .env
        .client
        .delete(format!(
            "{}/api/v1/trusted-images/{}?reason=superseded",
            a.env.url, a.id
        ))
        .bearer_auth(&a.security)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().unwrap();
    assert_eq!(v["state"], "revoked");
    assert_eq!(v["reason"], "superseded");

    // Two more requests of the same digest under other names, paged one at a time.
    for repo in [
        "registry.example.com/mirror/debian",
        "registry.example.com/x/debian",
    ] {
        let (s, e) = a.env.post(
            "/api/v1/trusted-images/requests",
            &a.team,
            &json!({"repository": repo, "digest": a.digest, "justification": "mirror"}),
        );
        assert_eq!(s, 201, "{e}");
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/trusted-images?limit=1".to_string();
    loop {
        let (s, page) = a.env.get(&path, &a.team);
        assert_eq!(s, 200, "{page}");
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_i64().unwrap()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/trusted-images?limit=1&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    assert!(seen.windows(2).all(|w| w[0] < w[1]));
    // Four eyes: whoever requested does not approve.
    let (s, own) = a.env.post(
        "/api/v1/trusted-images/requests",
        &a.security,
        &json!({"repository": "registry.example.com/own/debian", "digest": a.digest, "justification": "mine"}),
    );
    assert_eq!(s, 201, "{own}");
    let (s, e) = a.env.post(
        &format!("/api/v1/trusted-images/{}/approve", own["id"]),
        &a.security,
        &json!({"reason": "self", "expires_in_days": 10}),
    );
    assert_eq!(s, 403, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("own request"),
        "{e}"
    );
    let (s, e) = a.env.get("/api/v1/trusted-images?state=maybe", &a.team);
    assert_eq!(s, 400, "{e}");

    // A request for an image the store has not scanned is scanned there and then; one
    // that cannot be pulled is refused, saying why.
    let (s, e) = a.env.post(
        "/api/v1/trusted-images/requests",
        &a.team,
        &json!({"repository": "127.0.0.1:9/nothing", "digest": format!("sha256:{}", "c".repeat(64)), "justification": "x"}),
    );
    assert_eq!(s, 422, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot scan"),
        "{e}"
    );
    let (s, e) = a.env.post(
        "/api/v1/trusted-images/requests",
        &a.team,
        &json!({"repository": "debian:12", "digest": a.digest, "justification": "x"}),
    );
    assert_eq!(s, 400, "{e}");
    a.env.running.stop();
}

#[test]
fn malformed_bodies_are_400_naming_the_problem() {
    let env = Env::start();
    let team = env.token(Role::Team, Some("web"));
    let (s, e) = env.post(
        "/api/v1/trusted-images/requests",
        &team,
        &json!({"repository": REPO, "digest": "sha256:00", "justification": "x", "team": "web"}),
    );
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown field `team`"),
        "{e}"
    );
    let (s, e) = env.post(
        "/api/v1/trusted-images/requests",
        &team,
        &json!({"repository": REPO, "digest": "sha256:00", "justification": "x"}),
    );
    assert_eq!(s, 400, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("digest"),
        "{e}"
    );
    env.running.stop();
}

#[test]
fn routes_are_in_the_openapi_document() {
    let env = Env::start();
    let doc: Value = env
        .client
        .get(format!("{}/api/v1/openapi.json", env.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    for (path, method) in [
        ("/api/v1/uploads", "post"),
        ("/api/v1/trusted-images", "get"),
        ("/api/v1/trusted-images/requests", "post"),
        ("/api/v1/trusted-images/policy", "get"),
        ("/api/v1/trusted-images/{id}", "get"),
        ("/api/v1/trusted-images/{id}", "delete"),
        ("/api/v1/trusted-images/{id}/approve", "post"),
        ("/api/v1/trusted-images/{id}/reject", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} missing"
        );
    }
    env.running.stop();
}
