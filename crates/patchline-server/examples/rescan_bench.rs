//! Benchmark of delta rescans and full rematches (not a test: figures for the report).
//!
//! ```text
//! PATCHLINE_FIXTURES=/work/fixtures-h1 cargo run --release -p patchline-server \
//!     --example rescan_bench -- [IMAGES] [STORE_URL]
//! ```
//!
//! - Inventories: the fixtures' real Debian 12 base (88 packages) and child (104: curl
//!   added) inventories, each extended by one of 200 "application" package sets (PyPI
//!   dependencies: 12 to 696 per set, so 100 to 800 packages per image, a few of them
//!   real vulnerable PyPI packages from the shared OSV records), 50 builds per
//!   application with some dependencies at other versions. Images of one application
//!   share its base and most of its packages, as images of a registry do.
//! - The store: SQLite in a temporary directory, or `STORE_URL` (e.g. a throwaway
//!   PostgreSQL cluster's `postgres://postgres@127.0.0.1:PORT/postgres`, empty); also
//!   `PATCHLINE_BENCH_PG`. Images and inventories rows are written directly (the same
//!   compressed JSON `store::save_inventory` writes, without its `image_packages` and
//!   layer rows, which rescans do not read) so that filling 10,000 images is quick.
//! - The advisory DB: the shared Debian tracker sample and every shared OSV record
//!   (PyPI, Go, crates.io). "100 changed advisories": 100 of the OSV records get a new
//!   `modified` time and detail and are imported again (in place).
//!
//! Printed: indexing, full rematch (fresh store: every finding new), the one-by-one
//! baseline (a new matcher per image, one transaction per image, as a rescan without
//! sharing does it) on a sample, and the delta rescan after the change, with ratios.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use patchline_model::{Ecosystem, Inventory, Package};
use patchline_scan::{Input, ScanOptions, Scanners};
use patchline_server::config::Config;
use patchline_server::db::{now, Db, Value};
use patchline_server::state::Server;
use patchline_server::{params, rescan, store};

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn inventory(reference: &str) -> Inventory {
    let opts = ScanOptions {
        scanners: Scanners {
            vuln: false,
            checks: false,
            secrets: false,
        },
        ..ScanOptions::default()
    };
    patchline_scan::scan(
        Input::Image(reference.into()),
        &opts,
        &patchline_inventory::NoProgress,
    )
    .expect("inventory of a fixture image")
    .inventory
}

/// (name, an affected version) of the shared PyPI OSV records.
fn vulnerable_pypi(data: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(data.join("osv/PyPI"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for f in files {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        for a in v["affected"].as_array().into_iter().flatten() {
            let name = a["package"]["name"].as_str().unwrap_or_default();
            if let Some(ver) = a["versions"].as_array().and_then(|v| v.first()) {
                out.push((name.to_string(), ver.as_str().unwrap_or("0").to_string()));
            }
        }
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

fn pypi(template: &Package, name: &str, version: &str) -> Package {
    let mut p = template.clone();
    p.ecosystem = Ecosystem::Pypi;
    p.name = name.to_string();
    p.version = version.to_string();
    p.epoch = None;
    p.arch = None;
    p.source_name = None;
    p.source_version = None;
    p.managed_by = None;
    p.purl = format!("pkg:pypi/{name}@{version}");
    p.db_path = format!("usr/lib/python3/dist-packages/{name}-{version}.dist-info/METADATA");
    p
}

fn build_images(
    base: &Inventory,
    child: &Inventory,
    vuln: &[(String, String)],
    n: usize,
) -> Vec<Inventory> {
    let mut rng = Lcg(42);
    let template = base.packages[0].clone();
    // 200 applications: their dependency names and vulnerable packages.
    let apps: Vec<(usize, Vec<usize>)> = (0..200)
        .map(|_| {
            let size = 12 + rng.below(685) as usize;
            let nv = rng.below(3) as usize;
            let v = (0..nv)
                .map(|_| rng.below(vuln.len() as u64) as usize)
                .collect();
            (size, v)
        })
        .collect();
    (0..n)
        .map(|i| {
            let app = i % apps.len();
            let build = i / apps.len();
            let (size, vulns) = &apps[app];
            let mut inv = if app.is_multiple_of(3) {
                child.clone()
            } else {
                base.clone()
            };
            inv.image.reference = format!("registry.bench/app{app}:build{build}");
            for j in 0..*size {
                // Most dependencies stay put between builds; some move.
                let minor = if j.is_multiple_of(7) { build % 4 } else { 0 };
                inv.packages.push(pypi(
                    &template,
                    &format!("app{app}-dep{j}"),
                    &format!("1.{minor}.0"),
                ));
            }
            for &v in vulns {
                inv.packages.push(pypi(&template, &vuln[v].0, &vuln[v].1));
            }
            inv
        })
        .collect()
}

fn fill(db: &Db, images: &[Inventory]) -> Vec<i64> {
    let mut ids = Vec::with_capacity(images.len());
    for (chunk_no, chunk) in images.chunks(200).enumerate() {
        let docs: Vec<Vec<u8>> = chunk
            .iter()
            .map(|inv| zstd::encode_all(&serde_json::to_vec(inv).unwrap()[..], 3).unwrap())
            .collect();
        db.tx(|tx| -> patchline_server::db::Result<()> {
            for (k, (inv, doc)) in chunk.iter().zip(&docs).enumerate() {
                let i = chunk_no * 200 + k;
                let id = tx.query_i64(
                    "INSERT INTO images (digest, registry, repository, reference, first_seen, source)
                     VALUES (?, 'registry.bench', ?, ?, ?, 'registry') RETURNING id",
                    params![format!("sha256:{i:064x}"), format!("app{}", i % 200), inv.image.reference.clone(), now()],
                )?;
                tx.exec(
                    "INSERT INTO inventories (image_id, doc, packages, complete, updated_at) VALUES (?, ?, ?, ?, ?)",
                    &[Value::from(id), Value::from(doc.clone()), Value::from(inv.packages.len()), Value::from(inv.complete), Value::from(now())],
                )?;
                ids.push(id);
            }
            Ok(())
        })
        .unwrap();
    }
    ids
}

fn import_osv(adb: &Path, dir: &Path) {
    let opts = patchline_advisory::ImportOptions {
        source: Some("osv-bench".into()),
        ..Default::default()
    };
    patchline_advisory::import_files(adb, &[dir.to_path_buf()], &opts).unwrap();
}

/// Copies every shared OSV record into `dir`, the `changed` first ones modified.
fn osv_dir(data: &Path, dir: &Path, changed: usize) -> usize {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).unwrap();
    let mut files: Vec<PathBuf> = ["PyPI", "Go", "crates.io"]
        .iter()
        .flat_map(|e| {
            std::fs::read_dir(data.join("osv").join(e))
                .unwrap()
                .flatten()
                .map(|e| e.path())
        })
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut n = 0;
    // Spread the changed ones over the ecosystems.
    for (i, f) in files.iter().enumerate() {
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap();
        if i.is_multiple_of(2) && n < changed {
            v["modified"] = "2026-12-07T00:00:00Z".into();
            v["details"] = format!("{} (revised)", v["details"].as_str().unwrap_or("")).into();
            n += 1;
        }
        std::fs::write(
            dir.join(format!("{i}.json")),
            serde_json::to_vec(&v).unwrap(),
        )
        .unwrap();
    }
    n
}

/// The shared Debian tracker sample is a few kilobytes: matched alone it leaves ~2 findings
/// per image, far fewer than a real Debian 12 image has (Trivy reports 100 to 150, most
/// of them unfixed). So the bench adds, in the tracker's own format, a synthetic load on
/// the base image's real source packages: 0 to 4 CVEs each (ids `CVE-2099-*`, so they
/// cannot be mistaken for real ones), a third of them fixed in a later version, the rest
/// open or unimportant. Set `PATCHLINE_BENCH_REAL_ONLY=1` to match the real samples only.
fn tracker_with_load(mock: &Path, base: &Inventory, out: &Path) {
    let mut doc: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(mock).unwrap()).unwrap();
    if std::env::var("PATCHLINE_BENCH_REAL_ONLY").is_err() {
        let mut sources: Vec<(String, String)> = base
            .packages
            .iter()
            .map(|p| {
                (
                    p.source_name.clone().unwrap_or_else(|| p.name.clone()),
                    p.source_version
                        .clone()
                        .unwrap_or_else(|| p.version.clone()),
                )
            })
            .collect();
        sources.sort();
        sources.dedup_by(|a, b| a.0 == b.0);
        let mut id = 10_000;
        for (k, (name, version)) in sources.iter().enumerate() {
            // An empty package object would also make the file unrecognisable.
            if k % 5 == 0 {
                continue;
            }
            let entry = doc
                .entry(name.clone())
                .or_insert_with(|| serde_json::json!({}));
            for j in 0..(k % 5) {
                id += 1;
                let fixed = (k + j).is_multiple_of(3);
                let urgency = ["low", "medium", "unimportant", "not yet assigned"][(k + j) % 4];
                let mut release = serde_json::json!({
                    "status": if fixed { "resolved" } else { "open" },
                    "repositories": {"bookworm": version},
                    "urgency": urgency,
                });
                if fixed {
                    release["fixed_version"] = format!("{version}+bench1").into();
                }
                entry[format!("CVE-2099-{id}")] = serde_json::json!({
                    "description": "synthetic load for the rescan benchmark",
                    "scope": "local",
                    "releases": {"bookworm": release},
                });
            }
        }
    }
    std::fs::write(out, serde_json::to_vec(&doc).unwrap()).unwrap();
}

/// Where a rescan's time went (the stages overlap on their threads).
fn stages(s: &rescan::RescanStats) {
    println!(
        "  stages busy: read+decode {:.1}s, match {:.1}s, record {:.1}s",
        s.stage_secs[0], s.stage_secs[1], s.stage_secs[2]
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let store_url = args
        .get(2)
        .cloned()
        .or_else(|| std::env::var("PATCHLINE_BENCH_PG").ok());
    let fixtures = PathBuf::from(std::env::var("PATCHLINE_FIXTURES").expect("PATCHLINE_FIXTURES"));
    let data = patchline_test_support::shared_data().expect("shared data");
    let tmp = tempfile::tempdir().unwrap();
    let layout = fixtures.join("layout");
    let base = inventory(&format!("oci:{}:base", layout.display()));
    let child = inventory(&format!("oci:{}:child", layout.display()));
    let vuln = vulnerable_pypi(&data);
    let images = build_images(&base, &child, &vuln, n);
    let sizes: Vec<usize> = images.iter().map(|i| i.packages.len()).collect();
    println!(
        "{n} inventories, {}..{} packages (mean {})",
        sizes.iter().min().unwrap(),
        sizes.iter().max().unwrap(),
        sizes.iter().sum::<usize>() / n.max(1)
    );

    let adb = tmp.path().join("advisories.sqlite");
    let tracker_opts = patchline_advisory::ImportOptions {
        source: Some("debian-tracker".into()),
        ..Default::default()
    };
    let tracker = tmp.path().join("debian-tracker.json");
    tracker_with_load(
        &data.join("feeds/debian-tracker/debian_security_tracker_mock.json"),
        &base,
        &tracker,
    );
    if let Err(e) = patchline_advisory::import_files(&adb, &[tracker], &tracker_opts) {
        panic!("importing the tracker: {e}");
    }
    let osv = tmp.path().join("osv");
    osv_dir(&data, &osv, 0);
    import_osv(&adb, &osv);

    let url =
        store_url.unwrap_or_else(|| format!("sqlite:{}", tmp.path().join("store.db").display()));
    let db = Db::open(&url, 8).unwrap();
    println!("store: {}", db.describe());
    db.migrate().unwrap();
    let config = Config {
        data_dir: Some(tmp.path().to_path_buf()),
        db: Some(adb.clone()),
        ..Config::default()
    };
    let server = Arc::new(Server::new(db, config, false, adb.clone()));
    let t = Instant::now();
    let ids = fill(&server.db, &images);
    println!("filled in {:.1}s", t.elapsed().as_secs_f64());
    drop(images);

    if std::env::var("PATCHLINE_BENCH_PROBE").is_ok() {
        let docs: Vec<Vec<u8>> = server
            .db
            .read(|tx| -> patchline_server::db::Result<Vec<Vec<u8>>> {
                tx.query("SELECT doc FROM inventories LIMIT 500", &[])?
                    .iter()
                    .map(|r| Ok(r.blob(0)?.to_vec()))
                    .collect()
            })
            .unwrap();
        let t = Instant::now();
        let raw: Vec<Vec<u8>> = docs
            .iter()
            .map(|d| zstd::decode_all(&d[..]).unwrap())
            .collect();
        let z = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for r in &raw {
            let _: Inventory = serde_json::from_slice(r).unwrap();
        }
        let j = t.elapsed().as_secs_f64();
        let t = Instant::now();
        for r in &raw {
            let _: serde_json::Value = serde_json::from_slice(r).unwrap();
        }
        let v = t.elapsed().as_secs_f64();
        println!("probe: 500 docs, mean {} B compressed, {} B json; zstd {:.2} ms, serde {:.2} ms, Value {:.2} ms per doc",
            docs.iter().map(|d| d.len()).sum::<usize>() / 500, raw.iter().map(|d| d.len()).sum::<usize>() / 500, z * 2.0, j * 2.0, v * 2.0);
    }
    let t = Instant::now();
    let indexed = rescan::index_inventories(&server.db).unwrap();
    let index_s = t.elapsed().as_secs_f64();
    println!("indexed {indexed} inventories in {index_s:.1}s");

    let s = rescan::rescan(&server, None).unwrap();
    let full_s = s.elapsed.as_secs_f64();
    println!(
        "full rematch (fresh store, every finding new): {} images in {full_s:.1}s = {:.0}/s; {} findings ({:.0} per image)",
        s.images,
        s.images as f64 / full_s,
        s.new_findings,
        s.new_findings as f64 / s.images.max(1) as f64
    );
    stages(&s);
    let s2 = rescan::rescan(&server, None).unwrap();
    let full2_s = s2.elapsed.as_secs_f64();
    println!(
        "full rematch (steady: nothing changed): {} images in {full2_s:.1}s = {:.0}/s",
        s2.images,
        s2.images as f64 / full2_s
    );
    stages(&s2);

    // The baseline: one by one, a new matcher per image, one transaction each.
    let sample: Vec<i64> = ids.iter().step_by((n / 300).max(1)).copied().collect();
    let t = Instant::now();
    let a = patchline_advisory::AdvisoryDb::open(&adb).unwrap();
    let info = a.info().unwrap();
    for &id in &sample {
        let inv = server
            .db
            .read(|tx| store::load_inventory(tx, id))
            .unwrap()
            .unwrap();
        let mut m = patchline_match::Matcher::new(&a);
        let report = rescan::report_for(&mut m, &info, &inv).unwrap();
        server
            .db
            .tx(|tx| store::record_scan(tx, id, "rescan", now(), &report).map(|_| ()))
            .unwrap();
    }
    let base_rate = sample.len() as f64 / t.elapsed().as_secs_f64();
    println!(
        "baseline one by one (no sharing): {} images at {base_rate:.0}/s; 10,000 would take {:.0}s",
        sample.len(),
        10_000.0 / base_rate
    );
    drop(a);

    let g = patchline_advisory::AdvisoryDb::open(&adb)
        .unwrap()
        .generation()
        .unwrap();
    let changed = osv_dir(&data, &osv, 100);
    let t = Instant::now();
    import_osv(&adb, &osv);
    let import_s = t.elapsed().as_secs_f64();
    let keys = patchline_advisory::AdvisoryDb::open(&adb)
        .unwrap()
        .changed_since(g)
        .unwrap()
        .unwrap();
    println!(
        "changed {changed} advisories (import in place {import_s:.2}s): {} changed keys",
        keys.len()
    );
    let d = rescan::rescan(&server, Some(g)).unwrap();
    let delta_s = d.elapsed.as_secs_f64();
    println!(
        "delta rescan: {} of {n} images rematched in {delta_s:.2}s ({} with changes)",
        d.images, d.with_changes
    );
    stages(&d);
    println!("--- summary ({})", server.db.describe());
    println!(
        "full rematch: fresh {full_s:.1}s ({:.0}/s, x{:.1} the one-by-one baseline), steady {full2_s:.1}s ({:.0}/s, x{:.1})",
        s.images as f64 / full_s,
        s.images as f64 / full_s / base_rate,
        s2.images as f64 / full2_s,
        s2.images as f64 / full2_s / base_rate
    );
    println!(
        "delta rescan: {delta_s:.2}s for {} images; baseline one-by-one for those: {:.1}s (x{:.0}); vs full rematch by baseline {:.0}s",
        d.images,
        d.images as f64 / base_rate,
        (d.images as f64 / base_rate) / delta_s.max(1e-9),
        n as f64 / base_rate
    );
}
