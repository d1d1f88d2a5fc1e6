//! Shared helpers for the integration tests: where the real databases live.
#![allow(dead_code)]

use std::path::PathBuf;

/// `pkgdb` in the shared data directory, or `None` once patchline-test-support has
/// reported it missing (a failure under CI).
#[track_caller]
pub fn pkgdb_dir() -> Option<PathBuf> {
    patchline_test_support::shared_data_path("pkgdb")
}

pub const SQLITE: &str = "go-rpmdb/cbl-mariner-2.0/rpmdb.sqlite";
pub const BDB_LIBUUID: &str = "go-rpmdb/libuuid/Packages";
pub const BDB_EPOCH: &str = "osv-scalibr/rpm/testdata/Packages_epoch";
pub const NDB: &str = "go-rpmdb/sle15-bci/Packages.db";

pub fn read(dir: &std::path::Path, rel: &str) -> Vec<u8> {
    let p = dir.join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// The header blobs of an NDB file, extracted independently of the crate (slots -> blobs),
/// for tests that mutate real headers.
pub fn ndb_blobs(bytes: &[u8]) -> Vec<Vec<u8>> {
    let le = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap()) as usize;
    let pages = le(12);
    let mut out = Vec::new();
    for off in (32..pages * 4096).step_by(16) {
        let blkoff = le(off + 8);
        if blkoff == 0 {
            continue;
        }
        let start = blkoff * 16;
        let len = le(start + 12);
        out.push(bytes[start + 16..start + 16 + len].to_vec());
    }
    out
}

fn le16(b: &[u8], o: usize) -> usize {
    u16::from_le_bytes([b[o], b[o + 1]]) as usize
}

fn swap(b: &mut [u8], o: usize, n: usize) {
    b[o..o + n].reverse();
}

/// The same BerkeleyDB hash database as a big-endian host would have written it: every
/// integer of the metadata, the page headers, the item offsets, overflow references and
/// the 4-byte record-number keys are byte-swapped (header blobs are big-endian anyway).
pub fn bdb_to_big_endian(le: &[u8]) -> Vec<u8> {
    let mut b = le.to_vec();
    let ps = u32::from_le_bytes(le[20..24].try_into().unwrap()) as usize;
    for o in (8..224).step_by(4) {
        // Bytes 24..28 are four one-byte fields.
        if o != 24 {
            swap(&mut b, o, 4);
        }
    }
    for base in (ps..le.len()).step_by(ps) {
        let ty = le[base + 25];
        let entries = le16(le, base + 20);
        for (o, n) in [(8, 4), (12, 4), (16, 4), (20, 2), (22, 2)] {
            swap(&mut b, base + o, n);
        }
        if ty != 2 && ty != 13 {
            continue;
        }
        for i in 0..entries {
            let off = le16(le, base + 26 + 2 * i);
            let end = if i == 0 {
                ps
            } else {
                le16(le, base + 26 + 2 * (i - 1))
            };
            swap(&mut b, base + 26 + 2 * i, 2);
            let item = base + off;
            match (le[item], end - off) {
                (1, 5) => swap(&mut b, item + 1, 4),
                (3, 12) => {
                    swap(&mut b, item + 4, 4);
                    swap(&mut b, item + 8, 4);
                }
                _ => {}
            }
        }
    }
    b
}
