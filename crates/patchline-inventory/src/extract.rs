//! The boundary every package extractor implements, the memory budget extractors are
//! held to, and the helpers the line-oriented formats share.

use std::io::{self, BufRead, Read};
use std::sync::atomic::{AtomicU64, Ordering};

use patchline_model::Package;

/// What an extractor found in one database file.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Extracted {
    /// Packages with identity fields filled (ecosystem, name, version, epoch, arch, source
    /// name/version, licenses, maintainer, db_path). The purl and the layer attribution
    /// are filled by the inventory once the distro and the layers are known.
    pub packages: Vec<Package>,
    /// Records skipped as malformed (the rest of the file was still read). Each one names
    /// the record (`stanza 12`, `header at offset 0x1f000`) and what is wrong.
    pub warnings: Vec<String>,
    /// Files an OS package database says a package owns, as (path relative to the image
    /// root without a leading slash, OS package name); only the paths language
    /// extractors read ([`crate::owned::interesting`]), so that a language package found
    /// in one is known to be the OS package's.
    pub owned: Vec<(String, String)>,
    /// Packages whose version is a constant another file assigns (a source gemspec's
    /// `spec.version = Foo::VERSION` after `require_relative 'lib/foo/version'`): an
    /// extractor sees one file, so they are completed in the squashed view, where the
    /// file that assigns it is known ([`Deferred`]).
    pub deferred: Vec<Deferred>,
    /// Set for a file read only for the string constants it assigns, by name (a Ruby
    /// `lib/foo/version.rb`), which [`Deferred`] packages look up; such a file is no
    /// package database.
    pub defines: Option<Vec<(String, String)>>,
    /// Paths whose packages, when the squashed view has any, make this file's redundant:
    /// a file, or a directory ending in `/` (anything below it). An npm lockfile names
    /// the `node_modules/` beside it, whose manifests say what is really installed.
    pub superseded_by: Vec<String>,
}

/// A package read from one file whose version is a constant assigned in another.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deferred {
    /// The package, its version empty until found.
    pub package: Package,
    /// The files, relative to the image root, that may assign the constant, in the order
    /// they are searched (the files the source requires).
    pub files: Vec<String>,
    /// The constant's name, its last segment (`VERSION` for `Foo::VERSION`).
    pub constant: String,
    /// Where the file refers to it, for a warning when it cannot be found (`line 7: the
    /// version is the constant "Foo::VERSION"`).
    pub context: String,
}

/// The whole file could not be read as the database it claims to be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ExtractError {
    pub path: String,
    pub reason: String,
}

impl ExtractError {
    pub fn new(path: &str, reason: impl Into<String>) -> Self {
        ExtractError {
            path: path.to_string(),
            reason: reason.into(),
        }
    }
}

/// A package database reader.
///
/// `path` is relative to the image root, normalised, without a leading slash
/// (`var/lib/dpkg/status`). Extractors never touch the filesystem: the layer walker hands
/// them the file's content, read once while streaming the layer. They must not panic on
/// any input (each has a fuzz target).
pub trait Extractor: Send + Sync {
    /// Short name used in warnings (`dpkg`, `apk`, `rpm`).
    fn name(&self) -> &'static str;
    /// Does this path hold a database this extractor reads?
    fn wants(&self, path: &str) -> bool;
    /// Does this regular file, with its mode and size, hold packages this extractor
    /// reads? Path-based extractors keep the default ([`wants`](Self::wants)).
    /// Extractors of executables (Go build info, cargo-auditable) decide from the mode
    /// and size and are handed every candidate: a file that turns out not to be theirs
    /// gives no packages and no warnings, and is then recorded only as present.
    fn wants_file(&self, path: &str, _mode: u32, _size: u64) -> bool {
        self.wants(path)
    }
    /// The largest file it is handed; `None`: the inventory's limit for package
    /// databases (`max_file_bytes`), over which a file is a failed database. Extractors
    /// that bound their own reads (a binary's build info is found in a window of the
    /// stream) raise it.
    fn max_file_bytes(&self) -> Option<u64> {
        None
    }
    /// Where its databases live: file paths, and directories (ending in `/`) whose every
    /// file is one. Used to notice a database reached only through a directory symlink
    /// (`var/lib/dpkg -> ../../opt/dpkg`), which a streaming read cannot follow.
    fn locations(&self) -> Vec<String>;
    /// Reads the packages of one database file held in memory.
    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError>;
    /// Reads which files OS packages own (dpkg's `info/*.list`), not packages: its
    /// results are no package database, and one it cannot read only loses that
    /// ownership (a warning), never packages.
    fn lists_owned_files(&self) -> bool {
        false
    }
    /// Reads the packages of one database file of `size` bytes from a stream, charging
    /// what it holds to `budget`. Formats that must see the whole file (rpm's SQLite and
    /// BerkeleyDB) keep this default, which reads it into memory when the budget allows;
    /// line-oriented formats override it to hold one record at a time.
    fn extract_from(
        &self,
        path: &str,
        size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        read_whole(path, size, content, budget, |bytes| {
            self.extract(path, bytes)
        })
    }
}

/// Reads a file of `size` bytes into memory, its size reserved from `budget` while
/// `parse` runs on it: the whole-file read of [`Extractor::extract_from`], for formats
/// that need every byte at once (rpm databases, zip archives).
pub fn read_whole(
    path: &str,
    size: u64,
    content: &mut dyn Read,
    budget: &Budget,
    parse: impl FnOnce(&[u8]) -> Result<Extracted, ExtractError>,
) -> Result<Extracted, ExtractError> {
    let _held = budget
        .reserve(size)
        .map_err(|e| ExtractError::new(path, format!("{size} bytes to read whole: {e}")))?;
    let mut buf = Vec::with_capacity(size as usize);
    content
        .take(size)
        .read_to_end(&mut buf)
        .map_err(|e| ExtractError::new(path, format!("reading failed: {e}")))?;
    parse(&buf)
}

/// The memory an inventory may hold for package databases: file contents being parsed
/// and the packages kept for the layers' attribution, across every layer read at once.
/// A database that would exceed it is not read (the inventory is then incomplete, which
/// every gate treats as a failure), so an image cannot take the process's memory.
#[derive(Debug)]
pub struct Budget {
    limit: u64,
    used: AtomicU64,
}

/// Bytes reserved from a [`Budget`], given back when dropped.
#[must_use]
pub struct Held<'a> {
    budget: &'a Budget,
    bytes: u64,
}

impl Held<'_> {
    /// Keeps the bytes charged for good (packages kept until the inventory is built).
    pub fn keep(mut self) {
        self.bytes = 0;
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

/// A reservation over the budget.
#[derive(Debug)]
pub struct OverBudget {
    pub limit: u64,
}

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "over the inventory's memory budget of {} bytes (raise --max-memory if the image is genuine)",
            self.limit
        )
    }
}

impl Budget {
    pub fn new(limit: u64) -> Budget {
        Budget {
            limit,
            used: AtomicU64::new(0),
        }
    }

    pub fn unlimited() -> Budget {
        Budget::new(u64::MAX)
    }

    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Bytes reserved now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Acquire)
    }

    /// Reserves `bytes`, or fails without reserving anything.
    pub fn reserve(&self, bytes: u64) -> Result<Held<'_>, OverBudget> {
        let mut cur = self.used.load(Ordering::Acquire);
        loop {
            let next = cur.checked_add(bytes).filter(|n| *n <= self.limit);
            let Some(next) = next else {
                return Err(OverBudget { limit: self.limit });
            };
            match self
                .used
                .compare_exchange_weak(cur, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return Ok(Held {
                        budget: self,
                        bytes,
                    })
                }
                Err(now) => cur = now,
            }
        }
    }
}

/// What a kept package costs in memory, roughly: the struct and its strings.
pub(crate) fn package_bytes(p: &Package) -> u64 {
    let opt = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
    (std::mem::size_of::<Package>()
        + p.name.capacity()
        + p.version.capacity()
        + opt(&p.arch)
        + opt(&p.source_name)
        + opt(&p.source_version)
        + p.licenses.iter().map(String::capacity).sum::<usize>()
        + opt(&p.maintainer)
        + opt(&p.managed_by)
        + p.purl.capacity()
        + p.db_path.capacity()) as u64
}

/// What of a growing package list has been charged to a budget.
#[derive(Default)]
pub(crate) struct Charged {
    count: usize,
    capacity: usize,
}

/// Charges the packages pushed since the last call, and the list's own growth, to
/// `budget` for good.
pub(crate) fn charge(
    path: &str,
    packages: &Vec<Package>,
    charged: &mut Charged,
    budget: &Budget,
) -> Result<(), ExtractError> {
    let strings: u64 = packages[charged.count..]
        .iter()
        .map(|p| package_bytes(p) - std::mem::size_of::<Package>() as u64)
        .sum();
    let grown = packages.capacity().saturating_sub(charged.capacity) as u64
        * std::mem::size_of::<Package>() as u64;
    budget
        .reserve(strings + grown)
        .map_err(|e| {
            ExtractError::new(
                path,
                format!("stopped after {} packages: {e}", packages.len()),
            )
        })?
        .keep();
    charged.count = packages.len();
    charged.capacity = packages.capacity().max(charged.capacity);
    Ok(())
}

/// What an owned-file entry costs in memory, roughly.
pub(crate) fn owned_bytes((path, package): &(String, String)) -> u64 {
    (std::mem::size_of::<(String, String)>() + path.capacity() + package.capacity()) as u64
}

/// Charges the owned-file entries pushed since entry `from` to `budget` for good, and
/// moves `from` past them.
pub(crate) fn charge_owned(
    path: &str,
    owned: &[(String, String)],
    from: &mut usize,
    budget: &Budget,
) -> Result<(), ExtractError> {
    let bytes = owned[*from..].iter().map(owned_bytes).sum();
    budget
        .reserve(bytes)
        .map_err(|e| {
            ExtractError::new(
                path,
                format!("stopped after {} owned files: {e}", owned.len()),
            )
        })?
        .keep();
    *from = owned.len();
    Ok(())
}

/// Reads `r` line by line and hands `f` each paragraph (a run of lines that are not
/// blank, i.e. not only spaces and tabs: a deb822 stanza, an apk record), joined by
/// `\n`, with the number of its first line. Only one paragraph is in memory at a time,
/// charged to `budget`; `keep` appends to the paragraph what it keeps of each line, so
/// it may shorten or rewrite a line before it is buffered (apk's file lists). A leading
/// UTF-8 byte-order mark is dropped.
pub(crate) fn paragraphs(
    path: &str,
    r: &mut dyn BufRead,
    budget: &Budget,
    mut keep: impl FnMut(&[u8], &mut Vec<u8>),
    mut f: impl FnMut(usize, &[u8]) -> Result<(), ExtractError>,
) -> Result<(), ExtractError> {
    /// Bytes of the paragraph buffer charged at a time, so the budget is not asked on
    /// every line.
    const STEP: u64 = 1 << 20;
    let mut para: Vec<u8> = Vec::new();
    let mut first = 0usize;
    let mut line_no = 0usize;
    let mut line: Vec<u8> = Vec::new();
    let mut held: Vec<Held<'_>> = Vec::new();
    let mut charged = 0u64;
    let read_err = |e: io::Error| ExtractError::new(path, format!("reading failed: {e}"));
    loop {
        line.clear();
        // A line is bounded too: read it in pieces, charging as it grows.
        let mut ended = false;
        loop {
            let buf = r.fill_buf().map_err(read_err)?;
            if buf.is_empty() {
                break;
            }
            let (take, done) = match memchr::memchr(b'\n', buf) {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            line.extend_from_slice(&buf[..take]);
            r.consume(take);
            let need = (para.len() + line.len()) as u64;
            while charged < need {
                let h = budget.reserve(STEP).map_err(|e| {
                    ExtractError::new(
                        path,
                        format!(
                            "the record starting at line {} is {} bytes or more, {e}",
                            if para.is_empty() { line_no + 1 } else { first },
                            need
                        ),
                    )
                })?;
                held.push(h);
                charged += STEP;
            }
            if done {
                ended = true;
                break;
            }
        }
        if line.is_empty() && !ended {
            break;
        }
        line_no += 1;
        let mut content: &[u8] = line.strip_suffix(b"\n").unwrap_or(&line);
        if line_no == 1 {
            content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
        }
        let blank = content
            .strip_suffix(b"\r")
            .unwrap_or(content)
            .iter()
            .all(|&b| b == b' ' || b == b'\t');
        if blank {
            if !para.is_empty() {
                f(first, &para)?;
                para.clear();
            }
            continue;
        }
        if para.is_empty() {
            first = line_no;
        } else {
            para.push(b'\n');
        }
        keep(content, &mut para);
    }
    if !para.is_empty() {
        f(first, &para)?;
    }
    drop(held);
    Ok(())
}

/// Past this many warnings for one file, the rest are only counted: a garbage file must
/// not produce a warning list as large as itself.
const MAX_WARNINGS: usize = 100;

/// The warnings of one database file, capped at [`MAX_WARNINGS`].
#[derive(Debug, Default)]
pub(crate) struct CappedWarnings {
    kept: Vec<String>,
    suppressed: usize,
}

impl CappedWarnings {
    pub(crate) fn push(&mut self, message: String) {
        if self.kept.len() < MAX_WARNINGS {
            self.kept.push(message);
        } else {
            self.suppressed += 1;
        }
    }

    /// The kept warnings, then one line counting those not shown.
    pub(crate) fn finish(mut self) -> Vec<String> {
        if self.suppressed > 0 {
            self.kept
                .push(format!("{} further warnings not shown", self.suppressed));
        }
        self.kept
    }
}

/// `s` without leading and trailing spaces and tabs.
pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// `1 line`, `N lines`.
pub(crate) fn lines(n: usize) -> String {
    if n == 1 {
        "1 line".to_string()
    } else {
        format!("{n} lines")
    }
}

/// Characters of an untrusted value (a package name, a version, a field) quoted in a
/// warning, through [`patchline_model::quote_capped`].
pub(crate) const QUOTE_CHARS: usize = 80;

/// An untrusted value from a database, quoted and capped for a warning or an error.
pub(crate) fn quoted(value: &[u8]) -> String {
    patchline_model::quote_capped_bytes(value, QUOTE_CHARS)
}

/// A short printable excerpt of a bad line for an error message.
pub(crate) fn snippet(line: &[u8]) -> String {
    patchline_model::quote_capped_bytes(line, 40)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &[u8], budget: &Budget) -> Result<Vec<(usize, String)>, ExtractError> {
        let mut out = Vec::new();
        paragraphs(
            "f",
            &mut &input[..],
            budget,
            |l, para| para.extend_from_slice(l),
            |first, p| {
                out.push((first, String::from_utf8_lossy(p).into_owned()));
                Ok(())
            },
        )?;
        Ok(out)
    }

    #[test]
    fn paragraphs_split_on_blank_lines() {
        let got = collect(
            b"\xef\xbb\xbfa: 1\r\nb: 2\r\n \t\r\n\n\nc: 3\nd: 4",
            &Budget::unlimited(),
        )
        .unwrap();
        assert_eq!(
            got,
            [
                (1, "a: 1\r\nb: 2\r".to_string()),
                (6, "c: 3\nd: 4".to_string())
            ]
        );
    }

    #[test]
    fn a_record_over_the_budget_is_an_error_naming_it() {
        let budget = Budget::new(2 << 20);
        let mut input = b"a: 1\n\nb: ".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3 << 20));
        let e = collect(&input, &budget).unwrap_err().to_string();
        assert!(
            e.contains("record starting at line 3") && e.contains("memory budget of 2097152"),
            "{e}"
        );
        // Everything reserved was given back.
        assert_eq!(budget.used(), 0);
    }

    #[test]
    fn budget_reservations() {
        let b = Budget::new(10);
        let h = b.reserve(6).unwrap();
        assert!(b.reserve(5).is_err());
        assert_eq!(b.used(), 6);
        drop(h);
        b.reserve(10).unwrap().keep();
        assert_eq!(b.used(), 10);
        assert!(b.reserve(1).is_err());
    }
}
