//! What the upload and trusted-image tests share: a server on a temporary store, tokens
//! made in its store, and a real scan of the Debian 12 fixture image `layout:child`
//! (curl 7.88.1-10+deb12u5) against an advisory DB imported from the Debian security
//! tracker feed `scan_e2e.rs` uses.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;

use patchline_model::vuln::ScanReport;
use patchline_model::Inventory;
use patchline_server::auth::{create_token, Role};
use patchline_server::config::Config;
use patchline_server::serve::{start, Running, ServeOptions};

pub struct Env {
    pub running: Running,
    pub url: String,
    pub client: reqwest::blocking::Client,
    _dir: tempfile::TempDir,
}

impl Env {
    pub fn start() -> Env {
        Env::start_with(|_| {})
    }

    pub fn start_with(change: impl FnOnce(&mut Config)) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "127.0.0.1:0".into(),
            data_dir: Some(dir.path().to_path_buf()),
            db: Some(dir.path().join("advisories.sqlite")),
            ..Config::default()
        };
        if let Some(base) = std::env::var("PATCHLINE_TEST_POSTGRES")
            .ok()
            .filter(|v| !v.is_empty())
        {
            config.store = Some(fresh_database(&base));
        }
        change(&mut config);
        let running = start(config, ServeOptions::default()).unwrap();
        Env {
            url: running.url(),
            running,
            client: reqwest::blocking::Client::new(),
            _dir: dir,
        }
    }

    /// A new token's secret.
    pub fn token(&self, role: Role, team: Option<&str>) -> String {
        let name = format!("{}-{}", role.as_str(), team.unwrap_or("x"));
        self.running
            .server
            .db
            .tx(|tx| create_token(tx, &name, role, team, None, "test"))
            .unwrap()
            .1
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.running
            .server
            .db
            .read(|tx| tx.query_i64(sql, &[]))
            .unwrap()
    }

    pub fn post(
        &self,
        path: &str,
        token: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let r = self
            .client
            .post(format!("{}{path}", self.url))
            .bearer_auth(token)
            .json(body)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(serde_json::Value::Null))
    }

    pub fn get(&self, path: &str, token: &str) -> (u16, serde_json::Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(serde_json::Value::Null))
    }
}

/// A new, empty database on the PostgreSQL server at `base`
/// (`postgres://user@host:port/db`), for running these tests on PostgreSQL by hand:
/// `PATCHLINE_TEST_POSTGRES=postgres://postgres@127.0.0.1:PORT/postgres`.
fn fresh_database(base: &str) -> String {
    let name = format!("h6_{}", uuid::Uuid::new_v4().simple());
    let mut c = postgres::Client::connect(base, postgres::NoTls).unwrap();
    c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

/// The fixture's child image scanned: its inventory and report.
pub struct Scanned {
    pub inventory: Inventory,
    pub report: ScanReport,
}

impl Scanned {
    pub fn digest(&self) -> String {
        self.report
            .image
            .manifest_digest
            .as_ref()
            .unwrap()
            .to_string()
    }

    pub fn body(&self, reference: &str) -> serde_json::Value {
        serde_json::json!({
            "inventory": self.inventory,
            "report": self.report,
            "reference": reference,
        })
    }
}

fn debian_feed() -> PathBuf {
    patchline_test_support::workspace_root()
        .join("crates/patchline/tests/data/debian-tracker-bookworm.json")
}

/// A fixture image (`child` or `base`) scanned once per test binary; `None` (after a
/// visible SKIP) when the fixtures are not built.
pub fn scanned(tag: &'static str) -> Option<&'static Scanned> {
    static CHILD: OnceLock<Option<Scanned>> = OnceLock::new();
    static BASE: OnceLock<Option<Scanned>> = OnceLock::new();
    let cell = if tag == "child" { &CHILD } else { &BASE };
    cell.get_or_init(|| {
        let fx = patchline_test_support::fixtures()?;
        static DB: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
        let (_, db) = DB.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("advisories.sqlite");
            patchline_advisory::import_files(
                &db,
                &[debian_feed()],
                &patchline_advisory::ImportOptions::default(),
            )
            .unwrap();
            (dir, db)
        });
        let opts = patchline_scan::ScanOptions {
            db: Some(db.clone()),
            ..Default::default()
        };
        let input = format!("oci:{}:{tag}", fx.join("layout").display());
        let scan = patchline_scan::scan(
            patchline_scan::Input::parse(&input),
            &opts,
            &patchline_inventory::NoProgress,
        )
        .unwrap();
        Some(Scanned {
            inventory: scan.inventory,
            report: scan.report,
        })
    })
    .as_ref()
}
