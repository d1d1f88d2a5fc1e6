//! rpm header blobs as stored in a package database (no lead, no 8-byte header magic).
//!
//! Layout, all big-endian: `il` (u32, index entries), `dl` (u32, data bytes), `il` entries
//! of 16 bytes (tag, type, offset into the data, count), then `dl` bytes of data. See the
//! crate documentation for what is validated.

use crate::{Error, ErrorKind, Origin, RpmPackage};

/// Tags this reader extracts, with rpm's numbers.
pub mod tag {
    pub const HEADERIMAGE: u32 = 61;
    pub const HEADERSIGNATURES: u32 = 62;
    pub const HEADERIMMUTABLE: u32 = 63;
    pub const SIGMD5: u32 = 261;
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const SUMMARY: u32 = 1004;
    pub const SIZE: u32 = 1009;
    pub const VENDOR: u32 = 1011;
    pub const LICENSE: u32 = 1014;
    pub const ARCH: u32 = 1022;
    /// Full paths, one per file: the file list of headers built before rpm 4 compressed
    /// it into BASENAMES, DIRNAMES and DIRINDEXES (rpm 3.0.4 and earlier).
    pub const OLDFILENAMES: u32 = 1027;
    pub const SOURCERPM: u32 = 1044;
    pub const DIRINDEXES: u32 = 1116;
    pub const BASENAMES: u32 = 1117;
    pub const DIRNAMES: u32 = 1118;
    pub const LONGSIZE: u32 = 5009;
    pub const MODULARITYLABEL: u32 = 5096;
}

/// rpm's `HEADER_TAGS_MAX`: more index entries than this is corrupt.
pub const MAX_INDEX_ENTRIES: u32 = 0xffff;
/// rpm's `HEADER_DATA_MAX` (256 MiB, room for file signatures).
pub const MAX_DATA_LEN: u32 = 0x0fff_ffff;
/// The largest blob that can pass validation.
pub const MAX_BLOB_LEN: u64 = 8 + 16 * MAX_INDEX_ENTRIES as u64 + MAX_DATA_LEN as u64;
/// Most files (BASENAMES) and directories (DIRNAMES) one header's file list may have. The
/// largest real packages list some 100,000 files; the data length alone would allow
/// hundreds of millions of one-byte names.
pub const MAX_FILES: u32 = 1 << 20;
/// Most bytes the paths kept from one header's file list may take (each path's length
/// plus a `String`), as directories are shared: a few stored bytes can name long paths.
pub const MAX_FILE_LIST_BYTES: usize = 64 << 20;

const TYPE_CHAR: u32 = 1;
const TYPE_INT8: u32 = 2;
const TYPE_INT16: u32 = 3;
const TYPE_INT32: u32 = 4;
const TYPE_INT64: u32 = 5;
const TYPE_STRING: u32 = 6;
const TYPE_BIN: u32 = 7;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

const REGION_TRAILER_LEN: u32 = 16;

#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    ty: u32,
    offset: u32,
    count: u32,
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

fn err(kind: ErrorKind, location: Option<String>, message: impl Into<String>) -> Error {
    Error::new(Origin::Header, kind, location, message)
}

fn entry_loc(i: usize, e: &Entry) -> Option<String> {
    Some(format!("index entry {i} (tag {})", e.tag))
}

fn type_name(ty: u32) -> &'static str {
    match ty {
        0 => "NULL",
        TYPE_CHAR => "CHAR",
        TYPE_INT8 => "INT8",
        TYPE_INT16 => "INT16",
        TYPE_INT32 => "INT32",
        TYPE_INT64 => "INT64",
        TYPE_STRING => "STRING",
        TYPE_BIN => "BIN",
        TYPE_STRING_ARRAY => "STRING_ARRAY",
        TYPE_I18NSTRING => "I18NSTRING",
        _ => "unknown",
    }
}

/// A validated header: index and data borrowed from the blob.
struct Header<'a> {
    index: &'a [u8],
    data: &'a [u8],
    il: usize,
}

impl<'a> Header<'a> {
    fn entry(&self, i: usize) -> Entry {
        // `i < il` and `index.len() == 16 * il` are established by `new`.
        let b = &self.index[i * 16..i * 16 + 16];
        let w = |k: usize| u32::from_be_bytes([b[k], b[k + 1], b[k + 2], b[k + 3]]);
        Entry {
            tag: w(0),
            ty: w(4),
            offset: w(8),
            count: w(12),
        }
    }

    fn new(blob: &'a [u8]) -> Result<Header<'a>, Error> {
        let (Some(il), Some(dl)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err(err(
                ErrorKind::Truncated,
                None,
                format!(
                    "blob is {} bytes, shorter than the 8-byte index count and data length",
                    blob.len()
                ),
            ));
        };
        if il > MAX_INDEX_ENTRIES {
            return Err(err(
                ErrorKind::Limit,
                Some("byte 0".into()),
                format!("index count {il} exceeds rpm's limit of {MAX_INDEX_ENTRIES}"),
            ));
        }
        if dl > MAX_DATA_LEN {
            return Err(err(
                ErrorKind::Limit,
                Some("byte 4".into()),
                format!("data length {dl} exceeds rpm's limit of {MAX_DATA_LEN}"),
            ));
        }
        if il == 0 {
            return Err(err(
                ErrorKind::Malformed,
                Some("byte 0".into()),
                "header has no index entries",
            ));
        }
        let expected = 8 + 16 * u64::from(il) + u64::from(dl);
        let actual = blob.len() as u64;
        if actual != expected {
            return Err(err(
                if actual < expected {
                    ErrorKind::Truncated
                } else {
                    ErrorKind::Malformed
                },
                None,
                format!(
                    "blob is {actual} bytes but declares {il} index entries and {dl} data bytes \
                     ({expected} bytes in all)"
                ),
            ));
        }
        // Both fit in usize: together they are at most the blob's length.
        let il = il as usize;
        let index_end = 8 + 16 * il;
        let h = Header {
            index: &blob[8..index_end],
            data: &blob[index_end..],
            il,
        };
        let first = h.verify_region()?;
        h.verify_entries(first)?;
        Ok(h)
    }

    /// Checks the immutable region, if the first entry opens one, and returns the index
    /// of the first ordinary entry.
    fn verify_region(&self) -> Result<usize, Error> {
        let e = self.entry(0);
        if !matches!(
            e.tag,
            tag::HEADERIMAGE | tag::HEADERSIGNATURES | tag::HEADERIMMUTABLE
        ) {
            // A legacy header without a region: every entry is ordinary.
            return Ok(0);
        }
        let loc = || entry_loc(0, &e);
        if e.ty != TYPE_BIN || e.count != REGION_TRAILER_LEN {
            return Err(err(
                ErrorKind::Malformed,
                loc(),
                format!(
                    "region tag has type {} and count {}, expected BIN and 16",
                    e.ty, e.count
                ),
            ));
        }
        let dl = self.data.len();
        let trailer = (e.offset as usize)
            .checked_add(REGION_TRAILER_LEN as usize)
            .filter(|end| e.offset <= i32::MAX as u32 && *end <= dl)
            .map(|end| &self.data[e.offset as usize..end]);
        let Some(trailer) = trailer else {
            return Err(err(
                ErrorKind::Malformed,
                loc(),
                format!(
                    "region trailer at data offset {} does not fit in {dl} data bytes",
                    e.offset
                ),
            ));
        };
        let w = |k: usize| {
            u32::from_be_bytes([trailer[k], trailer[k + 1], trailer[k + 2], trailer[k + 3]])
        };
        let (mut t_tag, t_ty, t_off, t_count) = (w(0), w(4), w(8) as i32, w(12));
        // Some old packages name HEADERIMAGE in the trailer of a signature region.
        if e.tag == tag::HEADERSIGNATURES && t_tag == tag::HEADERIMAGE {
            t_tag = tag::HEADERSIGNATURES;
        }
        if t_tag != e.tag || t_ty != TYPE_BIN || t_count != REGION_TRAILER_LEN {
            return Err(err(
                ErrorKind::Malformed,
                loc(),
                format!(
                    "region trailer at data offset {} reads tag {t_tag} type {t_ty} count {t_count}, \
                     expected tag {} type BIN count 16",
                    e.offset, e.tag
                ),
            ));
        }
        // The trailer's offset is minus the size of the region's index part.
        let ril = -i64::from(t_off) / 16;
        if t_off % 16 != 0 || ril < 0 || ril > self.il as i64 {
            return Err(err(
                ErrorKind::Malformed,
                loc(),
                format!(
                    "region trailer offset {t_off} does not describe a whole number of the {} index entries",
                    self.il
                ),
            ));
        }
        Ok(1)
    }

    /// rpm's `hdrblobVerifyInfo`: every entry's data must be well-typed, aligned, inside
    /// the data area, and after the previous entry's data.
    fn verify_entries(&self, first: usize) -> Result<(), Error> {
        let dl = self.data.len();
        let mut end = 0usize;
        for i in first..self.il {
            let e = self.entry(i);
            let loc = || entry_loc(i, &e);
            if !(TYPE_CHAR..=TYPE_I18NSTRING).contains(&e.ty) {
                return Err(err(
                    ErrorKind::Malformed,
                    loc(),
                    format!("unknown data type {}", e.ty),
                ));
            }
            if e.count == 0 || e.count as usize > dl {
                return Err(err(
                    ErrorKind::Malformed,
                    loc(),
                    format!("count {} outside 1..={dl}", e.count),
                ));
            }
            let offset = e.offset as usize;
            if e.offset > i32::MAX as u32 || offset > dl {
                return Err(err(
                    ErrorKind::Malformed,
                    loc(),
                    format!("data offset {} outside the {dl} data bytes", e.offset),
                ));
            }
            let align = match e.ty {
                TYPE_INT16 => 2,
                TYPE_INT32 => 4,
                TYPE_INT64 => 8,
                _ => 1,
            };
            if !offset.is_multiple_of(align) {
                return Err(err(
                    ErrorKind::Malformed,
                    loc(),
                    format!(
                        "data offset {offset} is not aligned for {}",
                        type_name(e.ty)
                    ),
                ));
            }
            if end > offset {
                return Err(err(
                    ErrorKind::Malformed,
                    loc(),
                    format!("data at offset {offset} overlaps the previous entry's data, which ends at {end}"),
                ));
            }
            let len = self.data_len(&e).ok_or_else(|| {
                err(
                    ErrorKind::Malformed,
                    loc(),
                    format!(
                        "{} {} of type {} at data offset {offset} run past the {dl} data bytes",
                        e.count,
                        if e.count == 1 { "value" } else { "values" },
                        type_name(e.ty)
                    ),
                )
            })?;
            end = offset + len;
        }
        Ok(())
    }

    /// Length of an entry's data, or `None` when it does not fit. Strings must be
    /// NUL-terminated inside the data area.
    fn data_len(&self, e: &Entry) -> Option<usize> {
        let rest = self.data.get(e.offset as usize..)?;
        let count = e.count as usize;
        let len = match e.ty {
            TYPE_CHAR | TYPE_INT8 | TYPE_BIN => count,
            TYPE_INT16 => count.checked_mul(2)?,
            TYPE_INT32 => count.checked_mul(4)?,
            TYPE_INT64 => count.checked_mul(8)?,
            TYPE_STRING => {
                if count != 1 {
                    return None;
                }
                rest.iter().position(|&b| b == 0)? + 1
            }
            TYPE_STRING_ARRAY | TYPE_I18NSTRING => {
                // `count <= dl`, and each string takes at least one byte: bounded by dl.
                let mut at = 0usize;
                for _ in 0..count {
                    at += rest.get(at..)?.iter().position(|&b| b == 0)? + 1;
                }
                at
            }
            _ => return None,
        };
        (len > 0 && len <= rest.len()).then_some(len)
    }

    /// The last entry carrying `tag` (later entries replace earlier ones, as in rpm).
    fn find(&self, tag: u32) -> Option<(usize, Entry)> {
        (0..self.il)
            .rev()
            .map(|i| (i, self.entry(i)))
            .find(|(i, e)| e.tag == tag && !(*i == 0 && is_region_tag(tag)))
    }

    /// Data of a validated entry.
    fn bytes(&self, e: &Entry) -> &'a [u8] {
        let start = e.offset as usize;
        // Validated by `verify_entries`; the fallback keeps this total anyway.
        let len = self.data_len(e).unwrap_or(0);
        self.data.get(start..start + len).unwrap_or(&[])
    }

    fn string(&self, tag: u32) -> Result<Option<String>, Error> {
        let Some((i, e)) = self.find(tag) else {
            return Ok(None);
        };
        match e.ty {
            TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING => {
                // The first string: for I18NSTRING that is the untranslated one.
                let b = self.bytes(&e);
                let s = b.split(|&c| c == 0).next().unwrap_or(&[]);
                Ok(Some(String::from_utf8_lossy(s).into_owned()))
            }
            other => Err(err(
                ErrorKind::Malformed,
                entry_loc(i, &e),
                format!("has type {}, expected a string", type_name(other)),
            )),
        }
    }

    fn int(&self, tag: u32, ty: u32) -> Result<Option<u64>, Error> {
        let Some((i, e)) = self.find(tag) else {
            return Ok(None);
        };
        if e.ty != ty {
            return Err(err(
                ErrorKind::Malformed,
                entry_loc(i, &e),
                format!("has type {}, expected {}", type_name(e.ty), type_name(ty)),
            ));
        }
        let b = self.bytes(&e);
        Ok(match ty {
            TYPE_INT32 => b
                .get(..4)
                .map(|s| u64::from(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))),
            _ => b
                .get(..8)
                .map(|s| u64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]])),
        })
    }

    fn hex(&self, tag: u32) -> Result<Option<String>, Error> {
        let Some((i, e)) = self.find(tag) else {
            return Ok(None);
        };
        if e.ty != TYPE_BIN {
            return Err(err(
                ErrorKind::Malformed,
                entry_loc(i, &e),
                format!("has type {}, expected BIN", type_name(e.ty)),
            ));
        }
        Ok(Some(
            self.bytes(&e).iter().map(|b| format!("{b:02x}")).collect(),
        ))
    }

    /// The file list: each BASENAMES entry joined to the DIRNAMES entry its DIRINDEXES
    /// entry names, as `rpm -ql` prints it, keeping the paths `keep` accepts; or, in a
    /// header of the old layout, the OLDFILENAMES entries.
    fn files(&self, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>, Error> {
        let found = [tag::BASENAMES, tag::DIRNAMES, tag::DIRINDEXES].map(|t| self.find(t));
        let [Some(base), Some(dirs), Some(index)] = found else {
            if found.iter().all(Option::is_none) {
                // No files (gpg-pubkey, meta packages), or the old layout.
                return self.old_files(keep);
            }
            let missing: Vec<&str> = ["BASENAMES", "DIRNAMES", "DIRINDEXES"]
                .iter()
                .zip(&found)
                .filter(|(_, f)| f.is_none())
                .map(|(n, _)| *n)
                .collect();
            return Err(err(
                ErrorKind::Malformed,
                None,
                format!("file list without {}", missing.join(" and ")),
            ));
        };
        for ((i, e), ty) in [
            (base, TYPE_STRING_ARRAY),
            (dirs, TYPE_STRING_ARRAY),
            (index, TYPE_INT32),
        ] {
            if e.ty != ty {
                return Err(err(
                    ErrorKind::Malformed,
                    entry_loc(i, &e),
                    format!("has type {}, expected {}", type_name(e.ty), type_name(ty)),
                ));
            }
            if e.count > MAX_FILES {
                return Err(err(
                    ErrorKind::Limit,
                    entry_loc(i, &e),
                    format!("{} entries, over the limit of {MAX_FILES}", e.count),
                ));
            }
        }
        let ((bi, b), (ii, x)) = (base, index);
        if x.count != b.count {
            return Err(err(
                ErrorKind::Malformed,
                entry_loc(ii, &x),
                format!("{} directory indexes for {} file names", x.count, b.count),
            ));
        }
        // Every string is NUL-terminated inside the entry's data (`verify_entries`).
        let dir_names: Vec<&[u8]> = strings(self.bytes(&dirs.1)).collect();
        let indexes = self.bytes(&x);
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for (n, name) in strings(self.bytes(&b)).enumerate() {
            let at = n * 4;
            let Some(d) = be32(indexes, at) else {
                // Counts were checked equal; only a data area shorter than declared
                // could get here, which validation rules out.
                return Err(err(
                    ErrorKind::Malformed,
                    entry_loc(ii, &x),
                    format!("no directory index for file {n}"),
                ));
            };
            let Some(dir) = dir_names.get(d as usize) else {
                return Err(err(
                    ErrorKind::Malformed,
                    entry_loc(ii, &x),
                    format!(
                        "file {n} names directory {d}, but there are {} (DIRNAMES)",
                        dir_names.len()
                    ),
                ));
            };
            let path = String::from_utf8_lossy(&[*dir, name].concat()).into_owned();
            if !keep(&path) {
                continue;
            }
            bytes += path.len() + std::mem::size_of::<String>();
            if bytes > MAX_FILE_LIST_BYTES {
                return Err(err(
                    ErrorKind::Limit,
                    entry_loc(bi, &b),
                    format!(
                        "the paths kept reach {MAX_FILE_LIST_BYTES} bytes at file {n} of {}",
                        b.count
                    ),
                ));
            }
            out.push(path);
        }
        Ok(out)
    }

    /// The OLDFILENAMES file list (full paths), keeping the paths `keep` accepts; none
    /// when the header has no such entry.
    fn old_files(&self, keep: &dyn Fn(&str) -> bool) -> Result<Vec<String>, Error> {
        let Some((i, e)) = self.find(tag::OLDFILENAMES) else {
            return Ok(Vec::new());
        };
        if e.ty != TYPE_STRING_ARRAY {
            return Err(err(
                ErrorKind::Malformed,
                entry_loc(i, &e),
                format!(
                    "has type {}, expected {}",
                    type_name(e.ty),
                    type_name(TYPE_STRING_ARRAY)
                ),
            ));
        }
        if e.count > MAX_FILES {
            return Err(err(
                ErrorKind::Limit,
                entry_loc(i, &e),
                format!("{} entries, over the limit of {MAX_FILES}", e.count),
            ));
        }
        // The paths are stored whole, so what is kept is bounded by the data area, which
        // validation bounds; the byte limit still applies, as for the compressed layout.
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for (n, name) in strings(self.bytes(&e)).enumerate() {
            let path = String::from_utf8_lossy(name).into_owned();
            if !keep(&path) {
                continue;
            }
            bytes += path.len() + std::mem::size_of::<String>();
            if bytes > MAX_FILE_LIST_BYTES {
                return Err(err(
                    ErrorKind::Limit,
                    entry_loc(i, &e),
                    format!(
                        "the paths kept reach {MAX_FILE_LIST_BYTES} bytes at file {n} of {}",
                        e.count
                    ),
                ));
            }
            out.push(path);
        }
        Ok(out)
    }

    fn required(&self, tag: u32, name: &str) -> Result<String, Error> {
        self.string(tag)?.ok_or_else(|| {
            err(
                ErrorKind::Malformed,
                None,
                format!("header has no {name} (tag {tag})"),
            )
        })
    }
}

fn is_region_tag(tag: u32) -> bool {
    matches!(
        tag,
        tag::HEADERIMAGE | tag::HEADERSIGNATURES | tag::HEADERIMMUTABLE
    )
}

/// The NUL-terminated strings of a string array's data.
fn strings(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    // `split` of an empty slice yields one empty item; an array holds at least one.
    let n = if data.is_empty() { 0 } else { usize::MAX };
    data.strip_suffix(&[0])
        .unwrap_or(data)
        .split(|&c| c == 0)
        .take(n)
}

/// Validates a header blob and extracts the package fields, with every file. Errors name
/// the index entry or byte where the blob is wrong; a broken file list is not one (see
/// [`parse_with`]): the package is returned without files.
pub fn parse(blob: &[u8]) -> Result<RpmPackage, Error> {
    parse_with(blob, &|_| true).map(|(p, _)| p)
}

/// [`parse`], keeping only the files `keep_file` accepts (absolute paths, `/usr/bin/bash`).
/// A file list that cannot be read (its three tags inconsistent, over [`MAX_FILES`] or
/// [`MAX_FILE_LIST_BYTES`]) leaves the package without files and is returned beside it.
pub fn parse_with(
    blob: &[u8],
    keep_file: &dyn Fn(&str) -> bool,
) -> Result<(RpmPackage, Option<Error>), Error> {
    let h = Header::new(blob)?;
    let epoch = h
        .int(tag::EPOCH, TYPE_INT32)?
        .and_then(|v| u32::try_from(v).ok());
    let size = match h.int(tag::LONGSIZE, TYPE_INT64)? {
        Some(v) => Some(v),
        None => h.int(tag::SIZE, TYPE_INT32)?,
    };
    let mut package = RpmPackage {
        name: h.required(tag::NAME, "NAME")?,
        epoch,
        version: h.required(tag::VERSION, "VERSION")?,
        release: h.required(tag::RELEASE, "RELEASE")?,
        arch: h.string(tag::ARCH)?,
        source_rpm: h.string(tag::SOURCERPM)?,
        license: h.string(tag::LICENSE)?,
        vendor: h.string(tag::VENDOR)?,
        summary: h.string(tag::SUMMARY)?,
        size,
        modularity_label: h.string(tag::MODULARITYLABEL)?,
        sigmd5: h.hex(tag::SIGMD5)?,
        files: Vec::new(),
    };
    let files_error = match h.files(keep_file) {
        Ok(files) => {
            package.files = files;
            None
        }
        Err(e) => Some(e),
    };
    Ok((package, files_error))
}

/// Builds header blobs for tests (the crate's own and the fuzz/property tests).
#[cfg(test)]
pub(crate) mod build {
    /// One tag's value.
    pub enum Value<'a> {
        Str(&'a str),
        I18n(&'a [&'a str]),
        StrArray(&'a [&'a str]),
        Int32(u32),
        Int32s(&'a [u32]),
        Int64(u64),
        Bin(&'a [u8]),
    }

    /// A header with an immutable region covering every entry, laid out as rpm does.
    pub fn header(entries: &[(u32, Value)]) -> Vec<u8> {
        let mut index: Vec<[u32; 4]> = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (tag, v) in entries {
            let (ty, align, bytes, count): (u32, usize, Vec<u8>, u32) = match v {
                Value::Str(s) => (6, 1, [s.as_bytes(), &[0]].concat(), 1),
                Value::I18n(ss) => (
                    9,
                    1,
                    ss.iter()
                        .flat_map(|s| [s.as_bytes(), &[0]].concat())
                        .collect(),
                    ss.len() as u32,
                ),
                Value::StrArray(ss) => (
                    8,
                    1,
                    ss.iter()
                        .flat_map(|s| [s.as_bytes(), &[0]].concat())
                        .collect(),
                    ss.len() as u32,
                ),
                Value::Int32(n) => (4, 4, n.to_be_bytes().to_vec(), 1),
                Value::Int32s(ns) => (
                    4,
                    4,
                    ns.iter().flat_map(|n| n.to_be_bytes()).collect(),
                    ns.len() as u32,
                ),
                Value::Int64(n) => (5, 8, n.to_be_bytes().to_vec(), 1),
                Value::Bin(b) => (7, 1, b.to_vec(), b.len() as u32),
            };
            while !data.len().is_multiple_of(align) {
                data.push(0);
            }
            index.push([*tag, ty, data.len() as u32, count]);
            data.extend_from_slice(&bytes);
        }
        let ril = index.len() as u32 + 1;
        let trailer_off = data.len() as u32;
        for w in [63u32, 7, (-(16 * ril as i32)) as u32, 16] {
            data.extend_from_slice(&w.to_be_bytes());
        }
        index.insert(0, [63, 7, trailer_off, 16]);
        let mut out = Vec::new();
        out.extend_from_slice(&(index.len() as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        for e in &index {
            for w in e {
                out.extend_from_slice(&w.to_be_bytes());
            }
        }
        out.extend_from_slice(&data);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::build::{header, Value, Value::*};
    use super::*;

    fn sample() -> Vec<u8> {
        header(&[
            (tag::SIGMD5, Bin(&[0xde, 0xad, 0xbe, 0xef])),
            (tag::NAME, Str("bash")),
            (tag::VERSION, Str("5.1.8")),
            (tag::RELEASE, Str("6.el9")),
            (tag::EPOCH, Int32(2)),
            (
                tag::SUMMARY,
                I18n(&["The GNU Bourne Again shell", "translated"]),
            ),
            (tag::SIZE, Int32(7_000_000)),
            (tag::VENDOR, Str("Rocky")),
            (tag::LICENSE, Str("GPLv3+")),
            (tag::ARCH, Str("x86_64")),
            (tag::SOURCERPM, Str("bash-5.1.8-6.el9.src.rpm")),
            (tag::MODULARITYLABEL, Str("m:s:1:c")),
        ])
    }

    #[test]
    fn parses_built_header() {
        let p = parse(&sample()).unwrap();
        assert_eq!(
            p,
            RpmPackage {
                name: "bash".into(),
                epoch: Some(2),
                version: "5.1.8".into(),
                release: "6.el9".into(),
                arch: Some("x86_64".into()),
                source_rpm: Some("bash-5.1.8-6.el9.src.rpm".into()),
                license: Some("GPLv3+".into()),
                vendor: Some("Rocky".into()),
                summary: Some("The GNU Bourne Again shell".into()),
                size: Some(7_000_000),
                modularity_label: Some("m:s:1:c".into()),
                sigmd5: Some("deadbeef".into()),
                files: vec![],
            }
        );
    }

    fn with_files(files: Vec<(u32, Value<'_>)>) -> Vec<u8> {
        let mut entries = vec![
            (tag::NAME, Str("python3-requests")),
            (tag::VERSION, Str("2.25.1")),
            (tag::RELEASE, Str("1.el9")),
        ];
        entries.extend(files);
        header(&entries)
    }

    const DIRS: &[&str] = &[
        "/usr/bin/",
        "/usr/lib/python3.9/site-packages/requests-2.25.1-py3.9.egg-info/",
        "/",
    ];

    #[test]
    fn file_list_joins_directories_and_names() {
        let b = with_files(vec![
            (tag::DIRINDEXES, Int32s(&[1, 0, 1, 2])),
            (
                tag::BASENAMES,
                StrArray(&["PKG-INFO", "req", "top_level.txt", "usr"]),
            ),
            (tag::DIRNAMES, StrArray(DIRS)),
        ]);
        let p = parse(&b).unwrap();
        assert_eq!(
            p.files,
            [
                "/usr/lib/python3.9/site-packages/requests-2.25.1-py3.9.egg-info/PKG-INFO",
                "/usr/bin/req",
                "/usr/lib/python3.9/site-packages/requests-2.25.1-py3.9.egg-info/top_level.txt",
                "/usr",
            ]
        );
        let (p, e) = parse_with(&b, &|f| f.ends_with("/PKG-INFO")).unwrap();
        assert!(e.is_none());
        assert_eq!(
            p.files,
            ["/usr/lib/python3.9/site-packages/requests-2.25.1-py3.9.egg-info/PKG-INFO"]
        );
        // An empty name and an empty directory are still entries.
        let b = with_files(vec![
            (tag::DIRINDEXES, Int32s(&[0, 1])),
            (tag::BASENAMES, StrArray(&["", "x"])),
            (tag::DIRNAMES, StrArray(&["/etc/", ""])),
        ]);
        assert_eq!(parse(&b).unwrap().files, ["/etc/", "x"]);
    }

    /// Headers from before rpm 4 list whole paths in OLDFILENAMES.
    #[test]
    fn old_file_list_of_whole_paths() {
        let b = with_files(vec![(
            tag::OLDFILENAMES,
            StrArray(&[
                "/usr/bin/req",
                "/usr/lib/python1.5/site-packages/requests-0.1.egg-info/PKG-INFO",
                "",
            ]),
        )]);
        assert_eq!(
            parse(&b).unwrap().files,
            [
                "/usr/bin/req",
                "/usr/lib/python1.5/site-packages/requests-0.1.egg-info/PKG-INFO",
                ""
            ]
        );
        let (p, e) = parse_with(&b, &|f| f.ends_with("/PKG-INFO")).unwrap();
        assert!(e.is_none());
        assert_eq!(
            p.files,
            ["/usr/lib/python1.5/site-packages/requests-0.1.egg-info/PKG-INFO"]
        );
        // The compressed layout wins when a header has both.
        let b = with_files(vec![
            (tag::OLDFILENAMES, StrArray(&["/old"])),
            (tag::DIRINDEXES, Int32s(&[0])),
            (tag::BASENAMES, StrArray(&["new"])),
            (tag::DIRNAMES, StrArray(&["/"])),
        ]);
        assert_eq!(parse(&b).unwrap().files, ["/new"]);
        broken(
            vec![(tag::OLDFILENAMES, Str("/a"))],
            "(tag 1027): has type STRING, expected STRING_ARRAY",
        );
    }

    /// A broken file list: the package is kept, without files, and the error names the
    /// entry.
    #[track_caller]
    fn broken(files: Vec<(u32, Value<'_>)>, want: &str) {
        let (p, e) = parse_with(&with_files(files), &|_| true).unwrap();
        assert_eq!(p.name, "python3-requests");
        assert!(p.files.is_empty());
        let e = e.expect("a file list error").to_string();
        assert!(e.contains(want), "{e}");
    }

    #[test]
    fn malformed_file_lists_leave_the_package() {
        broken(
            vec![(tag::BASENAMES, StrArray(&["a"]))],
            "file list without DIRNAMES and DIRINDEXES",
        );
        broken(
            vec![
                (tag::DIRINDEXES, Int32s(&[0, 3])),
                (tag::BASENAMES, StrArray(&["a", "b"])),
                (tag::DIRNAMES, StrArray(DIRS)),
            ],
            "file 1 names directory 3, but there are 3",
        );
        broken(
            vec![
                (tag::DIRINDEXES, Int32s(&[0])),
                (tag::BASENAMES, StrArray(&["a", "b"])),
                (tag::DIRNAMES, StrArray(DIRS)),
            ],
            "1 directory indexes for 2 file names",
        );
        broken(
            vec![
                (tag::DIRINDEXES, Int32s(&[0])),
                (tag::BASENAMES, Str("a")),
                (tag::DIRNAMES, StrArray(DIRS)),
            ],
            "(tag 1117): has type STRING, expected STRING_ARRAY",
        );
        broken(
            vec![
                (tag::DIRINDEXES, Str("0")),
                (tag::BASENAMES, StrArray(&["a"])),
                (tag::DIRNAMES, StrArray(DIRS)),
            ],
            "(tag 1116): has type STRING, expected INT32",
        );
        // Directory index -1, as a signed reader would see it.
        broken(
            vec![
                (tag::DIRINDEXES, Int32s(&[u32::MAX])),
                (tag::BASENAMES, StrArray(&["a"])),
                (tag::DIRNAMES, StrArray(DIRS)),
            ],
            "names directory 4294967295",
        );
    }

    #[test]
    fn file_lists_are_bounded() {
        let names: Vec<String> = (0..=MAX_FILES).map(|i| format!("{i:x}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let idx = vec![0u32; names.len()];
        broken(
            vec![
                (tag::DIRINDEXES, Int32s(&idx)),
                (tag::BASENAMES, StrArray(&names)),
                (tag::DIRNAMES, StrArray(DIRS)),
            ],
            "1048577 entries, over the limit of 1048576",
        );
        // One long directory shared by many names: few stored bytes, long paths.
        let long = format!("/{}/", "d".repeat(200_000));
        let names = vec!["f"; 400];
        let idx = vec![0u32; names.len()];
        broken(
            vec![
                (tag::DIRINDEXES, Int32s(&idx)),
                (tag::BASENAMES, StrArray(&names)),
                (tag::DIRNAMES, StrArray(&[long.as_str()])),
            ],
            "the paths kept reach 67108864 bytes at file 335 of 400",
        );
        // Only kept paths count.
        let (p, e) = parse_with(
            &with_files(vec![
                (tag::DIRINDEXES, Int32s(&idx)),
                (tag::BASENAMES, StrArray(&names)),
                (tag::DIRNAMES, StrArray(&[long.as_str()])),
            ]),
            &|_| false,
        )
        .unwrap();
        assert!(e.is_none() && p.files.is_empty());
    }

    #[test]
    fn longsize_wins_and_later_entries_replace_earlier() {
        let b = header(&[
            (tag::NAME, Str("a")),
            (tag::NAME, Str("b")),
            (tag::VERSION, Str("1")),
            (tag::RELEASE, Str("1")),
            (tag::SIZE, Int32(5)),
            (tag::LONGSIZE, Int64(5_000_000_000)),
        ]);
        let p = parse(&b).unwrap();
        assert_eq!(p.name, "b");
        assert_eq!(p.size, Some(5_000_000_000));
        assert_eq!(p.epoch, None);
        assert_eq!(p.arch, None);
    }

    #[test]
    fn missing_required_tags() {
        let b = header(&[(tag::NAME, Str("a")), (tag::VERSION, Str("1"))]);
        let e = parse(&b).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Malformed);
        assert!(e.to_string().contains("no RELEASE (tag 1002)"), "{e}");
    }

    #[test]
    fn wrong_types_are_errors() {
        let b = header(&[
            (tag::NAME, Int32(1)),
            (tag::VERSION, Str("1")),
            (tag::RELEASE, Str("1")),
        ]);
        let e = parse(&b).unwrap_err();
        assert!(e.to_string().contains("tag 1000"), "{e}");
        assert!(e.to_string().contains("expected a string"), "{e}");
        let b = header(&[
            (tag::NAME, Str("a")),
            (tag::VERSION, Str("1")),
            (tag::RELEASE, Str("1")),
            (tag::EPOCH, Str("1")),
        ]);
        assert!(parse(&b)
            .unwrap_err()
            .to_string()
            .contains("expected INT32"));
    }

    #[test]
    fn huge_index_count_is_refused_without_allocating() {
        let mut b = sample();
        b[..4].copy_from_slice(&0x8000_0000u32.to_be_bytes());
        let e = parse(&b).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Limit);
        assert!(e.to_string().contains("index count 2147483648"), "{e}");
        let mut b = sample();
        b[4..8].copy_from_slice(&0x7fff_ffffu32.to_be_bytes());
        assert_eq!(parse(&b).unwrap_err().kind, ErrorKind::Limit);
        // Within the limits but larger than the blob.
        let mut b = sample();
        b[..4].copy_from_slice(&0xffffu32.to_be_bytes());
        assert_eq!(parse(&b).unwrap_err().kind, ErrorKind::Truncated);
    }

    #[test]
    fn every_truncation_is_an_error() {
        let b = sample();
        for n in 0..b.len() {
            let e = parse(&b[..n]).unwrap_err();
            assert_eq!(e.kind, ErrorKind::Truncated, "cut at {n}: {e}");
        }
        let mut longer = b.clone();
        longer.push(0);
        assert_eq!(parse(&longer).unwrap_err().kind, ErrorKind::Malformed);
    }

    #[test]
    fn bad_region_trailer() {
        let mut b = sample();
        let il = u32::from_be_bytes(b[0..4].try_into().unwrap()) as usize;
        let dl = u32::from_be_bytes(b[4..8].try_into().unwrap()) as usize;
        let trailer = 8 + 16 * il + dl - 16;
        // Trailer claiming more entries than the index has.
        b[trailer + 8..trailer + 12].copy_from_slice(&(-(16 * (il as i32 + 1))).to_be_bytes());
        let e = parse(&b).unwrap_err();
        assert!(e.to_string().contains("region trailer offset"), "{e}");
        // Trailer naming another tag.
        let mut b = sample();
        b[trailer..trailer + 4].copy_from_slice(&62u32.to_be_bytes());
        assert!(parse(&b)
            .unwrap_err()
            .to_string()
            .contains("region trailer"));
        // Region entry pointing past the data.
        let mut b = sample();
        b[16..20].copy_from_slice(&(dl as u32).to_be_bytes());
        assert!(parse(&b).unwrap_err().to_string().contains("does not fit"));
    }

    #[test]
    fn unterminated_and_overlapping_data() {
        let b = sample();
        // Entry 2 is NAME ("bash\0"); make it start inside SIGMD5's data.
        let mut o = b.clone();
        o[8 + 16 * 2 + 8..8 + 16 * 2 + 12].copy_from_slice(&1u32.to_be_bytes());
        let e = parse(&o).unwrap_err();
        assert!(e.to_string().contains("overlaps"), "{e}");
        // A string without its NUL at the end of the data area.
        let mut o = Vec::new();
        for w in [1u32, 4, tag::NAME, 6, 0, 1] {
            o.extend_from_slice(&w.to_be_bytes());
        }
        o.extend_from_slice(b"bash");
        let e = parse(&o).unwrap_err();
        assert!(e.to_string().contains("run past"), "{e}");
        // Unknown type.
        let mut o = b.clone();
        o[8 + 16 * 2 + 4..8 + 16 * 2 + 8].copy_from_slice(&10u32.to_be_bytes());
        assert!(parse(&o)
            .unwrap_err()
            .to_string()
            .contains("unknown data type 10"));
        // Misaligned INT32 (EPOCH is entry 5).
        let mut o = b.clone();
        let off = u32::from_be_bytes(o[8 + 16 * 5 + 8..8 + 16 * 5 + 12].try_into().unwrap());
        o[8 + 16 * 5 + 8..8 + 16 * 5 + 12].copy_from_slice(&(off + 1).to_be_bytes());
        assert!(parse(&o).unwrap_err().to_string().contains("not aligned"));
    }

    #[test]
    fn legacy_header_without_region() {
        // Drop the region entry and its trailer.
        let b = header(&[
            (tag::NAME, Str("old")),
            (tag::VERSION, Str("1")),
            (tag::RELEASE, Str("2")),
        ]);
        let il = u32::from_be_bytes(b[0..4].try_into().unwrap());
        let dl = u32::from_be_bytes(b[4..8].try_into().unwrap());
        let mut o = Vec::new();
        o.extend_from_slice(&(il - 1).to_be_bytes());
        o.extend_from_slice(&(dl - 16).to_be_bytes());
        o.extend_from_slice(&b[8 + 16..8 + 16 * il as usize]);
        o.extend_from_slice(&b[8 + 16 * il as usize..b.len() - 16]);
        let p = parse(&o).unwrap();
        assert_eq!((p.name.as_str(), p.release.as_str()), ("old", "2"));
    }
}
