//! A server seeded with real scans for the API tests: three fixture images
//! (`layout:base`, a Debian 12 rootfs; `layout:child`, built on it with a vulnerable
//! curl from bookworm-security; `layout:app-lang`, language packages), scanned by
//! patchline-scan against the Debian security tracker feed of the CLI's tests (imported
//! with patchline-advisory), stored through `store::upsert_image` / `save_inventory` /
//! `record_scan`, and catalogued (tiers, owners) through a catalog YAML.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use patchline_model::vuln::ScanReport;
use patchline_model::Inventory;
use patchline_server::auth::{create_token, Role};
use patchline_server::config::{Config, RegistryConfig};
use patchline_server::db::{now, Tx};
use patchline_server::serve::{start, Running, ServeOptions};
use patchline_server::store::{self, ImageKey};

/// The Debian tracker feed the CLI's scan tests use.
pub fn debian_feed() -> PathBuf {
    patchline_test_support::workspace_root()
        .join("crates/patchline/tests/data/debian-tracker-bookworm.json")
}

pub const REGISTRY: &str = "registry.example";
pub const BASE: &str = "registry.example/platform/debian:12";
pub const SHOP: &str = "registry.example/shop/app:1.0";
pub const BILLING: &str = "registry.example/billing/api:2.0";

pub const CATALOG: &str = r#"version: 1
images:
  - reference: registry.example/platform/debian:12
    tier: base
    owner: { team: platform, contact: platform@example.com }
  - reference: registry.example/shop/app:1.0
    tier: application
    owner: { team: shop }
    parent: registry.example/platform/debian:12
  - reference: registry.example/billing/api:2.0
    tier: application
    owner: { team: billing }
"#;

/// One scanned fixture.
#[derive(Clone)]
pub struct Scanned {
    pub reference: String,
    pub inventory: Inventory,
    pub report: ScanReport,
}

/// Scans the fixture images (once per process); `None` (skipped visibly) without
/// fixtures.
pub fn scans() -> Option<&'static [Scanned]> {
    static SCANS: std::sync::OnceLock<Option<(tempfile::TempDir, Vec<Scanned>)>> =
        std::sync::OnceLock::new();
    SCANS
        .get_or_init(|| {
            let fx = patchline_test_support::fixtures()?;
            let tmp = tempfile::tempdir().unwrap();
            let db = tmp.path().join("advisories.sqlite");
            patchline_advisory::import_files(
                &db,
                &[debian_feed()],
                &patchline_advisory::ImportOptions::default(),
            )
            .expect("importing the Debian feed");
            let opts = patchline_scan::ScanOptions {
                db: Some(db),
                ..Default::default()
            };
            let mut out = Vec::new();
            for (tag, reference) in [("base", BASE), ("child", SHOP), ("app-lang", BILLING)] {
                let input = format!("oci:{}:{tag}", fx.join("layout").display());
                let s = patchline_scan::scan(
                    patchline_scan::Input::Image(input.clone()),
                    &opts,
                    &patchline_inventory::NoProgress,
                )
                .unwrap_or_else(|e| panic!("scanning {input}: {e}"));
                out.push(Scanned {
                    reference: reference.to_string(),
                    inventory: s.inventory,
                    report: s.report,
                });
            }
            Some((tmp, out))
        })
        .as_ref()
        .map(|(_, v)| v.as_slice())
}

/// Stores one scan under `reference` with `digest` (the image's own unless given).
pub fn store_scan(tx: &mut dyn Tx, s: &Scanned, digest: Option<&str>, reference: &str) -> i64 {
    let digest = digest.map(str::to_string).unwrap_or_else(|| {
        s.inventory
            .image
            .manifest_digest
            .as_ref()
            .expect("the fixture has a manifest digest")
            .to_string()
    });
    let (repo_ref, _) = reference.rsplit_once(':').unwrap();
    let repository = repo_ref.split_once('/').unwrap().1;
    let key = ImageKey {
        digest: digest.clone(),
        registry: REGISTRY.into(),
        repository: repository.into(),
        reference: reference.into(),
        source: "registry".into(),
    };
    let id = store::upsert_image(tx, &key).unwrap();
    store::save_inventory(tx, id, &s.inventory).unwrap();
    store::record_scan(tx, id, "pull", now(), &s.report).unwrap();
    id
}

pub struct Env {
    pub running: Running,
    pub url: String,
    pub tokens: BTreeMap<&'static str, String>,
    pub digests: BTreeMap<&'static str, String>,
    pub dir: tempfile::TempDir,
}

pub fn config(dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        store: None,
        data_dir: Some(dir.to_path_buf()),
        db: Some(dir.join("advisories.sqlite")),
        registries: vec![RegistryConfig::from_url(&format!("https://{REGISTRY}"))],
        role: patchline_server::config::Role::Api,
        ..Config::default()
    }
}

/// A started server with the three fixtures stored and catalogued, and a token per
/// role: `admin`, `security`, `shop` (team shop), `billing` (team billing), `scanner`,
/// `viewer`, plus `expired` and `revoked` (viewers).
pub fn seeded() -> Option<Env> {
    let scans = scans()?;
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    // `PATCHLINE_API_TEST_STORE=postgres://...`: the same tests on an empty PostgreSQL
    // database (a throwaway cluster's: see /work/shared/TESTING.md).
    c.store = std::env::var("PATCHLINE_API_TEST_STORE")
        .ok()
        .filter(|s| !s.is_empty());
    let running = start(c, ServeOptions::default()).unwrap();
    let url = running.url();
    let mut tokens = BTreeMap::new();
    let mut digests = BTreeMap::new();
    running
        .server
        .db
        .tx(|tx| -> patchline_server::db::Result<()> {
            patchline_server::lineage::import_yaml(tx, CATALOG)?;
            for (name, s) in [
                ("base", &scans[0]),
                ("shop", &scans[1]),
                ("billing", &scans[2]),
            ] {
                let id = store_scan(tx, s, None, &s.reference);
                patchline_server::lineage::record_image(tx, &s.reference, id, &s.inventory.image)?;
                digests.insert(
                    name,
                    s.inventory
                        .image
                        .manifest_digest
                        .as_ref()
                        .unwrap()
                        .to_string(),
                );
            }
            for (name, role, team) in [
                ("admin", Role::Admin, None),
                ("security", Role::Security, None),
                ("shop", Role::Team, Some("shop")),
                ("billing", Role::Team, Some("billing")),
                ("scanner", Role::Scanner, None),
                ("viewer", Role::Viewer, None),
            ] {
                let (_, secret) = create_token(tx, name, role, team, None, "test")?;
                tokens.insert(name, secret);
            }
            let (_, secret) =
                create_token(tx, "expired", Role::Viewer, None, Some(now() - 10), "test")?;
            tokens.insert("expired", secret);
            let (id, secret) = create_token(tx, "revoked", Role::Viewer, None, None, "test")?;
            tx.exec(
                "UPDATE api_tokens SET revoked_at = ? WHERE id = ?",
                patchline_server::params![now(), id],
            )?;
            tokens.insert("revoked", secret);
            Ok(())
        })
        .unwrap();
    Some(Env {
        running,
        url,
        tokens,
        digests,
        dir,
    })
}

impl Env {
    pub fn client(&self) -> reqwest::blocking::Client {
        reqwest::blocking::Client::new()
    }

    pub fn get(&self, who: &str, path: &str) -> reqwest::blocking::Response {
        let mut r = self.client().get(format!("{}{path}", self.url));
        if let Some(t) = self.tokens.get(who) {
            r = r.bearer_auth(t);
        }
        r.send().unwrap()
    }

    pub fn send(
        &self,
        method: reqwest::Method,
        who: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> reqwest::blocking::Response {
        let mut r = self.client().request(method, format!("{}{path}", self.url));
        if let Some(t) = self.tokens.get(who) {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        r.send().unwrap()
    }
}
