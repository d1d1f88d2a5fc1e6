//! E-mail notifications to a real SMTP server (aiosmtpd started by the test): the fix
//! message for a critical finding arrives once, with its subject and text, to every
//! address of the team.

use std::sync::Arc;
use std::time::Duration;

use patchline_server::config::{Config, Smtp};
use patchline_server::db::{now, Db};
use patchline_server::jobs;
use patchline_server::notify;
use patchline_server::store::{self, ImageKey};
use patchline_server::Server;
use patchline_test_support::services::smtp;

const CATALOG: &str = r#"
images:
  - reference: r.example/platform/base:12
    tier: base
    owner: { team: platform }
teams:
  - name: platform
    notify:
      - email: { to: [platform@example.com, oncall@example.com] }
"#;

#[test]
fn fix_message_arrives_by_smtp_once() {
    let Some(mail) = smtp::Smtp::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("s.sqlite").to_str().unwrap(), 2).unwrap();
    db.migrate().unwrap();
    let config = Config {
        data_dir: Some(dir.path().to_path_buf()),
        smtp: Some(Smtp {
            host: "127.0.0.1".into(),
            port: mail.port,
            from: "patchline@example.com".into(),
            username: None,
            password_file: None,
            password_env: None,
            security: "none".into(),
        }),
        ..Config::default()
    };
    let server = Arc::new(Server::new(db, config, false, dir.path().join("a.sqlite")));
    let report: patchline_model::vuln::ScanReport = serde_json::from_value(serde_json::json!({
        "schema": "patchline.scan/v1", "tool": {"name": "patchline", "version": "0"},
        "image": {"reference": "r.example/platform/base:12"}, "db": {"path": "", "schema_version": 1},
        "packages_scanned": 1, "inventory_complete": true,
        "findings": [{"id": "CVE-2024-0042", "advisories": [], "ecosystem": "Debian:12",
            "package": {"ecosystem": "deb", "name": "libbar", "version": "2.0-1", "purl": "pkg:deb/debian/libbar@2.0-1"},
            "state": "fixed", "fixed_versions": ["2.0-3"], "severity": "critical", "severity_source": "test"}],
    }))
    .unwrap();
    let s = server.clone();
    for _ in 0..2 {
        server
            .db
            .tx(|tx| -> patchline_server::db::Result<()> {
                patchline_server::lineage::import_yaml(tx, CATALOG)?;
                notify::teams::import(tx, CATALOG)?;
                let id = store::upsert_image(
                    tx,
                    &ImageKey {
                        digest: format!("sha256:{}", "ab".repeat(32)),
                        registry: "r.example".into(),
                        repository: "platform/base".into(),
                        reference: "r.example/platform/base:12".into(),
                        source: "registry".into(),
                    },
                )?;
                let e = patchline_server::lineage::get_entry(tx, "r.example/platform/base:12")?
                    .unwrap();
                patchline_server::lineage::put_entry(tx, &e, Some(id))?;
                let d = store::record_scan(tx, id, "pull", now(), &report)?;
                notify::on_delta(tx, &s, &d)?;
                Ok(())
            })
            .unwrap();
    }
    while let Some(job) = server
        .db
        .tx(|tx| jobs::claim(tx, "t", 60, Some(&[jobs::kind::NOTIFY])))
        .unwrap()
    {
        notify::deliver_job(&server, &job).unwrap();
        server.db.tx(|tx| jobs::complete(tx, job.id, "t")).unwrap();
    }
    let got = mail.wait_for(1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let got = if got.len() == 1 { mail.messages() } else { got };
    assert_eq!(got.len(), 1, "{got:?}");
    let m = &got[0];
    assert!(
        m.contains("X-Envelope-To: platform@example.com,oncall@example.com"),
        "{m}"
    );
    assert!(m.contains("From: patchline@example.com"), "{m}");
    assert!(
        m.contains("Subject: [fix] CVE-2024-0042 libbar in r.example/platform/base:12"),
        "{m}"
    );
    assert!(
        m.contains("upgrade libbar 2.0-1") && m.contains("fixed in 2.0-3"),
        "{m}"
    );
    let sent = server
        .db
        .read(|tx| {
            tx.query_i64(
                "SELECT COUNT(*) FROM notifications WHERE state = 'sent'",
                &[],
            )
        })
        .unwrap();
    assert_eq!(sent, 1);
}
