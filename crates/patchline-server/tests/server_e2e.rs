//! The whole loop through real parts and the API only: Debian's `docker-registry` notifies
//! a running server; skopeo pushes the fixture base and its curl child under the tags a
//! catalog declares; their findings appear through `GET /api/v1/findings` and the CVE page
//! names the image that must be fixed and its owner. Then the patched base is pushed under
//! the base's tag: a campaign opens for the child; the child rebuilt on the patched base
//! (with umoci, as a real rebuild would stack its layer) is pushed under its tag and the
//! campaign closes, verified by the child's real layer chain.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use patchline_server::config::{Config, Hooks, RegistryConfig, Schedules};
use patchline_server::serve::{start, ServeOptions};
use patchline_test_support::services::free_port;
use patchline_test_support::services::registry::{Notify, RegistryService};
use patchline_test_support::{fixtures, require_tools, shared_data_path, workspace_root};
use serde_json::Value;

const SECRET: &str = "e2e-hook-secret";
const CVE: &str = "CVE-2024-11053";

fn advisory_db(dir: &Path) -> Option<PathBuf> {
    let kev = shared_data_path("feeds/kev/known_exploited_vulnerabilities.json")?;
    let tracker = workspace_root().join("crates/patchline/tests/data/debian-tracker-bookworm.json");
    let db = dir.join("advisories.sqlite");
    patchline_advisory::import_files(
        &db,
        &[tracker, kev],
        &patchline_advisory::ImportOptions::default(),
    )
    .expect("importing the advisory feeds");
    Some(db)
}

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
        schedules: Schedules {
            sync: off(),
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
        api.get("/api/v1/campaigns")
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
