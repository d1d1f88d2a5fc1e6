//! Benchmark of the hierarchy build on synthetic catalogs (run by `bench/lineage.sh`).
//!
//! A catalog of N images is generated with the fan-out of a real organisation: base
//! families of 1 base (2-3 layers), 10 enterprise images on it (1-2 layers, one of them
//! adding none), 50 applications on each enterprise image (1-5 layers; 80 % declare their
//! base, 5 % are stale: built on an older enterprise build), 5 builders on the base, 2 %
//! of the applications under a second tag; plus 5 % unrelated COTS images (3-6 layers).
//!
//!     cargo run --release -p patchline-lineage --example lineage_bench -- [SIZES...] [--runs N] [--catalog]
//!
//! Prints one line per size: layers, time to compute chain IDs (what `Catalog::add` does
//! once per image), wall-clock and CPU time of `Graph::build` (medians of the runs; on a
//! shared machine the CPU time is the work, the wall time includes waiting for a core),
//! and the shape found.

use std::time::{Duration, Instant};

use patchline_lineage::chain::chain_ids;
use patchline_lineage::render::{self, RenderOptions};
use patchline_lineage::{Catalog, CatalogEntry, Graph, Tier};
use patchline_model::Digest;
use sha2::{Digest as _, Sha256};

/// Deterministic xorshift: the same catalog on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn range(&mut self, lo: u64, hi: u64) -> usize {
        (lo + self.next() % (hi - lo + 1)) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

struct Gen {
    rng: Rng,
    counter: u64,
    out: Vec<CatalogEntry>,
    want: usize,
}

impl Gen {
    fn digest(&mut self) -> Digest {
        self.counter += 1;
        Digest::sha256_from_bytes(&Sha256::digest(self.counter.to_le_bytes()))
    }
    fn layers(&mut self, n: usize) -> Vec<Digest> {
        (0..n).map(|_| self.digest()).collect()
    }
    fn full(&self) -> bool {
        self.out.len() >= self.want
    }
    fn push(&mut self, reference: String, tier: Tier, diff_ids: Vec<Digest>) -> usize {
        let mut e = CatalogEntry::new(reference, tier);
        e.digest = Some(self.digest());
        e.diff_ids = diff_ids;
        e.created = Some("2026-01-01T00:00:00Z".into());
        self.out.push(e);
        self.out.len() - 1
    }
}

fn generate(n: usize) -> Vec<CatalogEntry> {
    let mut g = Gen {
        rng: Rng(0x9e37_79b9_7f4a_7c15),
        counter: 0,
        out: Vec::with_capacity(n + 16),
        want: n,
    };
    let cots = n / 20;
    let mut family = 0;
    while g.out.len() < n - cots {
        family += 1;
        let base_layers = {
            let k = g.rng.range(2, 3);
            g.layers(k)
        };
        let base_ref = format!("registry.example/base/os{family}:1");
        g.push(base_ref.clone(), Tier::Base, base_layers.clone());
        for b in 0..5 {
            if g.out.len() >= n - cots {
                break;
            }
            let mut l = base_layers.clone();
            let k = g.rng.range(2, 4);
            l.extend(g.layers(k));
            g.push(
                format!("registry.example/build/os{family}-b{b}:1"),
                Tier::Builder,
                l,
            );
        }
        for ent in 0..10 {
            if g.out.len() >= n - cots {
                break;
            }
            let mut el = base_layers.clone();
            // One enterprise image per family only sets USER/ENV: no layer of its own.
            let k = if ent == 0 { 0 } else { g.rng.range(1, 2) };
            el.extend(g.layers(k));
            let ent_ref = format!("registry.example/ent/os{family}-e{ent}:1");
            let i = g.push(ent_ref.clone(), Tier::Enterprise, el.clone());
            g.out[i].declared_base = Some(base_ref.clone());
            for app in 0..50 {
                if g.out.len() >= n - cots {
                    break;
                }
                let stale = g.rng.chance(5) && el.len() > base_layers.len();
                let mut al = el.clone();
                if stale {
                    // Built on the previous enterprise build: its top layer differs.
                    let last = al.len() - 1;
                    al[last] = g.digest();
                }
                let k = g.rng.range(1, 5);
                al.extend(g.layers(k));
                let r = format!(
                    "registry.example/app/os{family}-e{ent}-a{app}:1.{}",
                    app % 7
                );
                let i = g.push(r.clone(), Tier::Application, al);
                if stale || g.rng.chance(80) {
                    g.out[i].declared_base = Some(ent_ref.clone());
                }
                if g.rng.chance(2) && !g.full() {
                    let mut alias = g.out[i].clone();
                    alias.reference = format!("{r}-stable");
                    g.out.push(alias);
                }
            }
        }
    }
    let mut c = 0;
    while !g.full() {
        c += 1;
        let k = g.rng.range(3, 6);
        let l = g.layers(k);
        g.push(
            format!("vendor{}.example/product{c}:9.{}", c % 50, c % 10),
            Tier::Cots,
            l,
        );
    }
    g.out.truncate(n);
    g.out
}

/// CPU time this thread has run (Linux `schedstat`), to tell the work from waiting
/// on a shared machine; `None` elsewhere.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let mut sizes = Vec::new();
    let mut runs = 3;
    let mut with_catalog = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => runs = args.next().and_then(|v| v.parse().ok()).unwrap_or(3).max(1),
            "--catalog" => with_catalog = true,
            s => sizes.push(
                s.parse::<usize>()
                    .unwrap_or_else(|_| panic!("not a size: {s}")),
            ),
        }
    }
    if sizes.is_empty() {
        sizes = vec![10_000, 50_000, 100_000, 200_000];
    }
    println!(
        "{:>8} {:>9} {:>12} {:>9} {:>9} {:>9} {:>9} {:>7} {:>7} {:>7} {:>7} {:>8}",
        "images",
        "layers",
        "chain_ids_ms",
        "build_ms",
        "cpu_ms",
        "ns/layer",
        "us/image",
        "roots",
        "edges",
        "stale",
        "issues",
        "text_ms"
    );
    for &n in &sizes {
        let mut entries = generate(n);
        let layers: usize = entries.iter().map(|e| e.diff_ids.len()).sum();
        let t = Instant::now();
        for e in &mut entries {
            e.chain_ids = chain_ids(&e.diff_ids);
        }
        let chain = t.elapsed();
        let mut times = Vec::new();
        let mut cpu_times = Vec::new();
        // Graphs are kept until every run of this size is done: freeing millions of small
        // allocations between runs would make the allocator consolidate them during the
        // next build, a cost the CLI (one build per process) never pays.
        let inputs: Vec<Vec<CatalogEntry>> = (0..runs).map(|_| entries.clone()).collect();
        let mut graphs = Vec::new();
        for input in inputs {
            let c0 = thread_cpu();
            let t = Instant::now();
            let g = Graph::build(input);
            times.push(t.elapsed());
            if let (Some(a), Some(b)) = (c0, thread_cpu()) {
                cpu_times.push(b.saturating_sub(a));
            }
            graphs.push(g);
        }
        let g: Graph = graphs.pop().expect("at least one run");
        drop(graphs);
        let build = median(times);
        let build_cpu = if cpu_times.is_empty() {
            None
        } else {
            Some(median(cpu_times))
        };
        let t = Instant::now();
        let text = render::text(&g, &RenderOptions::default());
        let text_time = t.elapsed();
        assert!(text.lines().count() >= g.len());
        let stale = g.nodes().iter().filter(|x| x.stale).count();
        println!(
            "{:>8} {:>9} {:>12.1} {:>9.1} {:>9} {:>9.1} {:>9.2} {:>7} {:>7} {:>7} {:>7} {:>8.1}",
            n,
            layers,
            ms(chain),
            ms(build),
            build_cpu
                .map(|c| format!("{:.1}", ms(c)))
                .unwrap_or_else(|| "-".into()),
            build.as_nanos() as f64 / layers as f64,
            build.as_secs_f64() * 1e6 / n as f64,
            g.roots().len(),
            g.edges().count(),
            stale,
            g.issues().len(),
            ms(text_time),
        );
        if with_catalog {
            let dir = std::env::temp_dir()
                .join(format!("patchline-lineage-bench-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let mut c = Catalog::open(dir.join("state.sqlite")).expect("open catalog");
            let t = Instant::now();
            c.add_many(entries.clone()).expect("add_many");
            let add = t.elapsed();
            let t = Instant::now();
            let listed = c.list().expect("list");
            let list = t.elapsed();
            assert_eq!(
                listed.len(),
                g.len() + g.nodes().iter().map(|x| x.aliases.len()).sum::<usize>()
            );
            let t = Instant::now();
            let g2 = Graph::build(listed);
            let build2 = t.elapsed();
            assert_eq!(g2.edges().count(), g.edges().count());
            println!(
                "         catalog (SQLite file): add_many {:.0} ms, list {:.0} ms, build from list {:.0} ms",
                ms(add),
                ms(list),
                ms(build2)
            );
            drop(c);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
