//! Matching and rematch timings for `bench/match.sh` (one process, one DB snapshot).
//!
//!     match_bench DB INVENTORY.json SBOM.cdx.json [RUNS] [SECONDS]
//!
//! Prints `key value` lines:
//! - `first_scan_ms`: the first scan of the process (fresh SQLite connection cache);
//! - `scan_ms_median`: median of RUNS scans, each with a fresh [`Matcher`] (no lookup
//!   cached between scans: what one `patchline scan` does);
//! - `rematch_json_per_s`: stored inventory JSON parsed and rescanned in a loop for
//!   SECONDS, a fresh matcher each time; `rematch_cdx_per_s`: the same from the stored
//!   CycloneDX SBOM; `rematch_shared_per_s`: JSON, one matcher shared across inventories
//!   (the server's batch rematch against one DB snapshot).

use std::time::{Duration, Instant};

use patchline_advisory::AdvisoryDb;
use patchline_match::{MatchOptions, Matcher};
use patchline_model::Inventory;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn rate(seconds: f64, mut one: impl FnMut() -> usize) -> (f64, usize) {
    let start = Instant::now();
    let mut n = 0usize;
    let mut findings = 0;
    while start.elapsed() < Duration::from_secs_f64(seconds) {
        findings = one();
        n += 1;
    }
    (n as f64 / start.elapsed().as_secs_f64(), findings)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: match_bench DB INVENTORY.json SBOM.cdx.json [RUNS] [SECONDS]");
        std::process::exit(2);
    }
    let runs: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(15);
    let seconds: f64 = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let db = AdvisoryDb::open(std::path::Path::new(&args[1])).expect("open DB");
    let (advisories, enrichment) = db.counts().expect("counts");
    let json = std::fs::read(&args[2]).expect("inventory");
    let cdx = std::fs::read(&args[3]).expect("sbom");
    let inv: Inventory = serde_json::from_slice(&json).expect("inventory JSON");
    let opts = MatchOptions::default();

    let t = Instant::now();
    let first = Matcher::new(&db).scan(&inv, &opts).expect("scan");
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let mut times = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let r = Matcher::new(&db).scan(&inv, &opts).expect("scan");
        times.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(r.findings.len(), first.findings.len());
    }
    let (json_rate, f1) = rate(seconds, || {
        let inv: Inventory = serde_json::from_slice(&json).expect("inventory JSON");
        Matcher::new(&db)
            .scan(&inv, &opts)
            .expect("scan")
            .findings
            .len()
    });
    let (cdx_rate, f2) = rate(seconds, || {
        let inv = patchline_inventory::sbom_input::parse_sbom(&cdx, "bench").expect("sbom");
        Matcher::new(&db)
            .scan(&inv, &opts)
            .expect("scan")
            .findings
            .len()
    });
    let mut shared = Matcher::new(&db);
    let (shared_rate, f3) = rate(seconds, || {
        let inv: Inventory = serde_json::from_slice(&json).expect("inventory JSON");
        shared.scan(&inv, &opts).expect("scan").findings.len()
    });
    assert!(
        f1 == first.findings.len() && f2 == f1 && f3 == f1,
        "{f1} {f2} {f3}"
    );
    println!("db_advisories {advisories}");
    println!("db_enrichment {enrichment}");
    println!("packages {}", inv.packages.len());
    println!("findings {}", first.findings.len());
    println!("first_scan_ms {first_ms:.2}");
    println!("scan_ms_median {:.2}", median(times));
    println!("rematch_json_per_s {json_rate:.1}");
    println!("rematch_cdx_per_s {cdx_rate:.1}");
    println!("rematch_shared_per_s {shared_rate:.1}");
}
