//! Import benchmark: imports PATH (an OSV all.zip, say) into a fresh database at DB and
//! prints the throughput, the on-disk size, and the speed of (ecosystem, package) lookups
//! over the stored index, as `key=value` lines for bench/advisory_import.sh.
//!
//! `cargo run --release -p patchline-advisory --example bench_import -- PATH DB`

use std::path::PathBuf;
use std::time::Instant;

use patchline_advisory::{import_files, AdvisoryDb, ImportOptions};
use rusqlite::Connection;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 3 {
        eprintln!("usage: bench_import PATH DB");
        std::process::exit(2);
    }
    let input = PathBuf::from(&args[1]);
    let db = PathBuf::from(&args[2]);
    let _ = std::fs::remove_file(&db);
    let opts = ImportOptions {
        fresh: true,
        ..ImportOptions::default()
    };
    let t0 = Instant::now();
    let report = import_files(&db, std::slice::from_ref(&input), &opts)?;
    let secs = t0.elapsed().as_secs_f64();
    let n = report.total().advisories();
    let size = std::fs::metadata(&db)?.len();
    println!("advisories={n}");
    println!("import_seconds={secs:.3}");
    println!("advisories_per_second={:.0}", n as f64 / secs);
    println!("db_bytes={size}");
    println!("db_bytes_per_advisory={:.0}", size as f64 / n.max(1) as f64);

    if std::env::var_os("BENCH_IMPORT_ONLY").is_some() {
        return Ok(());
    }
    // Lookups of every indexed key, through the matcher's interface.
    let keys: Vec<(String, String)> = {
        let c = Connection::open(&db)?;
        let mut st = c.prepare("SELECT DISTINCT ecosystem, package FROM affected_index")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    let adb = AdvisoryDb::open(&db)?;
    let t1 = Instant::now();
    let mut found = 0usize;
    for (e, p) in &keys {
        found += adb.lookup(e, p)?.len();
    }
    let lsecs = t1.elapsed().as_secs_f64();
    println!("lookup_keys={}", keys.len());
    println!("lookup_advisories_returned={found}");
    println!("lookups_per_second={:.0}", keys.len() as f64 / lsecs);
    Ok(())
}
