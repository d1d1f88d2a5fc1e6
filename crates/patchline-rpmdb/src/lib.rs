//! Reads the list of installed packages out of an rpm database, in pure Rust.
//!
//! The caller hands over the bytes of one database file, as streamed out of a container
//! image layer: there is never a filesystem path, a `-wal` side file or a lock. Nothing is
//! written to disk and librpm is not involved. [`read_packages`] recognises the format by
//! its magic bytes (never by the file name), walks every record, decodes every rpm header
//! it finds and returns the packages in record-number order (SQLite `hnum`, BerkeleyDB key,
//! NDB package index), which is the order rpm installed them in.
//!
//! # The three database formats
//!
//! | format | file (under `/var/lib/rpm` or `/usr/lib/sysimage/rpm`) | used by | magic |
//! |---|---|---|---|
//! | [`Format::Sqlite`] | `rpmdb.sqlite` | rpm >= 4.16: RHEL/Rocky/Alma 9, Fedora >= 33, CBL-Mariner/Azure Linux, Amazon Linux 2023 | `SQLite format 3\0` at byte 0 |
//! | [`Format::BerkeleyDb`] | `Packages` | rpm < 4.16: RHEL/CentOS <= 8, Amazon Linux 2, old Fedora | BerkeleyDB hash magic `0x00061561` at byte 12, either byte order |
//! | [`Format::Ndb`] | `Packages.db` | SUSE (SLE 15, openSUSE) | `RpmP` at byte 0 |
//!
//! **SQLite.** The file is copied once into memory owned by SQLite and opened with
//! `sqlite3_deserialize`, read-only, so no temporary file is created. rpm leaves the
//! database in WAL mode (header bytes 18 and 19 equal to 2), which an in-memory database
//! cannot open; the copy is switched back to rollback-journal mode (both bytes set to 1)
//! before it is opened. Transactions still sitting in a `-wal` file are not visible, as
//! that file is not part of the input. The query is `SELECT hnum, blob FROM Packages`;
//! before running it the reader checks that `Packages` is a real table (not a view) whose
//! `hnum` and `blob` columns are stored, not generated, and it runs with
//! `trusted_schema=OFF`, so a hostile schema cannot make the query compute anything;
//! `temp_store=MEMORY` keeps any scratch space off the disk.
//!
//! **BerkeleyDB hash.** The metadata page (page 0) gives the byte order (from how the
//! magic reads), the version (8 to 10 accepted, as rpm does), the page size (a power of two
//! from 512 to 65536), the last page number, the number of buckets and the `spares` table
//! that maps a bucket to its first page. Every bucket is walked like rpm's own read-only
//! reader does: from its first page along the chain of hash pages (`next_pgno`), each page
//! checked for its type (sorted or unsorted hash page) and for carrying its own page
//! number. Items come in key/value pairs; the key is the 4-byte record number (record 0,
//! rpm's instance counter, is skipped), the value is either stored on the page or, for
//! anything larger than a quarter page (every real header), on a chain of overflow pages
//! whose lengths must add up to the declared total. Encrypted and checksummed databases
//! are refused (rpm never creates them).
//!
//! **NDB.** The first 32 bytes hold the `RpmP` header (version 0, the number of 4 KiB slot
//! pages); the rest of the slot pages is an array of 16-byte slots (`Slot` magic, package
//! index, offset and length in 16-byte blocks). Every used slot points at a blob framed by
//! a `BlbS` head (magic, package index, timestamp, length) and a `BlbE` tail (checksum,
//! length, magic); the head must name the slot's package index and both lengths must agree
//! with the slot's block count, as rpm requires. Like rpm when it reads, the adler32 in the
//! tail is not verified.
//!
//! **rpm header blobs.** A header as stored in a database is the "header image" without
//! the 8-byte magic that `.rpm` files carry: index count `il`, data length `dl`, `il`
//! 16-byte big-endian index entries (tag, type, offset, count), then `dl` bytes of data.
//! [`header::parse`] validates it as rpm 4.18's `hdrblobInit` does before trusting any
//! entry: the blob length must equal `8 + 16*il + dl` exactly; the immutable region (first
//! entry tagged 61, 62 or 63, type BIN, count 16) must have a trailer inside the data that
//! repeats the region tag and whose negative offset covers a whole number of entries within
//! the index; every other entry must have a known type (1 to 9), a count between 1 and
//! `dl`, an offset aligned for its type, data that fits entirely in the data area (strings
//! NUL-terminated there), and must not overlap the previous entry's data. When a tag
//! occurs twice, the later entry wins, as rpm's dribble entries replace region entries.
//! Then it extracts NAME, EPOCH, VERSION, RELEASE, ARCH, SOURCERPM, LICENSE, VENDOR,
//! SUMMARY, SIZE (LONGSIZE when present), MODULARITYLABEL and SIGMD5. `gpg-pubkey`
//! pseudo-packages (imported signing keys) are returned like any other package;
//! [`RpmPackage::is_gpg_pubkey`] tells them apart.
//!
//! The file list is rpm's compressed form: BASENAMES (file names), DIRNAMES (directories,
//! each ending in `/`) and DIRINDEXES (one INT32 per file name, the index of its
//! directory); a path is its directory joined to its name, as `rpm -ql` prints it. The
//! three tags must come together with the right types, as many indexes as names, every
//! index inside DIRNAMES. A list that breaks these rules, or exceeds the bounds below,
//! is one warning and the package is kept without files: what a package owns matters
//! less than that it is installed. [`read_packages_with`] keeps only the paths a caller
//! needs. A header without the three tags may have the list of rpm before 4.0 (which
//! compresses it on install, so real databases rarely do): OLDFILENAMES, whole paths,
//! read as such.
//!
//! # Errors, warnings and bounds
//!
//! A problem with the database as a whole (unknown magic, bad metadata, a broken or cyclic
//! page chain, a SQLite error) is an [`Error`] that names the format, the page, slot or row
//! and what is wrong. A problem confined to one record (its value cannot be reassembled,
//! or its header fails validation) becomes one entry of [`Read::warnings`], naming the
//! record and where it was, and every other record is still returned.
//!
//! Input is untrusted; nothing panics on it and nothing is allocated from a length field
//! alone:
//! - header: `il <= 65535` and `dl <= 0x0fff_ffff` (rpm's limits), checked against the
//!   blob's real length before anything else is read; index entries are read in place;
//! - BerkeleyDB: page numbers must lie within both `last_pgno` and the input; a hash page
//!   is visited at most once (a revisit is reported as a cycle); an overflow page may
//!   belong to one value only, so all reassembled values together never exceed the input
//!   size, and a value may not be larger than the largest valid header;
//! - NDB: slot pages and blobs must lie inside the input; blob lengths are checked
//!   against the slot before anything is copied (blobs are borrowed, not copied);
//! - SQLite: the only allocation is the copy of the input that SQLite reads from;
//! - file lists: at most [`header::MAX_FILES`] names and directories per header, at
//!   most [`header::MAX_FILE_LIST_BYTES`] of paths kept per header and
//!   [`MAX_FILE_BYTES_TOTAL`] per database (counting each path's `String`);
//! - warnings are capped at [`MAX_WARNINGS`], the overflow being counted in a last one.

#![deny(unsafe_code)]

use std::fmt;

mod bdb;
pub mod header;
mod ndb;
mod sqlite;

/// At most this many warnings are kept; later ones are only counted.
pub const MAX_WARNINGS: usize = 1000;

/// The on-disk format of an rpm package database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `rpmdb.sqlite` (rpm >= 4.16).
    Sqlite,
    /// `Packages`, a BerkeleyDB hash database (rpm < 4.16).
    BerkeleyDb,
    /// `Packages.db`, rpm's own "ndb" format (SUSE).
    Ndb,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Sqlite => "SQLite",
            Format::BerkeleyDb => "BerkeleyDB",
            Format::Ndb => "NDB",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";
const NDB_MAGIC: &[u8] = b"RpmP";
/// BerkeleyDB hash magic 0x00061561 as stored by a little-endian and a big-endian host.
const BDB_HASH_MAGIC_LE: [u8; 4] = [0x61, 0x15, 0x06, 0x00];
const BDB_HASH_MAGIC_BE: [u8; 4] = [0x00, 0x06, 0x15, 0x61];

/// Recognises an rpm database by its magic bytes. The file name plays no part.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(SQLITE_MAGIC) {
        Some(Format::Sqlite)
    } else if bytes.starts_with(NDB_MAGIC) {
        Some(Format::Ndb)
    } else if matches!(bytes.get(12..16), Some(m) if m == BDB_HASH_MAGIC_LE || m == BDB_HASH_MAGIC_BE)
    {
        Some(Format::BerkeleyDb)
    } else {
        None
    }
}

/// Everything read from one database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub format: Format,
    /// In record-number order.
    pub packages: Vec<RpmPackage>,
    /// One line per record that could not be decoded, naming the record and its place.
    pub warnings: Vec<String>,
}

/// One installed package, as recorded in its rpm header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpmPackage {
    pub name: String,
    pub epoch: Option<u32>,
    pub version: String,
    pub release: String,
    pub arch: Option<String>,
    /// File name of the source package, e.g. `util-linux-2.32.1-42.el8.src.rpm`.
    pub source_rpm: Option<String>,
    pub license: Option<String>,
    pub vendor: Option<String>,
    pub summary: Option<String>,
    /// Installed size in bytes (LONGSIZE when present, else SIZE).
    pub size: Option<u64>,
    pub modularity_label: Option<String>,
    /// MD5 of header and payload, lowercase hex.
    pub sigmd5: Option<String>,
    /// The files the package owns, absolute as `rpm -ql` prints them (`/usr/bin/bash`),
    /// directories included, in header order: all of them from [`read_packages`], those
    /// the caller's filter kept from [`read_packages_with`]. Empty when its file list
    /// could not be read (a warning says so).
    pub files: Vec<String>,
}

impl RpmPackage {
    /// True for the `gpg-pubkey` pseudo-packages rpm creates for imported signing keys;
    /// they carry no files and are normally left out of an inventory.
    pub fn is_gpg_pubkey(&self) -> bool {
        self.name == "gpg-pubkey"
    }

    /// The source package's (name, version, release), from [`RpmPackage::source_rpm`].
    pub fn source(&self) -> Option<(String, String, String)> {
        self.source_rpm.as_deref().and_then(split_source_rpm)
    }
}

/// Splits a source rpm file name such as `util-linux-2.32.1-42.el8.src.rpm` into
/// `("util-linux", "2.32.1", "42.el8")`. The name may contain dashes; version and
/// release may not (rpm forbids it). Returns `None` when the string is not of the form
/// `NAME-VERSION-RELEASE.ARCH.rpm` with all parts non-empty.
pub fn split_source_rpm(s: &str) -> Option<(String, String, String)> {
    let stem = s.strip_suffix(".rpm")?;
    let (nvr, arch) = stem.rsplit_once('.')?;
    if arch.is_empty() || arch.contains('-') {
        return None;
    }
    let (nv, release) = nvr.rsplit_once('-')?;
    let (name, version) = nv.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() || release.is_empty() {
        return None;
    }
    Some((name.to_owned(), version.to_owned(), release.to_owned()))
}

/// Which parser reported an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// Before any format was recognised.
    Input,
    Sqlite,
    BerkeleyDb,
    Ndb,
    /// An rpm header blob.
    Header,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Input => "rpm database",
            Origin::Sqlite => "rpm database (SQLite)",
            Origin::BerkeleyDb => "rpm database (BerkeleyDB)",
            Origin::Ndb => "rpm database (NDB)",
            Origin::Header => "rpm header",
        })
    }
}

impl From<Format> for Origin {
    fn from(f: Format) -> Origin {
        match f {
            Format::Sqlite => Origin::Sqlite,
            Format::BerkeleyDb => Origin::BerkeleyDb,
            Format::Ndb => Origin::Ndb,
        }
    }
}

/// What kind of problem an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// No rpm database magic.
    UnknownFormat,
    /// The data ends before a structure it declares.
    Truncated,
    /// A structure is inconsistent.
    Malformed,
    /// Valid for its format, but a variant rpm databases do not use.
    Unsupported,
    /// A size or count exceeds what rpm itself accepts.
    Limit,
    /// SQLite refused the database or the query.
    Sqlite,
}

/// A database or header that cannot be read. The message names the format (via
/// [`Error::origin`]), where the problem is (page, slot, row, record, byte offset) and what
/// is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}{}: {message}", at(.location))]
pub struct Error {
    pub kind: ErrorKind,
    pub origin: Origin,
    /// Where, e.g. `page 17 (offset 69632)`, `slot 3`, `index entry 2 (tag 1000)`.
    pub location: Option<String>,
    pub message: String,
}

fn at(location: &Option<String>) -> String {
    match location {
        Some(l) => format!(", {l}"),
        None => String::new(),
    }
}

impl Error {
    /// Location and message without the origin, for nesting inside another message.
    pub(crate) fn detail(&self) -> String {
        match &self.location {
            Some(l) => format!("{l}: {}", self.message),
            None => self.message.clone(),
        }
    }

    pub(crate) fn new(
        origin: Origin,
        kind: ErrorKind,
        location: Option<String>,
        message: impl Into<String>,
    ) -> Error {
        Error {
            kind,
            origin,
            location,
            message: message.into(),
        }
    }
}

/// Detects the format and reads every package header, with every file.
pub fn read_packages(bytes: &[u8]) -> Result<Read, Error> {
    read_packages_with(bytes, &|_| true)
}

/// [`read_packages`], keeping of each package's files only those `keep_file` accepts:
/// a whole system's file list is large, and callers usually need a few of its paths.
pub fn read_packages_with(bytes: &[u8], keep_file: &dyn Fn(&str) -> bool) -> Result<Read, Error> {
    let Some(format) = detect(bytes) else {
        let message = if bytes.is_empty() {
            "input is empty".to_owned()
        } else {
            let head: Vec<String> = bytes.iter().take(16).map(|b| format!("{b:02x}")).collect();
            format!(
                "not an rpm database: no SQLite, BerkeleyDB hash or NDB magic ({} bytes, starting {})",
                bytes.len(),
                head.join(" ")
            )
        };
        return Err(Error::new(
            Origin::Input,
            ErrorKind::UnknownFormat,
            None,
            message,
        ));
    };
    let mut sink = Collector::new(keep_file);
    match format {
        Format::Sqlite => sqlite::walk(bytes, &mut sink)?,
        Format::BerkeleyDb => bdb::walk(bytes, &mut sink)?,
        Format::Ndb => ndb::walk(bytes, &mut sink)?,
    }
    Ok(sink.finish(format))
}

/// Most bytes the file lists of one database may take in all (paths and their
/// `String`s): past it, packages are returned without files, with a warning.
pub const MAX_FILE_BYTES_TOTAL: usize = 256 << 20;

/// Receives the records the format walkers find, decodes them, and keeps the warnings.
pub(crate) struct Collector<'f> {
    keep_file: &'f dyn Fn(&str) -> bool,
    packages: Vec<(i64, RpmPackage)>,
    file_bytes: usize,
    warnings: Vec<String>,
    dropped_warnings: usize,
}

impl<'f> Collector<'f> {
    pub(crate) fn new(keep_file: &'f dyn Fn(&str) -> bool) -> Self {
        Collector {
            keep_file,
            packages: Vec::new(),
            file_bytes: 0,
            warnings: Vec::new(),
            dropped_warnings: 0,
        }
    }

    /// `where_` names the record for a warning, e.g. `record 5 (page 3)`.
    pub(crate) fn record(&mut self, id: i64, where_: impl FnOnce() -> String, blob: &[u8]) {
        match header::parse_with(blob, self.keep_file) {
            Ok((mut p, files_error)) => {
                if let Some(e) = files_error {
                    self.warn(format!(
                        "{}: package {}: file list unreadable, package kept without files: {e}",
                        where_(),
                        p.name
                    ));
                } else {
                    let bytes: usize = p
                        .files
                        .iter()
                        .map(|f| f.len() + std::mem::size_of::<String>())
                        .sum();
                    if self.file_bytes + bytes > MAX_FILE_BYTES_TOTAL {
                        p.files = Vec::new();
                        self.warn(format!(
                            "{}: package {}: the database's file lists exceed {MAX_FILE_BYTES_TOTAL} bytes, package kept without files",
                            where_(),
                            p.name
                        ));
                    } else {
                        self.file_bytes += bytes;
                    }
                }
                self.packages.push((id, p));
            }
            Err(e) => self.warn(format!("{}: {e}", where_())),
        }
    }

    pub(crate) fn warn(&mut self, message: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        } else {
            self.dropped_warnings += 1;
        }
    }

    fn finish(mut self, format: Format) -> Read {
        // Stable, so records sharing an id keep the order they were found in.
        self.packages.sort_by_key(|(id, _)| *id);
        if self.dropped_warnings > 0 {
            self.warnings.push(format!(
                "{} more warnings were dropped (at most {MAX_WARNINGS} are kept)",
                self.dropped_warnings
            ));
        }
        Read {
            format,
            packages: self.packages.into_iter().map(|(_, p)| p).collect(),
            warnings: self.warnings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_source_rpm_cases() {
        let s = |n: &str, v: &str, r: &str| Some((n.to_owned(), v.to_owned(), r.to_owned()));
        assert_eq!(
            split_source_rpm("util-linux-2.32.1-42.el8.src.rpm"),
            s("util-linux", "2.32.1", "42.el8")
        );
        assert_eq!(
            split_source_rpm("hello-0.0.1-rls.src.rpm"),
            s("hello", "0.0.1", "rls")
        );
        assert_eq!(
            split_source_rpm("perl-IO-Socket-SSL-2.066-4.el8.nosrc.rpm"),
            s("perl-IO-Socket-SSL", "2.066", "4.el8")
        );
        assert_eq!(split_source_rpm("foo-1.0.src.rpm"), None);
        assert_eq!(split_source_rpm("foo-1.0-1.src"), None);
        assert_eq!(split_source_rpm("-1.0-1.src.rpm"), None);
        assert_eq!(split_source_rpm("foo--1.src.rpm"), None);
        assert_eq!(split_source_rpm("foo-1-.src.rpm"), None);
        assert_eq!(split_source_rpm(".rpm"), None);
        assert_eq!(split_source_rpm(""), None);
    }

    #[test]
    fn detect_by_magic() {
        assert_eq!(detect(b"SQLite format 3\0rest"), Some(Format::Sqlite));
        assert_eq!(detect(b"RpmP\0\0\0\0"), Some(Format::Ndb));
        let mut le = [0u8; 16];
        le[12..].copy_from_slice(&BDB_HASH_MAGIC_LE);
        assert_eq!(detect(&le), Some(Format::BerkeleyDb));
        let mut be = [0u8; 16];
        be[12..].copy_from_slice(&BDB_HASH_MAGIC_BE);
        assert_eq!(detect(&be), Some(Format::BerkeleyDb));
        // BerkeleyDB btree magic: not an rpm Packages database.
        let mut bt = [0u8; 16];
        bt[12..].copy_from_slice(&[0x62, 0x31, 0x05, 0x00]);
        assert_eq!(detect(&bt), None);
        assert_eq!(detect(b""), None);
        assert_eq!(detect(b"asdf\n"), None);
    }

    #[test]
    fn unknown_input_errors() {
        let e = read_packages(b"").unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnknownFormat);
        assert_eq!(e.to_string(), "rpm database: input is empty");
        let e = read_packages(b"asdf\n").unwrap_err();
        assert_eq!(e.kind, ErrorKind::UnknownFormat);
        assert!(e.to_string().contains("61 73 64 66 0a"), "{e}");
    }

    #[test]
    fn gpg_pubkey_flag() {
        let p = RpmPackage {
            name: "gpg-pubkey".into(),
            ..Default::default()
        };
        assert!(p.is_gpg_pubkey());
        assert!(!RpmPackage::default().is_gpg_pubkey());
    }

    #[test]
    fn a_broken_file_list_is_a_warning_and_the_package_stays() {
        use header::build::{header, Value::*};
        use header::tag;
        let blob = header(&[
            (tag::NAME, Str("python3-idna")),
            (tag::VERSION, Str("2.10")),
            (tag::RELEASE, Str("7.el9")),
            (tag::DIRINDEXES, Int32s(&[0, 5])),
            (tag::BASENAMES, StrArray(&["a", "b"])),
            (tag::DIRNAMES, StrArray(&["/usr/bin/"])),
        ]);
        let mut c = Collector::new(&|_| true);
        c.record(7, || "record 7".into(), &blob);
        let r = c.finish(Format::Sqlite);
        assert_eq!(r.packages.len(), 1);
        assert_eq!(r.packages[0].name, "python3-idna");
        assert!(r.packages[0].files.is_empty());
        assert_eq!(r.warnings.len(), 1);
        let w = &r.warnings[0];
        assert!(
            w.starts_with("record 7: package python3-idna: file list unreadable, package kept without files: rpm header, index entry")
                && w.contains("file 1 names directory 5, but there are 1"),
            "{w}"
        );
    }

    #[test]
    fn file_lists_are_bounded_per_database() {
        use header::build::{header, Value::*};
        use header::tag;
        // Each header keeps some 40 MiB of paths (under the per-header bound); the
        // seventh would take the database past its total.
        let dir = format!("/{}/", "d".repeat(100_000));
        let names = vec!["f"; 400];
        let idx = vec![0u32; names.len()];
        let blob = header(&[
            (tag::NAME, Str("big")),
            (tag::VERSION, Str("1")),
            (tag::RELEASE, Str("1")),
            (tag::DIRINDEXES, Int32s(&idx)),
            (tag::BASENAMES, StrArray(&names)),
            (tag::DIRNAMES, StrArray(&[dir.as_str()])),
        ]);
        let mut c = Collector::new(&|_| true);
        for i in 0..7 {
            c.record(i, || format!("record {i}"), &blob);
        }
        let r = c.finish(Format::Ndb);
        let counts: Vec<usize> = r.packages.iter().map(|p| p.files.len()).collect();
        assert_eq!(counts, [400, 400, 400, 400, 400, 400, 0]);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0]
            .contains("record 6: package big: the database's file lists exceed 268435456 bytes"));
    }

    #[test]
    fn warnings_are_capped() {
        let mut c = Collector::new(&|_| true);
        for i in 0..MAX_WARNINGS + 5 {
            c.warn(format!("w{i}"));
        }
        let r = c.finish(Format::Ndb);
        assert_eq!(r.warnings.len(), MAX_WARNINGS + 1);
        assert!(r.warnings[MAX_WARNINGS].starts_with("5 more warnings"));
    }
}
