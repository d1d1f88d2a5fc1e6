//! Load benchmark of the read API (ignored by default: minutes, and it needs `wrk`).
//!
//! 10,000 stored images, synthesised by cloning the three seeded fixture scans (their
//! image rows, inventories, layers, scans and findings, copied in SQL under new
//! digests), then `wrk` against `GET /api/v1/findings?severity=high&limit=100` and an
//! image page. Prints p50/p99 latency, throughput and the process's peak RSS (VmHWM; the
//! server runs in this process).
//!
//! ```text
//! PATCHLINE_FIXTURES=DIR cargo test --release -p patchline-server --test api_load -- --ignored --nocapture
//! ```
//! `PATCHLINE_LOAD_IMAGES` changes the number of images (default 10000).

mod api_support;

use std::process::Command;
use std::time::Instant;

use api_support::*;
use patchline_server::db::Tx;
use patchline_server::params;

fn clone_image(tx: &mut dyn Tx, template: i64, n: usize) -> patchline_server::db::Result<()> {
    let digest = format!("sha256:{:064x}", 0xfeed_0000_0000u64 + n as u64);
    let id = tx.query_i64(
        "INSERT INTO images (digest, registry, repository, reference, config_digest, created, first_seen,
                             last_scanned_at, scan_status, source)
         SELECT ?, registry, repository || '-' || ?, reference || '-' || ?, config_digest, created, first_seen,
                last_scanned_at, scan_status, source FROM images WHERE id = ? RETURNING id",
        params![&digest, n as i64, n as i64, template],
    )?;
    tx.exec(
        "INSERT INTO inventories (image_id, doc, packages, complete, updated_at)
         SELECT ?, doc, packages, complete, updated_at FROM inventories WHERE image_id = ?",
        params![id, template],
    )?;
    tx.exec(
        "INSERT INTO image_layers (image_id, idx, diff_id) SELECT ?, idx, diff_id FROM image_layers WHERE image_id = ?",
        params![id, template],
    )?;
    tx.exec(
        "INSERT INTO image_packages (ecosystem, name, image_id) SELECT ecosystem, name, ? FROM image_packages WHERE image_id = ?",
        params![id, template],
    )?;
    tx.exec(
        "INSERT INTO scans (image_id, kind, started_at, finished_at, db_built, critical, high, medium, low, unknown, kev,
                            new_findings, resolved_findings, unmatched, warnings)
         SELECT ?, kind, started_at, finished_at, db_built, critical, high, medium, low, unknown, kev,
                new_findings, resolved_findings, unmatched, warnings FROM scans WHERE image_id = ?",
        params![id, template],
    )?;
    // Some images get their lows raised to high, so a `severity=high` page is spread
    // across the table as in a real estate, not packed at its start.
    let raise = if n.is_multiple_of(7) { "high" } else { "" };
    tx.exec(
        "INSERT INTO findings (image_id, vuln_id, aliases, ecosystem, package, version, severity, cvss, kev, epss,
                               fix_state, fixed_version, layer_diff_id, summary, state, first_seen, last_seen, doc)
         SELECT ?, vuln_id, aliases, ecosystem, package, version,
                CASE WHEN ? <> '' AND severity = 'low' THEN ? ELSE severity END,
                cvss, kev, epss, fix_state, fixed_version, layer_diff_id, summary, state, first_seen, last_seen, doc
         FROM findings WHERE image_id = ?",
        params![id, raise, raise, template],
    )?;
    Ok(())
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn wrk(url: &str, token: &str) -> String {
    let out = Command::new("wrk")
        .args(["-t2", "-c16", "-d15s", "--latency", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(url)
        .output()
        .expect("running wrk");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "load benchmark: minutes; run with --ignored --nocapture"]
fn ten_thousand_images() {
    if !patchline_test_support::require_tools(&["wrk"]) {
        return;
    }
    let Some(env) = seeded() else { return };
    let want: usize = std::env::var("PATCHLINE_LOAD_IMAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let t = Instant::now();
    let db = &env.running.server.db;
    let templates: Vec<i64> = db
        .read(|tx| -> patchline_server::db::Result<Vec<i64>> {
            tx.query("SELECT id FROM images ORDER BY id", &[])?
                .iter()
                .map(|r| r.i64(0))
                .collect()
        })
        .unwrap();
    let have = templates.len();
    for chunk in (have..want).collect::<Vec<_>>().chunks(500) {
        db.tx(|tx| -> patchline_server::db::Result<()> {
            for &n in chunk {
                clone_image(tx, templates[n % templates.len()], n)?;
            }
            Ok(())
        })
        .unwrap();
    }
    let (images, findings) = db
        .read(|tx| -> patchline_server::db::Result<(i64, i64)> {
            Ok((
                tx.query_i64("SELECT COUNT(*) FROM images", &[])?,
                tx.query_i64("SELECT COUNT(*) FROM findings", &[])?,
            ))
        })
        .unwrap();
    eprintln!(
        "seeded {images} images, {findings} findings in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let token = &env.tokens["viewer"];
    let shop = &env.digests["shop"];
    for path in [
        "/api/v1/findings?severity=high&limit=100".to_string(),
        format!("/api/v1/images/{shop}"),
        "/api/v1/images?limit=100".to_string(),
    ] {
        let url = format!("{}{path}", env.url);
        // One request first: the answer must be a full page, not an error.
        let r = env.get("viewer", &path);
        assert_eq!(r.status(), 200, "{path}");
        let out = wrk(&url, token);
        eprintln!("== GET {path}\n{out}");
        assert!(out.contains("Requests/sec"), "{out}");
        assert!(!out.contains("Non-2xx"), "{out}");
    }
    eprintln!(
        "peak RSS (VmHWM) of the process: {} MiB",
        vm_hwm_kib() / 1024
    );
}
