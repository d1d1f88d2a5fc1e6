//! Baseline for the benchmarks in `bench/sbom.sh` and `bench/lang.sh`: decompress layer
//! blobs with flate2 (zlib-rs backend) alone, discarding the output. `patchline sbom` is
//! measured against this: it does the same decompression plus two sha256 passes, the tar
//! walk and the extraction.
//!
//! With `--hash`, the two sha256 passes an image reader must make are done too (the
//! blob's digest and the diff_id of its output), on one thread: the floor of a verified
//! read, which is what bounds an incompressible layer (a jar set), where decompression
//! itself costs little.
//!
//! cargo run --release -p patchline-image --example gunzip_baseline -- [--hash] BLOB...

use std::io::{BufReader, Read};

use sha2::{Digest, Sha256};

/// Hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Option<Sha256>,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = &mut self.hash {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let hash = args.first().is_some_and(|a| a == "--hash");
    if hash {
        args.remove(0);
    }
    let mut total = 0u64;
    for path in args {
        let f = BufReader::with_capacity(256 * 1024, std::fs::File::open(&path)?);
        let blob = Hashing {
            inner: f,
            hash: hash.then(Sha256::new),
        };
        let mut d = Hashing {
            inner: flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(256 * 1024, blob)),
            hash: hash.then(Sha256::new),
        };
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = d.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        if let Some(h) = d.hash.take() {
            std::hint::black_box(h.finalize());
        }
        let inner = d.inner.into_inner().into_inner();
        if let Some(h) = inner.hash {
            std::hint::black_box(h.finalize());
        }
    }
    println!("{total}");
    Ok(())
}
