//! Baseline for the benchmark in `bench/sbom.sh`: decompress a layer blob with
//! flate2 (zlib-rs backend) alone, discarding the output. `patchline sbom` is measured
//! against this: it does the same decompression plus two sha256 passes, the tar walk and
//! the extraction.
//!
//! cargo run --release -p patchline-image --example gunzip_baseline -- BLOB...

use std::io::{BufReader, Read};

fn main() -> std::io::Result<()> {
    let mut total = 0u64;
    for path in std::env::args().skip(1) {
        let f = BufReader::with_capacity(256 * 1024, std::fs::File::open(&path)?);
        let mut d = flate2::bufread::MultiGzDecoder::new(f);
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = d.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
    }
    println!("{total}");
    Ok(())
}
