//! The REST API end to end on a server seeded with real scans (see `api_support`):
//! each role's allowed and refused calls, 401 for missing, expired and revoked tokens,
//! audit rows for writes, page stability, ETags, the SSRF refusal of scan requests,
//! strict JSON errors and the OpenAPI document.

mod api_support;

use std::sync::OnceLock;

use api_support::*;
use reqwest::Method;
use serde_json::{json, Value};

fn env() -> Option<&'static Env> {
    static ENV: OnceLock<Option<Env>> = OnceLock::new();
    ENV.get_or_init(seeded).as_ref()
}

fn body(r: reqwest::blocking::Response) -> Value {
    let status = r.status();
    let text = r.text().unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"))
}

#[test]
fn every_role_gets_what_it_may_and_nothing_else() {
    let Some(e) = env() else { return };
    let base = &e.digests["base"];
    let reads = [
        "/api/v1/images".to_string(),
        format!("/api/v1/images/{base}"),
        format!("/api/v1/images/{base}/inventory"),
        "/api/v1/findings".to_string(),
        "/api/v1/cves/CVE-2024-2398".to_string(),
        "/api/v1/graph".to_string(),
        "/api/v1/teams".to_string(),
        "/api/v1/exceptions".to_string(),
    ];
    // (role, may read findings and images, may read tokens, may read the audit log)
    let table = [
        ("admin", true, true, true),
        ("security", true, false, true),
        ("shop", true, false, false),
        ("viewer", true, false, false),
        ("scanner", false, false, false),
    ];
    for (role, read, tokens, audit) in table {
        for path in &reads {
            let status = e.get(role, path).status().as_u16();
            assert_eq!(status, if read { 200 } else { 403 }, "{role} GET {path}");
        }
        let s = e.get(role, "/api/v1/tokens").status().as_u16();
        assert_eq!(s, if tokens { 200 } else { 403 }, "{role} GET tokens");
        let s = e.get(role, "/api/v1/audit").status().as_u16();
        assert_eq!(s, if audit { 200 } else { 403 }, "{role} GET audit");
    }
    // Writes: (role, path, body, expected status).
    let scan = json!({"reference": format!("{REGISTRY}/shop/app:1.0")});
    let token = json!({"name": "ci", "role": "viewer"});
    let writes = [
        ("viewer", "/api/v1/scans", scan.clone(), 403),
        ("shop", "/api/v1/scans", scan.clone(), 403),
        ("security", "/api/v1/scans", scan.clone(), 403),
        ("scanner", "/api/v1/scans", scan.clone(), 202),
        ("admin", "/api/v1/scans", scan.clone(), 202),
        ("security", "/api/v1/tokens", token.clone(), 403),
        ("scanner", "/api/v1/tokens", token.clone(), 403),
        ("viewer", "/api/v1/tokens", token.clone(), 403),
        ("admin", "/api/v1/tokens", token.clone(), 201),
    ];
    for (role, path, b, want) in writes {
        let r = e.send(Method::POST, role, path, Some(b));
        assert_eq!(
            r.status().as_u16(),
            want,
            "{role} POST {path}: {}",
            r.text().unwrap()
        );
    }
}

#[test]
fn missing_expired_and_revoked_tokens_are_401() {
    let Some(e) = env() else { return };
    for who in ["nobody", "expired", "revoked"] {
        let r = e.get(who, "/api/v1/images");
        assert_eq!(r.status(), 401, "{who}");
        assert_eq!(body(r)["error"]["code"], "unauthorized");
    }
    let r = e
        .client()
        .get(format!("{}/api/v1/images", e.url))
        .bearer_auth("plt_notarealtoken")
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[test]
fn tokens_are_shown_once_expire_and_revoke_with_audit() {
    let Some(e) = env() else { return };
    let r = e.send(
        Method::POST,
        "admin",
        "/api/v1/tokens",
        Some(json!({"name": "ci-shop", "role": "team", "team": "shop", "expires_in_days": 30})),
    );
    assert_eq!(r.status(), 201);
    let created = body(r);
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("plt_"));
    assert!(created["expires_at"].is_string());
    let id = created["id"].as_i64().unwrap();
    // The new token works, and its use is noted.
    let r = e
        .client()
        .get(format!("{}/api/v1/images", e.url))
        .bearer_auth(&secret)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    // Lists never show the secret or its hash.
    let list = e.get("admin", "/api/v1/tokens?limit=500").text().unwrap();
    assert!(!list.contains(&secret), "secret in the list");
    assert!(!list.contains("hash"), "{list}");
    let items: Value = serde_json::from_str(&list).unwrap();
    let mine = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(mine["prefix"].as_str().unwrap(), &secret[..10]);
    assert!(mine["last_used_at"].is_string(), "{mine}");
    // Revoked: 401 from then on; the audit log has both writes with before/after.
    let r = e.send(
        Method::DELETE,
        "admin",
        &format!("/api/v1/tokens/{id}"),
        None,
    );
    assert_eq!(r.status(), 200);
    let r = e
        .client()
        .get(format!("{}/api/v1/images", e.url))
        .bearer_auth(&secret)
        .send()
        .unwrap();
    assert_eq!(r.status(), 401);
    let audit = body(e.get("security", "/api/v1/audit?action=token."));
    let subject = format!("token:{id}");
    let rows: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["subject"] == subject.as_str())
        .collect();
    assert_eq!(rows.len(), 2, "{audit}");
    assert_eq!(rows[0]["action"], "token.revoke");
    assert!(rows[0]["before"]["revoked_at"].is_null());
    assert!(rows[0]["after"]["revoked_at"].is_string());
    assert_eq!(rows[1]["action"], "token.create");
    assert!(
        !audit.to_string().contains(&secret),
        "secret in the audit log"
    );
    assert!(rows[1]["request_id"].is_string());
    // The audit log pages newest first, one row at a time, without repeats.
    let mut ids = Vec::new();
    let mut path = "/api/v1/audit?limit=1&action=token.".to_string();
    for _ in 0..3 {
        let p = body(e.get("admin", &path));
        ids.push(p["items"][0]["id"].as_i64().unwrap());
        let Some(c) = p["next_cursor"].as_str() else {
            break;
        };
        path = format!("/api/v1/audit?limit=1&action=token.&cursor={c}");
    }
    assert!(
        ids.len() >= 2 && ids.windows(2).all(|w| w[0] > w[1]),
        "{ids:?}"
    );
    // Bad token requests name the field.
    for (b, field) in [
        (json!({"name": "x", "role": "team"}), "team"),
        (
            json!({"name": "x", "role": "viewer", "team": "shop"}),
            "team",
        ),
        (
            json!({"name": "x", "role": "viewer", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (json!({"name": "x", "role": "root"}), "role"),
        (
            json!({"name": "x", "role": "viewer", "colour": 1}),
            "colour",
        ),
    ] {
        let r = e.send(Method::POST, "admin", "/api/v1/tokens", Some(b.clone()));
        assert_eq!(r.status(), 422, "{b}");
        let m = body(r)["error"]["message"].as_str().unwrap().to_string();
        assert!(m.contains(field), "{b}: {m}");
    }
}

#[test]
fn strict_json_errors_name_the_problem() {
    let Some(e) = env() else { return };
    let post = |b: &str, ct: Option<&str>| {
        let mut r = e
            .client()
            .post(format!("{}/api/v1/scans", e.url))
            .bearer_auth(&e.tokens["scanner"])
            .body(b.to_string());
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r.send().unwrap()
    };
    let r = post("{\"reference\": ", Some("application/json"));
    assert_eq!(r.status(), 400);
    assert_eq!(body(r)["error"]["code"], "bad_request");
    let r = post(
        r#"{"reference": "x", "extra": 1}"#,
        Some("application/json"),
    );
    assert_eq!(r.status(), 422);
    assert!(body(r)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("extra"));
    let r = post(r#"{}"#, Some("application/json"));
    assert_eq!(r.status(), 422);
    assert!(body(r)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("reference"));
    let r = post(r#"{"reference": "x"}"#, None);
    assert_eq!(r.status(), 415);
    // Over the route's body limit (16 KiB).
    let big = format!(r#"{{"reference": "{}"}}"#, "a".repeat(20_000));
    let r = post(&big, Some("application/json"));
    assert_eq!(r.status(), 413);
    // Unknown query parameters are refused too.
    let r = e.get("viewer", "/api/v1/findings?sevrity=high");
    assert_eq!(r.status(), 400);
    assert!(body(r)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("sevrity"));
    let r = e.get("viewer", "/api/v1/findings?limit=501");
    assert_eq!(r.status(), 400);
    let r = e.get("viewer", "/api/v1/findings?cursor=bm9wZQ");
    assert_eq!(r.status(), 400);
}

#[test]
fn scan_requests_only_reach_configured_registries() {
    let Some(e) = env() else { return };
    for reference in [
        "169.254.169.254/latest/meta-data:x",
        "localhost:5000/app:1",
        "evil.example/registry.example/app:1",
        "oci:/etc:passwd",
        "dir:/",
    ] {
        let r = e.send(
            Method::POST,
            "scanner",
            "/api/v1/scans",
            Some(json!({ "reference": reference })),
        );
        assert_eq!(r.status(), 422, "{reference}");
        let m = body(r)["error"]["message"].as_str().unwrap().to_string();
        assert!(
            m.contains("not a configured registry") || m.contains("not a registry reference"),
            "{reference}: {m}"
        );
    }
    let digest = &e.digests["billing"];
    let r = e.send(
        Method::POST,
        "scanner",
        "/api/v1/scans",
        Some(json!({ "reference": format!("{REGISTRY}/billing/api@{digest}") })),
    );
    assert_eq!(r.status(), 202);
    let first = body(r);
    assert!(first["job_id"].is_i64(), "{first}");
    let r = e.send(
        Method::POST,
        "scanner",
        "/api/v1/scans",
        Some(json!({ "reference": format!("{REGISTRY}/billing/api@{digest}") })),
    );
    assert_eq!(body(r)["deduplicated"], true);
    let (payload, key): (String, String) = e
        .running
        .server
        .db
        .read(|tx| -> patchline_server::db::Result<_> {
            let r = tx.query_one(
                "SELECT payload, dedupe_key FROM jobs WHERE id = ?",
                patchline_server::params![first["job_id"].as_i64().unwrap()],
            )?;
            Ok((r.string(0)?, r.string(1)?))
        })
        .unwrap();
    assert_eq!(key, format!("scan:{digest}"));
    let p: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(p["registry"], REGISTRY);
    assert_eq!(p["repository"], "billing/api");
    assert_eq!(p["digest"], digest.as_str());
}

#[test]
fn images_findings_and_the_hierarchy_are_served_from_the_store() {
    let Some(e) = env() else { return };
    let shop = &e.digests["shop"];
    let list = body(e.get("viewer", "/api/v1/images"));
    // Three seeded (another test may add one more).
    assert!(list["items"].as_array().unwrap().len() >= 3, "{list}");
    let only = body(e.get("viewer", "/api/v1/images?team=shop"));
    let items = only["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["digest"], shop.as_str());
    assert_eq!(items[0]["tier"], "application");
    let c = &items[0]["counts"];
    let open: i64 = ["critical", "high", "medium", "low", "unknown"]
        .iter()
        .map(|s| c[*s].as_i64().unwrap())
        .sum();
    assert!(open > 0, "{only}");
    let d = body(e.get("viewer", &format!("/api/v1/images/{shop}")));
    assert!(!d["layers"].as_array().unwrap().is_empty(), "{d}");
    assert_eq!(d["last_scan"]["kind"], "pull");
    let h = &d["hierarchy"][0];
    assert_eq!(h["reference"], SHOP);
    assert_eq!(h["parent"], BASE, "{d}");
    assert_eq!(h["ancestors"], json!([BASE]));
    // Findings: the vulnerable curl of the child; filters narrow, never widen.
    let all = body(e.get("viewer", "/api/v1/findings?limit=500"));
    let n_all = all["items"].as_array().unwrap().len();
    assert!(n_all > 0);
    let curl = body(e.get(
        "viewer",
        &format!("/api/v1/findings?package=curl&image={shop}"),
    ));
    let curl = curl["items"].as_array().unwrap();
    assert!(!curl.is_empty(), "no curl finding");
    assert!(curl
        .iter()
        .all(|f| f["package"] == "curl" && f["image_digest"] == shop.as_str()));
    let high = body(e.get("viewer", "/api/v1/findings?severity=high&limit=500"));
    assert!(high["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["severity"] == "high" || f["severity"] == "critical"));
    let vuln = curl[0]["vuln_id"].as_str().unwrap().to_string();
    let by_vuln = body(e.get("viewer", &format!("/api/v1/findings?vuln={vuln}")));
    assert!(by_vuln["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["vuln_id"] == vuln.as_str()
            || f["aliases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == vuln.as_str())));
    // The CVE's impact: the fix belongs to the image that has the package (the child
    // installed the vulnerable curl itself), owned by shop.
    let cve = body(e.get("viewer", &format!("/api/v1/cves/{vuln}")));
    let roots = cve["impact"]["roots"].as_array().unwrap();
    assert!(!roots.is_empty(), "{cve}");
    assert!(
        roots
            .iter()
            .any(|r| r["image"] == SHOP && r["owner"]["team"] == "shop"),
        "{cve}"
    );
    // The graph has the edge.
    let g = body(e.get("viewer", "/api/v1/graph"));
    assert!(
        g["edges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["parent"] == BASE && x["child"] == SHOP),
        "{g}"
    );
    // A plan for the CVE, as `patchline plan` builds it.
    let p = body(e.get("viewer", &format!("/api/v1/plans?cve={vuln}")));
    assert_eq!(p["trigger"]["id"], vuln.as_str(), "{p}");
    assert!(!p["waves"].as_array().unwrap().is_empty(), "{p}");
    let r = e.get("viewer", "/api/v1/plans?base=nope");
    assert_eq!(r.status(), 400);
    // Inventories in three formats.
    let inv = body(e.get("viewer", &format!("/api/v1/images/{shop}/inventory")));
    assert!(inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "curl"));
    let cdx = body(e.get(
        "viewer",
        &format!("/api/v1/images/{shop}/inventory?format=cyclonedx"),
    ));
    assert_eq!(cdx["bomFormat"], "CycloneDX");
    let spdx = body(e.get(
        "viewer",
        &format!("/api/v1/images/{shop}/inventory?format=spdx"),
    ));
    assert!(spdx["spdxVersion"].as_str().unwrap().starts_with("SPDX-2"));
    assert_eq!(
        e.get("viewer", "/api/v1/images/sha256:00/inventory")
            .status(),
        404
    );
    assert_eq!(e.get("viewer", "/api/v1/images/nope").status(), 400);
}

#[test]
fn pages_are_stable_and_etags_give_304() {
    let Some(e) = env() else { return };
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/findings?state=all&limit=7&cursor={c}"),
            None => "/api/v1/findings?state=all&limit=7".to_string(),
        };
        let p = body(e.get("viewer", &path));
        for f in p["items"].as_array().unwrap() {
            seen.push(f["id"].as_i64().unwrap());
        }
        match p["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        // A write between pages (a new image's findings) does not shift later pages.
        if seen.len() == 7 {
            let scans = scans().unwrap();
            e.running
                .server
                .db
                .tx(|tx| -> patchline_server::db::Result<()> {
                    store_scan(
                        tx,
                        &scans[1],
                        Some(&format!("sha256:{}", "ab".repeat(32))),
                        "registry.example/shop/app:1.1",
                    );
                    Ok(())
                })
                .unwrap();
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, seen, "pages overlap or go backwards");
    let all = body(e.get("viewer", "/api/v1/findings?state=all&limit=500"));
    assert_eq!(all["items"].as_array().unwrap().len(), seen.len());

    let shop = &e.digests["shop"];
    for path in [
        format!("/api/v1/images/{shop}"),
        "/api/v1/findings?severity=medium".into(),
        "/api/v1/graph".into(),
    ] {
        let r = e.get("viewer", &path);
        let tag = r.headers()["etag"].to_str().unwrap().to_string();
        assert!(tag.starts_with('"') && !tag.starts_with("W/"), "{tag}");
        let r = e
            .client()
            .get(format!("{}{path}", e.url))
            .bearer_auth(&e.tokens["viewer"])
            .header("if-none-match", &tag)
            .send()
            .unwrap();
        assert_eq!(r.status(), 304, "{path}");
        assert!(r.bytes().unwrap().is_empty());
        let r = e
            .client()
            .get(format!("{}{path}", e.url))
            .bearer_auth(&e.tokens["viewer"])
            .header("if-none-match", "\"other\"")
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[test]
fn exceptions_follow_their_workflow_and_teams_stay_in_their_lane() {
    let Some(e) = env() else { return };
    let doc = |images: Value| {
        json!({"exception": {
            "id": "CVE-2024-2398", "packages": ["curl"], "images": images,
            "reason": "not reachable: no HTTP/2 push", "expires": "2099-12-31",
            "justification": "vulnerable_code_not_in_execute_path"
        }})
    };
    // shop may not cover billing's image, nor use wildcards, nor name another team.
    for (who, b, want) in [
        ("shop", doc(json!([BILLING])), 403),
        ("shop", doc(json!(["registry.example/*"])), 403),
        ("shop", doc(json!([])), 403),
        ("viewer", doc(json!([SHOP])), 403),
        ("scanner", doc(json!([SHOP])), 403),
    ] {
        let r = e.send(Method::POST, who, "/api/v1/exceptions", Some(b));
        assert_eq!(r.status().as_u16(), want, "{who}");
    }
    let mut other = doc(json!([SHOP]));
    other["team"] = json!("billing");
    assert_eq!(
        e.send(Method::POST, "shop", "/api/v1/exceptions", Some(other))
            .status(),
        403
    );
    let mut past = doc(json!([SHOP]));
    past["exception"]["expires"] = json!("2001-01-01");
    let r = e.send(Method::POST, "shop", "/api/v1/exceptions", Some(past));
    assert_eq!(r.status(), 422);
    assert!(body(r)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("expires"));

    let r = e.send(
        Method::POST,
        "shop",
        "/api/v1/exceptions",
        Some(doc(json!(["registry.example/shop/app"]))),
    );
    assert_eq!(r.status(), 201);
    let created = body(r);
    assert_eq!(created["state"], "pending");
    assert_eq!(created["team"], "shop");
    let id = created["id"].as_i64().unwrap();
    // Only security (or admin) decides; a team cannot approve its own.
    assert_eq!(
        e.send(
            Method::POST,
            "shop",
            &format!("/api/v1/exceptions/{id}/approve"),
            None
        )
        .status(),
        403
    );
    assert_eq!(
        e.send(
            Method::POST,
            "viewer",
            &format!("/api/v1/exceptions/{id}/approve"),
            None
        )
        .status(),
        403
    );
    let r = e.send(
        Method::POST,
        "security",
        &format!("/api/v1/exceptions/{id}/approve"),
        None,
    );
    assert_eq!(r.status(), 200);
    assert_eq!(body(r)["state"], "approved");
    assert_eq!(
        e.send(
            Method::POST,
            "security",
            &format!("/api/v1/exceptions/{id}/reject"),
            None
        )
        .status(),
        409
    );
    // Another team cannot revoke it; its own can.
    assert_eq!(
        e.send(
            Method::DELETE,
            "billing",
            &format!("/api/v1/exceptions/{id}"),
            None
        )
        .status(),
        403
    );
    let r = e.send(
        Method::DELETE,
        "shop",
        &format!("/api/v1/exceptions/{id}"),
        None,
    );
    assert_eq!(r.status(), 200);
    assert_eq!(body(r)["state"], "revoked");
    // Each write is in the audit log with its before and after.
    let audit = body(e.get("admin", "/api/v1/audit?action=exception.&limit=500"));
    let subject = format!("exception:{id}");
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["subject"] == subject.as_str())
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["exception.revoke", "exception.approve", "exception.create"]
    );
    let by_actor = body(e.get("admin", "/api/v1/audit?actor=nobody"));
    assert!(by_actor["items"].as_array().unwrap().is_empty());
    let shop_actor = audit["items"][0]["actor"].as_str().unwrap().to_string();
    let mine = body(e.get(
        "admin",
        &format!("/api/v1/audit?actor={shop_actor}&since=2020-01-01T00:00:00Z"),
    ));
    assert!(mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["actor"] == shop_actor.as_str()));
    assert!(!mine["items"].as_array().unwrap().is_empty());
}

#[test]
fn openapi_document_lists_every_served_path() {
    let Some(e) = env() else { return };
    let doc = body(e.get("nobody", "/api/v1/openapi.json"));
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(doc["info"]["title"].is_string());
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/v1/tokens", &["get", "post"][..]),
        ("/api/v1/tokens/{id}", &["delete"]),
        ("/api/v1/audit", &["get"]),
        ("/api/v1/images", &["get"]),
        ("/api/v1/images/{digest}", &["get"]),
        ("/api/v1/images/{digest}/inventory", &["get"]),
        ("/api/v1/images/{digest}/settings", &["patch"]),
        ("/api/v1/findings", &["get"]),
        ("/api/v1/cves/{id}", &["get"]),
        ("/api/v1/graph", &["get"]),
        ("/api/v1/plans", &["get"]),
        ("/api/v1/teams", &["get"]),
        ("/api/v1/scans", &["post"]),
        ("/api/v1/exceptions", &["get", "post"]),
        ("/api/v1/exceptions/{id}", &["get", "delete"]),
        ("/api/v1/exceptions/{id}/approve", &["post"]),
        ("/api/v1/exceptions/{id}/reject", &["post"]),
    ] {
        let p = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} missing from the document"));
        for m in methods {
            let op = &p[*m];
            assert!(op.is_object(), "{m} {path}");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{m} {path}"
            );
            // Every path parameter is declared.
            for seg in path.split('/').filter(|s| s.starts_with('{')) {
                let name = seg.trim_matches(|c| c == '{' || c == '}');
                assert!(
                    op["parameters"].as_array().is_some_and(|ps| ps
                        .iter()
                        .any(|x| x["name"] == name && x["in"] == "path")),
                    "{m} {path}: parameter {name}"
                );
            }
        }
    }
    // Every $ref resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|x| refs(x, out));
            }
            Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling {r}"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["scheme"],
        "bearer"
    );
}

#[test]
fn bootstrap_writes_one_admin_token_to_a_private_file() {
    let dir = tempfile::tempdir().unwrap();
    // serve::start makes the token before it serves.
    let running = patchline_server::serve::start(config(dir.path()), Default::default()).unwrap();
    let path = dir.path().join("admin-token");
    assert!(path.is_file(), "no bootstrap token at {}", path.display());
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let secret = std::fs::read_to_string(&path).unwrap().trim().to_string();
    let r = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/tokens", running.url()))
        .bearer_auth(&secret)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        patchline_server::auth::bootstrap(&running.server)
            .unwrap()
            .is_none(),
        "a second admin token"
    );
    running.stop();
}

/// `PATCH /api/v1/images/{digest}/settings`: a team changes its own images' settings and
/// nothing else; team and tier are security's; every change is audited.
#[test]
fn teams_change_only_their_own_images_settings() {
    let Some(e) = env() else { return };
    let shop = format!("/api/v1/images/{}/settings", e.digests["shop"]);
    let billing = format!("/api/v1/images/{}/settings", e.digests["billing"]);
    let ok = json!({"contact": "shop-oncall@example.com", "containerfile": "shop/Containerfile",
                    "labels": {"criticality": "high"}});
    let r = e.send(Method::PATCH, "shop", &shop, Some(ok.clone()));
    assert_eq!(r.status(), 200);
    let after = body(r);
    let entry = &after[0];
    assert_eq!(entry["owner"]["team"], "shop", "{entry}");
    assert_eq!(entry["owner"]["contact"], "shop-oncall@example.com");
    assert_eq!(entry["containerfile"], "shop/Containerfile");
    assert_eq!(entry["labels"]["criticality"], "high");
    assert_eq!(entry["tier"], "application", "unchanged");
    // Another team's image is not found; governance fields are refused to a team.
    let unknown = "/api/v1/images/sha256:00/settings".to_string();
    for (who, path, b, want) in [
        ("shop", &billing, ok.clone(), 404),
        ("shop", &shop, json!({"team": "billing"}), 403),
        ("shop", &shop, json!({"tier": "base"}), 403),
        ("viewer", &shop, ok.clone(), 403),
        ("scanner", &shop, ok.clone(), 403),
        ("security", &shop, json!({"tier": "mainframe"}), 422),
        ("shop", &shop, json!({"contact": "a\u{7}b"}), 422),
        ("shop", &shop, json!({"colour": "blue"}), 422),
        ("shop", &unknown, ok.clone(), 404),
    ] {
        let r = e.send(Method::PATCH, who, path, Some(b.clone()));
        assert_eq!(r.status().as_u16(), want, "{who} {path} {b}");
    }
    // `null` clears; security may relabel any image.
    let r = e.send(
        Method::PATCH,
        "shop",
        &shop,
        Some(json!({"containerfile": null})),
    );
    assert_eq!(r.status(), 200);
    assert!(body(r)[0].get("containerfile").is_none_or(Value::is_null));
    let r = e.send(
        Method::PATCH,
        "security",
        &billing,
        Some(json!({"labels": {"pci": "yes"}})),
    );
    assert_eq!(r.status(), 200);
    let audit = body(e.get("admin", "/api/v1/audit?action=image.settings"));
    let items = audit["items"].as_array().unwrap();
    assert!(items.len() >= 3, "{audit}");
    assert!(items
        .iter()
        .any(|i| i["actor"].as_str().is_some_and(|a| a.ends_with(":shop"))));
}
