#![no_main]
//! npm's package.json and package-lock.json readers must not panic, whatever the bytes;
//! read in pieces of any size they give the same result (the UTF-8 repair works across
//! reads); under a small memory budget they give the same result or stop, giving every
//! reservation back.

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use patchline_inventory::lang::npm::{read_lockfile, read_manifest};
use patchline_inventory::{Budget, ExtractError, Extracted};

const MANIFEST: &str = "app/node_modules/a/package.json";
const LOCKFILE: &str = "app/package-lock.json";

/// Gives at most `n` bytes per read.
struct Pieces<'a>(&'a [u8], usize);

impl Read for Pieces<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(out.len()).min(self.1);
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

type Reader = fn(&str, u64, &mut dyn Read, &Budget) -> Result<Extracted, ExtractError>;

fn check(path: &str, read: Reader, data: &[u8], piece: usize) {
    let size = data.len() as u64;
    let whole = read(path, size, &mut &data[..], &Budget::unlimited())
        .expect("an unlimited budget and a slice cannot fail");
    for p in &whole.packages {
        assert!(!p.name.is_empty());
        assert_eq!(p.db_path, path);
    }
    let in_pieces = read(path, size, &mut Pieces(data, piece), &Budget::unlimited()).unwrap();
    assert_eq!(in_pieces, whole);
    let budget = Budget::new((2 << 20) + size);
    match read(path, size, &mut &data[..], &budget) {
        Ok(small) => assert_eq!(small, whole),
        Err(e) => {
            assert!(e.reason.contains("memory budget"), "{e}");
            assert_eq!(budget.used(), 0);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let piece = 1 + data.first().map_or(0, |b| usize::from(b % 7));
    check(MANIFEST, read_manifest, data, piece);
    let x = read_manifest(
        MANIFEST,
        data.len() as u64,
        &mut &data[..],
        &Budget::unlimited(),
    )
    .unwrap();
    assert!(x.packages.len() <= 1);
    assert!(x.packages.iter().all(|p| !p.version.is_empty()));
    check(LOCKFILE, read_lockfile, data, piece);
});
