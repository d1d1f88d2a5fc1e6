//! The whole loop through real parts and the API only: Debian's `docker-registry` notifies
//! a running server; skopeo pushes the fixture base and its curl child under the tags a
//! catalog declares; their findings appear through `GET /api/v1/findings` and the CVE page
//! names the image that must be fixed and its owner. Then the patched base is pushed under
//! the base's tag: a campaign opens for the child; the child rebuilt on the patched base
//! (with umoci, as a real rebuild would stack its layer) is pushed under its tag and the
//! campaign closes, verified by the child's real layer chain.

use std::process::Command;
use std::time::{Duration, Instant};

use patchline_server::config::{Config, Hooks, RegistryConfig, Schedules};
use patchline_server::serve::{start, ServeOptions};
use patchline_test_support::services::free_port;
use patchline_test_support::services::registry::{Notify, RegistryService};
use patchline_test_support::{fixtures, require_tools, shared_data_path};

mod feeds_support;
use feeds_support::{advisory_db, import_tracker, tracker_with_curl};
use serde_json::Value;

const SECRET: &str = "e2e-hook-secret";
const CVE: &str = "CVE-2024-11053";

fn sh(cmd: &mut Command) {
    let st = cmd.status().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(st.success(), "{cmd:?}: {st}");
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
        std::thread::sleep(Duration::from_millis(250));
    }
}

struct Api {
    url: String,
    token: String,
    client: reqwest::blocking::Client,
}

impl Api {
    fn get(&self, path: &str) -> Value {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().unwrap()
    }
}

#[test]
fn push_findings_base_move_campaign_rebuild_closes() {
    let Some(fx) = fixtures() else { return };
    if !require_tools(&["docker-registry", "skopeo", "umoci"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let Some(db) = advisory_db(t.path()) else {
        return;
    };

    // The rebuilt child: the patched base plus the child's own change, as one layer.
    let layout = t.path().join("layout");
    sh(Command::new("cp")
        .arg("-r")
        .arg(fx.join("layout"))
        .arg(&layout));
    let files = t.path().join("files");
    std::fs::create_dir_all(files.join("srv/app")).unwrap();
    std::fs::write(files.join("srv/app/app.py"), "print('shop')\n").unwrap();
    let tar = t.path().join("shop.tar");
    sh(Command::new("tar")
        .arg("-C")
        .arg(&files)
        .arg("-cf")
        .arg(&tar)
        .arg("srv"));
    sh(Command::new("umoci")
        .args(["raw", "add-layer", "--image"])
        .arg(format!("{}:base-patched", layout.display()))
        .args(["--tag", "child-rebuilt"])
        .arg(&tar));

    let port = free_port();
    let notify = Notify {
        url: format!("http://127.0.0.1:{port}/api/v1/hooks/registry"),
        secret: SECRET.into(),
    };
    let Some(reg) = RegistryService::start(Some(&notify)) else {
        return;
    };
    let host = reg.url().trim_start_matches("http://").to_string();
    let (base_ref, shop_ref) = (
        format!("{host}/platform/base:12"),
        format!("{host}/apps/shop:1"),
    );
    let catalog = t.path().join("catalog.yaml");
    std::fs::write(
        &catalog,
        format!(
            "version: 1\nimages:\n  - reference: {base_ref}\n    tier: base\n    owner: {{ team: platform }}\n  - reference: {shop_ref}\n    tier: application\n    owner: {{ team: shop }}\nteams:\n  - name: platform\n  - name: shop\n"
        ),
    )
    .unwrap();
    let secret = t.path().join("hook-secret");
    std::fs::write(&secret, SECRET).unwrap();
    let off = || "off".to_string();
    let config = Config {
        listen: format!("127.0.0.1:{port}"),
        data_dir: Some(t.path().join("data")),
        db: Some(db),
        workers: 2,
        catalog: Some(catalog),
        hooks: Hooks {
            secret_file: Some(secret),
            ..Hooks::default()
        },
        registries: vec![RegistryConfig::from_url(&reg.url())],
        // Registry events are best effort (the registry drops what it cannot deliver in
        // time); the sync covers losses, as in production.
        schedules: Schedules {
            sync: "3s".into(),
            db_update: off(),
            db_watch: off(),
            digest: off(),
            sla_check: off(),
            retention: off(),
        },
        ..Config::default()
    };
    let running = start(config, ServeOptions::default()).unwrap();
    let token = std::fs::read_to_string(t.path().join("data/admin-token"))
        .unwrap()
        .trim()
        .to_string();
    let api = Api {
        url: running.url(),
        token,
        client: reqwest::blocking::Client::new(),
    };

    reg.push(&layout, "base", "platform/base:12");
    reg.push(&layout, "child", "apps/shop:1");

    // Findings through the API: the child's curl CVE.
    let finding = wait_for("the child's curl finding", 600, || {
        let page = api.get(&format!("/api/v1/findings?vuln={CVE}"));
        page["items"]
            .as_array()
            .and_then(|items| items.first().cloned())
    });
    assert_eq!(finding["package"], "curl", "{finding}");
    assert!(
        finding["image_reference"]
            .as_str()
            .unwrap()
            .contains("apps/shop"),
        "{finding}"
    );
    // The CVE page: the image where the fix belongs, and its owner.
    let cve = api.get(&format!("/api/v1/cves/{CVE}"));
    let text = cve.to_string();
    assert!(text.contains(&shop_ref) && text.contains("shop"), "{cve:#}");

    // The patched base is published under the base's tag: a campaign opens for the child.
    reg.push(&layout, "base-patched", "platform/base:12");
    let campaign = wait_for("a campaign for the base move", 600, || {
        api.get("/api/v1/campaigns")["items"]
            .as_array()
            .and_then(|c| c.first().cloned())
    });
    assert_eq!(campaign["kind"], "base-moved", "{campaign}");
    assert_eq!(campaign["root_reference"], base_ref.as_str(), "{campaign}");
    let id = campaign["id"].as_i64().unwrap();
    let detail = api.get(&format!("/api/v1/campaigns/{id}"));
    let items = detail["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{detail:#}");
    assert_eq!(items[0]["reference"], shop_ref.as_str());
    assert_eq!(items[0]["team"], "shop");
    assert_eq!(items[0]["state"], "to-rebuild", "{detail:#}");

    // The child rebuilt on the patched base is pushed under its tag: verified, done.
    reg.push(&layout, "child-rebuilt", "apps/shop:1");
    let done = wait_for("the campaign to close", 600, || {
        let d = api.get(&format!("/api/v1/campaigns/{id}"));
        (d["state"] == "done").then_some(d)
    });
    assert_eq!(done["items"][0]["state"], "verified", "{done:#}");
    assert!(done["closed_at"].is_string(), "{done:#}");
    running.stop();
}

/// A feed update beside the running server (as `patchline db import` would do it): the
/// server notices the new generation, rematches only the image holding curl, and the team
/// owning the image where the fix belongs gets one signed webhook delivery and one e-mail;
/// the base's team nothing.
#[test]
fn a_feed_update_reaches_the_owner_once_by_signed_webhook_and_mail() {
    use patchline_server::notify::webhook;
    use patchline_server::store::ImageKey;
    use patchline_test_support::services::smtp::Smtp;
    use patchline_test_support::services::webhook::WebhookReceiver;

    let Some(fx) = fixtures() else { return };
    let Some(sample) = shared_data_path("feeds/debian-tracker/debian_security_tracker_mock.json")
    else {
        return;
    };
    let Some(smtp) = Smtp::start() else { return };
    let t = tempfile::tempdir().unwrap();
    let adb = t.path().join("advisories.sqlite");
    import_tracker(&adb, &sample);
    let rx = WebhookReceiver::start();
    let hook_secret = t.path().join("webhook-secret");
    std::fs::write(&hook_secret, "team-webhook-secret").unwrap();

    let images = "version: 1\nimages:\n  - reference: registry.test/platform/base:12\n    tier: base\n    owner: { team: platform }\n  - reference: registry.test/apps/shop:1\n    tier: application\n    owner: { team: shop }\n";
    let catalog = t.path().join("catalog.yaml");
    std::fs::write(&catalog, images).unwrap();
    let config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: Some(t.path().join("data")),
        db: Some(adb.clone()),
        workers: 1,
        catalog: Some(catalog),
        smtp: Some(patchline_server::config::Smtp {
            host: "127.0.0.1".into(),
            port: smtp.port,
            from: "patchline@example.com".into(),
            username: None,
            password_file: None,
            password_env: None,
            security: "none".into(),
        }),
        schedules: Schedules {
            sync: "off".into(),
            db_update: "off".into(),
            db_watch: "1s".into(),
            digest: "1s".into(),
            sla_check: "off".into(),
            retention: "off".into(),
        },
        ..Config::default()
    };
    let running = start(config, ServeOptions::default()).unwrap();
    let server = running.server.clone();

    // The two images as scans store them (the base's layers are the child's first ones,
    // so the hierarchy comes from the layer chains).
    let layout = fx.join("layout");
    let mut image_ids = Vec::new();
    for (tag, reference) in [
        ("base", "registry.test/platform/base:12"),
        ("child", "registry.test/apps/shop:1"),
    ] {
        let opts = patchline_scan::ScanOptions {
            db: Some(adb.clone()),
            ..Default::default()
        };
        let scan = patchline_scan::scan(
            patchline_scan::Input::parse(&format!("oci:{}:{tag}", layout.display())),
            &opts,
            &patchline_inventory::NoProgress,
        )
        .unwrap();
        let digest = scan
            .inventory
            .image
            .manifest_digest
            .clone()
            .unwrap()
            .to_string();
        let key = ImageKey {
            digest,
            registry: "registry.test".into(),
            repository: reference
                .split_once('/')
                .unwrap()
                .1
                .split(':')
                .next()
                .unwrap()
                .into(),
            reference: reference.into(),
            source: "upload".into(),
        };
        let (_, id) = server
            .db
            .tx(|tx| {
                patchline_server::ingest::store_scan(
                    tx,
                    &server,
                    &key,
                    &[reference.to_string()],
                    &scan.inventory,
                    &scan.report,
                    "upload",
                    patchline_server::db::now(),
                )
            })
            .unwrap();
        image_ids.push(id);
    }
    // Let the first watch (a full rematch of a store it never saw) and the first digests
    // pass while no team has a channel yet.
    let idle = || {
        server
            .db
            .read(|tx| {
                tx.query_i64(
                    "SELECT COUNT(*) FROM jobs WHERE state IN ('queued', 'running') AND kind IN ('rescan', 'notify')",
                    &[],
                )
            })
            .unwrap()
            == 0
    };
    std::thread::sleep(Duration::from_secs(3));
    wait_for("the first rescan", 120, || idle().then_some(()));
    let scans = |id: i64| {
        server
            .db
            .read(|tx| {
                tx.query_i64(
                    "SELECT COUNT(*) FROM scans WHERE image_id = ?",
                    patchline_server::params![id],
                )
            })
            .unwrap()
    };
    let (base_scans, shop_scans) = (scans(image_ids[0]), scans(image_ids[1]));
    let teams = format!(
        "teams:\n  - name: platform\n    notify: [ {{ webhook: {{ url: \"{url}/platform\", secret_file: \"{s}\" }} }} ]\n  - name: shop\n    notify:\n      - webhook: {{ url: \"{url}/shop\", secret_file: \"{s}\" }}\n      - email: {{ to: [shop@example.com] }}\n",
        url = rx.url,
        s = hook_secret.display()
    );
    server
        .db
        .tx(|tx| patchline_server::notify::teams::import(tx, &teams))
        .unwrap();
    let before = rx.received().len();
    let mails_before = smtp.messages().len();

    // The feed update.
    let updated = t.path().join("tracker.json");
    std::fs::write(&updated, tracker_with_curl(&sample)).unwrap();
    import_tracker(&adb, &updated);

    let got = wait_for("the shop team's webhook delivery", 120, || {
        let got: Vec<_> = rx.received()[before..]
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains("CVE-2024-2398"))
            .cloned()
            .collect();
        (!got.is_empty()).then_some(got)
    });
    let mails = smtp.wait_for(mails_before + 1, Duration::from_secs(60));
    // Deliveries still in flight would show now: never the same finding twice.
    std::thread::sleep(Duration::from_secs(3));
    let all: Vec<_> = rx.received()[before..]
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("CVE-2024-2398"))
        .cloned()
        .collect();
    assert_eq!(
        all.len(),
        1,
        "one delivery: {:?}",
        all.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert_eq!(got[0].path, "/shop");
    let header = got[0].header(webhook::SIGNATURE_HEADER).expect("signed");
    let now = patchline_server::db::now();
    webhook::verify(b"team-webhook-secret", header, &got[0].body, now, 300)
        .expect("a valid signature");
    assert!(webhook::verify(
        b"team-webhook-secret",
        header,
        b"{\"tampered\":1}",
        now,
        300
    )
    .is_err());
    let mail = mails[mails_before..]
        .iter()
        .find(|m| m.contains("CVE-2024-2398"))
        .expect("a mail about the CVE");
    assert!(mail.contains("shop@example.com"), "{mail}");
    // Only the image holding curl was rematched.
    assert_eq!(
        scans(image_ids[0]),
        base_scans,
        "the base was not rematched"
    );
    assert_eq!(
        scans(image_ids[1]),
        shop_scans + 1,
        "the child was rematched once"
    );
    running.stop();
}
