//! Onboarding benchmark (run by hand, not a test): a real `docker-registry` holding N
//! application images on 10 bases, synced from scratch by a server, then the latency from
//! one new push (with notifications) to its findings in the store.
//!
//! Images: the fixture base (`$PATCHLINE_FIXTURES/layout:base`, Debian 12 minbase, one
//! layer of ~63 MB) gets one small layer per base (`umoci insert`: bases `base-0..9`),
//! and each application one small layer of its own on one of the bases. So the N + 10
//! images hold 1 + 10 + N distinct layers, the big one shared by all. Pushed with skopeo
//! (4 at once). The advisory DB is built from the same real feeds as the tests.
//!
//! ```text
//! PATCHLINE_FIXTURES=DIR cargo run -p patchline-server --example onboarding -- [N] [RATE]
//! ```
//!
//! N defaults to 500; RATE (registry requests per second during the sync) to 200.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use patchline_server::config::{Config, Hooks, RegistryConfig, Schedules};
use patchline_server::params;
use patchline_server::registry::sync::{sync, SyncPayload};
use patchline_server::serve::{start, Running, ServeOptions};
use patchline_test_support::services::free_port;
use patchline_test_support::services::registry::{Notify, RegistryService};
use patchline_test_support::{fixtures, shared_data_path, workspace_root};

const BASES: usize = 10;
const SECRET: &str = "onboarding-bench-secret";

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("running a tool");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A layer tar (GNU tar: `umoci insert` leaves its tar unterminated) holding one file,
/// appended to `from` as `tag` with `umoci raw add-layer`.
fn add_layer(layout: &Path, work: &Path, from: &str, tag: &str, path: &str, text: &str) {
    let root = work.join("layer-root");
    let _ = std::fs::remove_dir_all(&root);
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, text).unwrap();
    let tar = work.join("layer.tar");
    let top = path.split('/').next().unwrap();
    run(Command::new("tar")
        .arg("-cf")
        .arg(&tar)
        .arg("-C")
        .arg(&root)
        .arg(top));
    run(Command::new("umoci")
        .args([
            "raw",
            "add-layer",
            "--image",
            &format!("{}:{from}", layout.display()),
            "--tag",
            tag,
        ])
        .arg(&tar));
}

fn build_images(fx: &Path, work: &Path, n: usize) -> PathBuf {
    let layout = work.join("L");
    run(Command::new("skopeo")
        .args(["--insecure-policy", "copy", "--quiet"])
        .arg(format!("oci:{}:base", fx.join("layout").display()))
        .arg(format!("oci:{}:base", layout.display())));
    for k in 0..BASES {
        add_layer(
            &layout,
            work,
            "base",
            &format!("base-{k}"),
            "etc/patchline-base-id",
            &format!("base {k}\n"),
        );
    }
    for i in 0..n {
        add_layer(
            &layout,
            work,
            &format!("base-{}", i % BASES),
            &format!("app-{i}"),
            &format!("srv/app/app-{i}.txt"),
            &format!("application {i}\n"),
        );
    }
    layout
}

fn push_all(reg: &RegistryService, layout: &Path, items: &[(String, String)]) {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some((tag, dest)) = items.get(i) else {
                    break;
                };
                reg.push(layout, tag, dest);
            });
        }
    });
}

fn count(r: &Running, sql: &str) -> i64 {
    r.server.db.read(|tx| tx.query_i64(sql, &[])).unwrap()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|a| a.parse().expect("N")).unwrap_or(500);
    let rate: f64 = args
        .next()
        .map(|a| a.parse().expect("RATE"))
        .unwrap_or(200.0);
    let Some(fx) = fixtures() else {
        std::process::exit(2)
    };
    let t = tempfile::tempdir().unwrap();
    let work = t.path();

    let t0 = Instant::now();
    let layout = build_images(&fx, work, n);
    eprintln!(
        "built {} images with umoci in {:.1} s",
        n + BASES,
        t0.elapsed().as_secs_f64()
    );

    let port = free_port();
    let quiet = RegistryService::start(None).expect("docker-registry");
    let watched = RegistryService::start(Some(&Notify {
        url: format!("http://127.0.0.1:{port}/api/v1/hooks/registry"),
        secret: SECRET.into(),
    }))
    .expect("docker-registry");
    let mut items: Vec<(String, String)> = (0..BASES)
        .map(|k| (format!("base-{k}"), format!("bases/base-{k}:1")))
        .collect();
    items.extend((0..n).map(|i| (format!("app-{i}"), format!("apps/app-{i:04}:1"))));
    let t1 = Instant::now();
    push_all(&quiet, &layout, &items);
    eprintln!(
        "pushed {} images with skopeo in {:.1} s",
        items.len(),
        t1.elapsed().as_secs_f64()
    );

    let kev =
        shared_data_path("feeds/kev/known_exploited_vulnerabilities.json").expect("shared data");
    let tracker = workspace_root().join("crates/patchline/tests/data/debian-tracker-bookworm.json");
    let db = work.join("advisories.sqlite");
    patchline_advisory::import_files(
        &db,
        &[tracker, kev],
        &patchline_advisory::ImportOptions::default(),
    )
    .unwrap();
    let secret = work.join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let mut quiet_reg = RegistryConfig::from_url(&quiet.url());
    quiet_reg.rate = rate;
    let config = Config {
        listen: format!("127.0.0.1:{port}"),
        data_dir: Some(work.join("data")),
        db: Some(db),
        workers: 2,
        hooks: Hooks {
            secret_file: Some(secret),
            ..Hooks::default()
        },
        registries: vec![quiet_reg, RegistryConfig::from_url(&watched.url())],
        schedules: Schedules {
            sync: "off".into(),
            db_update: "off".into(),
            db_watch: "off".into(),
            digest: "off".into(),
            sla_check: "off".into(),
            retention: "off".into(),
        },
        ..Config::default()
    };
    let running = start(config, ServeOptions::default()).unwrap();

    // Onboarding: a sync from scratch, then every queued scan.
    let t2 = Instant::now();
    let report = sync(
        &running.server,
        &SyncPayload {
            registry: quiet.host.clone(),
        },
    )
    .unwrap();
    let sync_secs = t2.elapsed().as_secs_f64();
    let total = items.len() as i64;
    loop {
        let done = count(
            &running,
            "SELECT COUNT(*) FROM images WHERE scan_status <> 'pending'",
        );
        if done >= total {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let onboard_secs = t2.elapsed().as_secs_f64();
    let failed = count(
        &running,
        "SELECT COUNT(*) FROM images WHERE scan_status = 'failed'",
    );
    let (read, cached) = patchline_server::registry::scan::layer_counts(&running.server.data_dir);
    let distinct = count(&running, "SELECT COUNT(*) FROM layers");
    let findings = count(
        &running,
        "SELECT COUNT(*) FROM findings WHERE state = 'open'",
    );
    println!(
        "onboarding: {} images ({} repositories, {} tags) on {BASES} bases",
        total, report.repositories, report.tags
    );
    println!("  sync (catalog, tags, HEAD each tag; rate {rate}/s): {sync_secs:.1} s");
    println!(
        "  sync + all scans stored: {onboard_secs:.1} s = {:.1} images/s",
        total as f64 / onboard_secs
    );
    println!("  failed scans: {failed}; open findings: {findings}");
    if failed > 0 {
        let e = running
            .server
            .db
            .read(|tx| {
                tx.query_one(
                    "SELECT scan_error FROM images WHERE scan_status = 'failed' LIMIT 1",
                    &[],
                )
            })
            .unwrap()
            .opt_string(0)
            .unwrap();
        println!("  first failure: {e:?}");
    }
    println!("  layers: {distinct} distinct; {read} read from the registry, {cached} from the layer cache (ideal: {} read)", 1 + BASES + n);

    // One new application image pushed to the watched registry.
    add_layer(
        &layout,
        work,
        "base-0",
        "app-new",
        "srv/app/new.txt",
        "a new application\n",
    );
    let t3 = Instant::now();
    watched.push(&layout, "app-new", "apps/new:1");
    let pushed = t3.elapsed().as_secs_f64();
    let digest = loop {
        let d = running
            .server
            .db
            .read(|tx| tx.query_opt("SELECT digest FROM tags WHERE repository = 'apps/new'", &[]))
            .unwrap();
        if let Some(row) = d {
            break row.string(0).unwrap();
        }
        assert!(t3.elapsed() < Duration::from_secs(120), "no push event");
        std::thread::sleep(Duration::from_millis(20));
    };
    let event = t3.elapsed().as_secs_f64();
    loop {
        let s: String = running
            .server
            .db
            .read(|tx| {
                tx.query_one(
                    "SELECT scan_status FROM images WHERE digest = ?",
                    params![&digest],
                )
            })
            .unwrap()
            .string(0)
            .unwrap();
        if s != "pending" {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("push to findings (one new app image, {BASES} bases cached): skopeo push {pushed:.2} s, event recorded at {event:.2} s, findings stored at {:.2} s", t3.elapsed().as_secs_f64());
    running.stop();
}
