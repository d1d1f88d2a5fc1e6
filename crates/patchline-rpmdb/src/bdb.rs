//! BerkeleyDB hash databases (`Packages` of rpm < 4.16), read page by page.
//!
//! Page layout: a 26-byte header (lsn, pgno, prev_pgno, next_pgno, entries, hf_offset,
//! level, type), then for hash pages an array of `entries` u16 item offsets; items are
//! stored from the end of the page backwards, so an item's length is the distance to the
//! previous item's offset (or the page end). All integers use the byte order of the host
//! that created the file, told by how the metadata magic reads.

use crate::header::MAX_BLOB_LEN;
use crate::{Collector, Error, ErrorKind, Origin};

const PAGE_HEADER: usize = 26;
const META_LEN: usize = 512;
const HASH_MAGIC: u32 = 0x0006_1561;
const BTREE_MAGIC: u32 = 0x0005_3162;

const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;

const H_KEYDATA: u8 = 1;
const H_DUPLICATE: u8 = 2;
const H_OFFPAGE: u8 = 3;
const H_OFFDUP: u8 = 4;

/// `metaflags` bit of a database whose pages carry checksums.
const DBMETA_CHKSUM: u8 = 0x01;

fn err(kind: ErrorKind, location: Option<String>, message: impl Into<String>) -> Error {
    Error::new(Origin::BerkeleyDb, kind, location, message)
}

#[derive(Clone, Copy)]
enum Order {
    Little,
    Big,
}

struct Db<'a> {
    bytes: &'a [u8],
    order: Order,
    page_size: usize,
    last_pgno: u32,
}

impl<'a> Db<'a> {
    fn u32_at(&self, b: &[u8], off: usize) -> u32 {
        let a = [b[off], b[off + 1], b[off + 2], b[off + 3]];
        match self.order {
            Order::Little => u32::from_le_bytes(a),
            Order::Big => u32::from_be_bytes(a),
        }
    }

    fn u16_at(&self, b: &[u8], off: usize) -> u16 {
        let a = [b[off], b[off + 1]];
        match self.order {
            Order::Little => u16::from_le_bytes(a),
            Order::Big => u16::from_be_bytes(a),
        }
    }

    /// Page `pgno`, checked to lie within the database and the input and to carry its own
    /// number (as rpm checks).
    fn page(&self, pgno: u32) -> Result<&'a [u8], Error> {
        let loc = || Some(page_loc(pgno, self.page_size));
        if pgno == 0 || pgno > self.last_pgno {
            return Err(err(
                ErrorKind::Malformed,
                loc(),
                format!(
                    "page number outside 1..={} (the metadata's last page)",
                    self.last_pgno
                ),
            ));
        }
        let page = (pgno as usize)
            .checked_mul(self.page_size)
            .and_then(|start| self.bytes.get(start..start.checked_add(self.page_size)?));
        let Some(page) = page else {
            return Err(err(
                ErrorKind::Truncated,
                loc(),
                format!(
                    "page lies past the end of the {}-byte input",
                    self.bytes.len()
                ),
            ));
        };
        let stored = self.u32_at(page, 8);
        if stored != pgno {
            return Err(err(
                ErrorKind::Malformed,
                loc(),
                format!("page header names page {stored}"),
            ));
        }
        Ok(page)
    }

    fn next_pgno(&self, page: &[u8]) -> u32 {
        self.u32_at(page, 16)
    }
}

fn page_loc(pgno: u32, page_size: usize) -> String {
    format!("page {pgno} (offset {})", pgno as u64 * page_size as u64)
}

pub(crate) fn walk(bytes: &[u8], sink: &mut Collector) -> Result<(), Error> {
    let Some(meta) = bytes.get(..META_LEN) else {
        return Err(err(
            ErrorKind::Truncated,
            Some("page 0".into()),
            format!(
                "input is {} bytes, shorter than the {META_LEN}-byte metadata page",
                bytes.len()
            ),
        ));
    };
    let magic_le = u32::from_le_bytes([meta[12], meta[13], meta[14], meta[15]]);
    let magic_be = u32::from_be_bytes([meta[12], meta[13], meta[14], meta[15]]);
    let order = if magic_le == HASH_MAGIC {
        Order::Little
    } else if magic_be == HASH_MAGIC {
        Order::Big
    } else if magic_le == BTREE_MAGIC || magic_be == BTREE_MAGIC {
        return Err(err(
            ErrorKind::Unsupported,
            Some("page 0, byte 12".into()),
            "a btree database; rpm's Packages is always a hash database",
        ));
    } else {
        return Err(err(
            ErrorKind::UnknownFormat,
            Some("page 0, byte 12".into()),
            format!("magic {magic_le:#010x} is not the hash magic {HASH_MAGIC:#010x}"),
        ));
    };
    let mut db = Db {
        bytes,
        order,
        page_size: 0,
        last_pgno: 0,
    };
    let meta_field = |byte: usize| Some(format!("metadata page, byte {byte}"));
    let version = db.u32_at(meta, 16);
    if !(8..=10).contains(&version) {
        return Err(err(
            ErrorKind::Unsupported,
            meta_field(16),
            format!("hash version {version}; versions 8 to 10 are supported"),
        ));
    }
    let page_size = db.u32_at(meta, 20);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(err(
            ErrorKind::Malformed,
            meta_field(20),
            format!("page size {page_size} is not a power of two from 512 to 65536"),
        ));
    }
    db.page_size = page_size as usize;
    if meta[24] != 0 {
        return Err(err(
            ErrorKind::Unsupported,
            meta_field(24),
            format!("encrypted database (algorithm {})", meta[24]),
        ));
    }
    if meta[25] != P_HASHMETA {
        return Err(err(
            ErrorKind::Malformed,
            meta_field(25),
            format!(
                "page type {}, expected {P_HASHMETA} (hash metadata)",
                meta[25]
            ),
        ));
    }
    if meta[26] & DBMETA_CHKSUM != 0 {
        return Err(err(
            ErrorKind::Unsupported,
            meta_field(26),
            "pages carry checksums, which rpm databases never use",
        ));
    }
    db.last_pgno = db.u32_at(meta, 32);
    let max_bucket = db.u32_at(meta, 72);
    // Each bucket owns at least one page, so this also bounds the walk by the metadata.
    if max_bucket >= db.last_pgno.max(1) {
        return Err(err(
            ErrorKind::Malformed,
            meta_field(72),
            format!(
                "highest bucket {max_bucket} needs more pages than the last page number {}",
                db.last_pgno
            ),
        ));
    }
    let mut spares = [0u32; 32];
    for (i, s) in spares.iter_mut().enumerate() {
        *s = db.u32_at(meta, 96 + 4 * i);
    }

    // Pages that exist in the input; anything beyond is reported when reached.
    let pages_in_input = bytes.len() / db.page_size;
    let mut seen_hash = vec![false; pages_in_input];
    let mut used_overflow = vec![false; pages_in_input];

    for bucket in 0..=max_bucket {
        // rpm's hash_bucket_to_page: spares is indexed by the bucket's bit length.
        let bits = (u32::BITS - bucket.leading_zeros()) as usize;
        let first = spares
            .get(bits)
            .and_then(|s| bucket.checked_add(*s))
            .ok_or_else(|| {
                err(
                    ErrorKind::Malformed,
                    meta_field(96 + 4 * bits.min(31)),
                    format!("bucket {bucket} maps past page number 2^32"),
                )
            })?;
        let mut pgno = first;
        while pgno != 0 {
            let page = db.page(pgno)?;
            let loc = || Some(format!("bucket {bucket}, {}", page_loc(pgno, db.page_size)));
            let seen = &mut seen_hash[pgno as usize];
            if *seen {
                return Err(err(
                    ErrorKind::Malformed,
                    loc(),
                    "hash page reached twice (cycle or shared chain)",
                ));
            }
            *seen = true;
            let ty = page[25];
            if ty != P_HASH && ty != P_HASH_UNSORTED {
                return Err(err(
                    ErrorKind::Malformed,
                    loc(),
                    format!("page type {ty}, expected a hash page ({P_HASH} or {P_HASH_UNSORTED})"),
                ));
            }
            read_hash_page(&db, pgno, page, &mut used_overflow, sink)
                .map_err(|m| err(ErrorKind::Malformed, loc(), m))?;
            pgno = db.next_pgno(page);
        }
    }
    Ok(())
}

/// Reads the key/value pairs of one hash page. A broken page is an error (the message is
/// returned); a broken value is a warning for its record.
fn read_hash_page(
    db: &Db,
    pgno: u32,
    page: &[u8],
    used_overflow: &mut [bool],
    sink: &mut Collector,
) -> Result<(), String> {
    let ps = db.page_size;
    let entries = db.u16_at(page, 20) as usize;
    let min_off = PAGE_HEADER + 2 * entries;
    if min_off > ps {
        return Err(format!("{entries} items do not fit in a {ps}-byte page"));
    }
    let offset = |i: usize| db.u16_at(page, PAGE_HEADER + 2 * i) as usize;
    // Item i spans [offset(i), offset(i-1)), the first one ending at the page end.
    let item = |i: usize| -> Result<&[u8], String> {
        let start = offset(i);
        let end = if i == 0 { ps } else { offset(i - 1) };
        if start < min_off || start >= end || end > ps {
            return Err(format!(
                "item {i} spans bytes {start}..{end}, outside {min_off}..{ps}"
            ));
        }
        Ok(&page[start..end])
    };
    for k in (0..entries.saturating_sub(1)).step_by(2) {
        let key = item(k)?;
        let value = item(k + 1)?;
        let id = match (key[0], key.len()) {
            (H_KEYDATA, 5) => db.u32_at(key, 1),
            _ => {
                sink.warn(format!(
                    "rpm database (BerkeleyDB), {}, item {k}: key of type {} and {} bytes is not a 4-byte record number; pair skipped",
                    page_loc(pgno, ps),
                    key[0],
                    key.len()
                ));
                continue;
            }
        };
        if id == 0 {
            // rpm's counter of the next free record number, not a package.
            continue;
        }
        let where_ = || {
            format!(
                "rpm database (BerkeleyDB), record {id} (page {pgno} item {}, offset {})",
                k + 1,
                pgno as u64 * ps as u64
            )
        };
        match value[0] {
            H_KEYDATA => sink.record(i64::from(id), where_, &value[1..]),
            H_OFFPAGE if value.len() == 12 => {
                let first = db.u32_at(value, 4);
                let total = db.u32_at(value, 8);
                match overflow(db, first, total, used_overflow) {
                    Ok(blob) => sink.record(i64::from(id), where_, &blob),
                    Err(e) => sink.warn(format!("{}: {}", where_(), e.detail())),
                }
            }
            t @ (H_DUPLICATE | H_OFFDUP) => sink.warn(format!(
                "{}: duplicate-key item (type {t}), which rpm never writes; skipped",
                where_()
            )),
            t => sink.warn(format!(
                "{}: value item of type {t} and {} bytes is not a stored or overflow value",
                where_(),
                value.len()
            )),
        }
    }
    Ok(())
}

/// Reassembles a value stored on a chain of overflow pages.
fn overflow(db: &Db, first: u32, total: u32, used: &mut [bool]) -> Result<Vec<u8>, Error> {
    let total = total as usize;
    if total as u64 > MAX_BLOB_LEN {
        return Err(err(
            ErrorKind::Limit,
            Some(page_loc(first, db.page_size)),
            format!(
                "overflow value of {total} bytes exceeds the largest valid header ({MAX_BLOB_LEN})"
            ),
        ));
    }
    if total == 0 {
        return Err(err(
            ErrorKind::Malformed,
            Some(page_loc(first, db.page_size)),
            "overflow value of length 0",
        ));
    }
    // The chain cannot hold more than the input, whatever `total` says.
    let mut out = Vec::with_capacity(total.min(db.bytes.len()));
    let mut pgno = first;
    while out.len() < total {
        let loc = || Some(format!("overflow {}", page_loc(pgno, db.page_size)));
        if pgno == 0 {
            return Err(err(
                ErrorKind::Truncated,
                Some(format!("overflow chain from page {first}")),
                format!("chain ends after {} of {total} bytes", out.len()),
            ));
        }
        let page = db.page(pgno)?;
        if page[25] != P_OVERFLOW {
            return Err(err(
                ErrorKind::Malformed,
                loc(),
                format!("page type {}, expected {P_OVERFLOW} (overflow)", page[25]),
            ));
        }
        // `page` succeeded, so pgno indexes a page of the input.
        let slot = &mut used[pgno as usize];
        if *slot {
            return Err(err(
                ErrorKind::Malformed,
                loc(),
                "overflow page already used (cycle, or shared with another value)",
            ));
        }
        *slot = true;
        // On overflow pages hf_offset holds the number of bytes stored on the page.
        let len = db.u16_at(page, 22) as usize;
        if PAGE_HEADER + len > db.page_size || len > total - out.len() {
            return Err(err(
                ErrorKind::Malformed,
                loc(),
                format!(
                    "page holds {len} bytes, more than the page or the {} bytes still expected",
                    total - out.len()
                ),
            ));
        }
        out.extend_from_slice(&page[PAGE_HEADER..PAGE_HEADER + len]);
        pgno = db.next_pgno(page);
    }
    Ok(out)
}
