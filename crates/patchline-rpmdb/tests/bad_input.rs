//! Untrusted input: truncated and corrupted real databases, garbage, hostile length fields
//! and page cycles must give clear errors or warnings, never a panic or a huge allocation.

mod common;

use common::*;
use patchline_rpmdb::{header, read_packages, ErrorKind, Format, Read};
use proptest::prelude::*;

fn le32(b: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(b[o..o + 4].try_into().unwrap())
}

fn put_le32(b: &mut [u8], o: usize, v: u32) {
    b[o..o + 4].copy_from_slice(&v.to_le_bytes());
}

/// A damaged database may lose packages, but never silently, and never invents any.
fn check_subset(what: &str, full: &Read, got: &Result<Read, patchline_rpmdb::Error>) {
    match got {
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(r) => {
            for p in &r.packages {
                assert!(full.packages.contains(p), "{what}: invented package {p:?}");
            }
            if r.packages.len() < full.packages.len() {
                assert!(
                    !r.warnings.is_empty(),
                    "{what}: {} of {} packages and no warning",
                    r.packages.len(),
                    full.packages.len()
                );
            }
        }
    }
}

fn cut_points(len: usize, page: usize) -> Vec<usize> {
    let mut v: Vec<usize> = vec![0, 1, 4, 15, 16, 17, 31, 32, 33, 99, 100, 101, 511, 512, 513];
    for k in (page..len).step_by(page) {
        v.extend([k - 1, k, k + 1]);
    }
    for d in 1..16 {
        v.push(len * d / 16);
    }
    v.push(len - 1);
    v.retain(|&n| n < len);
    v.sort();
    v.dedup();
    v
}

#[test]
fn truncated_databases() {
    let Some(dir) = pkgdb_dir() else { return };
    for (rel, page) in [
        (BDB_LIBUUID, 4096),
        (BDB_EPOCH, 4096),
        (NDB, 4096),
        // SQLite: only a spread of cuts (each one copies and opens 3.6 MB).
        (SQLITE, 1 << 20),
    ] {
        let bytes = read(&dir, rel);
        let full = read_packages(&bytes).unwrap();
        for n in cut_points(bytes.len(), page) {
            let got = read_packages(&bytes[..n]);
            check_subset(&format!("{rel} cut at {n}"), &full, &got);
        }
    }
}

#[test]
fn truncation_messages_say_where() {
    let Some(dir) = pkgdb_dir() else { return };
    let bdb = read(&dir, BDB_LIBUUID);
    // The hash pages are there, the overflow chain of record 1 is not: a warning.
    let r = read_packages(&bdb[..3 * 4096]).unwrap();
    assert!(r.packages.is_empty());
    assert_eq!(
        r.warnings,
        vec![
            "rpm database (BerkeleyDB), record 1 (page 2 item 1, offset 8192): \
              page 3 (offset 12288): page lies past the end of the 12288-byte input"
                .to_owned()
        ]
    );
    // Bucket 1's page is missing: the database itself is cut.
    let e = read_packages(&bdb[..2 * 4096 + 10]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
    assert_eq!(
        e.to_string(),
        "rpm database (BerkeleyDB), page 2 (offset 8192): page lies past the end of the 8202-byte input"
    );

    let e = read_packages(&bdb[..100]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
    assert!(e.to_string().contains("512-byte metadata page"), "{e}");

    let ndb = read(&dir, NDB);
    let r = read_packages(&ndb[..ndb.len() / 2]).unwrap();
    assert!(!r.packages.is_empty());
    assert!(
        r.warnings.iter().any(|w| w.contains("runs past the end")),
        "{:?}",
        r.warnings
    );
    let e = read_packages(&ndb[..2000]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Truncated);
    assert!(e.to_string().contains("slot pages"), "{e}");
}

#[test]
fn garbage_after_each_magic() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let prefixes: [&[u8]; 5] = [
        b"",
        b"SQLite format 3\0",
        b"RpmP\0\0\0\0",
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x61, 0x15, 0x06, 0x00],
        &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x06, 0x15, 0x61],
    ];
    for round in 0..400 {
        let len = (rand() % 20_000) as usize;
        let mut b: Vec<u8> = (0..len).map(|_| rand() as u8).collect();
        let prefix = prefixes[round % prefixes.len()];
        if b.len() >= prefix.len() {
            b[..prefix.len()].copy_from_slice(prefix);
        }
        // Errors or (rarely) an empty list; what matters is no panic and no hang.
        if let Ok(r) = read_packages(&b) {
            assert!(
                r.packages.is_empty(),
                "round {round}: packages from garbage"
            );
        }
        let _ = header::parse(&b);
    }
}

#[test]
fn header_claiming_2_pow_31_entries() {
    let Some(dir) = pkgdb_dir() else { return };
    let blobs = ndb_blobs(&read(&dir, NDB));
    let mut h = blobs[0].clone();
    h[..4].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    let e = header::parse(&h).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit);
    assert_eq!(
        e.to_string(),
        "rpm header, byte 0: index count 2147483648 exceeds rpm's limit of 65535"
    );
    // The same header inside an NDB database: one warning naming the record.
    let mut ndb = read(&dir, NDB);
    let first_blob = le32(&ndb, 32 + 8) as usize * 16;
    ndb[first_blob + 16..first_blob + 20].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    let r = read_packages(&ndb).unwrap();
    assert_eq!(r.packages.len(), 34);
    assert_eq!(r.warnings.len(), 1);
    assert!(
        r.warnings[0].starts_with("rpm database (NDB), record 1 (slot 2, blob at offset 4096): rpm header, byte 0: index count 2147483648"),
        "{}",
        r.warnings[0]
    );
}

/// libuuid's `Packages`: bucket 0 on page 1 (record 0), bucket 1 on page 2 (record 1,
/// whose 80880-byte header fills overflow pages 3 to 22).
const PAGE: usize = 4096;

fn set_next(b: &mut [u8], pgno: usize, next: u32) {
    put_le32(b, pgno * PAGE + 16, next);
}

#[test]
fn berkeleydb_overflow_cycle() {
    let Some(dir) = pkgdb_dir() else { return };
    let orig = read(&dir, BDB_LIBUUID);
    let mut b = orig.clone();
    set_next(&mut b, 10, 5);
    let r = read_packages(&b).unwrap();
    assert!(r.packages.is_empty());
    assert_eq!(r.warnings.len(), 1);
    assert!(
        r.warnings[0].contains("record 1")
            && r.warnings[0].contains("page 5")
            && r.warnings[0].contains("already used"),
        "{}",
        r.warnings[0]
    );

    // A page linking to itself.
    let mut b = orig.clone();
    set_next(&mut b, 7, 7);
    let r = read_packages(&b).unwrap();
    assert!(r.warnings[0].contains("already used"), "{:?}", r.warnings);

    // A chain that stops early.
    let mut b = orig.clone();
    set_next(&mut b, 12, 0);
    let r = read_packages(&b).unwrap();
    assert!(
        r.warnings[0].contains("chain ends after"),
        "{:?}",
        r.warnings
    );

    // A chain that wanders onto a hash page.
    let mut b = orig.clone();
    set_next(&mut b, 12, 1);
    let r = read_packages(&b).unwrap();
    assert!(
        r.warnings[0].contains("expected 7 (overflow)"),
        "{:?}",
        r.warnings
    );

    // A chain that leaves the database.
    let mut b = orig.clone();
    set_next(&mut b, 12, 4000);
    let r = read_packages(&b).unwrap();
    assert!(r.warnings[0].contains("outside 1..=22"), "{:?}", r.warnings);
}

#[test]
fn berkeleydb_hostile_overflow_length() {
    let Some(dir) = pkgdb_dir() else { return };
    let mut b = read(&dir, BDB_LIBUUID);
    // Page 2's second item is the value's overflow reference: type, 3 unused, pgno, tlen.
    let page2 = 2 * PAGE;
    let item = page2 + u16::from_le_bytes([b[page2 + 28], b[page2 + 29]]) as usize;
    assert_eq!(b[item], 3);
    put_le32(&mut b, item + 8, u32::MAX);
    let r = read_packages(&b).unwrap();
    assert!(r.packages.is_empty());
    assert!(
        r.warnings[0].contains("exceeds the largest valid header"),
        "{:?}",
        r.warnings
    );
    // Within the limit but longer than the chain.
    put_le32(&mut b, item + 8, 200_000_000);
    let r = read_packages(&b).unwrap();
    assert!(
        r.warnings[0].contains("chain ends after 80880"),
        "{:?}",
        r.warnings
    );
}

#[test]
fn berkeleydb_hash_page_cycle_and_metadata() {
    let Some(dir) = pkgdb_dir() else { return };
    let orig = read(&dir, BDB_LIBUUID);
    let mut b = orig.clone();
    set_next(&mut b, 2, 2);
    let e = read_packages(&b).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Malformed);
    assert!(e.to_string().contains("reached twice"), "{e}");
    // Bucket 0's chain running into bucket 1's page.
    let mut b = orig.clone();
    set_next(&mut b, 1, 2);
    assert!(read_packages(&b)
        .unwrap_err()
        .to_string()
        .contains("reached twice"));
    // A page that does not carry its own number.
    let mut b = orig.clone();
    put_le32(&mut b, 2 * PAGE + 8, 9);
    let e = read_packages(&b).unwrap_err();
    assert!(e.to_string().contains("page header names page 9"), "{e}");
    // Metadata: page size, bucket count, version, encryption.
    for (off, val, what) in [
        (20, 1000u32, "page size 1000"),
        (72, 1_000_000, "highest bucket 1000000"),
        (16, 7, "hash version 7"),
    ] {
        let mut b = orig.clone();
        put_le32(&mut b, off, val);
        let e = read_packages(&b).unwrap_err();
        assert!(e.to_string().contains(what), "{e}");
        assert!(
            e.to_string()
                .starts_with("rpm database (BerkeleyDB), metadata page"),
            "{e}"
        );
    }
    let mut b = orig.clone();
    b[24] = 1;
    assert_eq!(read_packages(&b).unwrap_err().kind, ErrorKind::Unsupported);
}

#[test]
fn berkeleydb_big_endian_reads_the_same() {
    let Some(dir) = pkgdb_dir() else { return };
    for rel in [BDB_LIBUUID, BDB_EPOCH] {
        let le = read(&dir, rel);
        let be = bdb_to_big_endian(&le);
        assert_eq!(&be[12..16], &[0x00, 0x06, 0x15, 0x61]);
        assert_eq!(patchline_rpmdb::detect(&be), Some(Format::BerkeleyDb));
        assert_eq!(
            read_packages(&be).unwrap(),
            read_packages(&le).unwrap(),
            "{rel}"
        );
    }
}

#[test]
fn ndb_corrupt_slots_and_blobs() {
    let Some(dir) = pkgdb_dir() else { return };
    let orig = read(&dir, NDB);
    let slot = |i: usize| 16 * i; // slot 2 is the first after the header
                                  // A slot claiming 2^32-1 blocks: a warning, nothing allocated.
    let mut b = orig.clone();
    put_le32(&mut b, slot(2) + 12, u32::MAX);
    let r = read_packages(&b).unwrap();
    assert_eq!(r.packages.len(), 34);
    assert!(
        r.warnings[0].contains("runs past the end"),
        "{:?}",
        r.warnings
    );
    // Blob head naming another package.
    let mut b = orig.clone();
    let blob = le32(&b, slot(3) + 8) as usize * 16;
    put_le32(&mut b, blob + 4, 999);
    let r = read_packages(&b).unwrap();
    assert_eq!(r.packages.len(), 34);
    assert!(
        r.warnings[0].contains("names package index 999"),
        "{:?}",
        r.warnings
    );
    // Blob length disagreeing with the slot.
    let mut b = orig.clone();
    put_le32(&mut b, blob + 12, 5);
    let r = read_packages(&b).unwrap();
    assert!(
        r.warnings[0].contains("blob length 5 needs"),
        "{:?}",
        r.warnings
    );
    // Blob pointing into the slot pages.
    let mut b = orig.clone();
    put_le32(&mut b, slot(3) + 8, 1);
    let r = read_packages(&b).unwrap();
    assert!(r.warnings[0].contains("bad slot"), "{:?}", r.warnings);
    // Broken slot magic: the slot table itself is corrupt.
    let mut b = orig.clone();
    b[slot(7)] = b'X';
    let e = read_packages(&b).unwrap_err();
    assert_eq!(
        e.to_string(),
        "rpm database (NDB), slot 7 (offset 112): no Slot magic"
    );
    // Slot page count beyond the input.
    let mut b = orig.clone();
    put_le32(&mut b, 12, u32::MAX);
    assert_eq!(read_packages(&b).unwrap_err().kind, ErrorKind::Truncated);
}

#[test]
fn sqlite_without_packages_table() {
    // A valid, empty SQLite database (one 4096-byte page, empty schema).
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.sqlite");
    let conn = rusqlite::Connection::open(&p).unwrap();
    conn.execute_batch(
        "CREATE TABLE Other(a); CREATE VIEW Packages AS SELECT 1 AS hnum, x'00' AS blob;",
    )
    .unwrap();
    drop(conn);
    let e = read_packages(&std::fs::read(&p).unwrap()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "rpm database (SQLite), schema: Packages is a view, not a table"
    );

    let p2 = tmp.path().join("y.sqlite");
    let conn = rusqlite::Connection::open(&p2).unwrap();
    conn.execute_batch(
        "CREATE TABLE Packages(hnum INTEGER PRIMARY KEY, blob BLOB AS (zeroblob(1000000000)));",
    )
    .unwrap();
    drop(conn);
    let e = read_packages(&std::fs::read(&p2).unwrap()).unwrap_err();
    assert!(e.to_string().contains("generated"), "{e}");

    let p3 = tmp.path().join("z.sqlite");
    let conn = rusqlite::Connection::open(&p3).unwrap();
    conn.execute_batch(
        "CREATE TABLE Packages(hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
         INSERT INTO Packages(blob) VALUES (x'0000000100000000');
         INSERT INTO Packages(blob) VALUES ('text, not a header');",
    )
    .unwrap();
    drop(conn);
    let r = read_packages(&std::fs::read(&p3).unwrap()).unwrap();
    assert!(r.packages.is_empty());
    assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
    assert!(
        r.warnings[0].starts_with("rpm database (SQLite), record 1 (Packages row 1): rpm header"),
        "{:?}",
        r.warnings
    );
}

fn real_headers() -> Option<Vec<Vec<u8>>> {
    let dir = pkgdb_dir()?;
    Some(ndb_blobs(&read(&dir, NDB)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random byte changes anywhere in a real header.
    #[test]
    fn mutated_header_bytes(which in 0usize..35, edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let Some(blobs) = real_headers() else { return Ok(()) };
        let mut h = blobs[which % blobs.len()].clone();
        for (i, v) in edits {
            let at = i.index(h.len());
            h[at] = v;
        }
        let _ = header::parse(&h);
    }

    /// Random 32-bit values written over index fields (tag, type, offset, count).
    #[test]
    fn mutated_header_index(which in 0usize..35, edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u32>()), 1..4), cut in any::<prop::sample::Index>()) {
        let Some(blobs) = real_headers() else { return Ok(()) };
        let mut h = blobs[which % blobs.len()].clone();
        let il = u32::from_be_bytes(h[..4].try_into().unwrap()) as usize;
        let words = 2 + 4 * il;
        for (i, v) in edits {
            let w = i.index(words);
            h[4 * w..4 * w + 4].copy_from_slice(&v.to_be_bytes());
        }
        let _ = header::parse(&h);
        let n = cut.index(h.len());
        let _ = header::parse(&h[..n]);
    }

    /// Random byte changes in whole databases (the small ones; SQLite has its own test).
    #[test]
    fn mutated_databases(which in 0usize..3, edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)) {
        let Some(dir) = pkgdb_dir() else { return Ok(()) };
        let rel = [BDB_LIBUUID, BDB_EPOCH, NDB][which];
        let mut b = read(&dir, rel);
        for (i, v) in edits {
            let at = i.index(b.len());
            b[at] = v;
        }
        let _ = read_packages(&b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn mutated_sqlite(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..64)) {
        let Some(dir) = pkgdb_dir() else { return Ok(()) };
        let mut b = read(&dir, SQLITE);
        for (i, v) in edits {
            // Past the file header, so the database still opens and its pages are read.
            let at = 100 + i.index(b.len() - 100);
            b[at] = v;
        }
        let _ = read_packages(&b);
    }
}
