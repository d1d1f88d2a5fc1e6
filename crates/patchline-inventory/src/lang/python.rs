//! Python distributions (OSV `PyPI`): what pip, setuptools and distutils installed, in
//! any interpreter's `site-packages` or `dist-packages`, a virtualenv, a `pip install
//! --target` folder, and eggs and wheels lying in the image.
//!
//! Which files. Every installed distribution has one metadata file, whatever installed
//! it: `NAME-VER.dist-info/METADATA` (wheels, i.e. pip), `NAME-VER.egg-info/PKG-INFO`
//! (setuptools' `setup.py install`, `pip install -e`), `NAME-VER.egg-info` as a file of
//! its own (distutils; Debian's `python3-*` packages have many), and
//! `NAME-VER.egg/EGG-INFO/PKG-INFO` in an unzipped egg. A zipped `.egg` (easy_install)
//! is read for its `EGG-INFO/PKG-INFO` member, a `.whl` for its
//! `NAME-VER.dist-info/METADATA` member, as osv-scalibr does: a wheel in the image is not
//! necessarily installed, but whoever shipped it ships its code. The choice is made from
//! the path alone, wherever it is: layouts vary too much (`lib/python3.12`,
//! `lib64/python3.9`, `local/lib/...`, `/opt/venv`, `--target` folders) for a list of
//! homes to be right, and these names are Python's alone.
//!
//! The format is that of email headers (core metadata, PEP 241 to PEP 639): `Field:
//! value` lines, a line starting with a space or tab continuing the previous field, up
//! to the first empty line; the long description may follow as a body. Only the header
//! is read, and at most [`HEADER_MAX`] bytes of it: old `PKG-INFO` files carry the long
//! description in a `Description:` field, so a header can be large, but what is needed
//! comes first. Field names are matched in any case, the first occurrence of a field
//! counts (as for Python's `email` parser and osv-scalibr). Quirks handled: CRLF, a
//! UTF-8 byte-order mark, whitespace-only lines (continuations, as in RFC 5322, not the
//! end of the header), non-UTF-8 bytes (read lossily: old `PKG-INFO` files have Latin-1
//! author names), and lines that are neither a field nor a continuation. setuptools
//! once wrote a multi-line `Keywords:` without indenting it (passlib 1.7.4 has that);
//! Python's parser and Go's `textproto` take such a line as the end of the header, which
//! would lose the fields after it, so it is skipped with a warning instead and the header
//! read on.
//!
//! What is kept. The name exactly as written (the matcher normalises it, PEP 503), the
//! version as written. A record without `Name` or `Version`, or whose name or version
//! has spaces, is skipped with a warning. Licences, one source only, so that one licence
//! is not listed twice in two spellings: a `License-Expression` (SPDX, PEP 639); else
//! the `License` field when it names a licence (one line, short, not `UNKNOWN`: many
//! packages paste the whole licence text there); else the `License :: ...` classifiers,
//! each by its last part (`License :: OSI Approved :: MIT License` gives `MIT License`).
//! The maintainer is the author, `Author <Author-email>` (or the maintainer fields when
//! no author is given), as osv-scalibr reports it.
//!
//! Archives are read as a stream, never held: local file headers are followed from the
//! start (an egg or wheel is written front to back without prepended data), other
//! members are stepped over without being decompressed when their size is known, and
//! only the wanted member is decompressed, through the same bounded header reader, so a
//! member that inflates to gigabytes costs [`HEADER_MAX`] bytes of output. Members whose
//! size only a data descriptor gives are inflated to find their end, within
//! [`SKIP_INFLATE_MAX`] bytes for the whole archive. At most [`MAX_ENTRIES`] members are
//! looked at, and archives over [`ARCHIVE_MAX_BYTES`] are not read. The central
//! directory, which a seeking reader would use, comes last and is not needed. A broken
//! archive (not a zip, truncated, a corrupt member, an encrypted or unsupported one)
//! gives a warning and no package: it is not a database whose loss makes the inventory
//! incomplete. Memory is a few buffers of fixed size per file.

use std::io::{self, BufRead, BufReader, Read};

use patchline_model::{Ecosystem, Package};

use crate::extract::{charge, lines, quoted, trim, Budget, Charged, ExtractError, Extracted};
use crate::Extractor;

/// The Python distribution extractor.
pub struct Python;

/// Bytes of a metadata header read at most; the rest is not read.
pub const HEADER_MAX: u64 = 1 << 20;
/// Bytes of one field value kept; a longer name or version is refused, a longer licence
/// or author is not used.
pub const VALUE_MAX: usize = 8 << 10;
/// Larger eggs and wheels are not read (a warning says so). The largest wheels on PyPI
/// (CUDA builds) are some 2.5 GB; beyond 4 GiB a zip needs ZIP64, which no wheel has.
pub const ARCHIVE_MAX_BYTES: u64 = 4 << 30;
/// Members of an archive looked at before giving up on finding the metadata.
pub const MAX_ENTRIES: usize = 100_000;
/// Bytes inflated, for the whole archive, to step over members whose size is only given
/// after their data.
pub const SKIP_INFLATE_MAX: u64 = 1 << 30;
/// `License` values longer than this are licence texts, not names.
const LICENSE_NAME_MAX: usize = 200;
/// `License ::` classifiers kept.
const MAX_CLASSIFIERS: usize = 16;

/// What a wanted path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A metadata file: `*.dist-info/METADATA`, `*.egg-info/PKG-INFO`,
    /// `*.egg/EGG-INFO/PKG-INFO`, or a `*.egg-info` file.
    Metadata,
    /// A zipped egg, read for its `EGG-INFO/PKG-INFO`.
    Egg,
    /// A wheel, read for its `*.dist-info/METADATA`.
    Wheel,
}

/// The kind of file `path` (image-root-relative) is, from its name alone.
pub fn kind(path: &str) -> Option<Kind> {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let (parent, dir_name) = dir.rsplit_once('/').unwrap_or(("", dir));
    let named = |s: &str, suffix: &str| s.len() > suffix.len() && s.ends_with(suffix);
    let grandparent = parent.rsplit('/').next().unwrap_or("");
    match file {
        "METADATA" if named(dir_name, ".dist-info") => Some(Kind::Metadata),
        "PKG-INFO" if named(dir_name, ".egg-info") => Some(Kind::Metadata),
        "PKG-INFO" if dir_name == "EGG-INFO" && named(grandparent, ".egg") => Some(Kind::Metadata),
        _ if named(file, ".egg-info") => Some(Kind::Metadata),
        _ if named(file, ".egg") => Some(Kind::Egg),
        _ if named(file, ".whl") => Some(Kind::Wheel),
        _ => None,
    }
}

impl Extractor for Python {
    fn name(&self) -> &'static str {
        "python"
    }

    fn wants(&self, path: &str) -> bool {
        kind(path).is_some()
    }

    /// Every read is bounded here (a header prefix, a streamed archive), so no file is
    /// too large to be handed over.
    fn max_file_bytes(&self) -> Option<u64> {
        Some(u64::MAX)
    }

    fn locations(&self) -> Vec<String> {
        vec![]
    }

    fn extract(&self, path: &str, content: &[u8]) -> Result<Extracted, ExtractError> {
        self.extract_from(
            path,
            content.len() as u64,
            &mut &content[..],
            &Budget::unlimited(),
        )
    }

    fn extract_from(
        &self,
        path: &str,
        size: u64,
        content: &mut dyn Read,
        budget: &Budget,
    ) -> Result<Extracted, ExtractError> {
        let mut out = Extracted::default();
        let read_err = |e: io::Error| ExtractError::new(path, format!("reading failed: {e}"));
        let package = match kind(path) {
            None => {
                out.warnings
                    .push("not a Python metadata file, egg or wheel by its name".into());
                None
            }
            Some(Kind::Metadata) => {
                let mut r = BufReader::with_capacity(16 << 10, content);
                let header = read_header(&mut r);
                if let Some(e) = header.error {
                    return Err(read_err(e));
                }
                header.package(path, "", &mut out.warnings)
            }
            Some(kind) if size > ARCHIVE_MAX_BYTES => {
                out.warnings.push(format!(
                    "{} of {size} bytes, over the limit of {ARCHIVE_MAX_BYTES}; not read",
                    kind.archive_name()
                ));
                None
            }
            Some(kind) => match read_archive(kind, content, &Limits::DEFAULT) {
                Ok((member, header)) => {
                    if let Some(fault) = &header.fault {
                        out.warnings.push(format!(
                            "{fault} (after {} bytes of its header)",
                            header.bytes
                        ));
                    }
                    let at = format!("{}: ", quoted(&member));
                    header.package(path, &at, &mut out.warnings)
                }
                Err(Stop::Warn(w)) => {
                    out.warnings.push(w);
                    None
                }
                Err(Stop::Io(e)) => return Err(read_err(e)),
            },
        };
        out.packages.extend(package);
        charge(path, &out.packages, &mut Charged::default(), budget)?;
        Ok(out)
    }
}

impl Kind {
    fn archive_name(self) -> &'static str {
        match self {
            Kind::Metadata => "metadata file",
            Kind::Egg => "egg",
            Kind::Wheel => "wheel",
        }
    }

    /// Is `name` the archive member holding the distribution's metadata?
    fn is_member(self, name: &[u8]) -> bool {
        match self {
            Kind::Metadata => false,
            Kind::Egg => name == b"EGG-INFO/PKG-INFO",
            // At the top level only: a wheel may vendor other distributions' files.
            Kind::Wheel => name
                .strip_suffix(b".dist-info/METADATA")
                .is_some_and(|dir| !dir.is_empty() && !dir.contains(&b'/')),
        }
    }

    fn member_name(self) -> &'static str {
        match self {
            Kind::Metadata => "",
            Kind::Egg => "EGG-INFO/PKG-INFO",
            Kind::Wheel => "*.dist-info/METADATA",
        }
    }
}

/// The fields of a header the extractor uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Name,
    Version,
    License,
    LicenseExpression,
    Author,
    AuthorEmail,
    Maintainer,
    MaintainerEmail,
    Classifier,
}

const FIELDS: [(&str, Field); 9] = [
    ("name", Field::Name),
    ("version", Field::Version),
    ("license", Field::License),
    ("license-expression", Field::LicenseExpression),
    ("author", Field::Author),
    ("author-email", Field::AuthorEmail),
    ("maintainer", Field::Maintainer),
    ("maintainer-email", Field::MaintainerEmail),
    ("classifier", Field::Classifier),
];

/// A field's value: the first line's, then each continuation's, trimmed and joined by
/// single spaces.
#[derive(Debug, Default)]
struct Value {
    text: Vec<u8>,
    /// Had continuation lines.
    folded: bool,
    /// Longer than [`VALUE_MAX`]: only its start is kept.
    cut: bool,
}

impl Value {
    fn push(&mut self, part: &[u8], cut: bool) {
        let part = trim(part);
        if !self.text.is_empty() && !part.is_empty() {
            if self.text.len() < VALUE_MAX {
                self.text.push(b' ');
            } else {
                self.cut = true;
            }
        }
        let room = VALUE_MAX.saturating_sub(self.text.len());
        self.text.extend_from_slice(&part[..part.len().min(room)]);
        self.cut |= cut || part.len() > room;
    }

    /// The value when it is usable as a name: present, whole, not `UNKNOWN` (what
    /// setuptools writes for a field the project left out).
    fn usable(&self) -> Option<String> {
        let text = trim(&self.text);
        if self.cut || text.is_empty() || text.eq_ignore_ascii_case(b"UNKNOWN") {
            return None;
        }
        Some(String::from_utf8_lossy(text).into_owned())
    }
}

/// A metadata header as read.
#[derive(Debug, Default)]
struct Header {
    name: Option<Value>,
    version: Option<Value>,
    license: Option<Value>,
    license_expression: Option<Value>,
    author: Option<Value>,
    author_email: Option<Value>,
    maintainer: Option<Value>,
    maintainer_email: Option<Value>,
    /// The licence names of the `License ::` classifiers.
    classifiers: Vec<String>,
    /// Bytes read.
    bytes: u64,
    /// Lines that are neither `Field: value` nor a continuation.
    bad_lines: usize,
    first_bad_line: usize,
    /// [`HEADER_MAX`] was reached before the end of the header.
    over: bool,
    /// Why reading stopped early, when it did.
    error: Option<io::Error>,
    /// What was wrong with an archive member whose reading stopped early.
    fault: Option<String>,
}

impl Header {
    fn slot(&mut self, field: Field) -> Option<&mut Option<Value>> {
        Some(match field {
            Field::Name => &mut self.name,
            Field::Version => &mut self.version,
            Field::License => &mut self.license,
            Field::LicenseExpression => &mut self.license_expression,
            Field::Author => &mut self.author,
            Field::AuthorEmail => &mut self.author_email,
            Field::Maintainer => &mut self.maintainer,
            Field::MaintainerEmail => &mut self.maintainer_email,
            Field::Classifier => return None,
        })
    }

    fn classifier(&mut self, value: &[u8]) {
        let value = String::from_utf8_lossy(trim(value));
        let mut parts = value.split("::").map(str::trim);
        if parts.next() != Some("License") || self.classifiers.len() >= MAX_CLASSIFIERS {
            return;
        }
        // `License :: OSI Approved` alone says which body approved, not which licence.
        let Some(name) = parts.last().filter(|n| {
            !n.is_empty()
                && !n.eq_ignore_ascii_case("OSI Approved")
                && !n.eq_ignore_ascii_case("DFSG approved")
        }) else {
            return;
        };
        if !self.classifiers.iter().any(|c| c == name) {
            self.classifiers.push(name.to_string());
        }
    }

    /// The package the header describes, or a warning (prefixed with `at`) saying why
    /// there is none.
    fn package(&self, path: &str, at: &str, warnings: &mut Vec<String>) -> Option<Package> {
        if self.bad_lines > 0 {
            warnings.push(format!(
                "{at}{} neither 'Field: value' nor a continuation ignored (first at line {})",
                lines(self.bad_lines),
                self.first_bad_line
            ));
        }
        if self.over {
            warnings.push(format!(
                "{at}the header is longer than {HEADER_MAX} bytes; the fields after that were not read"
            ));
        }
        let missing = match (&self.name, &self.version) {
            (None, None) if self.bytes == 0 && self.fault.is_none() => Some("the file is empty"),
            (None, None) => Some("no Name or Version field"),
            (None, Some(_)) => Some("no Name field"),
            (Some(_), None) => Some("no Version field"),
            _ => None,
        };
        if let Some(missing) = missing {
            warnings.push(format!("{at}{missing}; skipped"));
            return None;
        }
        let name = checked(at, "name", self.name.as_ref()?, warnings)?;
        let at = format!("{at}package {}: ", quoted(name.as_bytes()));
        let version = checked(&at, "version", self.version.as_ref()?, warnings)?;

        let mut pkg = Package::new(Ecosystem::Pypi, name, version);
        pkg.licenses = self.licenses();
        pkg.maintainer = person(self.author.as_ref(), self.author_email.as_ref())
            .or_else(|| person(self.maintainer.as_ref(), self.maintainer_email.as_ref()));
        pkg.db_path = path.to_string();
        Some(pkg)
    }

    fn licenses(&self) -> Vec<String> {
        if let Some(expression) = self.license_expression.as_ref().and_then(Value::usable) {
            return vec![expression];
        }
        let named = self
            .license
            .as_ref()
            .filter(|l| !l.folded)
            .and_then(Value::usable)
            .filter(|l| l.chars().count() <= LICENSE_NAME_MAX);
        match named {
            Some(license) => vec![license],
            None => self.classifiers.clone(),
        }
    }
}

/// A name or version as kept: present, whole and without spaces, else a warning.
fn checked(at: &str, what: &str, value: &Value, warnings: &mut Vec<String>) -> Option<String> {
    let text = trim(&value.text);
    let problem = if text.is_empty() {
        Some("is empty".to_string())
    } else if value.cut {
        Some(format!("is longer than {VALUE_MAX} bytes"))
    } else if text
        .iter()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        Some(format!("{} has spaces or control characters", quoted(text)))
    } else {
        None
    };
    match problem {
        Some(problem) => {
            warnings.push(format!("{at}the {what} {problem}; skipped"));
            None
        }
        None => Some(String::from_utf8_lossy(text).into_owned()),
    }
}

/// `Name <email>`, as dpkg's maintainers read; an address field that already names its
/// people (`"A. Dev" <a@example.org>`, PEP 621's form) is taken as it is.
fn person(name: Option<&Value>, email: Option<&Value>) -> Option<String> {
    let name = name.and_then(Value::usable);
    let email = email.and_then(Value::usable);
    match (name, email) {
        (_, Some(email)) if email.contains('<') => Some(email),
        (Some(name), Some(email)) => Some(format!("{name} <{email}>")),
        (name, email) => name.or(email),
    }
}

/// How a line read by [`read_line`] ended.
enum LineEnd {
    /// A line (the last one may lack its newline).
    Line,
    /// End of input, nothing read.
    Eof,
    /// The byte limit was reached first; the partial line is dropped.
    Limit,
}

/// Reads one line into `line` (cleared first), keeping at most `keep` bytes of it (the
/// rest is consumed and `cut` is set), and counting what it consumes against `left`.
fn read_line(
    r: &mut dyn BufRead,
    line: &mut Vec<u8>,
    keep: usize,
    cut: &mut bool,
    left: &mut u64,
) -> io::Result<LineEnd> {
    line.clear();
    *cut = false;
    let mut any = false;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(if any { LineEnd::Line } else { LineEnd::Eof });
        }
        if *left == 0 {
            return Ok(LineEnd::Limit);
        }
        let avail = &buf[..buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX))];
        let (take, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        let room = keep.saturating_sub(line.len());
        line.extend_from_slice(&avail[..take.min(room)]);
        *cut |= take > room;
        r.consume(take);
        *left -= take as u64;
        any = true;
        if done {
            return Ok(LineEnd::Line);
        }
    }
}

/// Reads a metadata header from `r`, at most [`HEADER_MAX`] bytes of it. A read error
/// stops it and is kept in the result with the fields read before.
fn read_header(r: &mut dyn BufRead) -> Header {
    let mut h = Header::default();
    let mut left = HEADER_MAX;
    let mut line = Vec::new();
    let mut cut = false;
    let mut line_no = 0usize;
    // The field the previous line started, when its value is kept and continuations
    // extend it; `Err(())` after a bad line, whose continuations are part of it.
    let mut current: Result<Option<Field>, ()> = Err(());
    // A field name is short; a line is kept up to its name and a whole value.
    let keep = VALUE_MAX + 256;
    loop {
        let end = read_line(r, &mut line, keep, &mut cut, &mut left);
        h.bytes = HEADER_MAX - left;
        match end {
            Err(e) => {
                h.error = Some(e);
                break;
            }
            Ok(LineEnd::Eof) => break,
            Ok(LineEnd::Limit) => {
                h.over = true;
                break;
            }
            Ok(LineEnd::Line) => {}
        }
        line_no += 1;
        let mut text: &[u8] = line.strip_suffix(b"\n").unwrap_or(&line);
        text = text.strip_suffix(b"\r").unwrap_or(text);
        if line_no == 1 {
            text = text.strip_prefix(b"\xef\xbb\xbf").unwrap_or(text);
        }
        if text.is_empty() && !cut {
            break;
        }
        if let [b' ' | b'\t', ..] = text {
            match current {
                Ok(Some(field)) => {
                    if let Some(Some(value)) = h.slot(field) {
                        value.folded = true;
                        value.push(text, cut);
                    }
                }
                Ok(None) => {}
                Err(()) if line_no == 1 => {
                    h.bad_lines += 1;
                    h.first_bad_line = line_no;
                }
                Err(()) => {}
            }
            continue;
        }
        let colon = memchr::memchr(b':', text);
        let key = colon
            .map(|i| &text[..i])
            .filter(|k| !k.is_empty() && k.iter().all(|&b| b.is_ascii_graphic()));
        let (Some(key), Some(colon)) = (key, colon) else {
            if h.bad_lines == 0 {
                h.first_bad_line = line_no;
            }
            h.bad_lines += 1;
            current = Err(());
            continue;
        };
        let value = &text[colon + 1..];
        current = Ok(None);
        let Some(field) = FIELDS
            .iter()
            .find(|(n, _)| n.as_bytes().eq_ignore_ascii_case(key))
            .map(|&(_, f)| f)
        else {
            continue;
        };
        match h.slot(field) {
            None => h.classifier(value),
            Some(slot @ None) => {
                let mut v = Value::default();
                v.push(value, cut);
                *slot = Some(v);
                current = Ok(Some(field));
            }
            // Repeated: the first counts.
            Some(Some(_)) => {}
        }
    }
    h
}

/// The bounds of an archive's reading ([`MAX_ENTRIES`], [`SKIP_INFLATE_MAX`]); tests
/// lower them.
struct Limits {
    entries: usize,
    skip_inflate: u64,
}

impl Limits {
    const DEFAULT: Limits = Limits {
        entries: MAX_ENTRIES,
        skip_inflate: SKIP_INFLATE_MAX,
    };
}

/// Why an archive gave no metadata header.
enum Stop {
    /// Not readable as an egg or wheel: a warning, no package.
    Warn(String),
    /// The stream itself failed.
    Io(io::Error),
}

/// An archive's stream, buffered with the look-ahead that finding the end of a stored
/// member after its data needs (which `BufReader` cannot promise), and counting what is
/// consumed, for offsets in warnings.
struct Stream<'r> {
    inner: &'r mut dyn Read,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    pos: u64,
}

impl<'r> Stream<'r> {
    fn new(inner: &'r mut dyn Read) -> Self {
        Stream {
            inner,
            buf: vec![0; 64 << 10].into_boxed_slice(),
            start: 0,
            end: 0,
            pos: 0,
        }
    }

    /// The buffered bytes, at least `n` (at most the buffer's size) unless the input
    /// ends first.
    fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        if self.end - self.start < n {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            while self.end < n.min(self.buf.len()) {
                match self.inner.read(&mut self.buf[self.end..]) {
                    Ok(0) => break,
                    Ok(k) => self.end += k,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(&self.buf[self.start..self.end])
    }
}

impl Read for Stream<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Stream<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.peek(1)
    }

    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.end - self.start);
        self.start += amt;
        self.pos += amt as u64;
    }
}

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const END64_LOCATOR: u32 = 0x0706_4b50;
const DIGITAL_SIGNATURE: u32 = 0x0505_4b50;
const DESCRIPTOR: u32 = 0x0807_4b50;

/// Fills `buf`, or says where the archive ends.
fn exact(z: &mut Stream<'_>, buf: &mut [u8], what: &str) -> Result<(), Stop> {
    let at = z.pos;
    z.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => Stop::Warn(format!(
            "truncated: the archive ends in {what} at offset {at}"
        )),
        _ => Stop::Io(e),
    })
}

/// A decompression error is the member's fault, any other the stream's.
fn inflate_error(e: io::Error, member: &str) -> Stop {
    match e.kind() {
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            Stop::Warn(format!("{member}: corrupt deflate data: {e}"))
        }
        io::ErrorKind::UnexpectedEof => {
            Stop::Warn(format!("truncated: the archive ends in {member}"))
        }
        _ => Stop::Io(e),
    }
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Reads up to 4 bytes; fewer only at the end of the input.
fn signature(z: &mut Stream<'_>) -> Result<([u8; 4], usize), Stop> {
    let mut sig = [0u8; 4];
    let mut n = 0;
    while n < 4 {
        match z.read(&mut sig[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Stop::Io(e)),
        }
    }
    Ok((sig, n))
}

/// Follows an archive's local file headers to the metadata member and reads its
/// header; returns the member's name with it.
fn read_archive(kind: Kind, r: &mut dyn Read, limits: &Limits) -> Result<(Vec<u8>, Header), Stop> {
    let mut z = Stream::new(r);
    let mut inflated = 0u64;
    let mut entries = 0usize;
    let mut name = Vec::new();
    let mut extra = Vec::new();
    loop {
        let at = z.pos;
        let (sig, n) = signature(&mut z)?;
        if n == 0 && entries == 0 {
            return Err(Stop::Warn("empty file, not a zip archive".into()));
        }
        if n < 4 {
            return Err(Stop::Warn(format!(
                "truncated: the archive ends at offset {} after {entries} members, without {} \
                 or a central directory",
                z.pos,
                kind.member_name()
            )));
        }
        match u32::from_le_bytes(sig) {
            LOCAL => {}
            CENTRAL | END | END64 | END64_LOCATOR | DIGITAL_SIGNATURE => {
                return Err(Stop::Warn(format!(
                    "no {} member among the archive's {entries} members",
                    kind.member_name()
                )));
            }
            _ if entries == 0 => {
                return Err(Stop::Warn(format!(
                    "not a zip archive (it starts with {})",
                    quoted(&sig)
                )))
            }
            _ => {
                return Err(Stop::Warn(format!(
                "no member header at offset {at}, after {entries} members; the archive is corrupt"
            )))
            }
        }
        entries += 1;
        if entries > limits.entries {
            return Err(Stop::Warn(format!(
                "no {} among the first {} members; the rest was not read",
                kind.member_name(),
                limits.entries
            )));
        }
        let mut h = [0u8; 26];
        exact(&mut z, &mut h, "a member header")?;
        let flags = u16_at(&h, 2);
        let method = u16_at(&h, 4);
        let mut compressed = u64::from(u32_at(&h, 14));
        let uncompressed32 = u32_at(&h, 18);
        name.resize(usize::from(u16_at(&h, 22)), 0);
        extra.resize(usize::from(u16_at(&h, 24)), 0);
        exact(&mut z, &mut name, "a member name")?;
        exact(&mut z, &mut extra, "a member header")?;
        let zip64 = zip64_sizes(&extra, uncompressed32, &mut compressed);
        let member = format!("member {entries} ({})", quoted(&name));
        let described = flags & 8 != 0;

        if kind.is_member(&name) {
            if flags & 1 != 0 {
                return Err(Stop::Warn(format!("{member} is encrypted; not read")));
            }
            // Without a size before the data, the header reader's own bound and the
            // member's end (a blank line, the end of the deflate stream) stop the read.
            let limit = if described && compressed == 0 {
                u64::MAX
            } else {
                compressed
            };
            let mut data = (&mut z).take(limit);
            let mut header = match method {
                0 => read_header(&mut data),
                8 => read_header(&mut BufReader::new(flate2::bufread::DeflateDecoder::new(
                    data,
                ))),
                m => {
                    return Err(Stop::Warn(format!(
                        "{member} is compressed with method {m}, which is not read (only stored and deflate)"
                    )))
                }
            };
            // A corrupt or cut member still gives the fields read before the fault.
            if let Some(e) = header.error.take() {
                match inflate_error(e, &member) {
                    Stop::Warn(w) => header.fault = Some(w),
                    io => return Err(io),
                }
            }
            return Ok((std::mem::take(&mut name), header));
        }

        if described && method == 8 {
            // The size comes after the data: the deflate stream's own end tells it.
            let allowed = limits.skip_inflate - inflated;
            let mut d = flate2::bufread::DeflateDecoder::new(&mut z);
            let n = io::copy(&mut (&mut d).take(allowed + 1), &mut io::sink())
                .map_err(|e| inflate_error(e, &member))?;
            inflated += n;
            if n > allowed {
                return Err(Stop::Warn(format!(
                    "{member} and those before it inflate to more than {} bytes while looking \
                     for {}; the rest was not read",
                    limits.skip_inflate,
                    kind.member_name()
                )));
            }
        } else if described && compressed == 0 {
            skip_to_descriptor(&mut z, zip64, &member)?;
            continue;
        } else {
            let n = io::copy(&mut (&mut z).take(compressed), &mut io::sink()).map_err(Stop::Io)?;
            if n < compressed {
                return Err(Stop::Warn(format!(
                    "truncated: the archive ends in {member}, {n} of its {compressed} bytes read"
                )));
            }
        }
        if described {
            // crc-32 and the two sizes, after an optional signature.
            let mut d = [0u8; 4];
            exact(&mut z, &mut d, "a data descriptor")?;
            if u32::from_le_bytes(d) == DESCRIPTOR {
                exact(&mut z, &mut d, "a data descriptor")?;
            }
            let mut sizes = [0u8; 16];
            let sizes = if zip64 {
                &mut sizes[..]
            } else {
                &mut sizes[..8]
            };
            exact(&mut z, sizes, "a data descriptor")?;
        }
    }
}

/// Steps over a member that is not deflated and whose size only the data descriptor after
/// it gives (Go's and Python's zip writers do that when writing to a pipe): its data ends
/// where a descriptor signature is followed by that many bytes as both sizes.
fn skip_to_descriptor(z: &mut Stream<'_>, zip64: bool, member: &str) -> Result<(), Stop> {
    let len = if zip64 { 24 } else { 16 };
    let signature = DESCRIPTOR.to_le_bytes();
    let finder = memchr::memmem::Finder::new(&signature);
    let mut data = 0u64;
    loop {
        let buf = z.peek(len).map_err(Stop::Io)?;
        if buf.len() < len {
            return Err(Stop::Warn(format!(
                "truncated: the archive ends in {member}, whose data descriptor was not found"
            )));
        }
        let step = match finder.find(buf) {
            Some(i) if i + len <= buf.len() => {
                let d = &buf[i + 8..i + len];
                let (compressed, uncompressed) = if zip64 {
                    (
                        u64::from_le_bytes(d[..8].try_into().unwrap_or_default()),
                        u64::from_le_bytes(d[8..].try_into().unwrap_or_default()),
                    )
                } else {
                    (u64::from(u32_at(d, 0)), u64::from(u32_at(d, 4)))
                };
                let size = data + i as u64;
                if compressed == size && uncompressed == size {
                    z.consume(i + len);
                    return Ok(());
                }
                i + 1
            }
            // A candidate whose descriptor is not all buffered yet: peek again from it.
            Some(i) => i,
            // A signature may straddle the end of the buffer.
            None => buf.len() - 3,
        };
        z.consume(step);
        data += step as u64;
    }
}

/// Applies a ZIP64 extra field's compressed size; says whether there is one (which
/// makes a data descriptor's sizes 8 bytes each).
fn zip64_sizes(mut extra: &[u8], uncompressed32: u32, compressed: &mut u64) -> bool {
    while extra.len() >= 4 {
        let id = u16_at(extra, 0);
        let len = usize::from(u16_at(extra, 2));
        let Some(data) = extra.get(4..4 + len) else {
            return false;
        };
        if id == 1 {
            // Only the sizes the header marks as 0xffffffff are there, in this order.
            let mut values = data
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default()));
            if uncompressed32 == u32::MAX {
                values.next();
            }
            if *compressed == u64::from(u32::MAX) {
                if let Some(c) = values.next() {
                    *compressed = c;
                }
            }
            return true;
        }
        extra = &extra[4 + len..];
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const SITE: &str = "usr/lib/python3.12/site-packages";

    fn meta(content: &[u8]) -> Extracted {
        Python
            .extract(&format!("{SITE}/demo-1.0.dist-info/METADATA"), content)
            .unwrap()
    }

    fn one(x: &Extracted) -> &Package {
        assert_eq!(x.packages.len(), 1, "{x:?}");
        &x.packages[0]
    }

    /// A reader of a generated stream that counts what was taken from it.
    struct Counting<R> {
        inner: R,
        read: u64,
    }

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    struct Member<'a> {
        name: &'a str,
        data: &'a [u8],
        /// 0 stored, 8 deflate, anything else as is.
        method: u16,
        /// Sizes and crc in a data descriptor after the data, as streaming writers do.
        descriptor: bool,
        flags: u16,
    }

    fn member<'a>(name: &'a str, data: &'a [u8]) -> Member<'a> {
        Member {
            name,
            data,
            method: 8,
            descriptor: false,
            flags: 0,
        }
    }

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// A zip archive of `members`, with its central directory.
    fn zip(members: &[Member<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for m in members {
            let offset = out.len() as u32;
            let body = if m.method == 8 {
                deflate(m.data)
            } else {
                m.data.to_vec()
            };
            let mut crc = flate2::Crc::new();
            crc.update(m.data);
            let (crc, csize, usize) = (crc.sum(), body.len() as u32, m.data.len() as u32);
            let flags = m.flags | if m.descriptor { 8 } else { 0 };
            let local = if m.descriptor {
                [0; 3]
            } else {
                [crc, csize, usize]
            };
            let fixed = |out: &mut Vec<u8>, sizes: [u32; 3]| {
                out.extend(20u16.to_le_bytes());
                out.extend(flags.to_le_bytes());
                out.extend(m.method.to_le_bytes());
                out.extend([0u8; 4]);
                for v in sizes {
                    out.extend(v.to_le_bytes());
                }
                out.extend((m.name.len() as u16).to_le_bytes());
                out.extend(0u16.to_le_bytes());
            };
            out.extend(LOCAL.to_le_bytes());
            fixed(&mut out, local);
            out.extend(m.name.as_bytes());
            out.extend(&body);
            if m.descriptor {
                out.extend(DESCRIPTOR.to_le_bytes());
                for v in [crc, csize, usize] {
                    out.extend(v.to_le_bytes());
                }
            }
            central.extend(CENTRAL.to_le_bytes());
            central.extend(20u16.to_le_bytes());
            fixed(&mut central, [crc, csize, usize]);
            central.extend([0u8; 12]);
            central.extend(offset.to_le_bytes());
            central.extend(m.name.as_bytes());
        }
        let at = out.len() as u32;
        let size = central.len() as u32;
        out.extend(central);
        out.extend(END.to_le_bytes());
        out.extend([0u8; 4]);
        out.extend((members.len() as u16).to_le_bytes());
        out.extend((members.len() as u16).to_le_bytes());
        out.extend(size.to_le_bytes());
        out.extend(at.to_le_bytes());
        out.extend([0u8; 2]);
        out
    }

    const PKG_INFO: &[u8] = b"Metadata-Version: 1.1\nName: demo\nVersion: 1.0\nAuthor: A. Dev\n\
        Author-email: a@example.org\nLicense: MIT\n\nLong description.\n";

    fn egg(content: &[u8]) -> Extracted {
        Python
            .extract(&format!("{SITE}/demo-1.0-py3.12.egg"), content)
            .unwrap()
    }

    fn warned(x: &Extracted, text: &str) {
        assert!(
            x.warnings.iter().any(|w| w.contains(text)),
            "no warning with {text:?}: {:?}",
            x.warnings
        );
    }

    #[test]
    fn wanted_paths() {
        let yes = [
            (
                "usr/lib/python3/dist-packages/six-1.16.0.dist-info/METADATA",
                Kind::Metadata,
            ),
            (
                "opt/venv/lib/python3.12/site-packages/a.dist-info/METADATA",
                Kind::Metadata,
            ),
            (
                "usr/lib/python3/dist-packages/pycups-2.0.1.egg-info",
                Kind::Metadata,
            ),
            ("app/deps/httplib2-0.20.4.egg-info/PKG-INFO", Kind::Metadata),
            (
                "x/setuptools-57.4.0-py3.9.egg/EGG-INFO/PKG-INFO",
                Kind::Metadata,
            ),
            ("x/monotonic-1.6-py3.10.egg", Kind::Egg),
            ("wheels/monotonic-1.6-py2.py3-none-any.whl", Kind::Wheel),
            ("monotonic-1.6-py3.10.egg", Kind::Egg),
        ];
        for (path, want) in yes {
            assert_eq!(kind(path), Some(want), "{path}");
        }
        let no = [
            "usr/lib/python3/dist-packages/six-1.16.0.dist-info/RECORD",
            "usr/lib/python3/dist-packages/six-1.16.0.dist-info/TEST",
            "usr/lib/python3/dist-packages/x.egg-info/SOURCES.txt",
            "x/EGG-INFO/PKG-INFO",
            "x/.dist-info/METADATA",
            "x/METADATA",
            "x/PKG-INFO",
            ".egg",
            "x/.whl",
            "usr/share/doc/egg",
            "x/dist-info/METADATA",
        ];
        for path in no {
            assert_eq!(kind(path), None, "{path}");
        }
    }

    #[test]
    fn fields_of_a_header() {
        let x = meta(
            b"Metadata-Version: 2.1\nName: Zope.Interface\nVersion: 5.4.0\nAuthor: Zope Foundation\n\
              Author-email: zope-dev@zope.org\nLicense: ZPL 2.1\n\
              Classifier: License :: OSI Approved :: Zope Public License\n\n\
              Name: not-this\nVersion: 9\n",
        );
        let p = one(&x);
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("Zope.Interface", "5.4.0")
        );
        assert_eq!(p.ecosystem, Ecosystem::Pypi);
        assert_eq!(p.licenses, ["ZPL 2.1"]);
        assert_eq!(
            p.maintainer.as_deref(),
            Some("Zope Foundation <zope-dev@zope.org>")
        );
        assert_eq!(p.db_path, format!("{SITE}/demo-1.0.dist-info/METADATA"));
        assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    }

    #[test]
    fn licence_sources_in_order() {
        let licenses = |h: &str| {
            meta(format!("Name: a\nVersion: 1\n{h}").as_bytes()).packages[0]
                .licenses
                .clone()
        };
        let classifiers = "Classifier: License :: OSI Approved :: MIT License\n\
             Classifier: License :: OSI Approved :: Apache Software License\n\
             Classifier: License :: OSI Approved\nClassifier: Topic :: Utilities\n";
        assert_eq!(
            licenses(&format!(
                "License-Expression: MIT OR Apache-2.0\nLicense: MIT\n{classifiers}"
            )),
            ["MIT OR Apache-2.0"]
        );
        assert_eq!(licenses(&format!("License: BSD\n{classifiers}")), ["BSD"]);
        let both = ["MIT License", "Apache Software License"];
        assert_eq!(licenses(&format!("License: UNKNOWN\n{classifiers}")), both);
        // A licence text is not a licence's name.
        assert_eq!(
            licenses(&format!(
                "License: Copyright (c) 2010 The Authors\n        Permission is hereby granted\n\
                 {classifiers}"
            )),
            both
        );
        let long = "x".repeat(LICENSE_NAME_MAX + 1);
        assert_eq!(licenses(&format!("License: {long}\n{classifiers}")), both);
        assert!(licenses("License: UNKNOWN\n").is_empty());
    }

    #[test]
    fn authors() {
        let maintainer = |h: &str| {
            meta(format!("Name: a\nVersion: 1\n{h}").as_bytes()).packages[0]
                .maintainer
                .clone()
        };
        assert_eq!(maintainer("Author: A\n").as_deref(), Some("A"));
        assert_eq!(maintainer("Author-email: a@x\n").as_deref(), Some("a@x"));
        assert_eq!(
            maintainer("Author: A\nAuthor-email: \"A\" <a@x>, B <b@x>\n").as_deref(),
            Some("\"A\" <a@x>, B <b@x>")
        );
        assert_eq!(
            maintainer("Author: UNKNOWN\nMaintainer: M\nMaintainer-email: m@x\n").as_deref(),
            Some("M <m@x>")
        );
        assert_eq!(maintainer("Author: UNKNOWN\n"), None);
    }

    #[test]
    fn crlf_bom_and_field_names_in_any_case() {
        let x = meta(b"\xef\xbb\xbfMetadata-Version: 2.1\r\nNAME: crlf\r\nversion: 2.0\r\nauthor: A\r\n\r\nName: body\r\n");
        let p = one(&x);
        assert_eq!((p.name.as_str(), p.version.as_str()), ("crlf", "2.0"));
        assert_eq!(p.maintainer.as_deref(), Some("A"));
        assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    }

    #[test]
    fn continuation_lines() {
        // Old PKG-INFO: the description is a field, its blank lines indented (or only
        // whitespace), which continue it rather than end the header.
        let x = meta(
            b"Name: cont\nDescription: first line\n        second\n        \n\t\n        |after\n\
              Author: Ann\n  Other\nVersion: 3\nClassifier: License :: Public Domain\n\
              License: see\n  the file\n",
        );
        let p = one(&x);
        assert_eq!(p.version, "3");
        assert_eq!(p.maintainer.as_deref(), Some("Ann Other"));
        assert_eq!(p.licenses, ["Public Domain"]);
        assert!(x.warnings.is_empty(), "{:?}", x.warnings);
    }

    #[test]
    fn lines_that_are_not_fields_are_skipped_with_a_warning() {
        // setuptools' unindented multi-line Keywords (passlib 1.7.4).
        let x = meta(
            b"Name: passlib\nKeywords: password secret\ncrypt md5-crypt\ntotp 2fa\nVersion: 1.7.4\n\
              bad key: x\n",
        );
        assert_eq!(one(&x).version, "1.7.4");
        assert_eq!(
            x.warnings,
            ["3 lines neither 'Field: value' nor a continuation ignored (first at line 3)"]
        );
    }

    #[test]
    fn non_utf8_bytes_are_read_lossily() {
        let x = meta(b"Name: caf\xe9\nVersion: 1.0\nAuthor: Ren\xe9 \xff\n");
        let p = one(&x);
        assert_eq!(p.name, "caf\u{fffd}");
        assert_eq!(p.maintainer.as_deref(), Some("Ren\u{fffd} \u{fffd}"));
    }

    #[test]
    fn missing_or_bad_name_and_version_skip_the_record() {
        let cases: [(&[u8], &str); 7] = [
            (
                b"Name: a\nSummary: s\n\nVersion: 1\n",
                "no Version field; skipped",
            ),
            (b"Version: 1\n", "no Name field; skipped"),
            (b"Summary: s\n", "no Name or Version field; skipped"),
            (b"", "the file is empty; skipped"),
            (
                b"Name: a\nVersion:   \n",
                "package \"a\": the version is empty; skipped",
            ),
            (b"Name: a b\nVersion: 1\n", "the name \"a b\" has spaces"),
            (
                b"Name: a\nVersion: 1\n  .2\n",
                "the version \"1 .2\" has spaces",
            ),
        ];
        for (input, want) in cases {
            let x = meta(input);
            assert!(x.packages.is_empty(), "{x:?}");
            assert_eq!(x.warnings.len(), 1, "{:?}", x.warnings);
            assert!(x.warnings[0].contains(want), "{:?} for {want}", x.warnings);
        }
        let long = format!("Name: a\nVersion: {}\n", "1".repeat(VALUE_MAX + 1));
        warned(
            &meta(long.as_bytes()),
            "the version is longer than 8192 bytes",
        );
    }

    #[test]
    fn only_the_header_is_read() {
        // A gigabyte-long description after the header is never read.
        let mut r = Counting {
            inner: (&b"Name: big\nVersion: 1\n\n"[..]).chain(io::repeat(b'x').take(1 << 30)),
            read: 0,
        };
        let x = Python
            .extract_from(
                &format!("{SITE}/big-1.dist-info/METADATA"),
                1 << 30,
                &mut r,
                &Budget::unlimited(),
            )
            .unwrap();
        assert_eq!(one(&x).name, "big");
        assert!(r.read <= 64 << 10, "read {} bytes", r.read);

        // Without the empty line, a header of endless fields stops at HEADER_MAX.
        let mut r = Counting {
            inner: (&b"Name: big\nVersion: 1\n"[..])
                .chain(io::repeat(b'x').take(1 << 30))
                .chain(&b": y\n"[..]),
            read: 0,
        };
        let x = Python
            .extract_from(
                &format!("{SITE}/big-1.egg-info"),
                1 << 30,
                &mut r,
                &Budget::unlimited(),
            )
            .unwrap();
        assert_eq!(one(&x).name, "big");
        assert!(r.read <= HEADER_MAX + (64 << 10), "read {} bytes", r.read);
        assert_eq!(
            x.warnings,
            [format!(
                "the header is longer than {HEADER_MAX} bytes; the fields after that were not read"
            )]
        );
    }

    #[test]
    fn long_lines_keep_their_start_only() {
        let mut input = b"Name: a\nVersion: 1\nAuthor: ".to_vec();
        input.extend(std::iter::repeat_n(b'y', 100_000));
        input.extend(b"\nLicense: MIT\n");
        let x = meta(&input);
        let p = one(&x);
        // Too long an author is not one.
        assert_eq!(p.maintainer, None);
        assert_eq!(p.licenses, ["MIT"]);
    }

    #[test]
    fn egg_and_wheel_members() {
        let archive = zip(&[
            member("demo/__init__.py", b"print('hi')\n"),
            member("EGG-INFO/SOURCES.txt", b"demo/__init__.py\n"),
            member("EGG-INFO/PKG-INFO", PKG_INFO),
        ]);
        let x = egg(&archive);
        let p = one(&x);
        assert_eq!((p.name.as_str(), p.version.as_str()), ("demo", "1.0"));
        assert_eq!(p.licenses, ["MIT"]);
        assert_eq!(p.maintainer.as_deref(), Some("A. Dev <a@example.org>"));
        assert_eq!(p.db_path, format!("{SITE}/demo-1.0-py3.12.egg"));
        assert!(x.warnings.is_empty(), "{:?}", x.warnings);

        // A wheel's own dist-info is at the top; a vendored one is not the wheel's.
        let vendored = b"Name: vendored\nVersion: 9\n";
        let wheel = zip(&[
            member("demo/_vendor/vendored-9.dist-info/METADATA", vendored),
            member("demo-1.0.dist-info/METADATA", PKG_INFO),
        ]);
        let x = Python
            .extract("wheels/demo-1.0-py3-none-any.whl", &wheel)
            .unwrap();
        assert_eq!(one(&x).name, "demo");
        // An egg's metadata member in a wheel, and the converse, are not theirs.
        let x = Python
            .extract("w/demo-1.0-py3-none-any.whl", &archive)
            .unwrap();
        assert!(x.packages.is_empty());
        assert_eq!(
            x.warnings,
            ["no *.dist-info/METADATA member among the archive's 3 members"]
        );
    }

    #[test]
    fn members_stored_and_with_data_descriptors() {
        let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let archive = zip(&[
            Member {
                descriptor: true,
                ..member("a.bin", &big)
            },
            Member {
                descriptor: true,
                method: 0,
                ..member("b.txt", b"stored, sized after its data")
            },
            Member {
                descriptor: true,
                method: 0,
                // A descriptor's signature in the data, not followed by its size.
                ..member("b2.txt", b"PK\x07\x08\0\0\0\0\x04\0\0\0\x04\0\0\0 and more")
            },
            Member {
                method: 0,
                ..member("c.bin", &big)
            },
            Member {
                method: 0,
                ..member("EGG-INFO/PKG-INFO", PKG_INFO)
            },
        ]);
        let x = egg(&archive);
        assert_eq!(one(&x).name, "demo", "{:?}", x.warnings);

        // The metadata member itself with a data descriptor, deflated or stored.
        for method in [0, 8] {
            let archive = zip(&[Member {
                descriptor: true,
                method,
                ..member("EGG-INFO/PKG-INFO", PKG_INFO)
            }]);
            assert_eq!(one(&egg(&archive)).name, "demo");
        }
    }

    #[test]
    fn a_bomb_member_is_read_up_to_the_header_bound() {
        // 256 MiB of description on one line deflate to some 250 KiB.
        let mut pkg_info = b"Name: bomb\nVersion: 1.0\nDescription: ".to_vec();
        pkg_info.resize(256 << 20, b'a');
        let archive = zip(&[member("EGG-INFO/PKG-INFO", &pkg_info)]);
        drop(pkg_info);
        let mut r = Counting {
            inner: &archive[..],
            read: 0,
        };
        let x = Python
            .extract_from(
                "x/bomb-1.0.egg",
                archive.len() as u64,
                &mut r,
                &Budget::unlimited(),
            )
            .unwrap();
        assert_eq!(one(&x).name, "bomb");
        warned(&x, "the header is longer than 1048576 bytes");
        // Only what inflates to the bound was taken from the stream.
        assert!(
            r.read < archive.len() as u64 / 4,
            "read {} of {}",
            r.read,
            archive.len()
        );
    }

    #[test]
    fn members_stepped_over_inflate_within_a_bound() {
        let zeros = vec![0u8; 4 << 20];
        let archive = zip(&[
            Member {
                descriptor: true,
                ..member("a.bin", &zeros)
            },
            Member {
                descriptor: true,
                ..member("b.bin", &zeros)
            },
            member("EGG-INFO/PKG-INFO", PKG_INFO),
        ]);
        let limits = |skip_inflate| Limits {
            entries: 10,
            skip_inflate,
        };
        let read = |l: &Limits| match read_archive(Kind::Egg, &mut &archive[..], l) {
            Ok((name, _)) => Ok(name),
            Err(Stop::Warn(w)) => Err(w),
            Err(Stop::Io(e)) => panic!("{e}"),
        };
        assert_eq!(read(&limits(8 << 20)).unwrap(), b"EGG-INFO/PKG-INFO");
        let w = read(&limits((8 << 20) - 1)).unwrap_err();
        assert!(
            w.starts_with("member 2 (\"b.bin\") and those before it inflate to more than"),
            "{w}"
        );
    }

    #[test]
    fn a_huge_member_is_stepped_over_or_reported_truncated() {
        // The metadata after a member of 32 MiB stored.
        let big = vec![7u8; 32 << 20];
        let archive = zip(&[
            Member {
                method: 0,
                ..member("big.bin", &big)
            },
            member("EGG-INFO/PKG-INFO", PKG_INFO),
        ]);
        assert_eq!(one(&egg(&archive)).name, "demo");

        // A member header claiming 4 GiB in a small file.
        let mut archive = zip(&[
            member("big.bin", b"abc"),
            member("EGG-INFO/PKG-INFO", PKG_INFO),
        ]);
        archive[18..22].copy_from_slice(&u32::MAX.to_le_bytes());
        let x = egg(&archive);
        assert!(x.packages.is_empty());
        assert_eq!(x.warnings.len(), 1, "{:?}", x.warnings);
        assert!(
            x.warnings[0].starts_with("truncated: the archive ends in member 1 (\"big.bin\")"),
            "{:?}",
            x.warnings
        );
    }

    #[test]
    fn too_many_members() {
        let names: Vec<String> = (0..MAX_ENTRIES + 1).map(|i| format!("f{i}")).collect();
        let mut members: Vec<Member<'_>> = names
            .iter()
            .map(|n| Member {
                method: 0,
                ..member(n, b"")
            })
            .collect();
        members.push(member("EGG-INFO/PKG-INFO", PKG_INFO));
        // The central directory's 16-bit count wraps; it is not read anyway.
        let x = egg(&zip(&members));
        assert!(x.packages.is_empty());
        assert_eq!(
            x.warnings,
            [format!(
                "no EGG-INFO/PKG-INFO among the first {MAX_ENTRIES} members; the rest was not read"
            )]
        );
    }

    #[test]
    fn truncated_archives_give_warnings() {
        let archive = zip(&[
            member("demo/__init__.py", b"print('hi')\n"),
            member("EGG-INFO/PKG-INFO", PKG_INFO),
        ]);
        // Where the metadata member's header is whole (up to its empty line).
        let start = archive
            .windows(17)
            .position(|w| w == b"EGG-INFO/PKG-INFO")
            .unwrap()
            + 17;
        for cut in 0..archive.len() {
            let x = egg(&archive[..cut]);
            if x.packages.is_empty() {
                assert!(!x.warnings.is_empty(), "cut at {cut}: {x:?}");
            } else {
                assert!(cut > start, "cut at {cut}: {x:?}");
                assert_eq!(one(&x).name, "demo");
            }
        }
        assert_eq!(egg(b"").warnings, ["empty file, not a zip archive"]);
        assert_eq!(
            egg(&archive[..40]).warnings,
            ["truncated: the archive ends in a member name at offset 30"]
        );
        assert_eq!(
            egg(&archive[..archive.len() - 60]).packages[0].name,
            "demo",
            "the central directory is not needed"
        );
    }

    #[test]
    fn not_an_archive_and_unreadable_members() {
        assert_eq!(
            egg(b"invalid zip file").warnings,
            ["not a zip archive (it starts with \"inva\")"]
        );
        let encrypted = zip(&[Member {
            flags: 1,
            ..member("EGG-INFO/PKG-INFO", PKG_INFO)
        }]);
        assert_eq!(
            egg(&encrypted).warnings,
            ["member 1 (\"EGG-INFO/PKG-INFO\") is encrypted; not read"]
        );
        let bzip2 = zip(&[Member {
            method: 12,
            ..member("EGG-INFO/PKG-INFO", PKG_INFO)
        }]);
        warned(
            &egg(&bzip2),
            "is compressed with method 12, which is not read",
        );
        // Deflate data that is not.
        let mut corrupt = zip(&[member("EGG-INFO/PKG-INFO", PKG_INFO)]);
        corrupt[30 + 17] = 0xff;
        let x = egg(&corrupt);
        assert!(x.packages.is_empty());
        assert_eq!(x.warnings.len(), 2, "{:?}", x.warnings);
        assert!(
            x.warnings[0].starts_with("member 1 (\"EGG-INFO/PKG-INFO\"): corrupt deflate data"),
            "{:?}",
            x.warnings
        );
        assert_eq!(
            x.warnings[1],
            "\"EGG-INFO/PKG-INFO\": no Name or Version field; skipped"
        );
        // Garbage where the next member should start.
        let mut archive = zip(&[member("a", b"a"), member("EGG-INFO/PKG-INFO", PKG_INFO)]);
        let second = 30 + 1 + deflate(b"a").len();
        archive[second] = b'X';
        assert_eq!(
            egg(&archive).warnings,
            [format!(
                "no member header at offset {second}, after 1 members; the archive is corrupt"
            )]
        );
    }

    #[test]
    fn archive_size_limit() {
        let x = Python
            .extract_from(
                "x/huge.whl",
                ARCHIVE_MAX_BYTES + 1,
                &mut io::empty(),
                &Budget::unlimited(),
            )
            .unwrap();
        assert!(x.packages.is_empty());
        assert_eq!(
            x.warnings,
            [format!(
                "wheel of {} bytes, over the limit of {ARCHIVE_MAX_BYTES}; not read",
                ARCHIVE_MAX_BYTES + 1
            )]
        );
    }

    #[test]
    fn packages_are_charged_to_the_budget() {
        let budget = Budget::new(16);
        let e = Python
            .extract_from(
                &format!("{SITE}/demo-1.0.dist-info/METADATA"),
                PKG_INFO.len() as u64,
                &mut &PKG_INFO[..],
                &budget,
            )
            .unwrap_err();
        assert!(e.reason.contains("memory budget"), "{e}");
    }
}
