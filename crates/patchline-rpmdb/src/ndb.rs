//! rpm's own "ndb" package database (`Packages.db`, SUSE), all integers little-endian.
//!
//! The file starts with 4 KiB slot pages. The first 32 bytes are the database header
//! (`RpmP`, version, generation, number of slot pages, next package index); after it, and
//! on every further slot page, come 16-byte slots (`Slot`, package index, blob offset and
//! blob length, both counted in 16-byte blocks; offset 0 marks a free slot). A blob is a
//! 16-byte head (`BlbS`, package index, timestamp, length), the header bytes, zero
//! padding, and a 12-byte tail (adler32, length, `BlbE`) ending on a block boundary.

use crate::{Collector, Error, ErrorKind, Origin};

const SLOT_PAGE: usize = 4096;
const SLOT_SIZE: usize = 16;
const HEADER_SIZE: usize = 32;
const BLOCK: u64 = 16;
const BLOB_HEAD: u64 = 16;
const BLOB_TAIL: u64 = 12;

fn le32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

fn err(kind: ErrorKind, location: Option<String>, message: impl Into<String>) -> Error {
    Error::new(Origin::Ndb, kind, location, message)
}

pub(crate) fn walk(bytes: &[u8], sink: &mut Collector) -> Result<(), Error> {
    let Some(head) = bytes.get(..HEADER_SIZE) else {
        return Err(err(
            ErrorKind::Truncated,
            None,
            format!(
                "input is {} bytes, shorter than the {HEADER_SIZE}-byte database header",
                bytes.len()
            ),
        ));
    };
    if &head[..4] != b"RpmP" {
        return Err(err(
            ErrorKind::UnknownFormat,
            Some("byte 0".into()),
            "no RpmP magic",
        ));
    }
    let version = le32(head, 4);
    if version != 0 {
        return Err(err(
            ErrorKind::Unsupported,
            Some("byte 4".into()),
            format!("database version {version}; only version 0 exists"),
        ));
    }
    let slot_pages = le32(head, 12) as usize;
    if slot_pages == 0 {
        return Err(err(
            ErrorKind::Malformed,
            Some("byte 12".into()),
            "no slot pages (even an empty database has one)",
        ));
    }
    let slots_end = slot_pages
        .checked_mul(SLOT_PAGE)
        .filter(|end| *end <= bytes.len())
        .ok_or_else(|| {
            err(
                ErrorKind::Truncated,
                Some("byte 12".into()),
                format!(
                    "{slot_pages} slot pages of {SLOT_PAGE} bytes do not fit in the {}-byte input",
                    bytes.len()
                ),
            )
        })?;
    // Blobs start after the slot pages, counted in blocks.
    let min_blkoff = (slots_end as u64) / BLOCK;
    let file_blocks = bytes.len() as u64 / BLOCK;

    for (slot_no, off) in (HEADER_SIZE..slots_end).step_by(SLOT_SIZE).enumerate() {
        // Slot numbers as rpm counts them: the header occupies slots 0 and 1.
        let slot_no = slot_no + HEADER_SIZE / SLOT_SIZE;
        let s = &bytes[off..off + SLOT_SIZE];
        if &s[..4] != b"Slot" {
            return Err(err(
                ErrorKind::Malformed,
                Some(format!("slot {slot_no} (offset {off})")),
                "no Slot magic",
            ));
        }
        let pkgidx = le32(s, 4);
        let blkoff = u64::from(le32(s, 8));
        let blkcnt = u64::from(le32(s, 12));
        if blkoff == 0 {
            continue;
        }
        let where_ = || {
            format!(
                "rpm database (NDB), record {pkgidx} (slot {slot_no}, blob at offset {})",
                blkoff * BLOCK
            )
        };
        if pkgidx == 0 || blkcnt == 0 || blkoff < min_blkoff {
            sink.warn(format!(
                "{}: bad slot (package index {pkgidx}, {blkcnt} blocks at block {blkoff}, blobs start at block {min_blkoff})",
                where_()
            ));
            continue;
        }
        if blkoff + blkcnt > file_blocks {
            sink.warn(format!(
                "{}: blob of {blkcnt} blocks runs past the end of the {}-byte input (truncated database)",
                where_(),
                bytes.len()
            ));
            continue;
        }
        // In range: blkoff + blkcnt <= file_blocks, so both ends are within `bytes`.
        let start = (blkoff * BLOCK) as usize;
        let blob = &bytes[start..((blkoff + blkcnt) * BLOCK) as usize];
        match unframe(blob, pkgidx) {
            Ok(header) => sink.record(i64::from(pkgidx), where_, header),
            Err(m) => sink.warn(format!("{}: {m}", where_())),
        }
    }
    Ok(())
}

/// The header bytes inside a framed blob of exactly the slot's block count.
fn unframe(blob: &[u8], pkgidx: u32) -> Result<&[u8], String> {
    if (blob.len() as u64) < BLOB_HEAD + BLOB_TAIL {
        return Err(format!(
            "blob of {} bytes cannot hold its head and tail",
            blob.len()
        ));
    }
    if &blob[..4] != b"BlbS" {
        return Err("no BlbS magic at the blob's start".into());
    }
    let head_idx = le32(blob, 4);
    if head_idx != pkgidx {
        return Err(format!("blob head names package index {head_idx}"));
    }
    let len = u64::from(le32(blob, 12));
    let blocks = (BLOB_HEAD + len + BLOB_TAIL).div_ceil(BLOCK);
    if blocks * BLOCK != blob.len() as u64 {
        return Err(format!(
            "blob length {len} needs {blocks} blocks but the slot has {}",
            blob.len() as u64 / BLOCK
        ));
    }
    let tail = &blob[blob.len() - BLOB_TAIL as usize..];
    if &tail[8..12] != b"BlbE" {
        return Err("no BlbE magic at the blob's end".into());
    }
    let tail_len = u64::from(le32(tail, 4));
    if tail_len != len {
        return Err(format!("blob head says {len} bytes, tail says {tail_len}"));
    }
    Ok(&blob[BLOB_HEAD as usize..(BLOB_HEAD + len) as usize])
}
