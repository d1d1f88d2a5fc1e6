//! Rebuild campaigns end to end on the server: a catalogued base tag moves to a new
//! digest → a campaign opens with its descendants in waves (the API shows them); a
//! child rebuilt on the old base stays unverified, one rebuilt on the new base is
//! verified by its layer chain and releases its own child; the campaign closes when all
//! are verified; items past their SLA are escalated once to their team and security.

use std::sync::Arc;

use patchline_lineage::CatalogEntry;
use patchline_model::Digest;
use patchline_server::campaigns;
use patchline_server::config::Config;
use patchline_server::db::{now, Tx};
use patchline_server::serve::{start, ServeOptions};
use patchline_server::store::{self, ImageKey};
use patchline_server::{notify, params, Server};

fn dg(s: &str) -> Digest {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(s.as_bytes())))
        .parse()
        .unwrap()
}

const CATALOG: &str = r#"
images:
  - reference: r.example/platform/base:12
    tier: base
    owner: { team: platform }
  - reference: r.example/platform/runtime:1
    tier: enterprise
    owner: { team: platform }
    parent: r.example/platform/base:12
  - reference: r.example/apps/app:1
    tier: application
    owner: { team: apps }
    parent: r.example/platform/runtime:1
teams:
  - name: platform
  - name: apps
  - name: security
    security: true
"#;

/// Stores an image (digest from `tag`) with its layers under `reference`, as a scan
/// would: images row, image_layers, the catalog entry resolved.
fn push(tx: &mut dyn Tx, reference: &str, tag: &str, layers: &[&str]) -> (i64, String) {
    let digest = dg(&format!("manifest {tag}")).to_string();
    let (repo, _) = reference.rsplit_once(':').unwrap();
    let id = store::upsert_image(
        tx,
        &ImageKey {
            digest: digest.clone(),
            registry: "r.example".into(),
            repository: repo.trim_start_matches("r.example/").into(),
            reference: reference.into(),
            source: "registry".into(),
        },
    )
    .unwrap();
    tx.exec("DELETE FROM image_layers WHERE image_id = ?", params![id])
        .unwrap();
    for (i, l) in layers.iter().enumerate() {
        tx.exec(
            "INSERT INTO image_layers (image_id, idx, diff_id) VALUES (?, ?, ?)",
            params![id, i as i64, dg(l).to_string()],
        )
        .unwrap();
    }
    tx.exec(
        "UPDATE images SET last_scanned_at = ?, scan_status = 'scanned' WHERE id = ?",
        params![now(), id],
    )
    .unwrap();
    let mut e: CatalogEntry = patchline_server::lineage::get_entry(tx, reference)
        .unwrap()
        .unwrap();
    e.digest = Some(digest.parse().unwrap());
    e.diff_ids = layers.iter().map(|l| dg(l)).collect();
    e.chain_ids.clear();
    e.ensure_chain_ids();
    patchline_server::lineage::put_entry(tx, &e, Some(id)).unwrap();
    (id, digest)
}

fn items(server: &Server, id: i64) -> Vec<(String, i64, String)> {
    server
        .db
        .read(|tx| campaigns::detail(tx, id))
        .unwrap()
        .unwrap()
        .items
        .into_iter()
        .map(|i| (i.reference, i.wave, i.state))
        .collect()
}

#[test]
fn base_move_opens_waves_rebuilds_verify_and_sla_escalates() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(
        Config {
            listen: "127.0.0.1:0".into(),
            data_dir: Some(dir.path().to_path_buf()),
            db: Some(dir.path().join("advisories.sqlite")),
            ..Config::default()
        },
        ServeOptions { no_auth: true },
    )
    .unwrap();
    let server: Arc<Server> = running.server.clone();
    let old_base = server
        .db
        .tx(|tx| -> patchline_server::db::Result<String> {
            patchline_server::lineage::import_yaml(tx, CATALOG)?;
            notify::teams::import(tx, CATALOG)?;
            let (_, old) = push(tx, "r.example/platform/base:12", "base-1", &["B0"]);
            push(tx, "r.example/platform/runtime:1", "rt-1", &["B0", "R1"]);
            push(tx, "r.example/apps/app:1", "app-1", &["B0", "R1", "A1"]);
            Ok(old)
        })
        .unwrap();

    // The base tag moves: the scan of the new digest is stored, then the move recorded.
    let s = server.clone();
    let new_base = server
        .db
        .tx(|tx| -> patchline_server::db::Result<String> {
            let (_, new) = push(tx, "r.example/platform/base:12", "base-2", &["B0p"]);
            campaigns::on_tag_moved(
                tx,
                &s,
                "r.example",
                "platform/base",
                "12",
                Some(&old_base),
                &new,
            )?;
            // A replayed event opens nothing more.
            campaigns::on_tag_moved(
                tx,
                &s,
                "r.example",
                "platform/base",
                "12",
                Some(&old_base),
                &new,
            )?;
            Ok(new)
        })
        .unwrap();
    let client = reqwest::blocking::Client::new();
    let page: serde_json::Value = client
        .get(format!("{}/api/v1/campaigns", running.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(page["next_cursor"].is_null(), "{page}");
    let list = &page["items"];
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let id = list[0]["id"].as_i64().unwrap();
    assert_eq!(list[0]["kind"], "base-moved");
    assert_eq!(list[0]["new_digest"], new_base.as_str());
    assert_eq!(list[0]["counts"]["to-rebuild"], 1, "{list}");
    assert_eq!(list[0]["counts"]["waiting"], 1, "{list}");
    let detail: serde_json::Value = client
        .get(format!("{}/api/v1/campaigns/{id}", running.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        detail["items"][0]["reference"], "r.example/platform/runtime:1",
        "{detail}"
    );
    assert_eq!(detail["items"][0]["team"], "platform");
    assert_eq!(detail["items"][1]["team"], "apps");
    assert!(
        detail["items"][0]["new_reference"]
            .as_str()
            .unwrap()
            .contains("runtime:1-p"),
        "{detail}"
    );
    assert!(
        detail["items"][0]["due_at"]
            .as_str()
            .unwrap()
            .ends_with('Z'),
        "{detail}"
    );
    assert_eq!(detail["waves"]["1"][0], "r.example/platform/runtime:1");
    assert_eq!(detail["waves"]["2"][0], "r.example/apps/app:1");
    let missing = client
        .get(format!("{}/api/v1/campaigns/999", running.url()))
        .send()
        .unwrap();
    assert_eq!(missing.status(), 404);
    let doc: serde_json::Value = client
        .get(format!("{}/api/v1/openapi.json", running.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        doc["paths"]["/api/v1/campaigns/{id}"]["get"].is_object(),
        "{}",
        doc["paths"]
    );

    // The runtime rebuilt on the OLD base: seen, not verified.
    let rebuilt = |tag: &str, reference: &str, layers: &[&str]| {
        let s = server.clone();
        server
            .db
            .tx(|tx| -> patchline_server::db::Result<()> {
                let (img, _) = push(tx, reference, tag, layers);
                campaigns::on_image_scanned(tx, &s, img)
            })
            .unwrap();
    };
    rebuilt("rt-wrong", "r.example/platform/runtime:1", &["B0", "R9"]);
    assert_eq!(
        items(&server, id),
        [
            (
                "r.example/platform/runtime:1".to_string(),
                1,
                "rebuilt".to_string()
            ),
            ("r.example/apps/app:1".to_string(), 2, "waiting".to_string())
        ]
    );
    rebuilt("rt-2", "r.example/platform/runtime:1", &["B0p", "R1p"]);
    assert_eq!(
        items(&server, id),
        [
            (
                "r.example/platform/runtime:1".to_string(),
                1,
                "verified".to_string()
            ),
            (
                "r.example/apps/app:1".to_string(),
                2,
                "to-rebuild".to_string()
            )
        ]
    );
    let released = server
        .db
        .read(|tx| {
            tx.query_i64(
                "SELECT COUNT(*) FROM notifications WHERE team = 'apps' AND dedupe_key = ?",
                params![format!("campaign:{id}:release:r.example/apps/app:1")],
            )
        })
        .unwrap();
    assert_eq!(released, 1, "the app's team hears its parent is ready");
    rebuilt("app-2", "r.example/apps/app:1", &["B0p", "R1p", "A1p"]);
    let d = server
        .db
        .read(|tx| campaigns::detail(tx, id))
        .unwrap()
        .unwrap();
    assert_eq!(d.summary.state, "done", "{:?}", d.items);
    assert!(d.items.iter().all(|i| i.new_digest.is_some()));

    // A second move; its items pass their SLA: overdue, escalated once each to the item's
    // team and the security team.
    let s = server.clone();
    server
        .db
        .tx(|tx| -> patchline_server::db::Result<()> {
            let (_, new) = push(tx, "r.example/platform/base:12", "base-3", &["B0q"]);
            let prev = dg("manifest base-2").to_string();
            campaigns::on_tag_moved(
                tx,
                &s,
                "r.example",
                "platform/base",
                "12",
                Some(&prev),
                &new,
            )
        })
        .unwrap();
    let later = now() + 400 * 86_400;
    let n1 = server.db.tx(|tx| campaigns::check_sla(tx, later)).unwrap();
    let n2 = server.db.tx(|tx| campaigns::check_sla(tx, later)).unwrap();
    assert_eq!((n1, n2), (2, 0));
    let esc: Vec<(String, String)> = server
        .db
        .read(|tx| -> patchline_server::db::Result<_> {
            tx.query(
                "SELECT team, dedupe_key FROM notifications WHERE kind = 'escalation' ORDER BY team, dedupe_key",
                &[],
            )?
            .iter()
            .map(|r| Ok((r.string(0)?, r.string(1)?)))
            .collect()
        })
        .unwrap();
    let teams: Vec<&str> = esc.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        teams,
        ["apps", "platform", "security", "security"],
        "{esc:?}"
    );

    // Opening by CVE needs the security role or admin; with nothing affected: 422.
    let r = client
        .post(format!("{}/api/v1/campaigns", running.url()))
        .json(&serde_json::json!({"vuln_id": "CVE-2099-0001"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = client
        .post(format!("{}/api/v1/campaigns", running.url()))
        .json(&serde_json::json!({"vuln_id": "CVE-2099-0001", "extra": 1}))
        .send()
        .unwrap();
    assert!(r.status().is_client_error());
    running.stop();
}

/// A report with one CVE finding in package `libfoo`, installed by layer `B0` (index 0).
fn cve_report(reference: &str, with_cve: bool) -> patchline_model::vuln::ScanReport {
    let findings = if with_cve {
        serde_json::json!([{
            "id": "CVE-2024-7777", "advisories": [], "ecosystem": "Debian:12",
            "package": {"ecosystem": "deb", "name": "libfoo", "version": "1.0-1",
                "purl": "pkg:deb/debian/libfoo@1.0-1",
                "introduced": {"index": 0, "diff_id": dg("B0").to_string()}},
            "state": "fixed", "fixed_versions": ["1.0-2"], "severity": "high",
            "severity_source": "test",
        }])
    } else {
        serde_json::json!([])
    };
    serde_json::from_value(serde_json::json!({
        "schema": "patchline.scan/v1", "tool": {"name": "patchline", "version": "0"},
        "image": {"reference": reference}, "db": {"path": "", "schema_version": 1},
        "packages_scanned": 10, "findings": findings, "inventory_complete": true,
    }))
    .unwrap()
}

#[test]
fn cve_campaign_opened_through_the_api_and_verified_when_the_cve_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(
        Config {
            listen: "127.0.0.1:0".into(),
            data_dir: Some(dir.path().to_path_buf()),
            db: Some(dir.path().join("advisories.sqlite")),
            ..Config::default()
        },
        ServeOptions { no_auth: true },
    )
    .unwrap();
    let server: Arc<Server> = running.server.clone();
    server
        .db
        .tx(|tx| -> patchline_server::db::Result<()> {
            patchline_server::lineage::import_yaml(tx, CATALOG)?;
            notify::teams::import(tx, CATALOG)?;
            for (r, tag, layers) in [
                ("r.example/platform/base:12", "base-1", &["B0"][..]),
                ("r.example/platform/runtime:1", "rt-1", &["B0", "R1"][..]),
                ("r.example/apps/app:1", "app-1", &["B0", "R1", "A1"][..]),
            ] {
                let (id, _) = push(tx, r, tag, layers);
                store::record_scan(tx, id, "pull", now(), &cve_report(r, true))?;
            }
            Ok(())
        })
        .unwrap();
    let client = reqwest::blocking::Client::new();
    let r = client
        .post(format!("{}/api/v1/campaigns", running.url()))
        .json(&serde_json::json!({"vuln_id": "CVE-2024-7777"}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let d: serde_json::Value = r.json().unwrap();
    assert_eq!(d["kind"], "cve");
    assert_eq!(d["root_reference"], "r.example/platform/base:12");
    let its: Vec<(String, i64, String)> = d["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["reference"].as_str().unwrap().to_string(),
                i["wave"].as_i64().unwrap(),
                i["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        its,
        [
            (
                "r.example/platform/runtime:1".to_string(),
                1,
                "to-rebuild".to_string()
            ),
            ("r.example/apps/app:1".to_string(), 2, "waiting".to_string())
        ],
        "{d}"
    );
    // The SLA of the worst open severity (high: 30 days by default).
    let due = d["items"][0]["due_at"].as_str().unwrap().to_string();
    let id = d["id"].as_i64().unwrap();
    let audited = server
        .db
        .read(|tx| {
            tx.query_i64(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'campaign.open' AND subject = ?",
                params![format!("campaign:{id}")],
            )
        })
        .unwrap();
    assert_eq!(audited, 1);
    assert!(due.ends_with('Z'));

    // The runtime rebuilt still carrying the CVE: seen, not verified; without it: verified.
    let s = server.clone();
    let rebuild = |tag: &str, with_cve: bool| {
        server
            .db
            .tx(|tx| -> patchline_server::db::Result<()> {
                let r = "r.example/platform/runtime:1";
                let (img, _) = push(tx, r, tag, &["B0", "R1x"]);
                store::record_scan(tx, img, "pull", now(), &cve_report(r, with_cve))?;
                campaigns::on_image_scanned(tx, &s, img)
            })
            .unwrap();
    };
    rebuild("rt-still", true);
    assert_eq!(items(&server, id)[0].2, "rebuilt");
    rebuild("rt-fixed", false);
    let now_items = items(&server, id);
    assert_eq!(now_items[0].2, "verified");
    assert_eq!(now_items[1].2, "to-rebuild");
    running.stop();
}
