//! Generates a large synthetic osv.dev-style `all.zip` from the real OSV samples, for
//! benchmarks: record `i` is a copy of real record `i % R` (R = the samples read) with a
//! new id, aliases and package names suffixed by the round `i / R`, so the database gets
//! as many distinct (ecosystem, package) keys per record as real data has.
//!
//! `cargo run --release -p patchline-advisory --example gen_osv -- SAMPLES_DIR OUT.zip N`

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(p);
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        eprintln!("usage: gen_osv SAMPLES_DIR OUT.zip N");
        std::process::exit(2);
    }
    let mut files = Vec::new();
    collect(Path::new(&args[1]), &mut files);
    let samples: Vec<Value> = files
        .iter()
        .map(|f| serde_json::from_slice(&std::fs::read(f)?).map_err(Into::into))
        .collect::<Result<_, Box<dyn std::error::Error>>>()?;
    if samples.is_empty() {
        return Err(format!("no OSV JSON under {}", args[1]).into());
    }
    let n: usize = args[3].parse()?;
    let out = std::fs::File::create(&args[2])?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(out));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(6));
    let mut bytes = 0u64;
    for i in 0..n {
        let round = i / samples.len();
        let mut rec = samples[i % samples.len()].clone();
        let id = format!("{}-S{round}", rec["id"].as_str().unwrap_or("X"));
        rec["id"] = Value::String(id.clone());
        if let Some(aliases) = rec.get_mut("aliases").and_then(Value::as_array_mut) {
            for a in aliases.iter_mut() {
                if let Some(s) = a.as_str() {
                    *a = Value::String(format!("{s}-S{round}"));
                }
            }
        }
        if let Some(affected) = rec.get_mut("affected").and_then(Value::as_array_mut) {
            for a in affected.iter_mut() {
                if let Some(name) = a.pointer_mut("/package/name") {
                    if let Some(s) = name.as_str() {
                        *name = Value::String(format!("{s}-s{round}"));
                    }
                }
            }
        }
        let body = serde_json::to_vec(&rec)?;
        bytes += body.len() as u64;
        zip.start_file(format!("{id}.json"), opts)?;
        zip.write_all(&body)?;
    }
    zip.finish()?.flush()?;
    eprintln!(
        "gen_osv: {n} records from {} real samples, {bytes} bytes of JSON, written to {}",
        samples.len(),
        args[2]
    );
    Ok(())
}
