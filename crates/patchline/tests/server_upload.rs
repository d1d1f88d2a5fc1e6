//! `patchline scan IMAGE --server URL`: the real binary scans the Debian 12 fixture image
//! and uploads its inventory and report to a real server started in this process; the
//! token comes from a file or `$PATCHLINE_TOKEN` and is never printed; a refused upload
//! or a clear-text URL off loopback exits 2 with a clear message.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::*;
use patchline_server::auth::{create_token, Role};
use patchline_server::config::Config;
use patchline_server::serve::{start, Running, ServeOptions};

fn server(dir: &Path) -> Running {
    start(
        Config {
            listen: "127.0.0.1:0".into(),
            data_dir: Some(dir.to_path_buf()),
            db: Some(dir.join("advisories.sqlite")),
            ..Config::default()
        },
        ServeOptions::default(),
    )
    .unwrap()
}

fn token(r: &Running, role: Role) -> String {
    r.server
        .db
        .tx(|tx| create_token(tx, "ci", role, None, None, "test"))
        .unwrap()
        .1
}

fn run(args: &[&str], env_token: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_patchline"));
    c.args(args)
        .env("NO_COLOR", "1")
        .env_remove("PATCHLINE_TOKEN");
    if let Some(t) = env_token {
        c.env("PATCHLINE_TOKEN", t);
    }
    c.output().expect("run patchline")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn scan_uploads_with_a_token_from_a_file_or_the_environment() {
    let Some(fx) = fixtures() else { return };
    let adv = AdvisoryEnv::with_feeds(&[Path::new(DEBIAN_FEED)]);
    let dir = tempfile::tempdir().unwrap();
    let running = server(dir.path());
    let url = running.url();
    let image = format!("oci:{}:child", fx.join("layout").display());
    let scanner = token(&running, Role::Scanner);
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{scanner}\n")).unwrap();
    let token_path = token_file.to_str().unwrap();

    let out = run(
        &[
            "scan",
            &image,
            "--db",
            &adv.db,
            "--cache-dir",
            &adv.cache,
            "--format",
            "json",
            "--server",
            &url,
            "--server-token-file",
            token_path,
            "--server-reference",
            "registry.example.com/team/app:1.4",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let digest = report["image"]["manifest_digest"]
        .as_str()
        .unwrap()
        .to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("uploaded to") && stderr.contains(&digest),
        "{stderr}"
    );
    assert!(!text(&out).contains(&scanner), "the token was printed");
    let count = |sql: &str| running.server.db.read(|tx| tx.query_i64(sql, &[])).unwrap();
    assert_eq!(
        count("SELECT count(*) FROM images WHERE source = 'upload'"),
        1
    );
    let open = count("SELECT count(*) FROM findings WHERE state = 'open'");
    assert!(open > 0);
    assert_eq!(
        count("SELECT count(*) FROM catalog_entries WHERE reference = 'registry.example.com/team/app:1.4'"),
        1
    );

    // Again, the token from the environment, with the gate failing: the scan's exit code
    // stays 1 and the replay opens nothing.
    let out = run(
        &[
            "scan",
            &image,
            "--db",
            &adv.db,
            "--cache-dir",
            &adv.cache,
            "--fail-on",
            "low",
            "--server",
            &url,
        ],
        Some(&scanner),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("(0 new, 0 resolved, 0 changed)"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains(&scanner));
    assert_eq!(
        count("SELECT count(*) FROM findings WHERE state = 'open'"),
        open
    );
    assert_eq!(count("SELECT count(*) FROM scans"), 2);
    running.stop();
}

#[test]
fn refused_uploads_and_bad_urls_exit_2() {
    let Some(fx) = fixtures() else { return };
    let adv = AdvisoryEnv::with_feeds(&[Path::new(DEBIAN_FEED)]);
    let dir = tempfile::tempdir().unwrap();
    let running = server(dir.path());
    let url = running.url();
    let image = format!("oci:{}:child", fx.join("layout").display());
    let base = [
        "scan",
        image.as_str(),
        "--db",
        adv.db.as_str(),
        "--cache-dir",
        adv.cache.as_str(),
    ];

    // A viewer's token: the scan runs, the upload is refused, exit 2 with the reason.
    let viewer = token(&running, Role::Viewer);
    let mut args = base.to_vec();
    args.extend(["--server", url.as_str()]);
    let out = run(&args, Some(&viewer));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--server")
            && stderr.contains("HTTP 403")
            && stderr.contains("role viewer"),
        "{stderr}"
    );
    assert!(!text(&out).contains(&viewer), "the token was printed");

    // No token at all.
    let out = run(&args, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("PATCHLINE_TOKEN"),
        "{}",
        text(&out)
    );

    // Clear text off loopback is refused before anything is scanned or sent.
    let mut args = base.to_vec();
    args.extend(["--server", "http://patchline.example.com"]);
    let out = run(&args, Some("plt_secret"));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no scan output: {}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("loopback"), "{stderr}");
    assert!(!stderr.contains("plt_secret"));
    let count = running
        .server
        .db
        .read(|tx| tx.query_i64("SELECT count(*) FROM images", &[]))
        .unwrap();
    assert_eq!(count, 0);
    running.stop();
}
